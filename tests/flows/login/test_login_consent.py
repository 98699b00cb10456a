"""Consent for a client without ``skip_consent``: asked once, after the login, and never a
second login when the provider session already answers the request."""

from __future__ import annotations

import base64
import hashlib
import secrets
from urllib.parse import parse_qs, urlparse

from tests.helpers.accounts import login_until_code_sent
from tests.helpers.pages import text_of

MOBILE_REDIRECT = "http://127.0.0.1/callback"


def _authorize_mobile(browser):
    verifier = secrets.token_urlsafe(40)
    challenge = base64.urlsafe_b64encode(
        hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    return browser.get("/authorize", params={
        "client_id": "mobile-app", "response_type": "code", "scope": "openid profile",
        "redirect_uri": MOBILE_REDIRECT, "state": "m1", "code_challenge": challenge,
        "code_challenge_method": "S256"}, allow_redirects=True)


def _decide(browser, decision):
    page = browser.post_form("/login/consent", {"decision": decision}, allow_redirects=False)
    while page.status_code in (302, 303) and not page.headers["Location"].startswith(MOBILE_REDIRECT):
        page = browser.get(page.headers["Location"], allow_redirects=False)
    return page


def test_a_logged_in_person_is_asked_only_for_consent_then_never_again(browser, person, smtp):
    code = login_until_code_sent(browser, person, smtp)
    browser.submit_code(code)

    page = _authorize_mobile(browser)
    assert "Application ameli" in text_of(page) and "Accepter" in text_of(page)
    assert 'name="password"' not in page.text          # no second login
    answer = _decide(browser, "accept")
    query = parse_qs(urlparse(answer.headers["Location"]).query)
    assert query["state"] == ["m1"] and "code" in query

    again = browser.http.get(browser.base + "/authorize", params={
        "client_id": "mobile-app", "response_type": "code", "scope": "openid profile",
        "redirect_uri": MOBILE_REDIRECT, "state": "m2", "code_challenge": "x" * 43,
        "code_challenge_method": "S256"}, allow_redirects=False)
    assert again.headers["Location"].startswith(MOBILE_REDIRECT)   # consent remembered
    assert "code=" in again.headers["Location"]


def test_refusing_consent_sends_access_denied_with_the_state(browser, person, smtp):
    code = login_until_code_sent(browser, person, smtp)
    browser.submit_code(code)
    _authorize_mobile(browser)
    answer = _decide(browser, "deny")
    query = parse_qs(urlparse(answer.headers["Location"]).query)
    assert query["error"] == ["access_denied"] and query["state"] == ["m1"]
