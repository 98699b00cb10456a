"""idp.domain.passwords: argon2id hashing, the rules of seed 000 at their boundaries, the labels in
the seed's words, and the "Niveau indicatif de sécurité"."""

from __future__ import annotations

import string
from datetime import date

import pytest
from argon2 import PasswordHasher, extract_parameters

from idp.domain.passwords import (
    RULES,
    Hasher,
    check_new_password,
    strength,
)
from idp.messages import password_rule_labels
from idp.policy import Policy

CHEAP_ARGON2 = {"argon2_memory_kib": 1024, "argon2_time_cost": 1, "argon2_parallelism": 1}
CHEAP = Policy(**CHEAP_ARGON2)
NIR = "2690299341732"
BORN = date(1987, 3, 14)


@pytest.fixture(scope="module")
def hasher():
    return Hasher(CHEAP)


def failing(password, *, confirmation=None, nir=None, birthdate=None,
            current_password_matches=False, policy=CHEAP):
    return check_new_password(password, confirmation=confirmation, nir=nir, birthdate=birthdate,
                              current_password_matches=current_password_matches, policy=policy)


# -- hashing ---------------------------------------------------------------------------------

def test_a_hash_is_argon2id_with_the_policy_parameters(hasher):
    stored = hasher.hash("Ameli2024!")
    assert stored.startswith("$argon2id$v=19$m=1024,t=1,p=1$")
    assert "Ameli2024!" not in stored


def test_the_default_policy_hashes_with_64_mib_3_passes_and_4_lanes():
    stored = Hasher(Policy()).hash("Ameli2024!")
    assert stored.startswith("$argon2id$v=19$m=65536,t=3,p=4$")


def test_the_same_password_hashes_differently_each_time(hasher):
    assert hasher.hash("Ameli2024!") != hasher.hash("Ameli2024!")


def test_verify_accepts_the_password_and_refuses_another(hasher):
    stored = hasher.hash("Ameli2024!")
    assert hasher.verify(stored, "Ameli2024!") is True
    assert hasher.verify(stored, "ameli2024!") is False
    assert hasher.verify(stored, "") is False


@pytest.mark.parametrize("garbage", [
    "",
    "not a hash",
    "$argon2id$v=19$m=1024,t=1,p=1$bm90IGEgc2FsdA$",
    "$argon2id$v=19$m=1024,t=1,p=1$$",
    "$2b$12$R9h/cIPz0gi.URNNX3kh2OPST9/PgBkqquzi.Ss7KIUgO2t0jWMUW",   # bcrypt
])
def test_verify_answers_false_for_an_unreadable_hash_without_raising(hasher, garbage):
    assert hasher.verify(garbage, "Ameli2024!") is False


def test_a_hash_made_with_the_policy_parameters_needs_no_rehash(hasher):
    assert hasher.needs_rehash(hasher.hash("Ameli2024!")) is False


@pytest.mark.parametrize("changed", [
    {"argon2_memory_kib": 2048}, {"argon2_time_cost": 2}, {"argon2_parallelism": 2}])
def test_a_hash_needs_rehash_when_a_cost_parameter_changes_yet_still_verifies(hasher, changed):
    stored = hasher.hash("Ameli2024!")
    stronger = Hasher(Policy(**{**CHEAP_ARGON2, **changed}))
    assert stronger.needs_rehash(stored) is True
    assert stronger.verify(stored, "Ameli2024!") is True


def test_an_unreadable_hash_needs_rehash(hasher):
    assert hasher.needs_rehash("not a hash") is True


