"""Passwords: argon2id hashing, and the rules of seed 000 ("Votre code personnel doit : …").

Allowed characters: ASCII letters, digits and the ASCII specials
``!"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~`` (no space, no accented letter): the seed says "ne contenir
que des caractères autorisés" without listing them; this is the printable ASCII set.
"""

from __future__ import annotations

import re
import string
from datetime import date

from argon2 import PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from .policy import Policy

SPECIALS = string.punctuation
ALLOWED = set(string.ascii_letters + string.digits + SPECIALS)
RULES = ("length", "case", "digit_or_special", "allowed", "no_personal", "different", "confirmation")


class Hasher:
    def __init__(self, policy: Policy):
        self._ph = PasswordHasher(time_cost=policy.argon2_time_cost,
                                  memory_cost=policy.argon2_memory_kib,
                                  parallelism=policy.argon2_parallelism, type=Type.ID)
        self._dummy = self._ph.hash("dummy password for unknown accounts")

    def hash(self, password: str) -> str:
        return self._ph.hash(password)

    def verify(self, stored_hash: str, password: str) -> bool:
        try:
            return self._ph.verify(stored_hash, password)
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return False

    def needs_rehash(self, stored_hash: str) -> bool:
        try:
            return self._ph.check_needs_rehash(stored_hash)
        except InvalidHashError:
            return True

    def dummy_verify(self, password: str) -> None:
        """Same cost as a real verification: an unknown NIR answers in the same time."""
        self.verify(self._dummy, password)


def rule_labels(policy: Policy) -> list[tuple[str, str]]:
    return [
        ("length", f"comporter entre {policy.password_min_length} et "
                   f"{policy.password_max_length} caractères"),
        ("case", "contenir des caractères latins minuscules et majuscules"),
        ("digit_or_special", "contenir un chiffre ou un caractère spécial"),
        ("allowed", "ne contenir que des caractères autorisés"),
        ("no_personal", "ne pas contenir votre n° de sécurité sociale, votre date de naissance "
                        "ou une partie de celle-ci"),
        ("different", "être différent de votre mot de passe actuel"),
        ("confirmation", "être saisi deux fois à l'identique"),
    ]


def _birthdate_forms(birthdate: date) -> list[str]:
    d, m, y = f"{birthdate.day:02d}", f"{birthdate.month:02d}", f"{birthdate.year:04d}"
    return [d + m + y, d + m + y[2:], y + m + d, f"{d}/{m}/{y}", y, d + m]


def check_new_password(password: str, *, confirmation: str | None, nir: str | None,
                       birthdate: date | None, current_password_matches: bool = False,
                       policy: Policy) -> list[str]:
    """The ids of the rules ``password`` breaks, in display order (empty: it is accepted)."""
    failing = []
    if not policy.password_min_length <= len(password) <= policy.password_max_length:
        failing.append("length")
    if not (re.search(r"[a-z]", password) and re.search(r"[A-Z]", password)):
        failing.append("case")
    if not any(ch.isdigit() or ch in SPECIALS for ch in password):
        failing.append("digit_or_special")
    if any(ch not in ALLOWED for ch in password):
        failing.append("allowed")
    personal = ([nir] if nir else []) + (_birthdate_forms(birthdate) if birthdate else [])
    if any(p and p in password for p in personal):
        failing.append("no_personal")
    if current_password_matches:
        failing.append("different")
    if confirmation is not None and confirmation != password:
        failing.append("confirmation")
    return failing


def strength(password: str) -> str:
    """"Niveau indicatif de sécurité": one point per character class present (lower, upper,
    digit, special) plus one from 10 characters and one from 14; 0-2 faible, 3-4 moyen,
    5-6 fort."""
    score = sum(bool(re.search(p, password)) for p in (r"[a-z]", r"[A-Z]", r"\d"))
    score += any(ch in SPECIALS for ch in password)
    score += (len(password) >= 10) + (len(password) >= 14)
    return "faible" if score <= 2 else "moyen" if score <= 4 else "fort"
