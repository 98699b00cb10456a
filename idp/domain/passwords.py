"""Passwords: argon2id hashing, and the rules of seed 000 ("Votre code personnel doit : …").

Each rule has a stable id, used by the templates and by ``static/password.js``; they are
listed in display order in ``RULES``; their seed wording is in ``idp.messages``. Decisions the seed leaves
open:

- "ne contenir que des caractères autorisés" does not list them. Allowed here: ASCII letters,
  ASCII digits and the 32 ASCII specials ``!"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~`` — printable
  ASCII without the space. So no space, no accented letter, no control character: a code
  personnel must be typeable on any keyboard and have a single Unicode form.
- "ne pas contenir … votre date de naissance ou une partie de celle-ci": the date written
  DDMMYYYY, DDMMYY, YYYYMMDD, DD/MM/YYYY, and its parts YYYY (the year) and DDMM (day and
  month). The NIR is refused whole (13 characters, Corsican letters in either case).
- "être saisi deux fois à l'identique" is our wording for the confirmation field.
"""

from __future__ import annotations

import string
import time
from collections.abc import Callable
from datetime import date
from typing import TYPE_CHECKING

from argon2 import PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError

if TYPE_CHECKING:  # only a type here: keeps this module free of Flask (idp.policy imports it)
    from idp.policy import Policy

LOWER = frozenset(string.ascii_lowercase)
UPPER = frozenset(string.ascii_uppercase)
DIGITS = frozenset(string.digits)
SPECIALS = frozenset(string.punctuation)     # the 32 ASCII specials, as in password.js
ALLOWED = LOWER | UPPER | DIGITS | SPECIALS

# The rules' ids in display order; their seed-000 labels are in ``idp.messages``
# ("rule_<id>", ``messages.password_rule_labels``).
RULES = ("length", "case", "digit_or_special", "allowed", "no_personal", "different",
         "confirmation")


class Hasher:
    """argon2id with the policy's cost; one per application (building it hashes once).
    ``spent``, when given, is told the process CPU seconds of each hash and verification
    (argon2's lanes run in threads of their own, so not the calling thread's time)."""

    def __init__(self, policy: Policy, spent: Callable[[float], None] | None = None):
        self._ph = PasswordHasher(time_cost=policy.argon2_time_cost,
                                  memory_cost=policy.argon2_memory_kib,
                                  parallelism=policy.argon2_parallelism, type=Type.ID)
        # Made once, with the same parameters as every real hash: verifying against it costs
        # what a real verification costs, so an unknown NIR cannot be told by its timing.
        self._dummy = self._ph.hash("no account has this password")
        self._spent = spent

    def hash(self, password: str) -> str:
        started = time.process_time()
        try:
            return self._ph.hash(password)
        finally:
            self._count(started)

    def verify(self, stored_hash: str, password: str) -> bool:
        """True when ``password`` matches; False on a mismatch or an unreadable hash."""
        started = time.process_time()
        try:
            return self._ph.verify(stored_hash, password)
        except (VerificationError, InvalidHashError):   # VerifyMismatchError is a VerificationError
            return False
        finally:
            self._count(started)

    def _count(self, started: float) -> None:
        if self._spent is not None:
            self._spent(time.process_time() - started)

    def needs_rehash(self, stored_hash: str) -> bool:
        """True when the hash was made with other parameters than the policy's (or is
        unreadable): the caller rehashes after a successful login."""
        try:
            return self._ph.check_needs_rehash(stored_hash)
        except InvalidHashError:
            return True

    def dummy_verify(self, password: str) -> None:
        """A verification of the same cost as ``verify``, whose answer is thrown away."""
        self.verify(self._dummy, password)


def _birthdate_forms(birthdate: date) -> tuple[str, ...]:
    d, m, y = f"{birthdate.day:02d}", f"{birthdate.month:02d}", f"{birthdate.year:04d}"
    return (d + m + y, d + m + y[2:], y + m + d, f"{d}/{m}/{y}", y, d + m)


def check_new_password(password: str, *, confirmation: str | None, nir: str | None,
                       birthdate: date | None, current_password_matches: bool = False,
                       policy: Policy) -> list[str]:
    """The ids of the rules ``password`` breaks, in display order; empty when it is accepted.

    ``nir`` is the 13-character number (a 15-character one is cut to 13); ``confirmation``
    None skips that rule (a form without the field); ``current_password_matches`` is the
    caller's verification of ``password`` against the current hash.
    """
    chars = set(password)
    failing = []
    if not policy.password_min_length <= len(password) <= policy.password_max_length:
        failing.append("length")
    if not (chars & LOWER and chars & UPPER):
        failing.append("case")
    if not chars & (DIGITS | SPECIALS):
        failing.append("digit_or_special")
    if not chars <= ALLOWED:
        failing.append("allowed")
    personal = list(_birthdate_forms(birthdate)) if birthdate else []
    if nir:
        personal.append(nir[:13].upper())
    if any(part in password.upper() for part in personal):
        failing.append("no_personal")
    if current_password_matches:
        failing.append("different")
    if confirmation is not None and confirmation != password:
        failing.append("confirmation")
    return failing


def strength(password: str) -> str:
    """The "Niveau indicatif de sécurité" of seed 000, only a guide (the rules decide).

    One point for each line that holds, then the level from the total:

    ============================================  ======
    contains a lower-case letter a-z               +1
    contains an upper-case letter A-Z              +1
    contains a digit 0-9                           +1
    contains an ASCII special (``SPECIALS``)       +1
    is 10 characters long or more                  +1
    is 14 characters long or more                  +1
    ============================================  ======

    0-2 "faible", 3-4 "moyen", 5-6 "fort". ``static/password.js`` computes the same.
    """
    chars = set(password)
    score = sum(bool(chars & cls) for cls in (LOWER, UPPER, DIGITS, SPECIALS))
    score += (len(password) >= 10) + (len(password) >= 14)
    return "faible" if score <= 2 else "moyen" if score <= 4 else "fort"
