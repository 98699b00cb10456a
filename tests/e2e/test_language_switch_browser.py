"""Issue 13.7 in Chromium at 360 px: the switch of the login page turns the page English
(``<html lang="en">``, its words, the title), the choice holds on the next pages, and axe
still finds no WCAG 2.1 AA violation, at 360 and 1280 px, with the switch in the header."""

from __future__ import annotations

import pytest

from tests.helpers.browser import AXE, axe_violations, provider_cookies, shown

pytestmark = pytest.mark.browser


def test_the_switch_turns_the_pages_english_and_axe_stays_at_zero(page, server):
    if not AXE.exists():
        pytest.skip("axe-core is not installed (make test runs `npm install axe-core`; npm missing?)")
    page.goto(server.url + "/login")
    assert page.get_attribute("html", "lang") == "fr"
    assert page.viewport_size["width"] == 360
    french = {"login (fr)": axe_violations(page)}
    switch = page.locator("header a[hreflang=en]")
    assert switch.inner_text() == "English" and switch.get_attribute("lang") == "en"
    with page.expect_navigation():
        switch.click()
    assert page.url == server.url + "/login"
    assert page.get_attribute("html", "lang") == "en"
    assert "My social security number" in shown(page) and "Log in" in shown(page)
    assert page.title() == "Log in to my ameli account"
    # no horizontal scroll at 360 px with the switch in the header
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    english = {"login (en)": axe_violations(page)}
    page.goto(server.url + "/mot-de-passe-oublie")
    assert page.get_attribute("html", "lang") == "en" and "Forgotten password?" in shown(page)
    english["forgot (en)"] = axe_violations(page)
    secure = server.url.startswith("https://")
    cookie = provider_cookies(page, server)["__Host-idp_lang" if secure else "idp_lang"]
    assert cookie["value"] == "en" and cookie["httpOnly"] and cookie["secure"] == secure
    back = page.locator("header a[hreflang=fr]")
    assert back.inner_text() == "Français"
    with page.expect_navigation():
        back.click()
    assert page.get_attribute("html", "lang") == "fr" and "Mot de passe oublié ?" in shown(page)
    assert {name: v for name, v in {**french, **english}.items() if v} == {}
