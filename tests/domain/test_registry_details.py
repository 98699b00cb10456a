"""issue 13.3: the registry's details that "Mes informations" shows (rights and CEAM end
dates, complementary insurer, doctor, address, landline). The import takes them as optional
columns after the contract's header; a file without them keeps those stored; every wrong
value is named with its line, and nothing is written."""

from __future__ import annotations

from datetime import date

import pytest

from idp.domain import registry

HEADER = ",".join(registry.HEADER + registry.DETAILS)
LOUIS = ("1860275056042,BERNARD,Louis,1986-02-11,male,75056,99100,75011,CPAM de Paris,"
         "louis@example.fr,0612345678,123456789,FR7630006000011234567890189,attached")


def _import(app, text):
    with app.app_context():
        registry.import_csv(text)
        person = registry.by_nir("1860275056042")
        return {name: getattr(person, name) for name in registry.DETAILS}


def test_the_details_come_with_the_file_and_stay_when_a_file_has_none(app):
    details = _import(app, HEADER + "\n" + LOUIS + ',2027-12-31,,MGEN,Dr Karim HADDAD,'
                      '"18 BOULEVARD VOLTAIRE\nBÂTIMENT B",PARIS,01 42 34 56 78\n')
    assert details == {"rights_until": date(2027, 12, 31), "ceam_until": None,
                       "complementary": "MGEN", "doctor": "Dr Karim HADDAD",
                       "address": "18 BOULEVARD VOLTAIRE\nBÂTIMENT B", "city": "PARIS",
                       "landline": "0142345678"}
    # the contract's header alone still imports, and leaves the details as they are
    again = _import(app, ",".join(registry.HEADER) + "\n" + LOUIS + "\n")
    assert again == details
    # a file with the details writes them all: an empty one is none
    cleared = _import(app, HEADER + "\n" + LOUIS + ",,,,,,,\n")
    assert set(cleared.values()) == {None}


def test_a_wrong_detail_is_named_with_its_line_and_nothing_is_written(app):
    text = HEADER + "\n" + LOUIS + ",2027-13-01,31/12/2027,MGEN,,,,0612345678\n"
    with app.app_context(), pytest.raises(registry.RegistryFileError) as refused:
        registry.import_csv(text)
    assert refused.value.errors == [
        "line 2: rights_until: expected YYYY-MM-DD", "line 2: ceam_until: expected YYYY-MM-DD",
        "line 2: landline: expected 10 digits starting with 01 to 05 or 09"]
    with app.app_context():
        assert registry.by_nir("1860275056042") is None


def test_a_header_with_some_details_only_is_refused_naming_both_forms(app):
    with pytest.raises(registry.RegistryFileError) as refused:
        registry.parse(",".join(registry.HEADER) + ",doctor\n")
    assert refused.value.errors == [
        f"line 1: expected the header {','.join(registry.HEADER)} (optionally followed by"
        f" {','.join(registry.DETAILS)})"]


def test_set_details_refuses_an_unknown_person_or_detail(app):
    with app.app_context():
        with pytest.raises(ValueError, match="not in the registry"):
            registry.set_details("1860275056042", doctor="Dr X")
        registry.import_csv(",".join(registry.HEADER) + "\n" + LOUIS + "\n")
        with pytest.raises(ValueError, match="iban: not a detail"):
            registry.set_details("1860275056042", iban="FR76")
        assert registry.set_details("1860275056042", ceam_until="2026-12-31",
                                    doctor="  ").ceam_until == date(2026, 12, 31)


def test_an_iban_shows_its_last_four_characters_only():
    assert registry.iban_end("FR76 3000 4000 0312 3456 7890 143") == "0143"
    assert registry.iban_end(None) is None and registry.iban_end("0143") is None
