"""Changing the password from the account page (seed 004, "Changement de mot de passe";
seed 000 for the rules).

Step 1: a 4-digit confirmation code e-mailed (``Policy.change_code_ttl``), at most
``change_code_quota`` requests in a sliding hour (cas 1), ``wrong_change_codes_before_lock``
wrong codes lock (cas 2), and nothing at all within 48 hours of a new address (cas 3).
Step 2: current password, new password twice. Then the confirmation mail, and every other
session, trusted device and refresh token of the account is revoked.
"""

from __future__ import annotations

import logging

from flask import current_app
from sqlalchemy import update

from idp import clock, keyed, mail, messages, sessions
from idp.domain import accounts, codes, devices, limits, passkeys
from idp.domain.dates import parse_birthdate
from idp.domain.passwords import check_new_password
from idp.errors import (
    ChangeCodeExpired,
    ChangeCodeLocked,
    ChangeCodeQuotaReached,
    EmailRecentlyChanged,
    FormInvalid,
    MailNotSent,
    PasswordLocked,
    WrongChangeCode,
)
from idp.extensions import db
from idp.models import Account, Token
from idp.policy import policy

log = logging.getLogger("idp.password")
PURPOSE = "password_change"
# The seeds' three refusals of the whole change (cas 1, 2, 3).
BLOCKING = (ChangeCodeLocked, ChangeCodeQuotaReached, EmailRecentlyChanged)


def _key(account: Account) -> str:
    return keyed.nir_key(account.nir)


def refuse_if_blocked(account: Account) -> None:
    """The seeds' three refusals, checked before anything is shown or sent."""
    p = policy()
    if account.email_changed_at is not None and \
            clock.now() < account.email_changed_at + p.password_change_after_email_change:
        raise EmailRecentlyChanged()
    until = limits.lock_state(_key(account), "change_code")
    if until is not None:
        raise ChangeCodeLocked(until=until)
    until = limits.lock_state(_key(account), "change_code_quota")
    if until is not None:
        raise ChangeCodeQuotaReached(until=until)


def send_code(account: Account) -> None:
    refuse_if_blocked(account)
    p = policy()
    try:
        ticket = limits.take_quota(_key(account), "change_code_quota", quota=p.change_code_quota,
                                   window=p.change_code_quota_window, block=p.change_code_quota_block)
    except limits.QuotaReached as reached:
        raise ChangeCodeQuotaReached(until=reached.until) from None
    subject = str(account.id)
    code, saved = codes.replace(PURPOSE, subject, digits=p.change_code_digits,
                                ttl=p.change_code_ttl)
    db.session.commit()
    try:
        mail.send("change_code", account.email, secret=code, code=code,
                  ttl_minutes=int(p.change_code_ttl.total_seconds() // 60))
    except MailNotSent:
        ticket.cancel()
        codes.restore(PURPOSE, subject, saved)
        db.session.commit()
        raise


def check_code(account: Account, submitted: str) -> None:
    """Right code: returns (step 2 may follow); otherwise the seeds' error."""
    refuse_if_blocked(account)
    p = policy()

    def check():
        outcome = codes.check(PURPOSE, str(account.id), submitted or "")
        db.session.commit()
        return codes.VERDICTS[outcome], outcome

    judged = limits.attempt(_key(account), "change_code",
                            max_attempts=p.wrong_change_codes_before_lock,
                            lock_for=p.wrong_change_code_lock, check=check,
                            locked=lambda until: ChangeCodeLocked(until=until))
    if judged.verdict is limits.Verdict.RIGHT:
        return
    if judged.verdict is limits.Verdict.NOT_COUNTED:     # expired or none: not a wrong code
        raise ChangeCodeExpired()
    if judged.locks_until is not None:
        codes.withdraw(PURPOSE, str(account.id))
        db.session.commit()
        raise ChangeCodeLocked(until=judged.locks_until)
    raise WrongChangeCode()


def change(account: Account, *, current: str, new: str, confirmation: str,
           keep_sid: str | None) -> None:
    refuse_if_blocked(account)
    p = policy()
    check_current_password(account, current)
    failing = check_new_password(
        new or "", confirmation=confirmation or "", nir=account.nir,
        birthdate=parse_birthdate(account.birthdate), policy=p,
        current_password_matches=accounts.verify_password(account.password_hash, new or ""))
    if failing:
        raise FormInvalid(errors={"new_password": ("password_rules", {"rules": tuple(failing)})})
    set_password(account, new, keep_sid=keep_sid)
    current_app.extensions["idp.events"]("password_changed", account_id=account.id)   # 11.17


def check_current_password(account: Account, password: str | None, *,
                           field: str = "current_password") -> None:
    """The password asked again before a sensitive change (the password, the e-mail address:
    issue 11.4), counted through the login's own lock (seed 004, case 7): three wrong ones
    here or at the login lock both. A fault of ours gives the attempt back."""
    if not password:
        raise FormInvalid(errors={field: ("field_required", {})})
    p = policy()
    judged = limits.attempt(
        _key(account), "password", max_attempts=p.wrong_passwords_before_lock,
        lock_for=p.wrong_password_lock,
        check=lambda: (limits.Verdict.of(accounts.verify_password(account.password_hash,
                                                                  password)), None),
        locked=lambda until: PasswordLocked(until=until))
    if judged.verdict is limits.Verdict.WRONG:
        if judged.locks_until is not None:
            raise PasswordLocked(until=judged.locks_until)
        raise FormInvalid(errors={field: ("wrong_password", {})})


def set_password(account: Account, new: str, *, keep_sid: str | None) -> None:
    """Store the new password, revoke every other way in, and send the seed's mail."""
    now = clock.now()
    account.password_hash = accounts.hasher().hash(new)
    account.password_changed_at = now
    db.session.commit()
    revoke_access(account.id, keep_sid=keep_sid)
    try:
        mail.send("password_changed", account.email, changed_at=messages.fmt_changed(now))
    except MailNotSent:
        log.warning("password-changed mail not sent")


def revoke_access(account_id: int, *, keep_sid: str | None = None) -> None:
    """Other provider sessions, trusted devices, passkeys (issue 14), and tokens (access and
    refresh)."""
    sessions.end_all(account_id, except_sid=keep_sid)
    devices.revoke(account_id)
    passkeys.revoke_all(account_id, "password")
    db.session.execute(update(Token).where(Token.account_id == account_id,
                                           Token.revoked_at.is_(None))
                       .values(revoked_at=clock.now()))
    db.session.commit()

