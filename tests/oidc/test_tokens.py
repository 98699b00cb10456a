"""The token endpoint, revocation and introspection: a code is redeemed once, within 60 s,
with its PKCE verifier and redirect URI, by its own authenticated client; refresh tokens
rotate and a reuse revokes the family; revoking either half ends the grant."""

from __future__ import annotations

from datetime import timedelta

import pytest
import requests

from tests.helpers.parties import PARTNER_CB, PORTAL_CB
from tests.helpers.rp import RelyingParty, logged_in

JWT_BEARER = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"


def test_a_code_is_single_use_and_a_replay_revokes_what_it_issued(rps, browser, person, smtp):
    pending, answer = rps.portal.login(browser, person, smtp)
    first = rps.portal.redeem(answer, pending)
    assert first.status_code == 200 and first.headers["Cache-Control"] == "no-store"
    replay = rps.portal.redeem(answer, pending)
    assert replay.status_code == 400 and replay.json()["error"] == "invalid_grant"
    info = rps.portal.userinfo(first.json()["access_token"])
    assert info.status_code == 401 and "invalid_token" in info.headers["WWW-Authenticate"]
    assert rps.portal.refresh(first.json()["refresh_token"]).json()["error"] == "invalid_grant"


@pytest.mark.parametrize(("wait", "status"), [(59, 200), (61, 400)])
def test_a_code_lives_60_seconds(wait, status, rps, browser, person, smtp, clock):
    pending, answer = rps.portal.login(browser, person, smtp)
    clock.shift(timedelta(seconds=wait))
    response = rps.portal.redeem(answer, pending)
    assert response.status_code == status, response.text
    if status == 400:
        assert response.json()["error"] == "invalid_grant"


@pytest.mark.parametrize("overrides", [
    {"code_verifier": None},                          # RFC 7636 §4.6: verification failed
    {"code_verifier": "w" * 43},
    {"redirect_uri": PORTAL_CB + "/other"},           # RFC 6749 §4.1.3
])
def test_a_code_needs_its_verifier_and_its_redirect_uri(overrides, rps, browser, person, smtp):
    pending, answer = rps.portal.login(browser, person, smtp)
    response = rps.portal.redeem(answer, pending, **overrides)
    assert response.status_code == 400 and response.json()["error"] == "invalid_grant"


def test_a_code_is_redeemed_only_by_the_client_it_was_issued_to(rps, browser, person, smtp):
    pending, answer = rps.portal.login(browser, person, smtp)
    stolen = rps.partner.redeem(answer, pending, redirect_uri=PORTAL_CB)
    assert stolen.status_code == 400 and stolen.json()["error"] == "invalid_grant"
    assert rps.portal.redeem(answer, pending).status_code == 200     # still the portal's


def test_a_verifier_for_a_code_issued_without_pkce_is_refused(rps, browser, person, smtp):
    pending, answer = rps.portal.login(browser, person, smtp, pkce=False)
    response = rps.portal.redeem(answer, pending, code_verifier="v" * 43)    # RFC 9700 §4.8.2
    assert response.status_code == 400 and response.json()["error"] == "invalid_request"


@pytest.mark.parametrize(("client_id", "redirect_uri", "method"), [
    ("portal", PORTAL_CB, "client_secret_basic"),
    ("partner", PARTNER_CB, "client_secret_post"),
])
def test_a_wrong_client_secret_is_invalid_client(client_id, redirect_uri, method, server, browser,
                                                 person, smtp):
    rp = RelyingParty(server, client_id, redirect_uri, secret="x" * 40, method=method)
    pending, answer = rp.login(browser, person, smtp)
    response = rp.redeem(answer, pending)
    assert response.status_code == 401 and response.json()["error"] == "invalid_client"


def test_a_client_assertion_is_single_use(rps, browser, person, smtp):
    tokens, _ = logged_in(rps.agency, browser, person, smtp)
    form = {"token": tokens["access_token"], "client_id": "agency",
            "client_assertion": rps.agency.client_assertion(), "client_assertion_type": JWT_BEARER}
    first = requests.post(rps.agency.issuer + "/introspect", data=form)
    again = requests.post(rps.agency.issuer + "/introspect", data=form)
    assert first.json()["active"] is True
    # RFC 6749 §5.2: 401 only "may" answer a client that did not authenticate by header.
    assert again.status_code in (400, 401) and again.json()["error"] == "invalid_client"


def test_refresh_tokens_rotate_and_a_reused_one_revokes_the_family(rps, browser, person, smtp):
    portal = rps.portal
    tokens, claims = logged_in(portal, browser, person, smtp)
    second = portal.refresh(tokens["refresh_token"])
    assert second.status_code == 200 and second.headers["Cache-Control"] == "no-store"
    renewed = second.json()
    assert renewed["refresh_token"] != tokens["refresh_token"]
    # OIDC Core §12.2: the same person, session and authentication as the original.
    again = portal.validate_id_token(renewed).claims
    assert (again["sub"], again["sid"], again["auth_time"]) == (
        claims["sub"], claims["sid"], claims["auth_time"])
    reuse = portal.refresh(tokens["refresh_token"])
    assert reuse.status_code == 400 and reuse.json()["error"] == "invalid_grant"
    assert portal.refresh(renewed["refresh_token"]).json()["error"] == "invalid_grant"
    assert portal.userinfo(renewed["access_token"]).status_code == 401


def test_introspection_answers_the_owner_only_and_a_revoked_grant_is_inactive(
        rps, browser, person, smtp):
    portal = rps.portal
    tokens, claims = logged_in(portal, browser, person, smtp)
    token = tokens["access_token"]
    active = portal.post("/introspect", {"token": token}).json()
    assert active["active"] is True and active["client_id"] == "portal"
    assert active["sub"] == claims["sub"] and active["iss"] == portal.issuer
    assert portal.post("/introspect", {"token": token}, auth=False).status_code == 401
    assert rps.partner.post("/introspect", {"token": token}).json() == {"active": False}
    assert portal.post("/revoke", {"token": token}).status_code == 200
    assert portal.post("/introspect", {"token": token}).json() == {"active": False}
    assert portal.userinfo(token).status_code == 401
    # Revoking the access token ends the grant: its refresh token too (RFC 7009 §2.1).
    assert portal.refresh(tokens["refresh_token"]).json()["error"] == "invalid_grant"


def test_the_token_endpoints_leave_the_browser_session_alone(rps, browser, person, smtp):
    """/token, /userinfo, /introspect and /revoke answer clients: a browser's session cookie
    sent along is neither renewed nor replaced, and the session still works afterwards."""
    portal = rps.portal
    tokens, _ = logged_in(portal, browser, person, smtp)
    assert browser.http.cookies, "the login left a session cookie"
    auth = portal.oauth.client_auth(portal.oauth.token_endpoint_auth_method)
    bearer = {"Authorization": "Bearer " + tokens["access_token"]}
    answers = [
        browser.http.get(portal.issuer + "/userinfo", headers=bearer),
        browser.http.post(portal.issuer + "/introspect", data={"token": tokens["access_token"]}, auth=auth),
        browser.http.post(portal.issuer + "/token", auth=auth, data={
            "grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]}),
        browser.http.post(portal.issuer + "/revoke", data={"token": tokens["access_token"]}, auth=auth),
        browser.http.post(portal.issuer + "/token", auth=auth, data={"grant_type": "refresh_token"}),
    ]
    assert [a.status_code for a in answers] == [200, 200, 200, 200, 400]
    assert all("Set-Cookie" not in a.headers for a in answers)
    assert browser.http.get(browser.base + "/compte", allow_redirects=False).status_code == 200
