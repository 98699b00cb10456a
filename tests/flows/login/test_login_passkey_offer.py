"""The biometrics offer over real HTTP (issue 14, seed 004 "APPLI COMPTE AMELI" ETAPE 4):
after the password and the code, on a device whose page said it has biometrics, before the
return to the client: "Activer" (the attestation through the JSON pair), "Plus tard",
"Ne plus me le rappeler"; and its three answers across logins."""

from __future__ import annotations

import re

import pytest

from idp import messages
from tests.flows.login.test_login_passkey import (
    Script,
    device_for,
    on_localhost,
)
from tests.flows.login.test_login_tokens import Portal
from tests.helpers.accounts import logged_in, rows
from tests.helpers.pages import says, text_of

ANDROID = ("Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko)"
           " Chrome/126.0 Mobile Safari/537.36")


@pytest.fixture
def browser(server):
    """On ``localhost``, the passkeys' origin (test_login_passkey.on_localhost)."""
    return on_localhost(server)


def full_login(browser, person, smtp, *, biometrics="platform", start="/login"):
    if start is not None:
        browser.get(start)
    browser.submit_credentials(person.nir, person.password)
    browser.ask_code()
    return browser.post_form("/login/code", {"code": smtp.code_for(person.email),
                                             "biometrics": biometrics})


def at_offer(page) -> bool:
    return says(page, messages.text("passkey_offer_title")) and \
        says(page, messages.text("passkey_offer_text"))


def activate(browser, phone, **spoil):
    script = Script(browser)
    options = browser.http.post(browser.base + "/login/offer/options", json={},
                                headers=script.headers())
    assert options.status_code == 200, options.text
    return browser.http.post(browser.base + "/login/offer/activate", headers={
        **script.headers(), "User-Agent": ANDROID},
        json={"credential": phone.register(options.json()["publicKey"], **spoil)})


def test_the_offer_page_says_the_seeds_words_with_its_three_answers(browser, person, smtp):
    page = full_login(browser, person, smtp)
    assert at_offer(page), text_of(page)[:500]
    for words in ("Activer", "Plus tard", "Ne plus me le rappeler"):
        assert says(page, words), words
    assert says(page, messages.text("passkey_no_biometrics"))    # the alert, for passkey.js
    assert "passkey.js" in page.text and not logged_in(browser)
    assert "6 mois" in text_of(page)


def test_no_offer_without_the_pages_word_on_the_device(browser, person, smtp):
    page = full_login(browser, person, smtp, biometrics="")
    assert "Mes informations" in page.text and not at_offer(page)


def test_later_goes_on_and_the_offer_comes_back_at_the_next_login(browser, person, smtp):
    full_login(browser, person, smtp)
    page = browser.post_form("/login/offer", {"decision": "later"})
    assert "Mes informations" in page.text and logged_in(browser)
    browser.logout()
    assert at_offer(full_login(browser, person, smtp))


def test_never_goes_on_and_the_offer_never_comes_back(app, browser, person, smtp):
    full_login(browser, person, smtp)
    page = browser.post_form("/login/offer", {"decision": "never"})
    assert "Mes informations" in page.text
    browser.logout()
    page = full_login(browser, person, smtp)
    assert "Mes informations" in page.text and not at_offer(page)
    from idp.models import Account
    assert rows(app, Account)[0].passkey_offer == "never"


def test_activer_registers_the_passkey_then_goes_on_to_the_client(app, server, browser,
                                                                   person, smtp):
    from idp.models import Passkey
    phone = device_for(app)
    portal = Portal(server, browser)
    assert 'name="password"' in portal.authorize().text     # the login page itself
    page = full_login(browser, person, smtp, start=None)
    assert at_offer(page)
    answer = activate(browser, phone)
    assert answer.status_code == 200, answer.text
    code = portal.follow(browser.get(answer.json()["location"], allow_redirects=False))
    assert portal.id_token(code)["amr"] == ["pwd", "otp", "mfa"]
    (passkey,) = rows(app, Passkey)
    assert passkey.label == "Chrome sur Android"
    # the next login: biometrics, no password, no code
    browser.logout()
    browser.get("/login")
    login = Script(browser).sign_in(phone)
    assert login.status_code == 200 and login.json()["location"] == "/compte"


def test_a_refused_activation_says_so_and_keeps_the_offer(app, browser, person, smtp):
    full_login(browser, person, smtp)
    answer = activate(browser, device_for(app), uv=False)
    assert answer.status_code == 400
    assert answer.json()["message"] == messages.text("passkey_not_registered")
    assert at_offer(browser.get("/login")) and not logged_in(browser)


def test_the_offer_endpoints_need_the_offer_step_and_the_token(app, browser, person, smtp):
    browser.get("/login")
    script = Script(browser)
    answer = browser.http.post(browser.base + "/login/offer/options", json={},
                               headers=script.headers())
    assert answer.status_code == 409
    full_login(browser, person, smtp)
    no_token = browser.http.post(browser.base + "/login/offer/options", json={},
                                 headers={"Origin": browser.base})
    assert no_token.status_code == 400 and "publicKey" not in no_token.text


def test_the_code_page_has_the_field_passkey_js_fills_with_what_the_device_can(browser,
                                                                              person):
    browser.get("/login")
    browser.submit_credentials(person.nir, person.password)
    page = browser.ask_code()
    assert re.search(r'<input type="hidden" name="biometrics" id="biometrics" value="">',
                     page.text)
    assert "passkey.js" in page.text
