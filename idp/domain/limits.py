"""Counters, locks and quotas that hold under concurrency (seed 004, cases 3, 6, 7).

Two shapes, both keyed by a keyed hash of the NIR (so an unknown NIR is counted like a
known one, and the table never holds a NIR in clear):

* ``reserve(...)`` — "N consecutive failures lock for D". An attempt is *reserved* before the
  slow check (argon2, code comparison) by one atomic ``UPDATE … WHERE not locked …
  RETURNING``: the reservation that reaches N sets the lock at once, so 30 concurrent wrong
  passwords on four workers evaluate at most N. Then the caller reports the outcome:
  ``success()`` clears the count, ``failure()`` keeps it, ``cancel()`` gives the attempt back
  when *we* failed (a fault must not lock anybody). ``attempt(...)`` is that whole
  reserve → check → settle, the one way every secret is judged (the login's password and
  code, the password asked again, the password-change code, the reset's "different from the
  current one", the provisional code): any exception from the check gives the attempt back.
* ``take_quota(...)`` — "at most Q requests in a sliding window W, then blocked for B". The
  throttle row is locked first (an ``UPDATE`` on it: a row lock in PostgreSQL; SQLite
  transactions here are ``BEGIN IMMEDIATE``), then events in the window are counted. A
  ticket that turns out unused (the mail could not be sent) is cancelled: no quota consumed.

Every function commits its own short transaction, outside any slow work (a right secret's
clearing may go in the caller's: ``attempt(right_with_caller=True)``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import Enum
from typing import Any

from flask import g, has_request_context
from sqlalchemy import (
    String,
    and_,
    bindparam,
    case,
    delete,
    func,
    insert,
    or_,
    select,
    type_coerce,
    update,
)
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError

from idp import clock
from idp.extensions import db, in_session, read_one
from idp.models import QuotaEvent, Throttle, UTCDateTime


class Locked(Exception):
    def __init__(self, until: datetime):
        super().__init__(until)
        self.until = until


class QuotaReached(Exception):
    def __init__(self, until: datetime):
        super().__init__(until)
        self.until = until


# The statements of every attempt and quota, prebuilt (Core, bound parameters): building
# and cache-keying them at each call cost as much as running them. Those with ON CONFLICT
# exist once per dialect (``in_session`` picks).
_T, _Q = Throttle.__table__, QuotaEvent.__table__
_KEY, _KIND = bindparam("the_key"), bindparam("the_kind")
_NOW = bindparam("now", type_=UTCDateTime())
_THIS = and_(_T.c.key == _KEY, _T.c.kind == _KIND)


def _per_dialect(build) -> dict:
    return {"postgresql": build(pg_insert), "sqlite": build(sqlite_insert)}


def _reserve(dialect_insert):
    # One statement makes the row (a first attempt) or decides and counts: either the lock
    # has expired (the count restarts at 1) or there is no lock; the attempt that reaches
    # max_attempts sets the lock itself. Under a current lock it returns no row.
    lock_at = bindparam("lock_at", type_=UTCDateTime())
    lock_expired = and_(_T.c.locked_until.is_not(None), _T.c.locked_until <= _NOW)
    new_attempts = case((lock_expired, 1), else_=_T.c.attempts + 1)
    first = dialect_insert(_T).values(key=_KEY, kind=_KIND, attempts=1,
                                      locked_until=bindparam("first_lock", type_=UTCDateTime()))
    return (first.on_conflict_do_update(
        index_elements=[_T.c.key, _T.c.kind],
        set_={"attempts": new_attempts,
              "locked_until": case((new_attempts >= bindparam("max_attempts"), lock_at),
                                   else_=None)},
        where=or_(_T.c.locked_until.is_(None), _T.c.locked_until <= _NOW))
        .returning(_T.c.attempts, _T.c.locked_until))


def _lock_row(dialect_insert):
    # Lock the throttle row (made if missing, in the same statement): concurrent requests
    # for this key queue here.
    return (dialect_insert(_T).values(key=_KEY, kind=_KIND, attempts=0)
            .on_conflict_do_update(index_elements=[_T.c.key, _T.c.kind],
                                   set_={"attempts": _T.c.attempts})
            .returning(_T.c.locked_until))


_RESERVE = _per_dialect(_reserve)
_LOCK_ROW = _per_dialect(_lock_row)
_LOCKED_UNTIL = select(_T.c.locked_until).where(_THIS)
_SUCCESS = update(_T).where(_THIS).values(attempts=0, locked_until=None)
_SET_LOCK = update(_T).where(_THIS).values(locked_until=bindparam("until", type_=UTCDateTime()))
_THESE_EVENTS = and_(_Q.c.key == _KEY, _Q.c.kind == _KIND)
_FORGET_EVENTS = delete(_Q).where(_THESE_EVENTS, _Q.c.at <= bindparam("since", type_=UTCDateTime()))
# One request counted when fewer than ``quota`` are in the window, in one statement (under
# the throttle row's lock of ``_LOCK_ROW``): its id, or no row when the quota is reached.
_COUNTED = (select(func.count()).select_from(_Q)
            .where(_THESE_EVENTS, _Q.c.at > bindparam("since", type_=UTCDateTime()))
            .scalar_subquery())
_NEW_EVENT_UNDER_QUOTA = (
    insert(_Q).from_select(
        ["key", "kind", "at"],
        select(type_coerce(_KEY, String), type_coerce(_KIND, String), _NOW)
        .where(_COUNTED < bindparam("quota")))
    .returning(_Q.c.id))
# PostgreSQL forgets the requests older than the window in that same statement (a DELETE in
# its WITH, run to completion though nothing reads it; the count, which sees only the
# window, is the same either way); SQLite has no DELETE in a WITH: ``_FORGET_EVENTS`` first.
_COUNT_EVENT = {"postgresql": _NEW_EVENT_UNDER_QUOTA.add_cte(_FORGET_EVENTS.cte("forgot")),
                "sqlite": _NEW_EVENT_UNDER_QUOTA}
_CANCEL_EVENT = delete(_Q).where(_Q.c.id == bindparam("event_id"))
_HELD_LOCKS = "_held_locks"


@dataclass
class Reservation:
    key: str
    kind: str
    attempt: int          # this attempt's rank among consecutive failures (1-based)
    max_attempts: int
    locks_until: datetime | None   # set when this attempt is the one that locks

    @property
    def remaining(self) -> int:
        """Attempts left before the lock, should this one fail."""
        return self.max_attempts - self.attempt

    def success(self, *, commit: bool = True) -> None:
        """The right secret: consecutive failures start again from zero, the lock goes.
        ``commit=False`` leaves it in the open transaction, for the caller's commit."""
        _drop_held(self.key)
        in_session(_SUCCESS, {"the_key": self.key, "the_kind": self.kind})
        if commit:
            db.session.commit()

    def failure(self) -> None:
        """A wrong secret: the reserved attempt stays counted (and the lock, if it set one)."""
        db.session.commit()

    def cancel(self) -> None:
        """Our fault, not the person's: give the attempt back and lift a lock it set."""
        _drop_held(self.key)
        db.session.rollback()
        values = {"attempts": case((Throttle.attempts > 0, Throttle.attempts - 1), else_=0)}
        if self.locks_until is not None:
            values["locked_until"] = case(
                (Throttle.locked_until == self.locks_until, None), else_=Throttle.locked_until)
        db.session.execute(
            update(Throttle).where(Throttle.key == self.key, Throttle.kind == self.kind)
            .values(**values))
        db.session.commit()