def test_dummy_verify_runs_a_real_verification_with_the_same_parameters(monkeypatch):
    hasher = Hasher(CHEAP)
    verified, hashed = [], []
    real_verify, real_hash = PasswordHasher.verify, PasswordHasher.hash

    def spy_verify(self, stored, password):
        verified.append(stored)
        return real_verify(self, stored, password)

    def spy_hash(self, password, **kwargs):
        hashed.append(password)
        return real_hash(self, password, **kwargs)

    monkeypatch.setattr(PasswordHasher, "verify", spy_verify)
    monkeypatch.setattr(PasswordHasher, "hash", spy_hash)
    assert hasher.dummy_verify("Ameli2024!") is None
    hasher.dummy_verify("another one")
    assert hashed == []                              # the dummy hash was made once, beforehand
    assert len(verified) == 2 and verified[0] == verified[1]
    assert extract_parameters(verified[0]) == extract_parameters(real_hash(hasher._ph, "x"))


# -- the rules of seed 000 -------------------------------------------------------------------

def test_a_password_meeting_every_rule_breaks_none():
    assert failing("Ameli-2024", confirmation="Ameli-2024", nir=NIR, birthdate=BORN) == []


def test_5_characters_are_too_few_and_6_are_enough():
    assert failing("Abcd1") == ["length"]
    assert failing("Abcde1") == []


def test_50_characters_are_allowed_and_51_are_too_many():
    assert failing("Ab1" + "x" * 47) == []
    assert failing("Ab1" + "x" * 48) == ["length"]


def test_the_length_bounds_come_from_the_policy():
    policy = Policy(password_min_length=8, password_max_length=10)
    assert failing("Abcdef1", policy=policy) == ["length"]
    assert failing("Abcdef12", policy=policy) == []
    assert failing("Abcdef1234", policy=policy) == []
    assert failing("Abcdef12345", policy=policy) == ["length"]


@pytest.mark.parametrize("password", ["abcdef1", "ABCDEF1", "123456!"])
def test_lower_and_upper_case_latin_letters_are_both_required(password):
    assert failing(password) == ["case"]


def test_an_accented_capital_does_not_count_as_an_upper_case_latin_letter():
    assert failing("Éabcde1") == ["case", "allowed"]


def test_a_digit_or_a_special_character_is_required():
    assert failing("Abcdefg") == ["digit_or_special"]
    assert failing("Abcdef1") == []
    assert failing("Abcdef!") == []


@pytest.mark.parametrize("special", list(string.punctuation))
def test_each_of_the_32_ascii_specials_is_allowed_and_counts_as_special(special):
    assert failing("Abcdef" + special) == []


@pytest.mark.parametrize("password, rules", [
    ("Abc def1", ["allowed"]),              # a space
    ("Abcdéf1", ["allowed"]),               # an accented letter
    ("Abcdef1\t", ["allowed"]),             # a control character
    ("Abcdef1\u00a0", ["allowed"]),         # a non-breaking space
    ("Abcdef1€", ["allowed"]),              # a special outside ASCII
    ("Abcdef١", ["digit_or_special", "allowed"]),   # an Arabic-Indic digit is no digit here
    ("Abcdef１", ["digit_or_special", "allowed"]),   # nor is a full-width one
])
def test_only_ascii_letters_digits_and_specials_are_allowed(password, rules):
    assert failing(password) == rules


def test_the_nir_inside_the_password_is_refused():
    assert failing("Mdp-2690299341732", nir=NIR) == ["no_personal"]
    assert failing("Mdp-269029934173285", nir=NIR + "85") == ["no_personal"]


def test_the_13_characters_are_refused_when_the_caller_gives_the_nir_with_its_key():
    assert failing("Mdp-2690299341732", nir=NIR + "85") == ["no_personal"]


def test_a_corsican_nir_is_refused_whatever_the_case_of_its_letter():
    assert failing("Mdp-184022a012345", nir="184022A012345") == ["no_personal"]
    assert failing("Mdp-184022A012345", nir="184022a012345") == ["no_personal"]


def test_a_part_of_the_nir_alone_is_not_refused():
    assert failing("Mdp-269029934173", nir=NIR) == []


