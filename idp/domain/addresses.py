"""The account's e-mail address: mandatory, unique across accounts (seed 002), validated by a
signed link valid ``Policy.email_validation_ttl`` (7 days). A change from the account page
sends the link to the new address and a notice to the old one, and starts the 48-hour rule
of the password change (seed 004, cas 3); the new address replaces the old one once its link
is followed."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable

from flask import current_app
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from idp import clock, mail, messages
from idp.domain import links
from idp.domain.password_change import check_current_password
from idp.errors import FormInvalid, MailNotSent
from idp.extensions import db
from idp.models import Account
from idp.policy import policy

log = logging.getLogger("idp.registration")
# ASCII only: mail relays without SMTPUTF8 (RFC 6531) refuse other addresses, and the mail
# would fail after the form was accepted.
_EMAIL = re.compile(r"^[!-?A-~]+@[!-?A-~]+\.[A-Za-z]{2,}$", re.ASCII)


def parse_email(raw: str | None) -> str:
    email = (raw or "").strip().lower()
    if not _EMAIL.match(email) or len(email) > 254:
        raise FormInvalid(errors={"email": ("email_invalid", {})})
    return email


def email_taken(email: str, *, except_account: int | None = None) -> bool:
    found = db.session.execute(select(Account.id).where(Account.email == email)).scalar()
    return found is not None and found != except_account


def send_validation(email: str, link: str) -> None:
    try:
        mail.send("email_validation", email, secret=link, link=link,
                  ttl_text=messages.duration_text(policy().email_validation_ttl))
    except MailNotSent:
        log.warning("validation mail not sent")   # the account page can send it again


def validate_email(token: str) -> Account | None:
    """Follow a validation link: the address becomes the account's, validated."""
    row = links.live("email_validation", token)
    if row is None:
        return None
    account = db.session.get(Account, row.account_id)
    if account is None or email_taken(row.email, except_account=account.id) or not links.use(row):
        db.session.rollback()
        return None
    account.email, account.email_verified = row.email, True
    try:
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        return None
    current_app.extensions["idp.events"]("email_validated", account_id=account.id)
    return account


def request_email_change(account: Account, raw_email: str, *, password: str,
                         make_link: Callable[[str], str]) -> str:
    """The password asked again (issue 11.4: a stolen session must not move the second factor
    and the recovery channel), then a validation link to the new address and a notice to the
    old one; the 48-hour rule of the password change and reset starts now (seed 004, password
    change, cas 3)."""
    email = parse_email(raw_email)
    if email == account.email or email_taken(email, except_account=account.id):
        raise FormInvalid(errors={"email": ("email_taken", {})})
    check_current_password(account, password)
    now = clock.now()
    _, token = links.create("email_validation", ttl=policy().email_validation_ttl,
                            account_id=account.id, email=email)
    account.email_changed_at = now
    db.session.commit()
    current_app.extensions["idp.events"]("email_change_requested", account_id=account.id)
    send_validation(email, make_link(token))
    if account.email:
        try:
            mail.send("email_changed_notice", account.email,
                      changed_at=messages.fmt_last_login(now))
        except MailNotSent:
            log.warning("address-change notice not sent")
    return email
