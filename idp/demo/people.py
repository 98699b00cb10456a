"""Demo people in the registry of insured persons (``make run``): everyone with a demo
account, and three people without one, to walk "Créer un compte" (by e-mail, by postal
letter) and the Carte Vitale + IBAN proof. Made-up NIRs with valid keys; made-up IBANs with
valid check digits.

``DETAILS``: what "Mes informations" shows of their file (issue 13.3). Valérie MARTIN has
everything; Jean Pierre DUPONT has no complementary insurer, no doctor, no CEAM and no IBAN,
to show the page's wording for what is missing."""

from __future__ import annotations

from idp.demo.accounts import DEMO_ACCOUNTS
from idp.domain import registry
from idp.extensions import db

NEW_PEOPLE = [
    # nir, family, given, birthdate, gender, birthplace, postal code, email, mobile, vitale, iban
    ("1860275056042", "BERNARD", "Louis", "1986-02-11", "male", "75056", "75011",
     "louis.bernard@yopmail.fr", "0612345678", "123456789", "FR7630006000011234567890189"),
    ("2910569123078", "PETIT", "Chloé", "1991-05-20", "female", "69123", "69003",
     None, None, "987654321", "FR7610107001011234567890129"),
    ("1770413055099", "ROUX", "Marc", "1977-04-02", "male", "13055", "13008",
     "marc.roux@yopmail.fr", "0798765432", "555666777", "FR7612548029981234567890161"),
]
DETAILS = {
    "2690299341732": dict(iban="FR7630004000031234567890143", rights_until="2027-12-31",
                          ceam_until="2027-06-30", complementary="MGEN",
                          doctor="Dr Sophie LEFEBVRE", address="5 ALLÉE DES TILLEULS",
                          city="PARIS", landline="0142345678"),
    "1840175056123": dict(rights_until="2027-12-31", address="12 RUE DE LA PAIX",
                          city="PARIS"),
    "1860275056042": dict(rights_until="2027-12-31", complementary="Harmonie Mutuelle",
                          doctor="Dr Karim HADDAD", address="18 BOULEVARD VOLTAIRE",
                          city="PARIS"),
    "2910569123078": dict(rights_until="2027-12-31", ceam_until="2026-12-31",
                          doctor="Dr Julie MOREL", address="3 RUE PAUL BERT", city="LYON"),
    "1770413055099": dict(rights_until="2027-12-31", complementary="MAAF Santé",
                          address="40 AVENUE DU PRADO", city="MARSEILLE"),
}
_STATUS = {"active": "attached", "resigned": "attached", "unattached": "unattached",
           "pending": "pending"}


def demo_rows() -> list[dict]:
    rows = []
    for nir, given, family, birthdate, gender, place, email, status, _ in DEMO_ACCOUNTS:
        rows.append(dict(nir=nir, family_name=family, given_name=given, birthdate=birthdate,
                         gender=gender, birthplace=place, birthcountry="99100",
                         postal_code="75001", fund="CPAM de Paris", email=email or "",
                         mobile="", vitale_serial="", iban=DETAILS.get(nir, {}).get("iban", ""),
                         status=_STATUS[status]))
    for nir, family, given, birthdate, gender, place, postal, email, mobile, vitale, iban in NEW_PEOPLE:
        rows.append(dict(nir=nir, family_name=family, given_name=given, birthdate=birthdate,
                         gender=gender, birthplace=place, birthcountry="99100",
                         postal_code=postal, fund="CPAM de Paris", email=email or "",
                         mobile=mobile or "", vitale_serial=vitale, iban=iban,
                         status="attached"))
    return rows


def _without_details(nir: str) -> bool:
    person = registry.by_nir(nir)
    return person is not None and all(getattr(person, name) is None for name in registry.DETAILS)


def load_demo_people() -> list[str]:
    fresh = [r for r in demo_rows() if registry.by_nir(r["nir"]) is None]
    for row in fresh:
        registry._check(row)
    registry.upsert(fresh)
    # The details, also for demo people loaded before the registry held them.
    for nir, values in DETAILS.items():
        if _without_details(nir):
            person = registry.set_details(nir, **{k: v for k, v in values.items() if k != "iban"})
            person.iban = person.iban or values.get("iban")
    db.session.commit()
    if not fresh:
        return []
    return [f"registry: {len(fresh)} demo people (e.g. {NEW_PEOPLE[0][0]} {NEW_PEOPLE[0][2]}"
            f" {NEW_PEOPLE[0][1]}, born {NEW_PEOPLE[0][3]}, postal code {NEW_PEOPLE[0][6]})"]
