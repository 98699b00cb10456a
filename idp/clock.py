"""The one place that reads the time. Everything in UTC; Paris time is for display only
(``idp.messages``). Tests move the clock with time-machine, which this follows."""

from __future__ import annotations

from datetime import UTC, datetime


def now() -> datetime:
    """The current instant, timezone-aware UTC, truncated to the microsecond stored by both
    SQLite and PostgreSQL."""
    return datetime.now(UTC)


def timestamp() -> int:
    """Seconds since the epoch, for JWT claims."""
    return int(now().timestamp())
