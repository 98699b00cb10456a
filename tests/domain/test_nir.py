"""idp.nir: reading a typed social-security number and checking its key.

Every expected key below is worked out in its comment (97 − number mod 97), not by
``nir_key`` itself.
"""

from __future__ import annotations

import pytest

from idp.domain.nir import Nir, nir_key, parse_nir
from idp.errors import InvalidNir

# 2690299341732 = 97 × 27735044760 + 12      → key 97 − 12 = 85
# 1841276451089 = 97 × 18982231454 + 51      → key 97 − 51 = 46
# 184022A012345 → 1840219012345 = 97 × 18971330024 + 17 → key 80
# 255082B123456 → 2550818123456 = 97 × 26297094056 + 24 → key 73
# 1850575123425 = 97 × 19078094055 + 90      → key 07 (two digits, zero first)
HAND_KEYS = [
    ("2690299341732", "85"),
    ("1841276451089", "46"),
    ("184022A012345", "80"),
    ("255082B123456", "73"),
    ("1850575123425", "07"),
]


def reason(raw, **kwargs):
    with pytest.raises(InvalidNir) as refused:
        parse_nir(raw, **kwargs)
    return refused.value.reason


@pytest.mark.parametrize("number, key", HAND_KEYS)
def test_the_key_is_97_minus_the_number_modulo_97(number, key):
    assert nir_key(number) == key


@pytest.mark.parametrize("number, key", HAND_KEYS)
def test_a_number_typed_with_its_right_key_is_accepted(number, key):
    assert parse_nir(number + key) == Nir(number, key)


def test_corsica_2a_counts_as_19_and_2b_as_18_not_as_their_digits():
    # Read as "20", 2A would give another key: 1840220012345 mod 97 = 44 → 53.
    assert nir_key("184022A012345") == "80"
    assert nir_key("184022B012345") != nir_key("184022A012345")
    assert nir_key("255082B123456") == "73"


def test_the_corsican_letters_are_accepted_in_lower_case_and_stored_upper_case():
    nir = parse_nir("1 84 02 2a 012 345 80")
    assert nir.number == "184022A012345"
    assert nir_key("184022a012345") == "80"


def test_without_its_key_the_number_gets_its_key_computed():
    nir = parse_nir("2690299341732")
    assert (nir.number, nir.key, nir.full) == ("2690299341732", "85", "269029934173285")


@pytest.mark.parametrize("typed", [
    "2 69 02 99 341 732 85",
    "2\u00a069\u00a002\u00a099\u00a0341\u00a0732\u00a085",   # non-breaking spaces
    "2\u202f69\u202f02\u202f99\u202f341\u202f732\u202f85",   # narrow non-breaking spaces
    "2.69.02.99.341.732.85",
    "2-69-02-99-341-732-85",
    "  269029934173285\t",
])
def test_spaces_dots_and_dashes_are_ignored(typed):
    assert parse_nir(typed).full == "269029934173285"


def test_a_provisional_number_may_start_with_3_4_7_or_8_but_not_5_6_9_or_0():
    for first in "123478":
        number = first + "690299341732"
        assert parse_nir(number).number == number
    for first in "0569":
        assert reason(first + "690299341732") == "format"


def test_a_wrong_key_is_refused_as_a_key_error():
    assert reason("269029934173284") == "key"
    assert reason("2 69 02 99 341 732 58") == "key"


@pytest.mark.parametrize("typed", [
    "269029934173",        # 12
    "26902993417328",      # 14
    "2690299341732850",    # 16
    "2",
])
def test_any_length_but_13_or_15_is_a_format_error(typed):
    assert reason(typed) == "format"


@pytest.mark.parametrize("typed", [
    "26902993417ab",       # letters at the end
    "2690A99341732",       # a letter outside the department
    "2690299341732AB",     # letters as the key
    "184022C012345",       # a department 2C does not exist
    "18402A2012345",       # 2A in the wrong place
    "2690299341732+5",     # another separator
    "٢690299341732",       # an Arabic-Indic digit
    "2690299341732²5",     # a superscript digit in the key
])
def test_letters_or_other_characters_are_a_format_error(typed):
    assert reason(typed) == "format"


@pytest.mark.parametrize("typed", ["", "   ", " . - ", "\u00a0", None])
def test_nothing_typed_is_an_empty_error(typed):
    assert reason(typed) == "empty"


def test_require_key_true_demands_the_15_characters():
    assert parse_nir("269029934173285", require_key=True).key == "85"
    assert reason("2690299341732", require_key=True) == "format"


def test_require_key_false_demands_the_13_characters_sans_cle():
    assert parse_nir("2690299341732", require_key=False).key == "85"
    assert reason("269029934173285", require_key=False) == "format"


def test_the_key_of_something_that_is_not_a_nir_is_a_format_error():
    with pytest.raises(InvalidNir) as refused:
        nir_key("26902993417")
    assert refused.value.reason == "format"


def test_the_display_groups_the_15_characters_1_2_2_2_3_3_2():
    assert parse_nir("2690299341732").display == "2 69 02 99 341 732 85"
    assert parse_nir("184022a012345").display == "1 84 02 2A 012 345 80"


def test_the_masked_form_shows_only_the_first_character_and_the_key():
    masked = parse_nir("2690299341732").masked
    assert masked == "2 ** ** ** *** *** 85"
    assert "690299341732" not in masked.replace(" ", "")


def test_a_nir_is_a_frozen_value():
    nir = parse_nir("2690299341732")
    with pytest.raises(AttributeError):
        nir.key = "00"
    assert nir == parse_nir("2 69 02 99 341 732 85")
