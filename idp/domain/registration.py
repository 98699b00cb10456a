"""Creating and activating an account (seeds 002, 003; seed 004 case 1 bis and FAQ).

"Créer un compte": name, first name, NIR without key, birth date, postal code. When they
match the registry and the NIR may have an account (none yet, or a closed one), a
provisional code goes by e-mail when one is on file, else a postal letter is queued. The
caller answers the same whatever happened here: nothing is returned.

Activation: the NIR with the provisional code, or with the Carte Vitale serial and the IBAN
(the alternative proof of a closed account or a lost mailbox), opens a short server-side
activation record; then the password, the terms, the e-mail address (validated by a link,
``Policy.email_validation_ttl``) finish it. Codes are stored hashed (``idp.codes``), expire,
are single-use, and attempts are counted on the NIR (``idp.limits``).
"""

from __future__ import annotations

import hmac
import logging
import re
import unicodedata
from collections.abc import Callable

from flask import current_app
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from idp import clock, keyed, mail, messages, sms
from idp.domain import accounts, codes, limits, links, registry
from idp.domain.addresses import email_taken, parse_email, send_validation
from idp.domain.dates import parse_birthdate
from idp.domain.nir import parse_nir
from idp.domain.passwords import check_new_password
from idp.errors import (
    ActivationExpired,
    ActivationRefused,
    CodeLocked,
    CodeQuotaReached,
    FormInvalid,
    InvalidNir,
    MailNotSent,
)
from idp.extensions import db
from idp.models import Account, Letter, Person
from idp.policy import policy

log = logging.getLogger("idp.registration")
PURPOSE = "provisional"
CHANNELS = ("email", "sms", "post", "counter")
_ACCOUNT_STATUS = {"attached": "active", "unattached": "unattached", "pending": "pending"}


# -- input -----------------------------------------------------------------------------------

def _same_name(a: str, b: str) -> bool:
    def norm(s: str) -> str:
        s = unicodedata.normalize("NFKD", s)
        s = "".join(ch for ch in s if not unicodedata.combining(ch))
        return re.sub(r"[\s'\-]+", " ", s).strip().upper()
    return norm(a) == norm(b)


def may_create(nir: str) -> bool:
    """No account yet, or a closed one (reactivation, seed 004 case 1 bis)."""
    account = accounts.by_nir(nir)
    return account is None or account.status == "resigned"


def _subject(nir: str) -> str:
    return keyed.nir_key(nir)


# -- "Créer un compte" ---------------------------------------------------------------------

def request_code(*, family_name: str, given_name: str, nir: str, birthdate: str,
                 postal_code: str, link: str | None = None) -> None:
    """Check the form, count the request on the NIR, and send a code only when everything
    matches. Raises only for what the person typed (or a quota), never for who they are."""
    errors = {}
    for field, value in (("family_name", family_name), ("given_name", given_name)):
        if not (value or "").strip():
            errors[field] = ("field_required", {})
    try:
        number = parse_nir(nir, require_key=False).number
    except InvalidNir as exc:
        errors["nir"] = ("nir_invalid", {"reason": exc.reason})
    born = parse_birthdate(birthdate)
    if born is None:
        errors["birthdate"] = ("birthdate_invalid", {})
    if not re.fullmatch(r"\d{5}", (postal_code or "").strip()):
        errors["postal_code"] = ("postal_code_invalid", {})
    if errors:
        raise FormInvalid(errors=errors)
    p = policy()
    try:
        ticket = limits.take_quota(_subject(number), "provisional_quota", quota=p.provisional_code_quota,
                                   window=p.provisional_code_quota_window,
                                   block=p.provisional_code_quota_block)
    except limits.QuotaReached as reached:
        raise CodeQuotaReached(until=reached.until) from None
    person = registry.by_nir(number)
    if person is None or not may_create(number) or person.birthdate != born.isoformat() \
            or person.postal_code != postal_code.strip() \
            or not _same_name(person.family_name, family_name) \
            or not _same_name(person.given_name, given_name):
        db.session.rollback()
        return
    # By mail, sent from the mail worker (issue 11.11): a relay that fails gives the request
    # back there (not counted), said to nobody; the page answers the same, at once.
    deliver(person, "email" if person.email else "post", link=link, on_failure=ticket.cancel)


