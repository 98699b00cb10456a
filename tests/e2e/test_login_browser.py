"""The login journey in a real browser (Debian's chromium through Playwright), on a 360 px wide
phone screen: keyboard only, no horizontal scroll, every field labelled, the error tied to its
field, and no request to any outside host."""

from __future__ import annotations

from urllib.parse import urlparse

import pytest

from tests.helpers.browser import (
    assert_cookies_fit_the_scheme,
    log_in,
    press,
    provider_cookies,
    shown,
)

pytestmark = pytest.mark.browser


def tab_to(page, element_id: str, limit: int = 25):
    """Press Tab until the element has the focus, as a keyboard user would."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement && document.activeElement.id") == element_id:
            return
    raise AssertionError(f"Tab never reached #{element_id}")


def tab_to_button(page, label: str, limit: int = 25):
    for _ in range(limit):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement && document.activeElement.innerText || ''"
                         ).strip().lower() == label.lower():
            return
    raise AssertionError(f"Tab never reached the button {label!r}")


def submit_with_enter(page):
    with page.expect_navigation():
        page.keyboard.press("Enter")


def fits_the_screen(page) -> bool:
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")


def unlabelled_fields(page) -> list[str]:
    return page.evaluate("""() => [...document.querySelectorAll('input:not([type=hidden])')]
        .filter(i => !(i.id && document.querySelector(`label[for="${i.id}"]`)))
        .map(i => i.name)""")


def test_the_login_works_with_the_keyboard_on_a_360px_screen_without_outside_requests(
        page, server, person, smtp):
    page.goto(server.url + "/login")
    assert fits_the_screen(page) and unlabelled_fields(page) == []

    # A wrong NIR: the message is on the field, tied to it for assistive technology.
    tab_to(page, "nir")
    page.keyboard.type("12345")
    tab_to(page, "password")
    page.keyboard.type(person.password)
    submit_with_enter(page)
    nir = page.locator("#nir")
    assert nir.get_attribute("aria-invalid") == "true"
    described = page.locator("#" + nir.get_attribute("aria-describedby"))
    assert "13 chiffres, ou 15 avec la clé" in described.inner_text()
    assert fits_the_screen(page)

    # The right NIR, with spaces, and the password: Enter submits the main action.
    page.locator("#nir").fill("")
    tab_to(page, "nir")
    page.keyboard.type("2 69 02 99 341 732")
    tab_to(page, "password")
    page.keyboard.type(person.password)
    submit_with_enter(page)
    assert "v***@e***.fr" in page.inner_text("main")
    assert fits_the_screen(page)
    tab_to_button(page, "Cliquez pour recevoir un code de sécurité")
    submit_with_enter(page)
    page.wait_for_selector("#code")
    assert fits_the_screen(page) and unlabelled_fields(page) == []

    # The code page: Enter in the code field logs in (it does not ask a new code).
    tab_to(page, "code")
    page.keyboard.type(smtp.code_for(person.email))
    submit_with_enter(page)
    page.wait_for_selector("text=Mes informations")
    assert len(smtp.to(person.email)) == 1
    assert fits_the_screen(page)

    assert_cookies_fit_the_scheme(page, server, "idp_session")
    outside = {urlparse(u).netloc for u in page.requested
               if not u.startswith(server.url) and not u.startswith("data:")}
    assert outside == set(), outside


def test_a_trusted_device_logs_in_without_the_code_in_a_browser(page, server, person, smtp):
    """issue 10: "Se souvenir de cet appareil", then a new login from that browser asks only
    the password; over HTTPS both cookies are __Host- and Secure (issue 11.15)."""
    log_in(page, server, person, smtp, remember=True)
    assert "Mes informations" in shown(page)
    assert_cookies_fit_the_scheme(page, server, "idp_session", "idp_device")
    session = next(n for n in provider_cookies(page, server) if n.endswith("idp_session"))
    page.context.clear_cookies(name=session)          # the session is gone, the trust is not

    page.goto(server.url + "/login")
    page.fill("#nir", person.nir)
    page.fill("#password", person.password)
    press(page, "Me connecter")
    assert "Mes informations" in shown(page)
    assert len(smtp.to(person.email)) == 1               # no second code was sent
