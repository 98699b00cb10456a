"""The OpenID Connect core over real HTTP: what a relying party sees, each error path included.
ID tokens are validated as a careful client does (signature against the published JWKS, then
Authlib's CodeIDToken checks of iss, aud, exp, iat and nonce)."""

from __future__ import annotations

import base64
import hashlib
import html
import secrets
from datetime import timedelta
from urllib.parse import parse_qs, urlparse

import requests
from authlib.oidc.core import CodeIDToken
from joserfc import jwt
from joserfc.jwk import KeySet

PORTAL = ("portal", "demo-portal-secret-0123456789abcdef0123")
REDIRECT = "http://127.0.0.1:5001/callback"


def pkce():
    verifier = secrets.token_urlsafe(40)
    challenge = base64.urlsafe_b64encode(
        hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    return verifier, challenge


def authorize_params(**extra):
    verifier, challenge = pkce()
    params = {"client_id": "portal", "response_type": "code", "scope": "openid profile email",
              "redirect_uri": REDIRECT, "state": "st", "nonce": "no",
              "code_challenge": challenge, "code_challenge_method": "S256", **extra}
    return params, verifier


def follow_to_client(browser, response):
    """Follow our own redirects until the one that goes to the relying party."""
    while response.status_code in (302, 303):
        location = response.headers["Location"]
        if not location.startswith(browser.base) and not location.startswith("/"):
            return location
        response = browser.get(location, allow_redirects=False)
    raise AssertionError(f"no redirect to the client: {response.status_code} {response.text[:300]}")


def login(browser, person, smtp, **extra):
    """Authorize, log in with the e-mailed code; the query the client receives, and the verifier."""
    params, verifier = authorize_params(**extra)
    browser.get("/authorize", params=params)
    browser.submit_credentials(person.nir, person.password)
    browser.ask_code()
    answer = browser.submit_code(smtp.code_for(person.email))
    return parse_qs(urlparse(follow_to_client(browser, answer)).query), verifier


def exchange(server, code, verifier, auth=PORTAL):
    return requests.post(server.url + "/token", auth=auth, data={
        "grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT,
        "code_verifier": verifier})


def validate_id_token(server, id_token, nonce="no"):
    jwks = KeySet.import_key_set(requests.get(server.url + "/jwks").json())
    token = jwt.decode(id_token, jwks, algorithms=["RS256", "ES256"])
    claims = CodeIDToken(token.claims, token.header,
                         {"iss": {"value": server.url}, "aud": {"value": "portal"},
                          "nonce": {"value": nonce}})
    claims.validate()
    return token


# -- discovery and keys ----------------------------------------------------------------------

def test_discovery_lists_the_endpoints_and_only_the_code_flow(server):
    doc = requests.get(server.url + "/.well-known/openid-configuration").json()
    assert doc["issuer"] == server.url
    assert doc["response_types_supported"] == ["code"]
    assert doc["code_challenge_methods_supported"] == ["S256"]
    assert doc["authorization_response_iss_parameter_supported"] is True
    for name in ("authorization_endpoint", "token_endpoint", "userinfo_endpoint", "jwks_uri",
                 "end_session_endpoint", "revocation_endpoint", "introspection_endpoint"):
        assert doc[name].startswith(server.url + "/")
        assert requests.options(doc[name]).status_code != 404


def test_the_key_set_publishes_public_keys_with_kids(server):
    keys = requests.get(server.url + "/jwks").json()["keys"]
    assert {k["alg"] for k in keys} == {"RS256", "ES256"}
    assert all(k["kid"] and k["use"] == "sig" and "d" not in k for k in keys)


def test_a_rotation_publishes_the_new_key_and_keeps_the_old_one(server, app, browser, person, smtp):
    query, verifier = login(browser, person, smtp)
    old_token = exchange(server, query["code"][0], verifier).json()["id_token"]
    old_kid = validate_id_token(server, old_token).header["kid"]

    result = app.test_cli_runner().invoke(args=["idp", "keys", "rotate"])
    assert result.exit_code == 0, result.output
    with app.app_context():
        app.extensions["idp.keys"].clear()

    kids = {k["kid"] for k in requests.get(server.url + "/jwks").json()["keys"]}
    assert old_kid in kids and len(kids) == 4
    validate_id_token(server, old_token)          # what the old key signed still verifies
    query, verifier = login(browser, person, smtp, prompt="login")
    new_token = exchange(server, query["code"][0], verifier).json()["id_token"]
    assert validate_id_token(server, new_token).header["kid"] != old_kid


# -- the authorization endpoint ---------------------------------------------------------------

def test_an_unknown_client_gets_a_french_page_and_no_redirect(browser):
    params, _ = authorize_params(client_id="nobody")
    page = browser.get("/authorize", params=params, allow_redirects=False)
    assert page.status_code == 400 and "Location" not in page.headers
    assert "n'est pas reconnu" in html.unescape(page.text)


def test_an_unregistered_redirect_uri_is_never_redirected_to(browser):
    params, _ = authorize_params(redirect_uri="https://evil.example/cb")
    page = browser.get("/authorize", params=params, allow_redirects=False)
    assert page.status_code == 400 and "Location" not in page.headers
    assert "n'est pas enregistrée" in html.unescape(page.text)


def _error_at_client(browser, **extra):
    params, _ = authorize_params(**extra)
    params = {k: v for k, v in params.items() if v is not None}
    answer = browser.get("/authorize", params=params, allow_redirects=False)
    assert answer.status_code == 303, answer.text[:300]
    location = answer.headers["Location"]
    assert location.startswith(REDIRECT)
    return parse_qs(urlparse(location).query)


def test_errors_go_to_the_registered_uri_with_state_and_iss(browser, server):
    for extra, error in (({"response_type": "token"}, "unsupported_response_type"),
                         ({"code_challenge_method": "plain"}, "invalid_request"),
                         ({"prompt": "none"}, "login_required"),
                         ({"scope": "profile"}, "invalid_scope"),
                         ({"request_uri": "https://x.example/r"}, "request_uri_not_supported"),
                         ({"request": "a.b.c"}, "request_not_supported"),
                         ({"claims": '{"id_token": {"acr": {"essential": true, "values": ["eidas2"]}}}'},
                          "unmet_authentication_requirements")):
        query = _error_at_client(browser, **extra)
        assert query["error"] == [error], (extra, query)
        assert query["state"] == ["st"] and query["iss"] == [server.url]


def test_a_public_client_without_pkce_is_refused(browser):
    answer = browser.get("/authorize", params={
        "client_id": "mobile-app", "response_type": "code", "scope": "openid",
        "redirect_uri": "http://127.0.0.1/callback", "state": "x"}, allow_redirects=False)
    assert parse_qs(urlparse(answer.headers["Location"]).query)["error"] == ["invalid_request"]


def test_form_post_delivers_code_state_and_iss_in_a_self_posting_form(browser, person, smtp, server):
    params, _ = authorize_params(response_mode="form_post")
    browser.get("/authorize", params=params)
    browser.submit_credentials(person.nir, person.password)
    browser.ask_code()
    answer = browser.submit_code(smtp.code_for(person.email))
    page = browser.get(answer.headers["Location"], allow_redirects=False)
    assert page.status_code == 200 and f'action="{REDIRECT}"' in page.text
    for name in ("code", "state", "iss"):
        assert f'name="{name}"' in page.text
    assert server.url in page.text


def test_authorization_requests_by_post_are_served(browser):
    params, _ = authorize_params()
    answer = browser.http.post(browser.base + "/authorize", data=params, allow_redirects=False)
    assert answer.status_code == 303 and "/login?interaction=" in answer.headers["Location"]


# -- the token endpoint -------------------------------------------------------------------------

def test_a_replayed_code_fails_and_revokes_what_it_issued(browser, person, smtp, server):
    query, verifier = login(browser, person, smtp)
    first = exchange(server, query["code"][0], verifier)
    assert first.status_code == 200 and first.headers["Cache-Control"] == "no-store"
    replay = exchange(server, query["code"][0], verifier)
    assert replay.status_code == 400 and replay.json()["error"] == "invalid_grant"
    info = requests.get(server.url + "/userinfo",
                        headers={"Authorization": "Bearer " + first.json()["access_token"]})
    assert info.status_code == 401 and "invalid_token" in info.headers["WWW-Authenticate"]


def test_a_code_expires_after_60_seconds(browser, person, smtp, server, clock):
    query, verifier = login(browser, person, smtp)
    clock.shift(timedelta(seconds=61))
    answer = exchange(server, query["code"][0], verifier)
    assert answer.json()["error"] == "invalid_grant"


def test_a_missing_code_verifier_is_invalid_grant(browser, person, smtp, server):
    query, _ = login(browser, person, smtp)
    answer = requests.post(server.url + "/token", auth=PORTAL, data={
        "grant_type": "authorization_code", "code": query["code"][0], "redirect_uri": REDIRECT})
    assert answer.status_code == 400 and answer.json()["error"] == "invalid_grant"


def test_a_wrong_client_secret_is_invalid_client(browser, person, smtp, server):
    query, verifier = login(browser, person, smtp)
    answer = exchange(server, query["code"][0], verifier, auth=("portal", "x" * 40))
    assert answer.status_code == 401 and answer.json()["error"] == "invalid_client"


def test_refresh_tokens_rotate_and_a_reused_one_revokes_the_family(browser, person, smtp, server):
    query, verifier = login(browser, person, smtp)
    first = exchange(server, query["code"][0], verifier).json()

    def refresh(token):
        return requests.post(server.url + "/token", auth=PORTAL, data={
            "grant_type": "refresh_token", "refresh_token": token})

    second = refresh(first["refresh_token"])
    assert second.status_code == 200 and second.json()["refresh_token"] != first["refresh_token"]
    reuse = refresh(first["refresh_token"])
    assert reuse.json()["error"] == "invalid_grant"
    assert refresh(second.json()["refresh_token"]).json()["error"] == "invalid_grant"
    info = requests.get(server.url + "/userinfo",
                        headers={"Authorization": "Bearer " + second.json()["access_token"]})
    assert info.status_code == 401


def test_the_id_token_carries_every_claim_a_client_checks(browser, person, smtp, server):
    query, verifier = login(browser, person, smtp)
    body = exchange(server, query["code"][0], verifier).json()
    claims = validate_id_token(server, body["id_token"]).claims
    assert claims["azp"] == "portal" and claims["sid"] and claims["auth_time"] <= claims["iat"]
    assert claims["acr"] == "eidas1" and claims["amr"] == ["pwd", "otp", "mfa"]
    digest = hashlib.sha256(body["access_token"].encode()).digest()
    assert claims["at_hash"] == base64.urlsafe_b64encode(digest[:16]).rstrip(b"=").decode()
    assert person.nir not in claims["sub"]


# -- sessions, userinfo, revocation, introspection, logout --------------------------------------

def test_a_second_request_uses_the_provider_session_without_asking_again(browser, person, smtp):
    first, _ = login(browser, person, smtp)
    params, _ = authorize_params()
    answer = browser.get("/authorize", params=params, allow_redirects=False)
    assert answer.headers["Location"].startswith(REDIRECT)
    assert "code" in parse_qs(urlparse(answer.headers["Location"]).query)


def test_userinfo_by_header_or_form_gives_the_granted_claims_only(browser, person, smtp, server):
    query, verifier = login(browser, person, smtp, scope="openid email")
    token = exchange(server, query["code"][0], verifier).json()["access_token"]
    by_header = requests.post(server.url + "/userinfo", headers={"Authorization": "Bearer " + token})
    by_form = requests.post(server.url + "/userinfo", data={"access_token": token})
    assert by_header.json() == by_form.json()
    assert set(by_header.json()) == {"sub", "email", "email_verified"}


def test_a_revoked_token_is_refused_and_introspection_says_so(browser, person, smtp, server):
    query, verifier = login(browser, person, smtp)
    token = exchange(server, query["code"][0], verifier).json()["access_token"]
    active = requests.post(server.url + "/introspect", auth=PORTAL, data={"token": token}).json()
    assert active["active"] is True and active["client_id"] == "portal"
    assert requests.post(server.url + "/introspect", data={"token": token}).status_code == 401
    assert requests.post(server.url + "/revoke", auth=PORTAL, data={"token": token}).status_code == 200
    assert requests.post(server.url + "/introspect", auth=PORTAL,
                         data={"token": token}).json() == {"active": False}
    assert requests.get(server.url + "/userinfo",
                        headers={"Authorization": "Bearer " + token}).status_code == 401


def test_logout_with_an_expired_hint_ends_the_session_and_returns_the_state(
        browser, person, smtp, server, clock):
    query, verifier = login(browser, person, smtp)
    id_token = exchange(server, query["code"][0], verifier).json()["id_token"]
    clock.shift(timedelta(hours=2))
    answer = browser.get("/end_session", params={
        "id_token_hint": id_token, "post_logout_redirect_uri": "http://127.0.0.1:5001/",
        "state": "bye"}, allow_redirects=False)
    assert answer.headers["Location"] == "http://127.0.0.1:5001/?state=bye"
    params, _ = authorize_params()
    again = browser.get("/authorize", params=params, allow_redirects=False)
    assert "/login?interaction=" in again.headers["Location"]


def test_logout_never_redirects_to_an_unregistered_uri(browser, person, smtp, server):
    query, verifier = login(browser, person, smtp)
    id_token = exchange(server, query["code"][0], verifier).json()["id_token"]
    answer = browser.get("/end_session", params={
        "id_token_hint": id_token, "post_logout_redirect_uri": "https://evil.example/"},
        allow_redirects=False)
    assert answer.status_code == 400 and "Location" not in answer.headers


def test_login_hint_prefills_the_number_and_unknown_parameters_are_ignored(browser, person):
    params, _ = authorize_params(login_hint=person.nir, ui_locales="fr-FR", foo="bar")
    page = browser.get("/authorize", params=params)
    assert page.status_code == 200 and f'value="{person.nir}"' in page.text


def test_an_id_token_hint_issued_to_another_client_is_refused(browser, person, smtp, server):
    query, verifier = login(browser, person, smtp)
    id_token = exchange(server, query["code"][0], verifier).json()["id_token"]
    _, challenge = pkce()
    answer = browser.get("/authorize", params={
        "client_id": "mobile-app", "response_type": "code", "scope": "openid",
        "redirect_uri": "http://127.0.0.1/callback", "state": "h", "code_challenge": challenge,
        "code_challenge_method": "S256", "id_token_hint": id_token}, allow_redirects=False)
    query = parse_qs(urlparse(answer.headers["Location"]).query)
    assert query["error"] == ["invalid_request"] and query["state"] == ["h"]


def test_prompt_none_with_a_live_session_answers_at_once(browser, person, smtp):
    login(browser, person, smtp)
    params, _ = authorize_params(prompt="none")
    answer = browser.get("/authorize", params=params, allow_redirects=False)
    assert "code" in parse_qs(urlparse(answer.headers["Location"]).query)
