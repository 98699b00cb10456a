"""Issue 13.7: which language a page is in, and the switch that changes it.

Order: the authorization (or logout) request's ``ui_locales``, then the person's choice
(cookie ``idp_lang``, ``__Host-idp_lang`` and Secure over https), then ``Accept-Language``,
then French. The switch goes back only to a path of this site."""

from __future__ import annotations

import re
from datetime import timedelta
from urllib.parse import urlencode

import pytest

from idp.policy import Policy

HTML_LANG = re.compile(r'<html lang="([a-z]+)"')
AUTHORIZE = {"client_id": "mobile-app", "response_type": "code", "scope": "openid",
             "redirect_uri": "http://127.0.0.1/callback", "state": "s1",
             "code_challenge": "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
             "code_challenge_method": "S256"}


def lang_of(page) -> str:
    return HTML_LANG.search(page.text).group(1)


def choose(browser, lang: str) -> None:
    """The person's choice, made as a person makes it: with the switch."""
    assert browser.get(f"/langue/{lang}", params={"next": "/"}, allow_redirects=False).status_code == 303


def _login_page_after_authorize(browser, **params):
    answer = browser.get("/authorize?" + urlencode({**AUTHORIZE, **params}),
                         allow_redirects=False)
    assert answer.status_code == 200 and 'name="password"' in answer.text   # its login page
    return answer, answer


def test_without_anything_the_pages_are_french(browser):
    page = browser.get("/login")
    assert lang_of(page) == "fr" and "Mon numéro de sécurité sociale" in page.text
    assert lang_of(browser.get("/login", headers={"Accept-Language": "de-DE, es;q=0.8"})) == "fr"


def test_accept_language_chooses_when_nothing_else_does(browser):
    page = browser.get("/login", headers={"Accept-Language": "en-GB,en;q=0.9,fr;q=0.5"})
    assert lang_of(page) == "en" and "My social security number" in page.text
    assert lang_of(browser.get("/login", headers={"Accept-Language": "fr-FR,en;q=0.5"})) == "fr"


def test_the_cookie_of_the_switch_wins_over_accept_language(browser):
    choose(browser, "en")
    assert lang_of(browser.get("/login", headers={"Accept-Language": "fr-FR"})) == "en"
    browser.http.cookies.clear()
    browser.http.cookies.set("idp_lang", "xx")              # unknown: as if absent
    assert lang_of(browser.get("/login", headers={"Accept-Language": "fr-FR"})) == "fr"


def test_ui_locales_wins_over_the_cookie_and_holds_for_the_flow(browser):
    choose(browser, "fr")
    answer, page = _login_page_after_authorize(browser, ui_locales="de-CH en-GB fr")
    assert lang_of(page) == "en" and "My password (or provisional code)" in page.text
    assert "idp_lang=en" in answer.headers["Set-Cookie"]
    # ... and for the rest of the flow, whatever Accept-Language says
    assert lang_of(browser.get("/login", headers={"Accept-Language": "fr"})) == "en"


def test_an_unsupported_ui_locales_leaves_the_choice_as_it_was(browser):
    choose(browser, "en")
    answer, page = _login_page_after_authorize(browser, ui_locales="de it")
    assert lang_of(page) == "en" and "idp_lang" not in answer.headers.get("Set-Cookie", "")
    browser.http.cookies.clear()
    _, page = _login_page_after_authorize(browser, ui_locales="de it")
    assert lang_of(page) == "fr"


def test_ui_locales_of_a_logout_request_chooses_its_page(browser):
    page = browser.get("/end_session", params={"ui_locales": "en"})
    assert lang_of(page) == "en"


def test_the_discovery_document_lists_the_two_languages(browser):
    assert browser.get("/.well-known/openid-configuration").json()["ui_locales_supported"] == [
        "fr", "en"]


# -- the switch -------------------------------------------------------------------------------

def test_every_page_offers_the_other_language_and_the_switch_comes_back_to_it(browser):
    page = browser.get("/mot-de-passe-oublie")
    link = re.search(r'<a href="([^"]+)" lang="en" hreflang="en">English</a>', page.text)
    assert link, page.text[:1500]
    answer = browser.get(link.group(1).replace("&amp;", "&"), allow_redirects=False)
    assert answer.status_code == 303 and answer.headers["Location"] == "/mot-de-passe-oublie"
    cookie = answer.headers["Set-Cookie"]
    seconds = int(Policy().language_choice.total_seconds())
    assert cookie.startswith("idp_lang=en;") and f"Max-Age={seconds}" in cookie
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Path=/" in cookie
    assert Policy().language_choice == timedelta(days=365)
    page = browser.get("/mot-de-passe-oublie")
    assert lang_of(page) == "en" and '<a href="/langue/fr?next=' in page.text
    assert 'lang="fr" hreflang="fr">Français</a>' in page.text


def test_the_switch_keeps_the_query_of_the_page(browser):
    page = browser.get("/login?interaction=abc")
    link = re.search(r'<a href="(/langue/en[^"]+)"', page.text).group(1).replace("&amp;", "&")
    answer = browser.get(link, allow_redirects=False)
    assert answer.headers["Location"] == "/login?interaction=abc"


@pytest.mark.parametrize("target", [
    "//evil.example/login", "https://evil.example/", "http:/evil.example", "/\\evil.example",
    "\\\\evil.example", "evil.example", "javascript:alert(1)", "/login\r\nSet-Cookie: x=1",
    "/%0d%0a", "", "/\t/evil.example",
])
def test_the_switch_never_sends_elsewhere(browser, target):
    answer = browser.get("/langue/en", params={"next": target}, allow_redirects=False)
    assert answer.status_code == 303
    assert answer.headers["Location"] in ("/", "/%0d%0a"), answer.headers["Location"]
    assert "idp_lang=en" in answer.headers["Set-Cookie"]


def test_the_switch_knows_only_the_two_languages(browser):
    answer = browser.get("/langue/de", params={"next": "/login"}, allow_redirects=False)
    assert answer.status_code == 404 and "Set-Cookie" not in answer.headers


@pytest.mark.parametrize("scheme", ["https"])
def test_over_https_the_cookie_is_host_prefixed_and_secure(browser):
    answer = browser.get("/langue/en", params={"next": "/login"}, allow_redirects=False)
    cookie = answer.headers["Set-Cookie"]
    assert cookie.startswith("__Host-idp_lang=en;") and "Secure" in cookie and "Path=/" in cookie
    assert "Domain" not in cookie
    assert lang_of(browser.get("/login")) == "en"