def reserve(key: str, kind: str, *, max_attempts: int, lock_for: timedelta) -> Reservation:
    """Reserve one attempt, or raise ``Locked``. Atomic: see the module docstring."""
    _drop_held(key)
    now = clock.now()
    lock_at = now + lock_for
    row = in_session(_RESERVE, {"the_key": key, "the_kind": kind, "now": now, "lock_at": lock_at,
                          "first_lock": lock_at if max_attempts <= 1 else None,
                          "max_attempts": max_attempts}).first()
    if row is None:
        until = in_session(_LOCKED_UNTIL, {"the_key": key, "the_kind": kind}).scalar_one()
        db.session.commit()
        raise Locked(until)
    db.session.commit()
    return Reservation(key, kind, row.attempts, max_attempts, row.locked_until)


class Verdict(Enum):
    RIGHT = "right"               # the secret matched: the consecutive failures start again
    WRONG = "wrong"               # counted (and it may be the one that locks)
    NOT_COUNTED = "not_counted"   # no judgement on the person (an expired code): given back

    @classmethod
    def of(cls, right: bool) -> "Verdict":
        return cls.RIGHT if right else cls.WRONG


@dataclass
class Attempt:
    """How a judged attempt ended: its verdict, what the check returned, and, for a wrong
    one, how many remain and whether this one set the lock."""
    verdict: Verdict
    value: Any
    remaining: int
    locks_until: datetime | None


def attempt(key: str, kind: str, *, max_attempts: int, lock_for: timedelta,
            check: Callable[[], tuple[Verdict, Any]],
            locked: Callable[[datetime], Exception],
            right_with_caller: bool = False) -> Attempt:
    """Reserve one attempt (a current lock raises ``locked(until)``), run ``check`` — the slow
    comparison, returning ``(verdict, value)`` — and settle the reservation by its verdict.
    A fault of ours (any exception from ``check``) gives the attempt back and is re-raised:
    it never consumes an attempt nor sets a lock.

    ``right_with_caller``: a right secret's clearing is left in the open transaction, for
    the caller's next commit (a login step's move: one transaction less), which must follow
    on every way out but a fault. The reservation is committed before the check as always,
    and a wrong secret's outcome at once, so nothing of the count waits on the caller. A
    fault before the caller's commit loses the clearing only: the count stays one higher,
    never lower. Except when this very attempt set the lock (the last one allowed): then the
    clearing is committed at once, so that no fault leaves locked a person who gave the
    right secret."""
    try:
        reservation = reserve(key, kind, max_attempts=max_attempts, lock_for=lock_for)
    except Locked as lock:
        raise locked(lock.until) from None
    try:
        verdict, value = check()
    except BaseException:
        reservation.cancel()
        raise
    if verdict is Verdict.RIGHT:
        reservation.success(commit=not right_with_caller or reservation.locks_until is not None)
    elif verdict is Verdict.NOT_COUNTED:
        reservation.cancel()
    else:
        reservation.failure()
    wrong = verdict is Verdict.WRONG
    return Attempt(verdict, value, reservation.remaining,
                   reservation.locks_until if wrong else None)


