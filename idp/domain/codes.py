"""Short codes sent to a person: the login's 6-digit security code, the password change's
4-digit confirmation code, the provisional code of account creation.

Stored as a keyed HMAC (never in clear, never logged), one live code per (purpose, subject)
so that a new code replaces the old one; consumed once by a ``DELETE`` whose row count says
whether this request was the one that used it. A right code is found and consumed by that
one ``DELETE`` matching its keyed hash (an attacker choosing the code chooses nothing of
the hash it is compared with); any other answer reads the row and compares in constant
time.
"""

from __future__ import annotations

import enum
from datetime import timedelta

from sqlalchemy import and_, bindparam, delete, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from idp import clock, keyed
from idp.domain import limits
from idp.extensions import db, in_session
from idp.models import OneTimeCode, UTCDateTime


class Check(enum.Enum):
    OK = "ok"
    WRONG = "wrong"
    EXPIRED = "expired"
    MISSING = "missing"


# How each outcome is counted (``limits.attempt``): an expired or missing code is no
# judgement on the person (seed 004, case 2), so it never costs an attempt.
VERDICTS = {Check.OK: limits.Verdict.RIGHT, Check.WRONG: limits.Verdict.WRONG,
            Check.EXPIRED: limits.Verdict.NOT_COUNTED, Check.MISSING: limits.Verdict.NOT_COUNTED}


# The statements of a code's life, prebuilt (Core, bound parameters): building and
# cache-keying them at each call cost as much as running them.
_C = OneTimeCode.__table__
_STORED = ("code_hash", "created_at", "expires_at", "failed_checks")    # what ``current`` keeps
_THIS = and_(_C.c.purpose == bindparam("the_purpose"), _C.c.subject == bindparam("the_subject"))


def _upsert_for(dialect_insert, values: dict | None = None):
    """The code of (purpose, subject) made, or replaced on their unique key; ``values``
    explicit where the statement cannot take them from the execution's parameters (in a WITH)."""
    statement = dialect_insert(_C) if values is None else dialect_insert(_C).values(values)
    return statement.on_conflict_do_update(index_elements=[_C.c.purpose, _C.c.subject],
                                           set_={k: statement.excluded[k] for k in _STORED})


_UPSERT = {"postgresql": _upsert_for(pg_insert), "sqlite": _upsert_for(sqlite_insert)}
_CURRENT = select(*(_C.c[k] for k in _STORED)).where(_THIS)
_ROW = select(_C.c.id, _C.c.code_hash, _C.c.expires_at).where(_THIS)
_WITHDRAW = delete(_C).where(_THIS)
_USE = delete(_C).where(_C.c.id == bindparam("row_id"), _C.c.code_hash == bindparam("digest"))
# The right, live code consumed: the row it removes is the proof.
_USE_RIGHT = (delete(_C).where(_THIS, _C.c.code_hash == bindparam("digest"),
                               _C.c.expires_at > bindparam("now", type_=UTCDateTime()))
              .returning(_C.c.id))


# ``replace`` on PostgreSQL, in one statement: the live code's stored fields read in the
# snapshot the upsert in its WITH starts from (every part of the statement sees the table as
# it was before it), so they are the replaced code's, whatever the upsert does.
_PREVIOUS = _CURRENT.cte("previous")
_MADE = _upsert_for(pg_insert, {k: bindparam(k, type_=_C.c[k].type)
                               for k in ("purpose", "subject", *_STORED)})
_REPLACE_PG = select(*_PREVIOUS.c).add_cte(_MADE.returning(_C.c.id).cte("made"))


def _upsert(purpose: str, subject: str, **values) -> None:
    """The code of (purpose, subject), made or replaced: ``values`` are ``_STORED``."""
    in_session(_UPSERT, {"purpose": purpose, "subject": subject, **values})


def issue(purpose: str, subject: str, *, digits: int, ttl: timedelta) -> str:
    """Make a new code (replacing any previous one) and return it, to be sent once.

    One upsert on (purpose, subject): two requests racing for the same subject (a double
    click, four workers) both succeed and the last one's code is the live one, instead of a
    DELETE-then-INSERT that lets the second INSERT hit the unique constraint."""
    code, values = _new(purpose, subject, digits, ttl)
    _upsert(purpose, subject, **values)
    return code


