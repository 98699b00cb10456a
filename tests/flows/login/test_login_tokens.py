"""What the tokens say about the login: ``amr`` (RFC 8176), ``acr`` from ACR_BY_METHOD,
``auth_time`` the last real authentication; ``prompt=login`` and ``max_age`` walk the whole
journey again, code included unless the browser is trusted."""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
from datetime import timedelta
from urllib.parse import parse_qs, urlparse

import pytest
import requests

from tests.helpers.pages import text_of
from tests.helpers.parties import PORTAL_SECRET

REDIRECT_URI = "http://127.0.0.1:5001/callback"


class Portal:
    """The relying party: authorize with PKCE, then the token endpoint, then the ID token."""

    def __init__(self, server, browser):
        self.server, self.browser = server, browser

    def authorize(self, **extra):
        self.verifier = secrets.token_urlsafe(40)
        challenge = base64.urlsafe_b64encode(
            hashlib.sha256(self.verifier.encode()).digest()).rstrip(b"=").decode()
        return self.browser.get("/authorize", params={
            "client_id": "portal", "response_type": "code", "scope": "openid profile",
            "redirect_uri": REDIRECT_URI, "state": "st", "nonce": "no",
            "code_challenge": challenge, "code_challenge_method": "S256", **extra},
            allow_redirects=False)

    def follow(self, response):
        """Follow our redirects until the one to the relying party; return its code."""
        while response.status_code in (302, 303):
            location = response.headers["Location"]
            if location.startswith(REDIRECT_URI):
                return parse_qs(urlparse(location).query)["code"][0]
            response = self.browser.get(location, allow_redirects=False)
        return None

    def id_token(self, code) -> dict:
        token = requests.post(self.server.url + "/token", data={
            "grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT_URI,
            "code_verifier": self.verifier}, auth=("portal", PORTAL_SECRET))
        assert token.status_code == 200, token.text
        payload = token.json()["id_token"].split(".")[1]
        return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))


@pytest.fixture
def portal(server, browser):
    return Portal(server, browser)


def full_login(portal, person, smtp, *, remember=False, **extra):
    """Authorize → login page → password → code → back at the portal; returns the claims."""
    response = portal.authorize(**extra)
    assert response.status_code == 200 and 'name="password"' in response.text   # its login page
    page = portal.browser.submit_credentials(person.nir, person.password)
    assert "recevoir un code de sécurité" in page.text, text_of(page)[:300]
    portal.browser.ask_code()
    response = portal.browser.submit_code(smtp.code_for(person.email), remember=remember)
    code = portal.follow(response)
    assert code, response.text[:300]
    return portal.id_token(code)


def test_after_the_code_the_tokens_say_pwd_otp_mfa_with_the_login_time(portal, person, smtp, clock):
    claims = full_login(portal, person, smtp)
    assert claims["amr"] == ["pwd", "otp", "mfa"]
    assert claims["acr"] == "eidas1"
    assert claims["auth_time"] == int(clock.now().timestamp())


def test_a_second_authorization_reuses_the_login_and_keeps_its_auth_time(portal, person, smtp, clock):
    first = full_login(portal, person, smtp)
    clock.shift(timedelta(minutes=5))
    code = portal.follow(portal.authorize())
    assert code, "no login page expected while the session lives"
    again = portal.id_token(code)
    assert again["auth_time"] == first["auth_time"] and again["amr"] == first["amr"]


def _login_page_then_password(portal, person, **extra):
    response = portal.authorize(**extra)
    assert 'name="password"' in response.text, "the login must be asked"
    return portal.browser.submit_credentials(person.nir, person.password)


def test_prompt_login_asks_the_whole_journey_again_code_included(portal, person, smtp, clock):
    first = full_login(portal, person, smtp)
    clock.shift(timedelta(minutes=1))
    page = _login_page_then_password(portal, person, prompt="login")
    assert "recevoir un code de sécurité" in page.text
    portal.browser.ask_code()
    code = portal.follow(portal.browser.submit_code(smtp.code_for(person.email)))
    claims = portal.id_token(code)
    assert claims["auth_time"] == first["auth_time"] + 60
    assert claims["amr"] == ["pwd", "otp", "mfa"]


def test_prompt_login_from_a_trusted_browser_spares_the_code_and_says_pwd(portal, person, smtp, clock):
    full_login(portal, person, smtp, remember=True)
    clock.shift(timedelta(minutes=2))
    assert 'name="password"' in portal.authorize(prompt="login").text      # its login page
    page = portal.browser.post_form("/login", {"nir": person.nir, "password": person.password},
                                    allow_redirects=False)
    code = portal.follow(page)
    assert code and len(smtp.messages) == 1
    claims = portal.id_token(code)
    assert claims["amr"] == ["pwd"]
    assert claims["auth_time"] == int(clock.now().timestamp())


def test_max_age_exceeded_asks_the_login_again(portal, person, smtp, clock):
    first = full_login(portal, person, smtp)
    clock.shift(timedelta(seconds=301))
    page = _login_page_then_password(portal, person, max_age="300")
    assert "recevoir un code de sécurité" in page.text
    portal.browser.ask_code()
    claims = portal.id_token(portal.follow(portal.browser.submit_code(smtp.code_for(person.email))))
    assert claims["auth_time"] == first["auth_time"] + 301


def test_max_age_not_exceeded_reuses_the_session(portal, person, smtp, clock):
    full_login(portal, person, smtp)
    clock.shift(timedelta(seconds=299))
    assert portal.follow(portal.authorize(max_age="300"))


@pytest.mark.config(ACR_BY_METHOD={"pwd_mail": "eidas2", "pwd_device": "eidas1", "pwd": "eidas1"})
def test_acr_comes_from_the_configured_mapping_of_each_method(portal, person, smtp):
    assert full_login(portal, person, smtp, remember=True)["acr"] == "eidas2"
    assert 'name="password"' in portal.authorize(prompt="login").text      # its login page
    page = portal.browser.post_form("/login", {"nir": person.nir, "password": person.password},
                                    allow_redirects=False)
    assert portal.id_token(portal.follow(page))["acr"] == "eidas1"
