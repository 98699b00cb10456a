"""The French social-security number (NIR): 13 characters, and its 2-digit key.

The key is 97 − (number mod 97); for Corsica the department "2A" counts as 19 and "2B" as
18 in the number. Spaces, dots and dashes are accepted between digits.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .errors import InvalidNir

_SEPARATORS = re.compile(r"[\s.\-\u00a0\u202f]+")
_NUMBER = re.compile(r"^[1-478]\d{4}(\d{2}|2[AB])\d{6}$")


def nir_key(number: str) -> str:
    """The key of a 13-character NIR."""
    number = number.upper()
    digits = number
    if number[5:7] == "2B":
        digits = number[:5] + "18" + number[7:]
    elif number[5:7] == "2A":
        digits = number[:5] + "19" + number[7:]
    return f"{97 - int(digits) % 97:02d}"


@dataclass(frozen=True)
class Nir:
    number: str   # 13 characters, upper case
    key: str      # 2 digits

    @property
    def full(self) -> str:
        return self.number + self.key

    @property
    def display(self) -> str:
        n = self.full
        return " ".join((n[0], n[1:3], n[3:5], n[5:7], n[7:10], n[10:13], n[13:15]))

    @property
    def masked(self) -> str:
        """For the account page: the first character and the key only."""
        return f"{self.number[0]} ** ** ** *** *** {self.key}"


def parse_nir(raw: str | None, *, require_key: bool | None = None) -> Nir:
    text = _SEPARATORS.sub("", raw or "").upper()
    if not text:
        raise InvalidNir(reason="empty")
    if len(text) == 15 and require_key is not False:
        number, key = text[:13], text[13:]
        if not _NUMBER.match(number) or not key.isdigit():
            raise InvalidNir(reason="format")
        if nir_key(number) != key:
            raise InvalidNir(reason="key")
        return Nir(number, key)
    if len(text) == 13 and require_key is not True and _NUMBER.match(text):
        return Nir(text, nir_key(text))
    raise InvalidNir(reason="format")
