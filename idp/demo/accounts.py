"""Demo people for ``make run``: one account per seed case, password ``Ameli2024!``.
Their NIRs are made-up numbers with valid keys."""

from __future__ import annotations

from idp.domain import accounts
from idp.extensions import db

DEMO_PASSWORD = "Ameli2024!"
DEMO_ACCOUNTS = [
    # nir (13), given, family, birthdate, gender, birthplace, email, status, verified
    ("2690299341732", "Valérie", "MARTIN", "1969-02-15", "female", "99341", "valerie.martin@yopmail.fr", "active", True),
    ("1840175056123", "Jean Pierre", "DUPONT", "1984-01-22", "male", "75056", "jean.dupont@yopmail.fr", "active", True),
    ("1750513055001", "Paul", "SANS MAIL", "1975-05-03", "male", "13055", None, "active", False),
    ("2800269123005", "Claire", "RESILIEE", "1980-02-10", "female", "69123", "claire.r@yopmail.fr", "resigned", True),
    ("1920733063004", "Luc", "SANS CAISSE", "1992-07-14", "male", "33063", "luc.sc@yopmail.fr", "unattached", True),
    ("2010631555006", "Emma", "EN COURS", "2001-06-30", "female", "31555", "emma.ec@yopmail.fr", "pending", True),
]


def load_demo() -> list[str]:
    lines = []
    for nir, given, family, birthdate, gender, place, email, status, verified in DEMO_ACCOUNTS:
        if accounts.by_nir(nir) is not None:
            continue
        accounts.create(nir=nir, password=DEMO_PASSWORD, email=email, given_name=given,
                        family_name=family, birthdate=birthdate, gender=gender, birthplace=place,
                        email_verified=verified, status=status, fund="CPAM de Paris")
        lines.append(f"demo account {nir} ({given} {family}, {status}) — password {DEMO_PASSWORD}")
    db.session.commit()
    return lines
