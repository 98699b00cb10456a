"""Issue 13.7: the FranceConnect pages in English, reached as a relying party sends people
(``ui_locales=en``), against the FranceConnect stand-in (tests/helpers/fc.py): the login page
with its button, the page that asks to link the identity, its error, and a login cancelled
at FranceConnect. No French sentence of the catalogue on any of them."""

from __future__ import annotations

from tests.helpers.fc import PORTAL, click_franceconnect, follow
from tests.helpers.pages import visible
from tests.i18n.test_pages_in_both_languages import HTML_LANG, foreign, shown


def _portal_login(browser, lang):
    return browser.get("/authorize", params={
        "client_id": "portal", "response_type": "code", "scope": "openid profile email",
        "redirect_uri": PORTAL, "state": "portal-state", "nonce": "portal-nonce",
        "prompt": "login", "ui_locales": lang})


def test_the_franceconnect_pages_in_english(server, browser, upstream, person):
    pages = {"login with the button": _portal_login(browser, "en")}
    assert "Log in with" in visible(pages["login with the button"])
    pages["link"] = follow(browser, click_franceconnect(browser))
    assert "log in once with your social security number" in visible(pages["link"])
    pages["link, wrong password"] = browser.post_form(
        "/franceconnect/link", {"nir": person.nir, "password": "Faux2024!"})
    assert "The password you entered is incorrect" in visible(pages["link, wrong password"])
    upstream.deny = True
    _portal_login(browser, "en")
    pages["cancelled"] = follow(browser, click_franceconnect(browser))
    assert "The FranceConnect login was cancelled" in visible(pages["cancelled"])
    assert {name: HTML_LANG.search(p.text).group(1) for name, p in pages.items()} == {
        name: "en" for name in pages}
    left = {name: foreign(shown(page), "en") for name, page in pages.items()}
    assert {name: found for name, found in left.items() if found} == {}


def test_the_same_pages_stay_french_by_default(server, browser, upstream, person):
    page = _portal_login(browser, "de")
    assert "S'identifier avec" in visible(page) and HTML_LANG.search(page.text).group(1) == "fr"
    page = follow(browser, click_franceconnect(browser))
    assert "connectez-vous une seule fois" in visible(page)
    assert foreign(shown(page), "fr") == []
