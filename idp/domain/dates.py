"""Birth dates, read one way everywhere: the forms (registration, forgotten password), the
stored values (the account, the registry) and the front desk's CLI.

A person types JJ/MM/AAAA (or a date input sends AAAA-MM-JJ); a stored birth date is
AAAA-MM-JJ, or AAAA-MM-00 / AAAA-00-00 when the civil registry knows only part of it (such a
date is valid but is no calendar day: ``parse_birthdate`` gives None for it).
"""

from __future__ import annotations

import re
from datetime import date

_TYPED = re.compile(r"(\d{2})/(\d{2})/(\d{4})")
_ISO = re.compile(r"(\d{4})-(\d{2})-(\d{2})")


def _parts(raw: str | None, *, typed: bool) -> tuple[int, int, int] | None:
    """(year, month, day) of AAAA-MM-JJ (and of JJ/MM/AAAA when ``typed``), unchecked."""
    text = (raw or "").strip() if typed else (raw or "")
    found = _ISO.fullmatch(text)
    if found:
        y, m, d = (int(x) for x in found.groups())
        return y, m, d
    found = _TYPED.fullmatch(text) if typed else None
    if found:
        d, m, y = (int(x) for x in found.groups())
        return y, m, d
    return None


def parse_birthdate(raw: str | None) -> date | None:
    """JJ/MM/AAAA (as typed) or AAAA-MM-JJ (a date input, a stored value); None when neither
    or when it is no calendar day (a partial stored date among them)."""
    parts = _parts(raw, typed=True)
    if parts is None:
        return None
    try:
        return date(*parts)
    except ValueError:
        return None


def valid_stored(value: str | None) -> bool:
    """A birth date as stored: AAAA-MM-JJ, AAAA-MM-00 or AAAA-00-00."""
    parts = _parts(value, typed=False)
    if parts is None:
        return False
    y, m, d = parts
    if m == 0:
        return d == 0
    if d == 0:
        return 1 <= m <= 12
    try:
        date(y, m, d)
    except ValueError:
        return False
    return True
