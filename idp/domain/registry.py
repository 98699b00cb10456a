"""The registry of insured persons (the seeds' RFI): who may create an account.

Loaded from CSV by ``idp registry import FILE`` with the contract's header; every line is
checked before anything is written, so that a file with one bad line imports nothing and
each error names its line.
"""

from __future__ import annotations

import csv
import io
import re
from datetime import date

from sqlalchemy import select

from idp.domain.nir import parse_nir
from idp.errors import InvalidNir
from idp.extensions import db
from idp.models import Person

HEADER = ("nir", "family_name", "given_name", "birthdate", "gender", "birthplace",
          "birthcountry", "postal_code", "fund", "email", "mobile", "vitale_serial", "iban",
          "status")
STATUSES = ("attached", "unattached", "pending")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_INSEE = re.compile(r"^(\d{5}|2[AB]\d{3})?$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_MOBILE = re.compile(r"^0[67]\d{8}$")
_IBAN = re.compile(r"^[A-Z]{2}\d{2}[A-Z0-9]{10,30}$")
_LANDLINE = re.compile(r"^0[1-59]\d{8}$")
# What the person's file holds beyond the import's header (issue 13.3, "Mes informations"):
# rights and CEAM end dates, complementary insurer, doctor, street address and city, landline.
DETAILS = ("rights_until", "ceam_until", "complementary", "doctor", "address", "city",
           "landline")
IBAN_SHOWN = 4      # the characters of an IBAN a page may show: its last four digits


class RegistryFileError(Exception):
    def __init__(self, errors: list[str]):
        super().__init__("\n".join(errors))
        self.errors = errors


def normalise_iban(raw: str | None) -> str:
    return re.sub(r"\s+", "", raw or "").upper()


def normalise_serial(raw: str | None) -> str:
    return re.sub(r"\s+", "", raw or "")


def normalise_mobile(raw: str | None) -> str:
    text = re.sub(r"[\s.\-]+", "", raw or "")
    if text.startswith("+33"):
        text = "0" + text[3:]
    return text


def is_mobile(number: str) -> bool:
    """The one mobile-number rule (a normalised French mobile: 06 or 07, then 8 digits)."""
    return bool(_MOBILE.fullmatch(number or ""))


def is_landline(number: str) -> bool:
    """A normalised French landline (or VoIP) number: 01 to 05 or 09, then 8 digits."""
    return bool(_LANDLINE.fullmatch(number or ""))


def iban_end(iban: str | None) -> str | None:
    """The last ``IBAN_SHOWN`` characters of an IBAN, the only part a page shows."""
    iban = normalise_iban(iban)
    return iban[-IBAN_SHOWN:] if len(iban) > IBAN_SHOWN else None


def check_details(values: dict) -> tuple[dict, list[str]]:
    """The details of ``values`` (names of ``DETAILS``; dates as ``date`` or YYYY-MM-DD,
    empty text as none) cleaned, and the problems found, each naming its detail."""
    cleaned, problems = {}, []
    for name, value in values.items():
        if name not in DETAILS:
            problems.append(f"{name}: not a detail of the registry ({', '.join(DETAILS)})")
            continue
        if isinstance(value, str):
            value = value.strip() or None
        if name.endswith("_until") and value is not None:
            if isinstance(value, str):
                if not _DATE.match(value):
                    problems.append(f"{name}: expected YYYY-MM-DD")
                    continue
                try:
                    value = date.fromisoformat(value)
                except ValueError:
                    problems.append(f"{name}: expected YYYY-MM-DD")
                    continue
            elif not isinstance(value, date):
                problems.append(f"{name}: expected a date")
                continue
        if name == "address" and value is not None:
            value = value.replace("\r\n", "\n")
        if name == "landline" and value is not None:
            value = normalise_mobile(value)
            if not is_landline(value):
                problems.append("landline: expected 10 digits starting with 01 to 05 or 09")
                continue
        cleaned[name] = value
    return cleaned, problems


def set_details(nir: str, **values) -> Person:
    """Write the person's details (see ``check_details``) in the current transaction; a
    person missing from the registry or a wrong detail raises ``ValueError``."""
    person = db.session.get(Person, nir)
    if person is None:
        raise ValueError(f"nir {nir}: not in the registry")
    cleaned, problems = check_details(values)
    if problems:
        raise ValueError("; ".join(problems))
    for name, value in cleaned.items():
        setattr(person, name, value)
    db.session.flush()
    return person


def parse(text: str) -> list[dict]:
    """Check a whole CSV text; return the rows or raise ``RegistryFileError`` with every
    error, each named by its line number. The header is the contract's ``HEADER``, or it
    followed by ``DETAILS`` (issue 13.3: what "Mes informations" shows)."""
    reader = csv.reader(io.StringIO(text))
    try:
        header = next(reader)
    except StopIteration:
        raise RegistryFileError(["line 1: empty file, expected the header "
                                 + ",".join(HEADER)]) from None
    columns = tuple(h.strip() for h in header)
    if columns not in (HEADER, HEADER + DETAILS):
        raise RegistryFileError([f"line 1: expected the header {','.join(HEADER)}"
                                 f" (optionally followed by {','.join(DETAILS)})"])
    rows, errors, seen = [], [], {}
    for cells in reader:
        line = reader.line_num
        if not any(c.strip() for c in cells):
            continue
        if len(cells) != len(columns):
            errors.append(f"line {line}: expected {len(columns)} fields, found {len(cells)}")
            continue
        row = {k: v.strip() for k, v in zip(columns, cells, strict=True)}
        problems = _check(row)
        if len(columns) > len(HEADER):
            details, wrong = check_details({k: row[k] for k in DETAILS})
            row.update(details)
            problems += wrong
        if row["nir"] and not problems:
            if row["nir"] in seen:
                problems.append(f"nir: already given on line {seen[row['nir']]}")
            seen[row["nir"]] = line
        errors.extend(f"line {line}: {p}" for p in problems)
        rows.append(row)
    if errors:
        raise RegistryFileError(errors)
    return rows


def _check(row: dict) -> list[str]:
    problems = []
    try:
        row["nir"] = parse_nir(row["nir"], require_key=False).number
    except InvalidNir:
        problems.append("nir: expected 13 characters without the key")
    for name in ("family_name", "given_name"):
        if not row[name]:
            problems.append(f"{name}: required")
    if not _DATE.match(row["birthdate"]):
        problems.append("birthdate: expected YYYY-MM-DD")
    if row["gender"] not in ("male", "female"):
        problems.append("gender: expected male or female")
    for name in ("birthplace", "birthcountry"):
        if not _INSEE.match(row[name].upper()):
            problems.append(f"{name}: expected an INSEE code of 5 characters")
    if not re.fullmatch(r"\d{5}", row["postal_code"]):
        problems.append("postal_code: expected 5 digits")
    row["email"] = row["email"].lower()
    if row["email"] and not _EMAIL.match(row["email"]):
        problems.append("email: not an e-mail address")
    row["mobile"] = normalise_mobile(row["mobile"])
    if row["mobile"] and not is_mobile(row["mobile"]):
        problems.append("mobile: expected 10 digits starting with 06 or 07")
    row["vitale_serial"] = normalise_serial(row["vitale_serial"])
    if row["vitale_serial"] and not row["vitale_serial"].isdigit():
        problems.append("vitale_serial: expected digits")
    row["iban"] = normalise_iban(row["iban"])
    if row["iban"] and not _IBAN.match(row["iban"]):
        problems.append("iban: not an IBAN")
    row["status"] = row["status"] or "attached"
    if row["status"] not in STATUSES:
        problems.append("status: expected attached, unattached or pending")
    return problems


def upsert(rows: list[dict]) -> tuple[int, int]:
    """Write checked rows in the current transaction; (added, updated)."""
    added = updated = 0
    for row in rows:
        values = {k: (row[k] or None) if k in ("fund", "email", "mobile", "vitale_serial", "iban")
                  else row[k] for k in HEADER}
        values["birthplace"] = values["birthplace"].upper()
        # the details when the file carries them; a file without them keeps those stored
        values.update((k, row[k]) for k in DETAILS if k in row)
        person = db.session.get(Person, row["nir"])
        if person is None:
            db.session.add(Person(**values))
            added += 1
        else:
            for key, value in values.items():
                setattr(person, key, value)
            updated += 1
    db.session.flush()
    return added, updated


def import_csv(text: str) -> tuple[int, int]:
    """All or nothing: parse everything, then write in one transaction."""
    rows = parse(text)
    try:
        counts = upsert(rows)
        db.session.commit()
    except Exception:
        db.session.rollback()
        raise
    return counts


def by_nir(nir: str) -> Person | None:
    return db.session.get(Person, nir)


def all_people() -> list[Person]:
    return list(db.session.execute(select(Person).order_by(Person.nir)).scalars())
