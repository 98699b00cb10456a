"""What a client learns of the person: the ID token's claims (never the NIR as ``sub``,
pairwise per sector), encrypted to a client that registers it, and userinfo by each access
method, limited to the granted scope, as JSON or as the JWT the client registered."""

from __future__ import annotations

import re

import pytest
import requests

from tests.helpers.rp import jose_header, logged_in


def test_the_id_token_carries_every_claim_a_client_checks(app, rps, browser, person, smtp):
    pending, answer = rps.portal.login(browser, person, smtp)
    tokens = rps.portal.exchange(answer, pending)
    # iss, aud, exp, iat, nonce, azp, auth_time and at_hash are checked by Authlib here.
    claims = rps.portal.validate_id_token(tokens, pending).claims
    assert claims["azp"] == "portal" and claims["sid"] and claims["at_hash"]
    assert claims["auth_time"] <= claims["iat"] < claims["exp"]
    assert claims["acr"] == "eidas2" and claims["amr"] == ["pwd", "otp", "mfa"]
    from idp.extensions import db
    from idp.models import Account
    with app.app_context():
        account = db.session.query(Account).filter_by(nir=person.nir).one()
        assert claims["sub"] == account.subject and person.nir not in claims["sub"]


def test_each_sector_gets_a_subject_of_its_own_and_userinfo_says_the_same(
        rps, browser, person, smtp):
    _, public = logged_in(rps.portal, browser, person, smtp)
    partner_tokens, partner = logged_in(rps.partner, browser, person, smtp)
    _, third = logged_in(rps.thirdparty, browser, person, smtp)     # consent asked and given
    assert len({public["sub"], partner["sub"], third["sub"]}) == 3  # OIDC Core §8.1
    _, again = logged_in(rps.partner, browser, person, smtp)
    assert again["sub"] == partner["sub"]                            # stable for its sector
    info = rps.partner.userinfo_claims(rps.partner.userinfo(partner_tokens["access_token"]))
    assert info["sub"] == partner["sub"]


def test_an_id_token_is_encrypted_to_a_client_that_registers_it(rps, browser, person, smtp):
    pending, answer = rps.sealed.login(browser, person, smtp)
    tokens = rps.sealed.exchange(answer, pending)
    header = jose_header(tokens["id_token"])
    assert (header["alg"], header["enc"]) == ("RSA-OAEP-256", "A128CBC-HS256")
    assert header["kid"] == "sealed-enc-rsa"
    token = rps.sealed.validate_id_token(tokens, pending)     # opened, then verified
    assert token.header["alg"] == "RS256"


@pytest.mark.parametrize("how", ["GET", "POST header", "POST form"])
def test_userinfo_by_any_bearer_method_gives_the_granted_claims_only(
        how, rps, browser, person, smtp):
    tokens, claims = logged_in(rps.portal, browser, person, smtp, scope="openid email")
    answer = rps.portal.userinfo(tokens["access_token"], how)
    assert answer.status_code == 200 and answer.headers["Cache-Control"] == "no-store"
    assert answer.json() == {"sub": claims["sub"], "email": person.email, "email_verified": True}


def test_userinfo_refuses_a_token_sent_two_ways_at_once(rps, browser, person, smtp):
    tokens, _ = logged_in(rps.portal, browser, person, smtp)
    token = tokens["access_token"]
    answer = requests.post(rps.portal.discovery["userinfo_endpoint"], data={"access_token": token},
                           headers={"Authorization": "Bearer " + token})      # RFC 6750 §2
    assert answer.status_code == 401 and "invalid_token" in answer.headers["WWW-Authenticate"]


