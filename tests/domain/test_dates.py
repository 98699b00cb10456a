"""The one birth-date reader (issue 12): forms, stored values and the front desk's CLI."""

from __future__ import annotations

from datetime import date

import pytest

from idp.domain.dates import parse_birthdate, valid_stored


@pytest.mark.parametrize("raw,expected", [
    ("11/02/1986", date(1986, 2, 11)), (" 11/02/1986 ", date(1986, 2, 11)),
    ("1986-02-11", date(1986, 2, 11)), ("31/02/1986", None), ("1986-00-00", None),
    ("11-02-1986", None), ("", None), (None, None)])
def test_a_typed_or_stored_birth_date_reads_as_a_calendar_day_or_none(raw, expected):
    assert parse_birthdate(raw) == expected


@pytest.mark.parametrize("value,ok", [
    ("1986-02-11", True), ("1986-02-00", True), ("1986-00-00", True), ("1986-00-11", False),
    ("1986-13-00", False), ("1986-02-30", False), ("11/02/1986", False), ("", False)])
def test_a_stored_birth_date_may_be_partial(value, ok):
    assert valid_stored(value) is ok
