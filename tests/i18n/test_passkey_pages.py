"""Issue 13.7: the biometrics pages in English (issue 14): the login page's button and the
offer after the code (seed 004, "APPLI COMPTE AMELI" ETAPE 4), with the alert passkey.js
shows, on ``localhost`` (the passkeys' origin). No French sentence of the catalogue."""

from __future__ import annotations

from tests.flows.login.test_login_passkey import on_localhost
from tests.helpers.pages import text_of
from tests.i18n.test_pages_in_both_languages import HTML_LANG, foreign, shown


def test_the_biometrics_offer_and_button_in_english(server, person, smtp):
    browser = on_localhost(server)
    browser.get("/langue/en", params={"next": "/login"})
    pages = {"login": browser.get("/login")}
    browser.submit_credentials(person.nir, person.password)
    browser.ask_code()
    pages["offer"] = browser.post_form("/login/code", {"code": smtp.code_for(person.email),
                                                       "biometrics": "platform"})
    offer = text_of(pages["offer"])
    assert "Activate biometrics" in offer and "Do not remind me again" in offer, offer[:500]
    assert "for 6 months" in offer
    assert "first record your fingerprint or your face" in pages["offer"].text
    assert {name: HTML_LANG.search(p.text).group(1) for name, p in pages.items()} == {
        "login": "en", "offer": "en"}
    left = {name: foreign(shown(page) + " " + page.text, "en") for name, page in pages.items()}
    assert {name: found for name, found in left.items() if found} == {}