def code_ttl(digits: int):
    """How long a provisional code lives: the counter's 4-digit one is short (issue 11.6)."""
    p = policy()
    return p.counter_code_ttl if digits == 4 else p.provisional_code_ttl


def deliver(person: Person, channel: str, *, digits: int = 8, link: str | None = None,
            on_failure: Callable[[], None] | None = None) -> str | None:
    """Issue a provisional code through a channel; returns it only for the counter (the
    advisor hands it over). A letter is queued: its code is made when letters are exported.
    Only the counter may hand over the 4-digit form (issue 11.6). With ``on_failure`` an
    e-mail leaves the request (``mail.send_later``): when the relay fails, the code the
    person held before is put back and ``on_failure`` runs, in the mail worker."""
    if channel not in CHANNELS or digits not in (4, 8) or (digits == 4 and channel != "counter"):
        raise ValueError((channel, digits))
    if channel == "post":
        db.session.add(Letter(nir=person.nir, queued_at=clock.now()))
        db.session.commit()
        return None
    code, saved = codes.replace(PURPOSE, _subject(person.nir), digits=digits, ttl=code_ttl(digits))
    db.session.commit()
    ttl_text = messages.duration_text(code_ttl(digits))
    if channel == "email" and on_failure is not None:
        subject = _subject(person.nir)

        def undo() -> None:
            codes.restore(PURPOSE, subject, saved)
            db.session.commit()
            on_failure()

        mail.send_later("provisional_code", person.email, on_failure=undo, secret=code,
                        code=code, ttl_text=ttl_text, link=link)
        return None
    try:
        if channel == "email":
            mail.send("provisional_code", person.email, secret=code, code=code, ttl_text=ttl_text,
                      link=link)
        elif channel == "sms":
            sms.send(person.mobile, messages.text("sms_provisional_code", code=code,
                                                  ttl_text=ttl_text))
    except MailNotSent:
        codes.restore(PURPOSE, _subject(person.nir), saved)
        db.session.commit()
        raise
    return code if channel == "counter" else None


def export_letters() -> list[dict]:
    """The queued letters, each with a fresh code (issued now, stored hashed); marked
    exported in the same transaction."""
    p = policy()
    rows = []
    queued = db.session.execute(select(Letter).where(Letter.exported_at.is_(None))
                                .order_by(Letter.id)).scalars().all()
    for letter in queued:
        letter.exported_at = clock.now()
        person = registry.by_nir(letter.nir)
        if person is None or not may_create(letter.nir):
            continue
        code = codes.issue(PURPOSE, _subject(letter.nir), digits=8, ttl=p.provisional_code_ttl)
        rows.append({"nir": person.nir, "family_name": person.family_name,
                     "given_name": person.given_name, "postal_code": person.postal_code,
                     "code": code, "valid_until": messages.fmt_date(clock.now() + p.provisional_code_ttl)})
    db.session.commit()
    return rows


# -- activation ("Je n'ai pas de code ou j'ai perdu mon code") -----------------------------

def _same(a: str | None, b: str) -> bool:
    return bool(a) and hmac.compare_digest(a.encode(), b.encode())


