"""Seed 004, web, case 3 ("Quota de code de sécurité atteint"), as the seed draws it (issue
13.1): the 6th code asked within the sliding hour shows the NIR and password form with the red
quota message only, and while the block lasts no code logs in, not even one sent earlier.

The clock starts on Wednesday 4 January 2023, 14:30 UTC (15:30 in Paris)."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest

from tests.helpers.accounts import logged_in, login_until_code_sent, rows
from tests.helpers.pages import says, text_of

CASE_3 = ("Le nombre maximum de demandes de code a été atteint. L'accès au service est bloqué "
          "jusqu'au {until} (heure de Paris). À la fin du blocage, pensez à vérifier le dossier "
          "Spam ou Indésirable de votre boîte mail.")


def red_box(page) -> str:
    """The text of the page's error box (the seed's "encadré rouge")."""
    found = re.search(r'<div class="alert alert-error"[^>]*>(.*?)</div>', page.text, re.S)
    assert found, text_of(page)[:600]
    return text_of(found.group(1))


def is_the_case_3_screen(page, until: str) -> None:
    """Case 3's screen: the NIR and password form under the red message, nothing else."""
    assert page.status_code == 200
    assert red_box(page) == CASE_3.format(until=until), text_of(page)[:800]
    assert re.search(r'<form method="post" action="/login"', page.text)
    assert 'name="password"' in page.text and 'name="nir"' in page.text
    assert not says(page, "Un nouveau code vient de vous être envoyé")
    assert 'name="code"' not in page.text
    assert "Recevoir un nouveau code" not in page.text
    assert "recevoir un code de sécurité" not in page.text.lower()
    assert 'action="/login/code/send"' not in page.text
    assert page.text.count('class="alert') == 1                 # the red box only


def exhaust_the_quota(browser, person, smtp) -> object:
    """The first code, four resends, then the 6th request: its page."""
    login_until_code_sent(browser, person, smtp)
    for _ in range(4):
        assert says(browser.ask_code(), "Un nouveau code vient de vous être envoyé")
    return browser.ask_code()


def test_the_sixth_request_shows_the_nir_and_password_form_with_the_red_message_only(
        browser, person, smtp, clock):
    """issue 13.1: no "Un nouveau code vient de vous être envoyé" (none was sent), no code
    field, no "Recevoir un nouveau code": the seed's case 3 screen."""
    page = exhaust_the_quota(browser, person, smtp)
    is_the_case_3_screen(page, "04/01/2023 - 16h30")
    assert len(smtp.to(person.email)) == 5
    assert f'value="{person.nir}"' in page.text                 # the NIR stays typed
    # Reloading the page, or typing the password again, shows the same screen.
    is_the_case_3_screen(browser.get("/login"), "04/01/2023 - 16h30")
    is_the_case_3_screen(browser.submit_credentials(person.nir, person.password),
                         "04/01/2023 - 16h30")
    assert len(smtp.to(person.email)) == 5


def test_a_fresh_journey_during_the_block_gets_the_same_screen_once_the_password_is_right(
        browser, person, smtp, clock):
    """issue 13.1: another browser, right password: case 3's screen at once; a wrong password
    still gets case 4, the page an unknown NIR gets (issue 11.14)."""
    exhaust_the_quota(browser, person, smtp)
    other = type(browser)(browser.base)     # another browser
    other.get("/login")
    is_the_case_3_screen(other.submit_credentials(person.nir, person.password),
                         "04/01/2023 - 16h30")
    wrong = other.submit_credentials(person.nir, "Pas-le-bon-1")
    assert says(wrong, "Le mot de passe saisi est incorrect.")
    assert "Le nombre maximum" not in wrong.text


@pytest.mark.config(POLICY={"CODE_QUOTA_BLOCK": 600})
def test_during_the_block_a_code_sent_earlier_does_not_log_in_and_works_once_it_ends(
        app, browser, person, smtp, clock):
    """issue 13.1: a code sent earlier (in another tab) is refused while the block lasts,
    without counting a wrong code; at the block's end it logs in by the normal rules. The
    block is 10 minutes here, so that the code (15 minutes) outlives it."""
    from idp.models import Throttle
    code = login_until_code_sent(browser, person, smtp)
    other = type(browser)(browser.base)     # another browser
    login_until_code_sent(other, person, smtp)
    for _ in range(3):
        other.ask_code()
    is_the_case_3_screen(other.ask_code(), "04/01/2023 - 15h40")
    assert len(smtp.to(person.email)) == 5
    clock.shift(timedelta(minutes=10) - timedelta(seconds=1))
    page = browser.submit_code(code)
    is_the_case_3_screen(page, "04/01/2023 - 15h40")
    assert not logged_in(browser)
    assert all(t.attempts == 0 for t in rows(app, Throttle, kind="code"))   # not a wrong code
    # The password typed again during the block does not void the code either.
    is_the_case_3_screen(browser.submit_credentials(person.nir, person.password),
                         "04/01/2023 - 15h40")
    clock.shift(timedelta(seconds=1))                          # 15h40 in Paris: it ends
    page = browser.get("/login")
    assert 'name="code"' in page.text and "Le nombre maximum" not in page.text
    assert not says(page, "Un nouveau code vient de vous être envoyé")
    assert browser.submit_code(code).status_code == 303
    assert logged_in(browser)


