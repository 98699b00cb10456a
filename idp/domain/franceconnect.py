"""An account's tie to FranceConnect: the identity pivot against the registry of insured
persons (``reconcile``: linked when exactly one person matches and has an active account;
later logins key on ``fc_sub``), and the link itself, made, checked and undone (issue 11.1).

Nothing here logs a NIR or a pivot identity."""

from __future__ import annotations

import json
import logging
import secrets
import unicodedata

from sqlalchemy import select

from idp import clock, keyed, mail, messages
from idp.errors import MailNotSent
from idp.extensions import db
from idp.models import Account, Person

log = logging.getLogger("idp.franceconnect")


def _norm(value) -> str:
    """Names compared without case, accents or extra spaces (registries differ there)."""
    text = unicodedata.normalize("NFKD", str(value or ""))
    text = "".join(c for c in text if not unicodedata.combining(c))
    return " ".join(text.replace("-", " ").replace("'", " ").upper().split())


def matches(person: Person, identity: dict) -> bool:
    return (_norm(person.given_name) == _norm(identity.get("given_name"))
            and _norm(person.family_name) == _norm(identity.get("family_name"))
            and person.gender == identity.get("gender")
            and (person.birthplace or "") == (identity.get("birthplace") or "")
            and person.birthcountry == identity.get("birthcountry"))


def account_for_sub(sub: str) -> Account | None:
    return db.session.execute(select(Account).where(Account.fc_sub == sub)).scalar_one_or_none()


def reconcile(identity: dict) -> tuple[Account | None, str]:
    """The one active account the pivot identity designates, or None and why
    (``fc_no_match``, ``fc_ambiguous``, ``fc_no_account``)."""
    candidates = db.session.execute(select(Person).where(
        Person.birthdate == str(identity.get("birthdate") or ""))).scalars().all()
    found = [p for p in candidates if matches(p, identity)]
    if not found:
        return None, "fc_no_match"
    if len(found) > 1:
        return None, "fc_ambiguous"
    account = db.session.execute(
        select(Account).where(Account.nir == found[0].nir)).scalar_one_or_none()
    if account is None or account.status != "active" or account.fc_sub is not None:
        return None, "fc_no_account"
    return account, ""


def _pivot(source) -> list[str]:
    """The pivot identity (FRANCECONNECT.md §8) as compared: names without case or accents."""
    get = source.get if isinstance(source, dict) else lambda k: getattr(source, k, None)
    return [_norm(get("given_name")), _norm(get("family_name")), str(get("birthdate") or ""),
            str(get("gender") or ""), str(get("birthplace") or ""), str(get("birthcountry") or "")]


def identity_digest(identity: dict) -> str:
    """A keyed hash of FranceConnect's pivot identity: what the pending link keeps on its
    flow row instead of the identity itself (issue 11.1)."""
    return keyed.digest("fc_pivot", json.dumps(_pivot(identity)))


def registered_identity(account: Account):
    """Whom the account belongs to: its person in the registry of insured persons, else (an
    account made by ``user create`` with no registry row) the civil status stored with it."""
    return db.session.get(Person, account.nir) or account


def identity_matches(account: Account, digest: str | None) -> bool:
    """Whether FranceConnect's pivot identity (as ``identity_digest``) is the account's person."""
    expected = keyed.digest("fc_pivot", json.dumps(_pivot(registered_identity(account))))
    return isinstance(digest, str) and secrets.compare_digest(digest, expected)


def may_link(account: Account, sub: str) -> bool:
    """False when the account is tied to another ``sub`` or the ``sub`` to another account."""
    other = account_for_sub(sub)
    return account.fc_sub in (None, sub) and (other is None or other.id == account.id)


def link(account: Account, sub: str) -> bool:
    """Tie the FranceConnect ``sub`` to the account and tell the owner by mail; False when
    either is already tied."""
    if not may_link(account, sub):
        return False
    already = account.fc_sub == sub
    account.fc_sub = sub
    db.session.commit()
    if not already and account.email:
        try:
            mail.send("franceconnect_linked", account.email,
                      linked_at=messages.fmt_last_login(clock.now()))
        except MailNotSent:
            log.warning("franceconnect-linked notice not sent")
    return True


def unlink(account: Account) -> bool:
    """Untie the account from FranceConnect (the account page, a password reset, an account
    opened again); True when there was a link."""
    if account.fc_sub is None:
        return False
    account.fc_sub = None
    db.session.commit()
    return True
