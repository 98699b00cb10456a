"""axe-core in Chromium (issue 13.6): no WCAG 2.1 A/AA violation on the login page, the code
pages, consent and the account page, at 360 and 1280 px, on http and https. axe-core comes
from npm into node_modules (the Makefile's ``axe`` target, run by ``make test``); without it
the test is skipped and says why."""

from __future__ import annotations

import base64
import hashlib
import secrets
from urllib.parse import urlencode

import pytest

from tests.helpers.browser import AXE, axe_violations, press, shown

pytestmark = pytest.mark.browser

def test_axe_finds_no_wcag_21_aa_violation_on_the_login_code_consent_and_account_pages(
        page, server, person, smtp):
    """issue 13.6: the pages of a login that asks consent (the mobile app), at 360 and 1280 px."""
    if not AXE.exists():
        pytest.skip("axe-core is not installed (make test runs `npm install axe-core`; npm missing?)")
    page.goto(server.url + "/login")
    pages = {"login": axe_violations(page)}
    page.fill("#nir", person.nir)
    page.fill("#password", "Mauvais2024!")
    press(page, "Me connecter")
    pages["login, wrong password"] = axe_violations(page)
    page.fill("#password", person.password)
    press(page, "Me connecter")
    pages["code offer"] = axe_violations(page)
    press(page, "Cliquez pour recevoir un code de sécurité")   # issue 13.2
    pages["code"] = axe_violations(page)
    page.fill("#code", smtp.code_for(person.email))
    press(page, "Me connecter")
    assert "Mes informations" in shown(page)
    pages["account"] = axe_violations(page)

    # The mobile app asks consent: the live session goes straight to it.
    challenge = base64.urlsafe_b64encode(hashlib.sha256(
        secrets.token_urlsafe(40).encode()).digest()).rstrip(b"=").decode()
    page.goto(server.url + "/authorize?" + urlencode({
        "client_id": "mobile-app", "response_type": "code", "scope": "openid profile",
        "redirect_uri": "http://127.0.0.1/callback", "state": "a1", "code_challenge": challenge,
        "code_challenge_method": "S256"}))
    assert page.locator("button[value=accept]").count() == 1, shown(page)[:300]
    pages["consent"] = axe_violations(page)
    assert {name: v for name, v in pages.items() if v} == {}