def replace(purpose: str, subject: str, *, digits: int, ttl: timedelta) -> tuple[str, dict | None]:
    """``issue``, and the stored fields of the code it replaces (``current``: None when there
    was none), to ``restore`` when the new one cannot be sent. On PostgreSQL one statement
    (``_REPLACE_PG``); SQLite, which has no upsert in a WITH, reads then issues."""
    if db.session.connection().dialect.name == "sqlite":
        saved = current(purpose, subject)
        return issue(purpose, subject, digits=digits, ttl=ttl), saved
    code, values = _new(purpose, subject, digits, ttl)
    row = in_session(_REPLACE_PG, {"purpose": purpose, "subject": subject, "the_purpose": purpose,
                                   "the_subject": subject, **values}).first()
    return code, dict(row._mapping) if row is not None else None


def _new(purpose: str, subject: str, digits: int, ttl: timedelta) -> tuple[str, dict]:
    """A new code and the fields stored for it (``_STORED``)."""
    code = keyed.digits(digits)
    now = clock.now()
    return code, {"created_at": now, "expires_at": now + ttl, "failed_checks": 0,
                  "code_hash": keyed.digest("code/" + purpose, f"{subject}:{code}")}


def current(purpose: str, subject: str) -> dict | None:
    """The live code's stored fields (its hash, never the code), to put back with
    ``restore`` when the mail carrying its replacement could not be sent."""
    row = in_session(_CURRENT, {"the_purpose": purpose, "the_subject": subject}).first()
    return dict(row._mapping) if row is not None else None


def restore(purpose: str, subject: str, saved: dict | None) -> None:
    """Undo an ``issue`` whose mail never left: the code the person already holds stays
    valid (or there is none again)."""
    if saved is None:
        withdraw(purpose, subject)
    else:
        _upsert(purpose, subject, **saved)


def withdraw(purpose: str, subject: str) -> None:
    in_session(_WITHDRAW, {"the_purpose": purpose, "the_subject": subject})


def check(purpose: str, subject: str, submitted: str, *, void_after: int | None = None) -> Check:
    """Compare and, when right and still valid, consume the code (single use). With
    ``void_after``, the wrong submission that reaches that count in all deletes the code."""
    this = {"the_purpose": purpose, "the_subject": subject}
    submitted = "".join(ch for ch in submitted if not ch.isspace())
    digest = keyed.digest("code/" + purpose, f"{subject}:{submitted}")
    now = clock.now()
    if in_session(_USE_RIGHT, {**this, "digest": digest, "now": now}).first() is not None:
        return Check.OK
    # Not consumed: why (the row as it is now, judged as of the same ``now``).
    row = in_session(_ROW, this).first()
    if row is None:
        return Check.MISSING
    if row.expires_at <= now:
        return Check.EXPIRED
    if not keyed.same("code/" + purpose, f"{subject}:{submitted}", row.code_hash):
        if void_after is not None:
            _count_wrong(row, void_after)
        return Check.WRONG
    # The right code, stored between the two statements (a concurrent ``issue`` of the same
    # code value is all but impossible): used by this request only if its DELETE removes it.
    used = in_session(_USE, {"row_id": row.id, "digest": row.code_hash}).rowcount
    return Check.OK if used == 1 else Check.MISSING


def _count_wrong(row, void_after: int) -> None:
    """One more wrong submission of this code, atomically; the one that reaches
    ``void_after`` deletes it."""
    failed = db.session.execute(
        update(OneTimeCode).where(OneTimeCode.id == row.id, OneTimeCode.code_hash == row.code_hash)
        .values(failed_checks=OneTimeCode.failed_checks + 1)
        .returning(OneTimeCode.failed_checks)).scalar_one_or_none()
    if failed is not None and failed >= void_after:
        db.session.execute(delete(OneTimeCode).where(OneTimeCode.id == row.id))