def lock_state(key: str, kind: str) -> datetime | None:
    """The end of a current lock, or None (a read, for pages that only show it): the value
    read for this request with another table (``hold_lock``), else prebuilt, in the request's
    transaction when one is open, else alone outside any write lock (the login page reads
    nothing else through the ORM)."""
    held = g.get(_HELD_LOCKS) if has_request_context() else None
    if held and (key, kind) in held:
        return current(held[(key, kind)])
    row = read_one(_LOCKED_UNTIL, {"the_key": key, "the_kind": kind})
    return current(row[0] if row is not None else None)


def hold_lock(key: str, kind: str, until: datetime | None) -> None:
    """Keep the end of a lock (None: no lock), read with another table in this request (a
    login step's read of its flow, ``lock_column``), for ``lock_state`` to answer from. Any
    write of this module to the key drops it: a request that has just counted or locked reads
    again what it wrote."""
    if has_request_context():
        g.setdefault(_HELD_LOCKS, {})[(key, kind)] = until


def _drop_held(key: str) -> None:
    held = g.get(_HELD_LOCKS) if has_request_context() else None
    if held:
        for kept in [k for k in held if k[0] == key]:
            del held[kept]


def lock_column(kind: str, key=_KEY):
    """The end of the ``kind`` lock of ``key`` (the key ``the_key``, or a column of the other
    table), or NULL, as a column of another table's read (the password step reads the account
    and its NIR's locks at once, a login step its flow and the code-quota lock of the key the
    flow stores); ``current`` tells whether it still runs."""
    return (select(_T.c.locked_until).where(_T.c.key == key, _T.c.kind == kind)
            .scalar_subquery().label(kind + "_lock"))


def current(until: datetime | None) -> datetime | None:
    """The end of a lock read by ``lock_column``, or None when there is none or it is over."""
    return until if until is not None and until > clock.now() else None


@dataclass
class QuotaTicket:
    event_id: int

    def cancel(self) -> None:
        """The request did not happen after all (our fault): it is not counted."""
        db.session.rollback()
        in_session(_CANCEL_EVENT, {"event_id": self.event_id})
        db.session.commit()


def take_quota(key: str, kind: str, *, quota: int, window: timedelta,
               block: timedelta, commit: bool = True) -> QuotaTicket:
    """Count one request, or raise ``QuotaReached`` with the end of the block. ``commit=False``
    leaves the count (and the throttle row's lock) in the caller's transaction, for a caller
    that commits it at once with a write of its own, before any slow work."""
    _drop_held(key)
    now = clock.now()
    this = {"the_key": key, "the_kind": kind}
    # Lock the throttle row first (``_LOCK_ROW``): concurrent requests for this key queue
    # here, so the count below cannot be read by two at once.
    locked_until = in_session(_LOCK_ROW, this).scalar_one()
    if locked_until is not None and locked_until > now:
        db.session.commit()
        raise QuotaReached(locked_until)
    # Requests older than the window never count again: forget them (the table stays small),
    # on PostgreSQL in the statement that counts this one (``_COUNT_EVENT``).
    since = {**this, "since": now - window}
    if db.session.connection().dialect.name == "sqlite":
        in_session(_FORGET_EVENTS, since)
    event_id = in_session(_COUNT_EVENT, {**since, "now": now, "quota": quota}).scalar()
    if event_id is None:
        until = now + block
        in_session(_SET_LOCK, {**this, "until": until})
        db.session.commit()
        raise QuotaReached(until)
    if commit:
        db.session.commit()
    return QuotaTicket(event_id)


def first_use(key: str, kind: str, *, forget_at: datetime) -> bool:
    """Record a single-use value once (a JWT ``jti``): True the first time, False when it was
    already recorded. The row's primary key decides, so of two concurrent uses on any number
    of workers one fails; the purge forgets the row after ``forget_at``."""
    db.session.add(Throttle(key=key, kind=kind, attempts=1, locked_until=forget_at))
    try:
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        return False
    return True


def clear(key: str, kinds: tuple[str, ...] | None = None) -> int:
    """Lift locks and forget counts for a key (``user unlock``, a password reset)."""
    _drop_held(key)
    conditions = [Throttle.key == key]
    events = [QuotaEvent.key == key]
    if kinds is not None:
        conditions.append(Throttle.kind.in_(kinds))
        events.append(QuotaEvent.kind.in_(kinds))
    lifted = db.session.execute(
        update(Throttle).where(*conditions).values(attempts=0, locked_until=None)).rowcount
    db.session.execute(delete(QuotaEvent).where(*events))
    db.session.commit()
    return lifted