def test_after_the_seeds_hour_of_block_the_journey_starts_again_and_a_new_code_logs_in(
        browser, person, smtp, clock):
    """issue 13.1: with the seed's delays (blocked 1 hour; a code lives 15 minutes and a login
    journey 30), what was held before the block is over when it ends: the code sent before
    does not log in, the journey starts again, and a new code does."""
    exhaust_the_quota(browser, person, smtp)
    code = smtp.code_for(person.email)
    is_the_case_3_screen(browser.submit_code(code), "04/01/2023 - 16h30")
    clock.shift(timedelta(minutes=30))
    assert browser.submit_code(code).status_code == 303        # the journey has expired
    assert says(browser.get("/login"), "Votre demande de connexion a expiré. Merci de recommencer.")
    clock.shift(timedelta(minutes=30) - timedelta(seconds=1))
    is_the_case_3_screen(browser.submit_credentials(person.nir, person.password),
                         "04/01/2023 - 16h30")
    clock.shift(timedelta(seconds=1))                          # 16h30 in Paris: it ends
    assert browser.submit_code(code).status_code != 303        # the old code is gone
    assert not logged_in(browser)
    browser.get("/login")
    page = browser.submit_credentials(person.nir, person.password)
    assert "Le nombre maximum" not in page.text and "recevoir un code de sécurité" in page.text
    browser.ask_code()
    assert browser.submit_code(smtp.code_for(person.email)).status_code == 303
    assert logged_in(browser)


@pytest.mark.browser
def test_in_a_browser_the_sixth_request_shows_only_the_red_box_over_the_nir_and_password(
        page, server, person, smtp):
    """issue 13.1, as a person sees it in Chromium: the red box, the NIR and password fields
    and "Me connecter"; no blue notice, no code field, no button asking a code."""
    from tests.helpers.browser import press
    page.goto(server.url + "/login")
    page.fill("#nir", person.nir)
    page.fill("#password", person.password)
    press(page, "Me connecter")
    page.locator("main form[action='/login/code/send'] button").click()
    page.wait_for_selector("#code")
    for _ in range(5):
        press(page, "Recevoir un nouveau code de sécurité")
    assert len(smtp.to(person.email)) == 5
    box = page.locator(".alert-error")
    assert box.is_visible() and box.inner_text().startswith(
        "Le nombre maximum de demandes de code a été atteint. L'accès au service est bloqué "
        "jusqu'au ")
    assert page.locator(".alert").count() == 1
    assert page.locator("#code").count() == 0 and page.locator("#remember_device").count() == 0
    assert page.locator("#nir").is_visible() and page.locator("#password").is_visible()
    assert page.locator("#nir").input_value() == person.nir
    buttons = [b.strip() for b in page.locator("main button").all_inner_texts()]
    assert buttons == ["ME CONNECTER"], buttons


def test_a_remembered_device_needs_no_code_and_still_logs_in_during_the_block(
        browser, person, smtp, clock):
    """issue 13.1 (a decision): the block stops codes, sent or typed; a browser remembered
    for this account asks none, so it still logs in (whoever exhausts the quota with the
    password cannot lock the person out of their own computer)."""
    code = login_until_code_sent(browser, person, smtp)
    assert browser.submit_code(code, remember=True).status_code == 303
    for cookie in list(browser.http.cookies):                  # a new visit, the device kept
        if cookie.name == "idp_session":
            browser.http.cookies.clear(cookie.domain, cookie.path, cookie.name)
    assert not logged_in(browser)
    other = type(browser)(browser.base)
    login_until_code_sent(other, person, smtp)                  # the 2nd code of the hour
    for _ in range(4):
        page = other.ask_code()
    is_the_case_3_screen(page, "04/01/2023 - 16h30")
    browser.get("/login")
    page = browser.submit_credentials(person.nir, person.password)
    assert "Mes informations" in page.text, text_of(page)[:800]
    assert logged_in(browser) and len(smtp.to(person.email)) == 5