@pytest.mark.parametrize("form", ["14031987", "140387", "19870314", "14/03/1987", "1987", "1403"])
def test_the_birth_date_is_refused_in_each_of_its_forms(form):
    assert failing(f"Mdp-{form}", birthdate=BORN) == ["no_personal"]


@pytest.mark.parametrize("form", ["0314", "1988", "1503", "03/14"])
def test_other_dates_and_numbers_are_not_refused(form):
    assert failing(f"Mdp-{form}", birthdate=BORN) == []


def test_a_single_digit_day_and_month_are_written_with_two_digits():
    born = date(1990, 1, 5)
    assert failing("Mdp-0501", birthdate=born) == ["no_personal"]
    assert failing("Mdp-51x", birthdate=born) == []


def test_without_nir_or_birth_date_nothing_personal_is_checked():
    assert failing("Mdp-2690299341732-1987") == []


def test_the_current_password_is_refused_when_the_caller_says_it_matches():
    assert failing("Ameli-2024", current_password_matches=True) == ["different"]


def test_the_confirmation_must_be_identical_when_given():
    assert failing("Ameli-2024", confirmation="Ameli-2024") == []
    assert failing("Ameli-2024", confirmation="ameli-2024") == ["confirmation"]
    assert failing("Ameli-2024", confirmation="") == ["confirmation"]
    assert failing("Ameli-2024", confirmation=None) == []


def test_broken_rules_come_in_display_order():
    rules = failing("é1403", confirmation="x", birthdate=BORN, current_password_matches=True)
    assert rules == ["length", "case", "allowed", "no_personal", "different", "confirmation"]
    assert rules == [r for r in RULES if r in rules]


# -- labels ----------------------------------------------------------------------------------

def test_the_rule_ids_are_the_stable_ones_in_display_order():
    assert RULES == ("length", "case", "digit_or_special", "allowed", "no_personal",
                     "different", "confirmation")


def test_the_labels_are_seed_000_word_for_word_in_the_rules_order():
    assert dict(password_rule_labels(Policy())) == {
        "length": "comporter entre 6 et 50 caractères",
        "case": "contenir des caractères latins minuscules et majuscules",
        "digit_or_special": "contenir un chiffre ou un caractère spécial",
        "allowed": "ne contenir que des caractères autorisés",
        "no_personal": "ne pas contenir votre n° de sécurité sociale, votre date de naissance"
                       " ou une partie de celle-ci",
        "different": "être différent de votre mot de passe actuel",
        "confirmation": "être saisi deux fois à l'identique",
    }
    assert tuple(rule for rule, _ in password_rule_labels(Policy())) == RULES


def test_the_length_label_follows_the_policy():
    labels = dict(password_rule_labels(Policy(password_min_length=8, password_max_length=64)))
    assert labels["length"] == "comporter entre 8 et 64 caractères"


# -- strength --------------------------------------------------------------------------------

@pytest.mark.parametrize("password, level", [
    ("", "faible"),
    ("abcdef", "faible"),              # lower                      1
    ("Abcdef", "faible"),              # lower upper                2
    ("Abcdef1", "moyen"),              # lower upper digit          3
    ("Abcdef1!", "moyen"),             # + special                  4
    ("Abcdef1!x", "moyen"),            # 9 characters               4
    ("Abcdef1!xy", "fort"),            # 10 characters              5
    ("abcdefghij", "faible"),          # lower, 10                  2
    ("abcdefghijklmn", "moyen"),       # lower, 10, 14              3
    ("Abcdefghijklmn", "moyen"),       # lower upper, 10, 14        4
    ("Abcdefghijklm1", "fort"),        # lower upper digit, 10, 14  5
    ("Abcdefghijk1!m", "fort"),        # everything                 6
    ("abcdé١", "faible"),              # é and ١ count for nothing  1
])
def test_the_strength_level_follows_the_documented_table(password, level):
    assert strength(password) == level

