"""The French social-security number (NIR): its 13 characters, its 2-digit key, and how a
person may type it (seed 003: account creation asks for the "Numéro de sécurité sociale (sans
clé)"; seed 004: the login page).

Shape, position by position (1-based)::

    1       sex or status: 1, 2; 3, 4, 7, 8 for provisional numbers
    2-3     year of birth      4-5   month of birth
    6-7     department: two digits, or 2A / 2B for Corsica
    8-10    commune            11-13 order number
    14-15   key (optional when typed)

The key is 97 − (number mod 97). For Corsica "2A" counts as 19 and "2B" as 18 in the number
(the standard rule, the INSEE one). Spaces (also non-breaking ones), dots and dashes are
accepted anywhere, and the Corsican letters in either case. Nothing here checks that the
number belongs to someone: that is ``idp.registry``'s job.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from idp.errors import InvalidNir

# Whitespace (\s covers U+00A0 and U+202F), dots, ASCII and typographic dashes.
_SEPARATORS = re.compile(r"[\s.\-\u2010-\u2015]+")
_NUMBER = re.compile(r"[1-478][0-9]{4}(?:[0-9]{2}|2[AB])[0-9]{6}")
_KEY = re.compile(r"[0-9]{2}")
_CORSICA = {"2A": "19", "2B": "18"}


def nir_key(number13: str) -> str:
    """The 2-digit key of a 13-character NIR (``InvalidNir("format")`` if it is not one)."""
    number = number13.upper()
    if not _NUMBER.fullmatch(number):
        raise InvalidNir(reason="format")
    department = number[5:7]
    digits = number[:5] + _CORSICA.get(department, department) + number[7:]
    return f"{97 - int(digits) % 97:02d}"


@dataclass(frozen=True)
class Nir:
    """A valid NIR. Build it with ``parse_nir``, which checks the key."""

    number: str   # 13 characters, canonical upper case ("2690299341732", "184022A012345")
    key: str      # 2 digits

    @property
    def full(self) -> str:
        """The 15 characters, key included."""
        return self.number + self.key

    @property
    def display(self) -> str:
        """Grouped as on the carte Vitale: "2 69 02 99 341 732 85"."""
        n = self.full
        return " ".join((n[0], n[1:3], n[3:5], n[5:7], n[7:10], n[10:13], n[13:15]))

    @property
    def masked(self) -> str:
        """For the account page: only the first character and the key, "2 ** ** ** *** *** 85"."""
        return f"{self.number[0]} ** ** ** *** *** {self.key}"


def parse_nir(raw: str | None, *, require_key: bool | None = None) -> Nir:
    """Read a typed NIR: 13 characters, or 15 with the key, which must then be right.

    ``require_key=True`` accepts only the 15 characters, ``False`` only the 13 ("sans clé"),
    ``None`` either. Raises ``InvalidNir`` with reason "empty", "format" or "key".
    """
    text = _SEPARATORS.sub("", raw or "")
    if not text:
        raise InvalidNir(reason="empty")
    # Only ASCII goes further: upper() maps a few foreign letters to ASCII ones ("ı" → "I"),
    # and a NIR has no use for them.
    if not text.isascii():
        raise InvalidNir(reason="format")
    text = text.upper()
    lengths = {True: (15,), False: (13,), None: (13, 15)}[require_key]
    if len(text) not in lengths:
        raise InvalidNir(reason="format")
    number, typed_key = text[:13], text[13:]
    if not _NUMBER.fullmatch(number) or (typed_key and not _KEY.fullmatch(typed_key)):
        raise InvalidNir(reason="format")
    key = nir_key(number)
    if typed_key and typed_key != key:
        raise InvalidNir(reason="key")
    return Nir(number, key)
