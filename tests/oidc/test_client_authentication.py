"""How a client proves who it is at /token, /introspect and /revoke: one method per request
(RFC 6749 §2.3), the method it registered, and for ``private_key_jwt`` an assertion signed
with its registered algorithm, short-lived and single use for its whole life."""

from __future__ import annotations

import time
import uuid
from datetime import timedelta

import pytest
import requests
from joserfc import jwt

from tests.helpers.parties import PORTAL_SECRET
from tests.helpers.rp import logged_in

JWT_BEARER = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"


def assertion(rp, *, key=None, alg: str = "RS256", lifetime: int = 60, iat_offset: int = 0) -> str:
    """A client assertion of ``rp`` (RFC 7523 §3) with the given signing key and lifetime."""
    key = key or rp.keys.sig_rsa
    now = int(time.time())
    claims = {"iss": rp.client_id, "sub": rp.client_id, "aud": rp.token_endpoint,
              "jti": uuid.uuid4().hex, "iat": now + iat_offset, "exp": now + lifetime}
    return jwt.encode({"alg": alg, "kid": key.kid}, claims, key, algorithms=[alg])


def by_assertion(rp, value: str, **form) -> dict:
    return {"client_id": rp.client_id, "client_assertion": value,
            "client_assertion_type": JWT_BEARER, **form}


# -- issue 10.2: one authentication method per request --------------------------------------

def test_a_code_redeemed_with_basic_and_a_secret_in_the_body_is_invalid_request(
        rps, browser, person, smtp):
    """issue 10.2: Basic header *and* client_secret in the body: 400 invalid_request (RFC 6749
    §2.3), and the code is not spent by the refused request."""
    portal = rps.portal
    pending, answer = portal.login(browser, person, smtp)
    form = {"grant_type": "authorization_code", "code": answer["code"],
            "redirect_uri": portal.redirect_uri, "code_verifier": pending.verifier}
    both = requests.post(portal.token_endpoint, auth=("portal", PORTAL_SECRET),
                         data={**form, "client_id": "portal", "client_secret": PORTAL_SECRET})
    assert both.status_code == 400 and both.json()["error"] == "invalid_request"
    assert both.headers["Cache-Control"] == "no-store"
    assert "access_token" not in both.json()
    single = requests.post(portal.token_endpoint, auth=("portal", PORTAL_SECRET), data=form)
    assert single.status_code == 200 and single.json()["access_token"]


@pytest.mark.parametrize("path", ["/introspect", "/revoke"])
def test_introspection_and_revocation_refuse_two_methods_at_once(path, rps, browser, person, smtp):
    """issue 10.2: the same rule at /introspect and /revoke; the token stays as it was."""
    portal = rps.portal
    tokens, _ = logged_in(portal, browser, person, smtp)
    token = tokens["access_token"]
    both = requests.post(portal.issuer + path, auth=("portal", PORTAL_SECRET),
                         data={"token": token, "client_secret": PORTAL_SECRET})
    assert both.status_code == 400 and both.json()["error"] == "invalid_request"
    assert portal.post("/introspect", {"token": token}).json()["active"] is True


@pytest.mark.parametrize("path", ["/token", "/introspect", "/revoke"])
def test_a_client_assertion_beside_a_basic_header_or_a_secret_is_invalid_request(
        path, rps, browser, person, smtp):
    """issue 10.2: a client_assertion with a Basic header, or with client_secret in the
    body, is two methods too."""
    agency = rps.agency
    tokens, _ = logged_in(agency, browser, person, smtp)
    form = {"token": tokens["access_token"], "grant_type": "refresh_token",
            "refresh_token": tokens["refresh_token"]}
    with_header = requests.post(agency.issuer + path, auth=("agency", "x" * 40),
                                data=by_assertion(agency, assertion(agency), **form))
    with_secret = requests.post(agency.issuer + path, data=by_assertion(
        agency, assertion(agency), client_secret="x" * 40, **form))
    for answer in (with_header, with_secret):
        assert answer.status_code == 400 and answer.json()["error"] == "invalid_request"
    still = requests.post(agency.issuer + "/introspect",
                          data=by_assertion(agency, assertion(agency), token=tokens["access_token"]))
    assert still.json()["active"] is True


