"""What "Mes informations" shows (seed 000, steps 0 and 1; issue 13.3), as rows of words:
the account's own (name, masked NIR, e-mail, mobile, contact authorizations) and what the
registry holds for the person (rights, complementary insurer, doctor, CEAM, IBAN, postal
address, landline). Whatever the file lacks is said in words (the seed's "Aucune carte CEAM
en cours de validité.", "Ajouter"), never left blank; an IBAN shows its last four digits only.

The portal's tabs (``PORTAL_TABS`` under ``PORTAL_URL``) lead to the account portal, which
holds "Accueil", "Mes paiements", "Mes démarches" and "Mon espace prévention"; "Mes
informations" is this page."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from markupsafe import Markup

from idp import messages
from idp.config import PORTAL_TABS
from idp.domain import registry
from idp.domain.nir import parse_nir
from idp.models import Account, Person


@dataclass(frozen=True)
class Row:
    label: str
    value: str | Markup          # a Markup value may hold a link (the seed's "Ajouter")
    key: str                     # the row's id, for tests and anchors: "info_doctor"


def spaced_phone(number: str) -> str:
    """"06 12 34 56 78": a French number in pairs, as people write and read it."""
    if len(number) == 10 and number.isdigit():
        return " ".join(number[i:i + 2] for i in range(0, 10, 2))
    return number


def _until(value: date | None, today: date, valid: str, past: str, none: str) -> str:
    if value is None:
        return messages.text(none)
    return messages.text(valid if value >= today else past, on=value)


def rights_rows(account: Account, person: Person | None, today: date) -> list[Row]:
    """"Mes droits": who, the fund, the rights, the complementary insurer, the doctor, the
    CEAM. ``today`` is the Paris date: a right "until" a day is open through that day."""
    p = person
    rows = [
        ("info_name", f"{account.given_name} {account.family_name}"),
        ("info_nir", parse_nir(account.nir).masked),
        ("info_fund", account.fund or (p.fund if p else None) or messages.text("info_no_fund")),
        ("info_rights", _until(p.rights_until if p else None, today, "info_rights_open",
                               "info_rights_ended", "info_rights_unknown")),
        ("info_complementary", (p.complementary if p else None)
         or messages.text("info_no_complementary")),
        ("info_doctor", (p.doctor if p else None) or messages.text("info_no_doctor")),
        # an expired CEAM is no card "en cours de validité": the seed's sentence
        ("info_ceam", _until(p.ceam_until if p else None, today, "info_ceam_valid",
                             "info_no_ceam", "info_no_ceam")),
    ]
    return [Row(messages.text(key), value, key) for key, value in rows]


def _address(person: Person | None) -> str:
    if person is None or not (person.address or person.city):
        return messages.text("info_no_address")
    town = " ".join(part for part in (person.postal_code, person.city) if part)
    return "\n".join(part for part in (person.address, town) if part)


def _email(account: Account, pending: str | None) -> str:
    if not account.email:
        value = messages.text("info_no_email")
    else:
        value = messages.mask_email(account.email)
        if not account.email_verified:
            value = messages.text("info_email_unverified", email=value)
    if pending:
        value += "\n" + messages.text("info_email_pending", email=pending)
    return value


def _contacts(account: Account) -> str:
    granted = [messages.text(key) for key, on in (
        ("info_channel_email", account.contact_email),
        ("info_channel_mobile", account.contact_mobile),
        ("info_channel_sms", account.contact_sms)) if on]
    return " - ".join(granted) or messages.text("info_no_contacts")     # as seed 000 lists them


def contact_rows(account: Account, person: Person | None, *, pending_email: str | None,
                 add_mobile_url: str) -> list[Row]:
    """"Mes coordonnées": IBAN (its end only), postal address, e-mail, phones, contact
    authorizations. The mobile is the account's (the person edits it below); with none, the
    seed's "Ajouter" leads to its field."""
    end = registry.iban_end(person.iban if person else None)
    mobile = (spaced_phone(account.mobile) if account.mobile else Markup(
        '<a href="{}" aria-label="{}">{}</a>').format(
            add_mobile_url, messages.text("info_add_mobile"), messages.text("info_add")))
    landline = person.landline if person else None
    rows = [
        ("info_bank", messages.text("info_iban_end", end=end) if end
         else messages.text("info_no_iban")),
        ("info_address", _address(person)),
        ("info_email", _email(account, pending_email)),
        ("info_mobile", mobile),
        ("info_landline", spaced_phone(landline) if landline
         else messages.text("info_no_landline")),
        ("info_contacts", _contacts(account)),
    ]
    return [Row(messages.text(key), value, key) for key, value in rows]


def tabs(portal_url: str | None) -> list[tuple[str, str]]:
    """(URL, name) of the portal's tabs before "Mes informations"; none without a portal."""
    if not portal_url:
        return []
    return [(f"{portal_url}/{path}", messages.text(label)) for path, label in PORTAL_TABS]
