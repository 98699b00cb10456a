"""The trusted devices of "Mes informations" in words (issue 13.5): a readable name instead of
the raw user agent, dates in Paris time, and the password change saying they were forgotten."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest

from idp import messages
from idp.domain import devices
from tests.helpers.accounts import NEW_PASSWORD, login_direct
from tests.helpers.pages import says, text_of

CHROME_LINUX = ("Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
                "Chrome/120.0.0.0 Safari/537.36")


@pytest.mark.parametrize("agent, label", [
    (CHROME_LINUX, "Chrome sur Linux"),
    ("Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:121.0) Gecko/20100101 Firefox/121.0",
     "Firefox sur Windows"),
    ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
     "Chrome/120.0.0.0 Safari/537.36 Edg/120.0.2210.91", "Edge sur Windows"),
    ("Mozilla/5.0 (iPhone; CPU iPhone OS 17_2 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like "
     "Gecko) Version/17.2 Mobile/15E148 Safari/604.1", "Safari sur iPhone"),
    ("Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) "
     "Version/17.2 Safari/605.1.15", "Safari sur macOS"),
    ("Mozilla/5.0 (Linux; Android 14; SM-S918B) AppleWebKit/537.36 (KHTML, like Gecko) "
     "SamsungBrowser/23.0 Chrome/115.0.0.0 Mobile Safari/537.36", "Samsung Internet sur Android"),
    ("Mozilla/5.0 (Linux; Android 14) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.6099.144 "
     "Mobile Safari/537.36", "Chrome sur Android"),
    ("python-requests/2.34.2", "Appareil"),
    ("", "Appareil"),
])
def test_a_user_agent_reads_as_a_browser_on_a_system(agent, label):
    """issue 13.5: "Chrome sur Linux", not the raw user agent."""
    assert messages.device_label(*devices.describe(agent)) == label


def remember_this_browser(browser, smtp, person):
    browser.get("/login")
    browser.post_form("/login", {"nir": person.nir, "password": person.password})
    browser.post_form("/login/code/send", {})
    return browser.post_form("/login/code", {"code": smtp.code_for(person.email),
                                             "remember_device": "1"})


def test_the_account_page_names_the_device_and_dates_it_in_paris_time(
        server, browser, smtp, person, clock):
    """issue 13.5: trusted at 00:06 Paris time on 2 December (23:06 UTC on the 1st): "depuis
    le 02/12/2023", and its name, not its user agent."""
    clock.shift(datetime(2023, 12, 1, 23, 6, tzinfo=UTC) - clock.now())
    browser.http.headers["User-Agent"] = CHROME_LINUX
    page = remember_this_browser(browser, smtp, person)
    assert "Mes informations" in page.text, text_of(page)[:400]
    assert says(page, "Chrome sur Linux — depuis le 02/12/2023"), text_of(page)
    assert "Mozilla/5.0" not in page.text and "depuis le 01/12" not in page.text


def test_after_a_password_change_the_page_says_the_devices_were_forgotten(
        server, browser, smtp, person):
    """issue 13.5: the password change forgets the remembered devices, and says so."""
    remember_this_browser(browser, smtp, person)
    browser.post_form("/compte/mot-de-passe/code/envoyer", {})
    browser.post_form("/compte/mot-de-passe/code", {"code": smtp.code_for(person.email, digits=4)})
    page = browser.post_form("/compte/mot-de-passe", {
        "current_password": person.password, "new_password": NEW_PASSWORD,
        "confirmation": NEW_PASSWORD})
    assert says(page, messages.text("password_changed_done"))
    assert says(page, "Les appareils dont vous aviez demandé qu'ils soient reconnus ont été "
                      "oubliés : un code de sécurité sera demandé à la prochaine connexion depuis "
                      "chacun d'eux."), text_of(page)
    page = browser.get("/compte")
    assert "Aucun appareil." in page.text
    assert not re.search(r"Ne plus reconnaître cet appareil", page.text)


def test_a_password_change_without_remembered_devices_says_nothing_of_them(
        server, browser, smtp, person):
    """issue 13.5: nothing was forgotten, nothing is said."""
    login_direct(browser, smtp, person.nir, person.password, person.email)
    browser.post_form("/compte/mot-de-passe/code/envoyer", {})
    browser.post_form("/compte/mot-de-passe/code", {"code": smtp.code_for(person.email, digits=4)})
    page = browser.post_form("/compte/mot-de-passe", {
        "current_password": person.password, "new_password": NEW_PASSWORD,
        "confirmation": NEW_PASSWORD})
    assert says(page, messages.text("password_changed_done"))
    assert "Les appareils" not in text_of(page)
