"""Accounts: lookup, creation, the states a login must refuse (seed 004 cases 1, 1 bis, 8, 9),
and password checks that cost the same whether or not the NIR has an account."""

from __future__ import annotations

from flask import current_app
from sqlalchemy import select

from idp import clock, keyed
from idp.domain.passwords import Hasher
from idp.errors import AccountClosed, AccountUnattached, AttachmentPending, NoValidatedEmail
from idp.extensions import db
from idp.models import Account
from idp.policy import policy

STATUSES = ("active", "resigned", "unattached", "pending")


def hasher() -> Hasher:
    found = current_app.extensions.get("idp.hasher")
    if found is None:
        found = current_app.extensions["idp.hasher"] = Hasher(policy())
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


def refuse_if_unusable(account: Account) -> None:
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
    note_login(db.session.get(Account, account_id))
    db.session.commit()


def note_login(account: Account) -> None:
    """The login's time on the account, written by the caller's next commit."""
    account.previous_login_at = account.last_login_at
    account.last_login_at = clock.now()


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