# -- issue 11.16: introspection, the assertion's algorithm and its lifetime ----------------

def test_introspection_refuses_a_public_client_as_discovery_says(rps, browser, person, smtp):
    """issue 11.16: discovery lists no ``none`` for introspection; a public client naming
    itself by client_id only is invalid_client, while it may still revoke its token."""
    mobile = rps.mobile
    tokens, _ = logged_in(mobile, browser, person, smtp)
    assert "none" not in mobile.discovery["introspection_endpoint_auth_methods_supported"]
    answer = mobile.post("/introspect", {"token": tokens["access_token"]}, auth=False)
    assert answer.status_code == 401 and answer.json()["error"] == "invalid_client"
    assert "active" not in answer.json()
    assert mobile.post("/revoke", {"token": tokens["access_token"]}, auth=False).status_code == 200
    assert mobile.userinfo(tokens["access_token"]).status_code == 401


def test_an_assertion_signed_with_another_algorithm_than_registered_is_invalid_client(
        rps, browser, person, smtp):
    """issue 11.16: agency registers ``token_endpoint_auth_signing_alg: RS256``; an assertion
    signed ES256 with its own (registered) EC key is refused, an RS256 one accepted."""
    agency = rps.agency
    tokens, _ = logged_in(agency, browser, person, smtp)
    form = {"token": tokens["access_token"]}
    es256 = requests.post(agency.issuer + "/introspect", data=by_assertion(
        agency, assertion(agency, key=agency.keys.sig_ec, alg="ES256"), **form))
    assert es256.status_code in (400, 401) and es256.json()["error"] == "invalid_client"
    rs256 = requests.post(agency.issuer + "/introspect",
                          data=by_assertion(agency, assertion(agency), **form))
    assert rs256.status_code == 200 and rs256.json()["active"] is True


@pytest.mark.parametrize(("lifetime", "iat_offset"), [
    (3600 + 120, 0),          # claims to live longer than Policy.client_assertion_max_lifetime
    (300, 300),               # issued in the future
])
def test_an_assertion_claiming_too_long_a_life_or_a_future_iat_is_invalid_client(
        lifetime, iat_offset, rps, browser, person, smtp):
    """issue 11.16: the lifetime an assertion may claim is capped (exp - now), and its iat
    may not be in the future."""
    agency = rps.agency
    tokens, _ = logged_in(agency, browser, person, smtp)
    answer = requests.post(agency.issuer + "/introspect", data=by_assertion(
        agency, assertion(agency, lifetime=lifetime, iat_offset=iat_offset),
        token=tokens["access_token"]))
    assert answer.status_code in (400, 401) and answer.json()["error"] == "invalid_client"


def test_an_assertion_is_refused_again_for_its_whole_life_even_after_a_purge(
        app, rps, browser, person, smtp, clock):
    """issue 11.16: the jti is remembered as long as the assertion lives (Authlib's client
    signs for an hour): replayed 50 minutes later, after the purge ran, it is refused."""
    agency = rps.agency
    tokens, _ = logged_in(agency, browser, person, smtp)
    value = assertion(agency, lifetime=3600)
    form = by_assertion(agency, value, token=tokens["access_token"])
    assert requests.post(agency.issuer + "/introspect", data=form).json()["active"] is True
    clock.shift(timedelta(minutes=50))
    assert app.test_cli_runner().invoke(args=["idp", "purge"]).exit_code == 0
    replay = requests.post(agency.issuer + "/introspect", data=form)
    assert replay.status_code in (400, 401) and replay.json()["error"] == "invalid_client"
