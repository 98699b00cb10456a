"""Accounts: lookup, creation, the states a login must refuse (seed 004 cases 1, 1 bis, 8, 9),
and password checks that cost the same whether or not the NIR has an account."""

from __future__ import annotations

from flask import current_app, g, has_request_context
from sqlalchemy import bindparam, select, update

from idp import clock, keyed
from idp.domain.passwords import Hasher
from idp.errors import AccountClosed, AccountUnattached, AttachmentPending, NoValidatedEmail
from idp.extensions import db, in_session
from idp.models import Account, UTCDateTime
from idp.policy import policy

STATUSES = ("active", "resigned", "unattached", "pending")

# The login's reads and writes of the account, prebuilt (Core, bound parameters): building
# them and loading ORM rows cost more than the statements.
_A = Account.__table__
# The login's time, the previous one kept (a SET's right-hand side reads the row as it was),
# and what the end of a login reads of the account.
_NOTE_LOGIN = (update(_A).where(_A.c.id == bindparam("account_id"))
               .values(previous_login_at=_A.c.last_login_at,
                       last_login_at=bindparam("now", type_=UTCDateTime()))
               .returning(_A.c.id, _A.c.passkey_offer))
_EMAIL = select(_A.c.email).where(_A.c.id == bindparam("account_id"))
_HELD_EMAILS = "_account_emails"
# What the password step needs of an account: its hash and what ``refuse_if_unusable`` reads
# (the login reads them with its NIR's locks, in one statement of its own).
LOGIN_COLUMNS = (_A.c.id, _A.c.password_hash, _A.c.status, _A.c.closed_on, _A.c.email,
                 _A.c.email_verified)


def hasher() -> Hasher:
    found = current_app.extensions.get("idp.hasher")
    if found is None:
        found = current_app.extensions["idp.hasher"] = Hasher(
            policy(), spent=current_app.extensions["idp.metrics"].password_hash_cpu.inc)
    return found


def by_nir(nir: str) -> Account | None:
    return db.session.execute(select(Account).where(Account.nir == nir)).scalar_one_or_none()


def verify_password(stored_hash: str | None, password: str) -> bool:
    """argon2id verification; with no account, a dummy verification of the same cost, so
    that an unknown NIR answers in the same time as a wrong password."""
    if stored_hash is None:
        hasher().dummy_verify(password)
        return False
    return hasher().verify(stored_hash, password)


def rehash_if_needed(account_id: int, stored_hash: str, password: str) -> None:
    if hasher().needs_rehash(stored_hash):
        account = db.session.get(Account, account_id)
        account.password_hash = hasher().hash(password)
        db.session.commit()


def refuse_if_unusable(account) -> None:
    """The account states the seeds answer with their own message, once the password has
    been verified (never before: that would tell who has an account)."""
    if account.status == "resigned":
        raise AccountClosed(on=account.closed_on or clock.now().date())
    if account.status == "unattached":
        raise AccountUnattached()
    if account.status == "pending":
        raise AttachmentPending()
    if not account.email or not account.email_verified:
        raise NoValidatedEmail()


def record_login(account_id: int) -> None:
    note_login(account_id)
    db.session.commit()


def note_login(account_id: int):
    """The login's time on the account, in the session's transaction (the caller commits
    it); the account's ``id`` and ``passkey_offer``, or None when there is no such account."""
    return in_session(_NOTE_LOGIN, {"account_id": account_id, "now": clock.now()}).first()


def email_of(account_id: int) -> str | None:
    """The account's e-mail address (None: none, or no such account): the one read for this
    request with another table (``hold_email``: the login flow's read), else read here."""
    held = g.get(_HELD_EMAILS) if has_request_context() else None
    if held and account_id in held:
        return held[account_id]
    return in_session(_EMAIL, {"account_id": account_id}).scalar()


def hold_email(account_id: int, email: str | None) -> None:
    """Keep an account's address, read with another table, for the rest of the request."""
    if has_request_context():
        g.setdefault(_HELD_EMAILS, {})[account_id] = email


def create(*, nir: str, password: str, email: str | None, given_name: str, family_name: str,
           birthdate: str, gender: str, birthplace: str = "", birthcountry: str = "99100",
           email_verified: bool = True, status: str = "active", fund: str | None = None,
           preferred_username: str | None = None, mobile: str | None = None) -> Account:
    if status not in STATUSES:
        raise ValueError(f"unknown status {status!r}")
    now = clock.now()
    account = Account(
        nir=nir, subject=keyed.token(24), password_hash=hasher().hash(password), status=status,
        closed_on=now.date() if status == "resigned" else None,
        email=email, email_verified=bool(email) and email_verified, mobile=mobile,
        given_name=given_name, family_name=family_name, preferred_username=preferred_username,
        birthdate=birthdate, gender=gender, birthplace=birthplace, birthcountry=birthcountry,
        fund=fund, created_at=now, terms_accepted_at=now, password_changed_at=now)
    db.session.add(account)
    db.session.flush()
    return account
