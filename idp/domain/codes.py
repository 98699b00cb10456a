"""Short codes sent to a person: the login's 6-digit security code, the password change's
4-digit confirmation code, the provisional code of account creation.

Stored as a keyed HMAC (never in clear, never logged), one live code per (purpose, subject)
so that a new code replaces the old one; compared in constant time; consumed once by a
``DELETE`` whose row count says whether this request was the one that used it.
"""

from __future__ import annotations

import enum
from datetime import timedelta

from sqlalchemy import delete, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from idp import clock, keyed
from idp.domain import limits
from idp.extensions import db
from idp.models import OneTimeCode


class Check(enum.Enum):
    OK = "ok"
    WRONG = "wrong"
    EXPIRED = "expired"
    MISSING = "missing"


# How each outcome is counted (``limits.attempt``): an expired or missing code is no
# judgement on the person (seed 004, case 2), so it never costs an attempt.
VERDICTS = {Check.OK: limits.Verdict.RIGHT, Check.WRONG: limits.Verdict.WRONG,
            Check.EXPIRED: limits.Verdict.NOT_COUNTED, Check.MISSING: limits.Verdict.NOT_COUNTED}


def _upsert(purpose: str, subject: str, **values) -> None:
    insert = pg_insert if db.engine.dialect.name == "postgresql" else sqlite_insert
    statement = insert(OneTimeCode).values(purpose=purpose, subject=subject, **values)
    db.session.execute(statement.on_conflict_do_update(
        index_elements=[OneTimeCode.purpose, OneTimeCode.subject],
        set_={k: statement.excluded[k] for k in values}))


def issue(purpose: str, subject: str, *, digits: int, ttl: timedelta) -> str:
    """Make a new code (replacing any previous one) and return it, to be sent once.

    One upsert on (purpose, subject): two requests racing for the same subject (a double
    click, four workers) both succeed and the last one's code is the live one, instead of a
    DELETE-then-INSERT that lets the second INSERT hit the unique constraint."""
    code = keyed.digits(digits)
    now = clock.now()
    _upsert(purpose, subject, created_at=now, expires_at=now + ttl, failed_checks=0,
            code_hash=keyed.digest("code/" + purpose, f"{subject}:{code}"))
    db.session.flush()
    return code


def current(purpose: str, subject: str) -> dict | None:
    """The live code's stored fields (its hash, never the code), to put back with
    ``restore`` when the mail carrying its replacement could not be sent."""
    row = db.session.execute(
        select(OneTimeCode.code_hash, OneTimeCode.created_at, OneTimeCode.expires_at,
               OneTimeCode.failed_checks)
        .where(OneTimeCode.purpose == purpose, OneTimeCode.subject == subject)).first()
    return dict(row._mapping) if row is not None else None


def restore(purpose: str, subject: str, saved: dict | None) -> None:
    """Undo an ``issue`` whose mail never left: the code the person already holds stays
    valid (or there is none again)."""
    if saved is None:
        withdraw(purpose, subject)
    else:
        _upsert(purpose, subject, **saved)


def withdraw(purpose: str, subject: str) -> None:
    db.session.execute(
        delete(OneTimeCode).where(OneTimeCode.purpose == purpose, OneTimeCode.subject == subject))


def check(purpose: str, subject: str, submitted: str, *, void_after: int | None = None) -> Check:
    """Compare and, when right and still valid, consume the code (single use). With
    ``void_after``, the wrong submission that reaches that count in all deletes the code."""
    row = db.session.execute(
        select(OneTimeCode).where(OneTimeCode.purpose == purpose, OneTimeCode.subject == subject)
    ).scalar_one_or_none()
    if row is None:
        return Check.MISSING
    if row.expires_at <= clock.now():
        return Check.EXPIRED
    submitted = "".join(ch for ch in submitted if not ch.isspace())
    if not keyed.same("code/" + purpose, f"{subject}:{submitted}", row.code_hash):
        if void_after is not None:
            _count_wrong(row, void_after)
        return Check.WRONG
    # Only the request whose DELETE removes the row has used the code.
    used = db.session.execute(
        delete(OneTimeCode).where(OneTimeCode.id == row.id,
                                  OneTimeCode.code_hash == row.code_hash)).rowcount
    return Check.OK if used == 1 else Check.MISSING


def _count_wrong(row: OneTimeCode, void_after: int) -> None:
    """One more wrong submission of this code, atomically; the one that reaches
    ``void_after`` deletes it."""
    failed = db.session.execute(
        update(OneTimeCode).where(OneTimeCode.id == row.id, OneTimeCode.code_hash == row.code_hash)
        .values(failed_checks=OneTimeCode.failed_checks + 1)
        .returning(OneTimeCode.failed_checks)).scalar_one_or_none()
    if failed is not None and failed >= void_after:
        db.session.execute(delete(OneTimeCode).where(OneTimeCode.id == row.id))