@pytest.mark.parametrize(("party", "sealed_with", "signed_with"), [
    ("portal", None, None),                         # plain JSON
    ("partner", None, "RS256"),                     # signed
    ("agency", "RSA-OAEP", "ES256"),                # signed, then encrypted to its RSA key
    ("sealed", "ECDH-ES", "RS256"),                 # encrypted to its EC key, signed by default
])
def test_userinfo_comes_as_each_client_registered_it(party, sealed_with, signed_with, rps, browser,
                                                     person, smtp):
    rp = getattr(rps, party)
    tokens, claims = logged_in(rp, browser, person, smtp)
    answer = rp.userinfo(tokens["access_token"])
    if signed_with is None:
        assert answer.headers["Content-Type"].startswith("application/json")
    else:
        body = answer.text
        if sealed_with:
            assert jose_header(body)["alg"] == sealed_with and body.count(".") == 4
            body = rp.open_jwe(body)
        assert jose_header(body)["alg"] == signed_with
    info = rp.userinfo_claims(answer)
    assert info["sub"] == claims["sub"]
    assert info["given_name"] == "Valérie" and info["email"] == person.email


def test_a_profile_request_gets_the_full_name_beside_the_given_and_family_names(
        rps, browser, person, smtp):
    """issue 10.7: ``profile`` gives ``name`` (given names, then family name, OIDC Core
    §5.1) at userinfo, and discovery lists it."""
    tokens, claims = logged_in(rps.portal, browser, person, smtp, scope="openid profile")
    info = rps.portal.userinfo_claims(rps.portal.userinfo(tokens["access_token"]))
    assert (info["name"], info["given_name"], info["family_name"]) == (
        "Valérie MARTIN", "Valérie", "MARTIN")
    assert "name" in rps.portal.discovery["claims_supported"]


def test_an_essential_name_claim_is_answered_in_the_id_token_and_at_userinfo(
        rps, browser, person, smtp):
    """issue 10.7: ``claims`` asking ``name`` as essential (OIDC Core §5.5) is answered where
    it was asked: in the ID token, and at userinfo."""
    import json
    asked = {"id_token": {"name": {"essential": True}}, "userinfo": {"name": {"essential": True}}}
    tokens, claims = logged_in(rps.portal, browser, person, smtp, scope="openid profile",
                               claims=json.dumps(asked))
    assert claims["name"] == "Valérie MARTIN"
    info = rps.portal.userinfo_claims(rps.portal.userinfo(tokens["access_token"]))
    assert info["name"] == "Valérie MARTIN"


def _latency_counts(issuer: str) -> dict[str, float]:
    text = requests.get(issuer + "/metrics").text
    return {name: float(value) for name, value in
            re.findall(r'^idp_request_seconds_count\{endpoint="([^"]+)"\} (\S+)$', text, re.M)}


def test_userinfo_and_introspection_echo_the_request_id_and_count_in_the_metrics(rps, browser, person, smtp):
    """Their plain successes are answered ahead of Flask (idp.oidc.hot): with the headers,
    the request id and the latency metric of every Flask answer."""
    portal = rps.portal
    tokens, claims = logged_in(portal, browser, person, smtp)
    before = _latency_counts(portal.issuer)
    info = requests.get(portal.issuer + "/userinfo", headers={
        "Authorization": "Bearer " + tokens["access_token"], "X-Request-Id": "rid-userinfo-1"})
    introspected = requests.post(portal.issuer + "/introspect", data={"token": tokens["access_token"]},
                                 auth=portal.oauth.client_auth(portal.oauth.token_endpoint_auth_method),
                                 headers={"X-Request-Id": "rid-introspect-1"})
    for answer, rid in ((info, "rid-userinfo-1"), (introspected, "rid-introspect-1")):
        assert answer.status_code == 200 and answer.headers["X-Request-Id"] == rid
        assert answer.headers["Cache-Control"] == "no-store"
        assert answer.headers["X-Content-Type-Options"] == "nosniff"
    assert info.json()["sub"] == claims["sub"]
    assert introspected.json()["active"] is True and introspected.headers["Pragma"] == "no-cache"
    after = _latency_counts(portal.issuer)
    for endpoint in ("oidc.userinfo", "oidc.introspect"):
        assert after[endpoint] == before.get(endpoint, 0) + 1