def start_activation(nir: str, *, code: str = "", vitale_serial: str = "", iban: str = "") -> str:
    """Check the proof; return the id of the activation record (kept in the session)."""
    number = parse_nir(nir).number
    vitale_serial, iban = registry.normalise_serial(vitale_serial), registry.normalise_iban(iban)
    code = (code or "").strip()
    if not code and not (vitale_serial and iban):
        raise FormInvalid(errors={"code": ("activation_proof_needed", {})})
    p = policy()

    def check():
        person = registry.by_nir(number)
        right = False
        if person is not None and may_create(number):
            if code:
                right = codes.check(PURPOSE, _subject(number), code,
                                    void_after=p.provisional_code_max_wrong) is codes.Check.OK
            else:
                right = _same(person.vitale_serial, vitale_serial) & _same(person.iban, iban)
        db.session.commit()
        return limits.Verdict.of(right), None

    judged = limits.attempt(_subject(number), "provisional",
                            max_attempts=p.provisional_code_attempts,
                            lock_for=p.provisional_code_lock, check=check,
                            locked=lambda until: CodeLocked(until=until))
    if judged.verdict is not limits.Verdict.RIGHT:
        if judged.locks_until is not None:
            raise CodeLocked(until=judged.locks_until)
        raise ActivationRefused()
    row, _ = links.create("activation", ttl=p.interaction_ttl, nir=number, replace=False)
    db.session.commit()
    return row.id


def activation(record_id: str | None):
    if not record_id or not isinstance(record_id, str) or len(record_id) > 64:
        return None
    from idp.models import AccountAction
    row = db.session.get(AccountAction, record_id)
    if row is None or row.purpose != "activation" or row.used_at is not None \
            or row.expires_at <= clock.now():
        return None
    return row


def activate(record_id: str, *, password: str, confirmation: str, terms: bool, email: str,
             mobile: str = "", contacts: tuple[bool, bool, bool] = (False, False, False),
             make_link: Callable[[str], str]) -> Account:
    """Finish the activation: the account exists (or a closed one is reopened), its address
    waits for validation, and the validation mail has left."""
    row = activation(record_id)
    person = registry.by_nir(row.nir) if row is not None else None
    if row is None or person is None or not may_create(row.nir):
        raise ActivationExpired()
    errors = {}
    born = parse_birthdate(person.birthdate)
    failing = check_new_password(password or "", confirmation=confirmation or "", nir=row.nir,
                                 birthdate=born, policy=policy())
    if failing:
        errors["new_password"] = ("password_rules", {"rules": tuple(failing)})
    if not terms:
        errors["terms"] = ("terms_required", {})
    try:
        email = parse_email(email)
        if email_taken(email, except_account=getattr(accounts.by_nir(row.nir), "id", None)):
            errors["email"] = ("email_taken", {})
    except FormInvalid as exc:
        errors.update(exc.errors)
    mobile = registry.normalise_mobile(mobile)
    if mobile and not registry.is_mobile(mobile):
        errors["mobile"] = ("mobile_invalid", {})
    if errors:
        raise FormInvalid(errors=errors)
    if not links.use(row):
        raise ActivationExpired()
    account = accounts.by_nir(row.nir)
    reopened = account is not None
    status = _ACCOUNT_STATUS.get(person.status, "active")
    try:
        if account is None:
            account = accounts.create(
                nir=row.nir, password=password, email=email, email_verified=False,
                given_name=person.given_name, family_name=person.family_name,
                birthdate=person.birthdate, gender=person.gender, birthplace=person.birthplace,
                birthcountry=person.birthcountry, status=status, fund=person.fund,
                mobile=mobile or None)
        else:                                   # a closed account reopens
            now = clock.now()
            account.password_hash = accounts.hasher().hash(password)
            account.status, account.closed_on = status, None
            account.email, account.email_verified, account.mobile = email, False, mobile or None
            account.terms_accepted_at = account.password_changed_at = now
            account.fund = person.fund
            account.fc_sub = None           # issue 11.1: a new account, no FranceConnect link
        account.contact_email, account.contact_mobile, account.contact_sms = (bool(c) for c in contacts)
        _, token = links.create("email_validation", ttl=policy().email_validation_ttl,
                                account_id=account.id, email=email)
        db.session.commit()
    except IntegrityError:                      # the same address taken a moment ago
        db.session.rollback()
        raise FormInvalid(errors={"email": ("email_taken", {})}) from None
    current_app.extensions["idp.events"]("account_activated", account_id=account.id,
                                         reopened=reopened)                      # 11.17
    send_validation(email, make_link(token))
    return account
