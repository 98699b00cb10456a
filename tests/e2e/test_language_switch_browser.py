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


def test_the_password_checklist_speaks_english_on_an_english_page(page, server, person, smtp):
    """password.js has no words of its own: the level and each rule's state come from the
    page, so an English page's checklist is English as the person types."""
    from tests.helpers.accounts import link_in
    from tests.helpers.browser import press
    page.goto(server.url + "/langue/en?next=/mot-de-passe-oublie")
    page.fill("#nir", person.nir)
    page.fill("#birthdate", "15/02/1969")
    press(page, "Confirm")
    page.goto(link_in(smtp.last_text(person.email)))
    assert page.get_attribute("html", "lang") == "en"
    assert page.inner_text("[data-strength]") == "low"
    page.fill("#new_password", "Abcdef1!x")
    assert page.inner_text("[data-strength]") == "medium"
    page.fill("#new_password", "Abcdefghijk1!m")
    assert page.inner_text("[data-strength]") == "high"
    assert page.inner_text("li[data-rule=length] .rule-state") == "met"
    assert page.inner_text("li[data-rule=confirmation] .rule-state") == "not met"
