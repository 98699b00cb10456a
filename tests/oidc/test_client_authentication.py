"""How a client proves who it is at /token, /introspect and /revoke: one method per request
(RFC 6749 §2.3), the method it registered, and for ``private_key_jwt`` an assertion signed
with its registered algorithm, short-lived and single use for its whole life."""

from __future__ import annotations

import time
import uuid

import pytest
import requests
from joserfc import jwt
from parties import PORTAL_SECRET
from rp import logged_in

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
