"""Issue 13.7: dates in English are still Paris time (the clock moved with time-machine over
a daylight-saving change and over midnight), and a mail is in the language of the request
that sends it."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
import time_machine

from idp import i18n, messages
from tests.helpers.pages import says, text_of


def _in(app, lang):
    return app.test_request_context("/", headers={"Accept-Language": lang})


@pytest.mark.parametrize("utc, english, french", [
    # 00:30 UTC on the night of the change is 01:30 in Paris (CET), 01:30 UTC is 03:30 (CEST)
    (datetime(2023, 3, 26, 0, 30, tzinfo=UTC), "26/03/2023 at 01:30", "26/03/2023 - 01h30"),
    (datetime(2023, 3, 26, 1, 30, tzinfo=UTC), "26/03/2023 at 03:30", "26/03/2023 - 03h30"),
    # 23:05 UTC on 4 January is already the 5th in Paris
    (datetime(2023, 1, 4, 23, 5, tzinfo=UTC), "05/01/2023 at 00:05", "05/01/2023 - 00h05"),
])
def test_the_formats_are_paris_time_in_both_languages(app, utc, english, french):
    with _in(app, "en"):
        assert i18n.language() == "en" and messages.fmt_dash(utc) == english
    with _in(app, "fr"):
        assert messages.fmt_dash(utc) == french


def test_every_format_has_its_english_form(app):
    at = datetime(2023, 1, 4, 14, 47, tzinfo=UTC)          # 15:47 in Paris, a Wednesday
    with _in(app, "en"):
        assert messages.fmt_long(at) == "Wednesday 4 January 2023 15:47"
        assert messages.fmt_comma(at) == "04/01/2023, 15:47"
        assert messages.fmt_changed(datetime(2025, 6, 6, 12, 27, tzinfo=UTC)) == \
            "Friday 06 June 2025 at 14:27"
        assert messages.fmt_last_login(at) == "04/01/2023 at 15:47"
        assert messages.fmt_date(date(2024, 4, 12)) == "12/04/2024"
        assert messages.duration_text(timedelta(hours=1)) == "1 hour"
        assert messages.duration_text(timedelta(days=7)) == "7 days"
        assert messages.months_text(timedelta(days=183)) == "6 months"
        assert messages.text("code_quota", until=at).endswith(
            "blocked until 04/01/2023 at 15:47 (Paris time). When the block ends, remember to"
            " check the Spam or Junk folder of your mailbox.")
    with _in(app, "fr"):
        assert messages.fmt_long(at) == "mercredi 4 janvier 2023 15:47"
        assert messages.months_text(timedelta(days=183)) == "6 mois"


def test_outside_a_request_everything_is_french(app):
    with app.app_context():
        assert i18n.language() == "fr"
        assert messages.text("link_back") == "Retour"


def test_a_lock_shown_in_english_across_the_change_to_summer_time(app, server, browser, person):
    """Three wrong passwords at 00:55 UTC on 26 March 2023 (01:55 in Paris, CET): the lock's
    end, 15 minutes later, is 03:10 in Paris (CEST), and the page says so in English."""
    with time_machine.travel(datetime(2023, 3, 26, 0, 55, tzinfo=UTC), tick=False):
        browser.get("/langue/en", params={"next": "/login"})
        for _ in range(4):
            page = browser.submit_credentials(person.nir, "Mauvais-2024")
        assert says(page, "For security reasons, access to your ameli account is blocked until"
                          " Sunday 26 March 2023 03:10 (Paris time)."), text_of(page)[:600]


def test_a_mail_is_in_the_language_of_the_request_that_sends_it(app, server, browser, person,
                                                                 smtp):
    """Logged in and password changed in English at 23:05 UTC on 4 January 2023: the code
    mail and the confirmation mail are English, the change dated the 5th, Paris time."""
    with time_machine.travel(datetime(2023, 1, 4, 23, 5, tzinfo=UTC), tick=False):
        browser.get("/langue/en", params={"next": "/login"})
        browser.submit_credentials(person.nir, person.password)
        browser.ask_code()
        mail = smtp.to(person.email)[-1]
        assert mail["Subject"] == "Your security code to log in to your ameli account"
        assert "Here is your security code to log in to your ameli account:" in \
            smtp.last_text(person.email)
        page = browser.post_form("/login/code", {"code": smtp.code_for(person.email)})
        page = browser.post_form("/compte/mot-de-passe/code/envoyer", {})
        assert says(page, "Enter below the code that was sent to you by email"), text_of(page)[:400]
        browser.post_form("/compte/mot-de-passe/code",
                          {"code": smtp.code_for(person.email, digits=4)})
        page = browser.post_form("/compte/mot-de-passe", {
            "current_password": person.password, "new_password": "Nouveau-Mdp42",
            "confirmation": "Nouveau-Mdp42"})
        mail = smtp.to(person.email)[-1]
        assert mail["Subject"] == "The password of your ameli account has been changed"
        body = smtp.last_text(person.email)
        assert body.startswith("Hello,")
        assert ("The password of your ameli account was changed on Thursday 05 January 2023 at"
                " 00:05 (Paris time).") in body, body
