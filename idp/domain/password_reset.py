"""The forgotten password (seed 004 FAQ, "Que fait l'assuré en cas d'oubli de mot de
passe ?"): unrelated to the login's security code. The NIR and the birth date ask for a mail
with a signed, single-use, time-limited link (``idp.links``, ``Policy.password_reset_ttl``);
the link leads to a new password under seed 000's rules. The answer is the same whether or
not the NIR has an account; requests are counted on the NIR either way.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from flask import current_app

from idp import clock, keyed, mail, messages
from idp.domain import accounts, franceconnect, limits, links
from idp.domain.dates import parse_birthdate
from idp.domain.nir import parse_nir
from idp.domain.password_change import set_password
from idp.domain.passwords import check_new_password
from idp.errors import (
    CodeQuotaReached,
    EmailRecentlyChangedReset,
    FormInvalid,
    InvalidNir,
    ResetLocked,
)
from idp.extensions import db
from idp.models import Account, AccountAction
from idp.policy import policy

log = logging.getLogger("idp.password")
PURPOSE = "password_reset"


def request(raw_nir: str, raw_birthdate: str, *, make_link: Callable[[str], str]) -> None:
    errors = {}
    try:
        nir = parse_nir(raw_nir).number
    except InvalidNir as exc:
        errors["nir"] = ("nir_invalid", {"reason": exc.reason})
    born = parse_birthdate(raw_birthdate)
    if born is None:
        errors["birthdate"] = ("birthdate_invalid", {})
    if errors:
        raise FormInvalid(errors=errors)
    p = policy()
    key = keyed.nir_key(nir)
    try:
        ticket = limits.take_quota(key, "reset_quota", quota=p.reset_quota,
                                   window=p.reset_quota_window, block=p.reset_quota_block)
    except limits.QuotaReached as reached:
        raise CodeQuotaReached(until=reached.until) from None
    # Recorded for every counted request, under the NIR's key only: the trail says nothing
    # of whether the NIR has an account (issue 12).
    current_app.extensions["idp.events"]("password_reset_requested", nir_key=key[:16])
    account = accounts.by_nir(nir)
    if account is None or account.status == "resigned" or not account.email \
            or account.birthdate != born.isoformat():
        db.session.rollback()
        return
    _, token = links.create(PURPOSE, ttl=p.password_reset_ttl, account_id=account.id)
    db.session.commit()
    link = make_link(token)
    # Sent from the mail worker (issue 11.11): a relay that fails gives the quota back there,
    # said to nobody; the page answers the same, at once.
    mail.send_later("password_reset", account.email, on_failure=ticket.cancel, secret=link,
                    link=link, ttl_text=messages.duration_text(p.password_reset_ttl))


def live(token: str | None) -> AccountAction | None:
    return links.live(PURPOSE, token)


def refuse_if_email_recent(row: AccountAction) -> None:
    """Issue 11.4: within ``Policy.password_reset_after_email_change`` of a new address, no
    reset (seed 004's 48-hour rule of the password change, cas 3, applied to the reset)."""
    account = db.session.get(Account, row.account_id)
    changed = account.email_changed_at if account is not None else None
    if changed is not None and clock.now() < changed + policy().password_reset_after_email_change:
        raise EmailRecentlyChangedReset()


def reset(token: str, *, new: str, confirmation: str) -> Account | None:
    """Set the new password; None when the link is no longer valid. The locks from wrong
    passwords lift, every session, device and token of the account is revoked."""
    row = live(token)
    account = db.session.get(Account, row.account_id) if row is not None else None
    if account is None:
        return None
    refuse_if_email_recent(row)
    failing = check_new_password(
        new or "", confirmation=confirmation or "", nir=account.nir,
        birthdate=parse_birthdate(account.birthdate), policy=policy())
    if not failing:
        failing = _same_as_current(account, new)
    if failing:
        raise FormInvalid(errors={"new_password": ("password_rules", {"rules": tuple(failing)})})
    if not links.use(row):
        db.session.rollback()
        return None
    franceconnect.unlink(account)       # issue 11.1: a reset also unties FranceConnect
    set_password(account, new, keep_sid=None)
    current_app.extensions["idp.events"]("password_reset", account_id=account.id)     # 11.17
    limits.clear(keyed.nir_key(account.nir), ("password",))
    return account


def _same_as_current(account: Account, new: str) -> list[str]:
    """The "different from the current password" rule, evaluated last (issue 11.5): only
    once every other rule passes and the confirmation matches, so that a submission that
    will be refused anyway neither guesses the password nor costs an argon2 verification.
    Each match is counted (``Policy.reset_same_password_tries``, then a lock); a different
    password is not a try and gives its reservation back."""
    p = policy()
    # The same password counts (a try); a different one is no judgement and is given back.
    judged = limits.attempt(
        keyed.nir_key(account.nir), "reset_same", max_attempts=p.reset_same_password_tries,
        lock_for=p.reset_same_password_lock,
        check=lambda: ((limits.Verdict.WRONG if accounts.verify_password(account.password_hash, new)
                        else limits.Verdict.NOT_COUNTED), None),
        locked=lambda until: ResetLocked(until=until))
    if judged.verdict is limits.Verdict.NOT_COUNTED:
        return []
    if judged.locks_until is not None:
        raise ResetLocked(until=judged.locks_until)
    return ["different"]
