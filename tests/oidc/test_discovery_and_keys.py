"""Discovery lists only what works, and the published keys: kids, RS256 by default, ES256 for
a client that registers it, and a rotation that keeps the old key until its tokens expire."""

from __future__ import annotations

import requests


def test_discovery_names_our_endpoints_under_both_well_known_names(server):
    oidc = requests.get(server.url + "/.well-known/openid-configuration")
    oauth = requests.get(server.url + "/.well-known/oauth-authorization-server")
    assert oidc.status_code == oauth.status_code == 200
    doc = oidc.json()
    assert oauth.json() == doc and doc["issuer"] == server.url
    endpoints = {"authorization_endpoint": "/authorize", "token_endpoint": "/token",
                 "userinfo_endpoint": "/userinfo", "jwks_uri": "/jwks",
                 "end_session_endpoint": "/end_session", "revocation_endpoint": "/revoke",
                 "introspection_endpoint": "/introspect"}
    for name, path in endpoints.items():
        assert doc[name] == server.url + path
        assert requests.options(doc[name]).status_code != 404, name      # and it is served


def test_discovery_lists_only_the_code_flow_and_what_the_tests_exercise(server):
    doc = requests.get(server.url + "/.well-known/openid-configuration").json()
    assert doc["response_types_supported"] == ["code"]
    assert doc["grant_types_supported"] == ["authorization_code", "refresh_token"]
    assert doc["response_modes_supported"] == ["query", "form_post"]
    assert doc["code_challenge_methods_supported"] == ["S256"]
    assert doc["subject_types_supported"] == ["public", "pairwise"]
    assert doc["id_token_signing_alg_values_supported"] == ["RS256", "ES256"]
    assert doc["userinfo_signing_alg_values_supported"] == ["RS256", "ES256"]
    assert doc["request_object_signing_alg_values_supported"] == ["RS256", "ES256"]
    assert doc["token_endpoint_auth_signing_alg_values_supported"] == ["RS256", "ES256"]
    assert set(doc["id_token_encryption_alg_values_supported"]) == {"RSA-OAEP", "RSA-OAEP-256", "ECDH-ES"}
    assert set(doc["id_token_encryption_enc_values_supported"]) == {"A256GCM", "A128CBC-HS256"}
    assert set(doc["token_endpoint_auth_methods_supported"]) == {
        "client_secret_basic", "client_secret_post", "private_key_jwt", "none"}
    assert "none" not in doc["introspection_endpoint_auth_methods_supported"]
    assert doc["prompt_values_supported"] == ["none", "login", "consent", "select_account"]
    assert doc["acr_values_supported"] == ["eidas1", "eidas2"]
    assert doc["request_parameter_supported"] is True
    assert doc["request_uri_parameter_supported"] is False
    assert doc["claims_parameter_supported"] is True
    assert doc["authorization_response_iss_parameter_supported"] is True
    assert doc["backchannel_logout_supported"] is True
    assert doc["backchannel_logout_session_supported"] is True
    assert {"openid", "profile", "email"} <= set(doc["scopes_supported"])
    assert {"sub", "acr", "amr", "sid", "auth_time", "at_hash"} <= set(doc["claims_supported"])
    # Nothing of what is not implemented: no implicit or hybrid, no request_uri, no front channel.
    assert not {"token", "id_token", "code id_token"} & set(doc["response_types_supported"])
    assert "frontchannel_logout_supported" not in doc
    assert "registration_endpoint" not in doc


def test_the_key_set_publishes_public_rs256_and_es256_keys_with_kids(server):
    answer = requests.get(server.url + "/jwks")
    assert answer.headers["Content-Type"].startswith("application/jwk-set+json")
    keys = answer.json()["keys"]
    assert sorted(k["alg"] for k in keys) == ["ES256", "RS256"]
    assert len({k["kid"] for k in keys}) == 2
    for key in keys:
        assert key["use"] == "sig" and key["kid"]
        assert not {"d", "p", "q", "dp", "dq", "qi"} & set(key)


def test_an_id_token_is_rs256_for_a_client_naming_no_algorithm(rps, browser, person, smtp):
    pending, answer = rps.portal.login(browser, person, smtp)
    token = rps.portal.validate_id_token(rps.portal.exchange(answer, pending), pending)
    assert token.header["alg"] == "RS256"
    published = {k["kid"]: k["alg"] for k in requests.get(rps.portal.discovery["jwks_uri"]).json()["keys"]}
    assert published[token.header["kid"]] == "RS256"


def test_an_id_token_is_es256_for_a_client_registering_it(rps, browser, person, smtp):
    pending, answer = rps.agency.login(browser, person, smtp)
    token = rps.agency.validate_id_token(rps.agency.exchange(answer, pending), pending)
    assert token.header["alg"] == "ES256"


def test_keys_rotate_adds_keys_keeps_the_old_ones_published_and_signs_with_the_new(
        app, rps, browser, person, smtp, clock):
    from idp.policy import Policy
    portal = rps.portal
    pending, answer = portal.login(browser, person, smtp)
    old_tokens = portal.exchange(answer, pending)
    old_kid = portal.validate_id_token(old_tokens, pending).header["kid"]

    result = app.test_cli_runner().invoke(args=["idp", "keys", "rotate"])
    assert result.exit_code == 0, result.output

    kids = {k["kid"] for k in requests.get(server_jwks(portal)).json()["keys"]}
    assert old_kid in kids and len(kids) == 4
    portal.validate_id_token(old_tokens, pending)          # what the old key signed still verifies
    clock.shift(Policy().signing_key_promotion)            # issue 10.1: published, then signing
    pending, answer = portal.login(browser, person, smtp, prompt="login")
    new_kid = portal.validate_id_token(portal.exchange(answer, pending), pending).header["kid"]
    assert new_kid in kids and new_kid != old_kid


def test_a_retired_key_leaves_the_key_set_once_its_tokens_have_expired(app, server, clock):
    from datetime import timedelta
    old = {k["kid"] for k in requests.get(server.url + "/jwks").json()["keys"]}
    assert app.test_cli_runner().invoke(args=["idp", "keys", "rotate"]).exit_code == 0
    clock.shift(timedelta(days=8))              # past Policy.signing_key_retention
    with app.app_context():
        app.extensions["idp.keys"].clear()      # as after the cache's 10 s
    kids = {k["kid"] for k in requests.get(server.url + "/jwks").json()["keys"]}
    assert len(kids) == 2 and not kids & old


def test_a_reload_of_the_keys_imports_only_a_key_it_has_not_seen(app, clock):
    """The per-process key copy is read again every ``signing_key_cache``: the keys it
    already holds are kept as imported (an RSA private key's import costs ~25 ms), a
    rotated-in key is imported once it signs, and a retired one leaves the copy."""
    from datetime import timedelta

    from idp import keys
    from idp.policy import Policy
    with app.app_context():
        cache = keys._cache_for_app().fresh()
        signing = dict(cache.signing)
        cache.clear()                               # as after the cache's 10 s
        assert all(cache.fresh().signing[alg][1] is key for alg, (_kid, key) in signing.items())
        assert app.test_cli_runner().invoke(args=["idp", "keys", "rotate"]).exit_code == 0
        clock.shift(Policy().signing_key_promotion)
        renewed = cache.fresh().signing
        assert {kid for kid, _key in renewed.values()}.isdisjoint(kid for kid, _key in signing.values())
        clock.shift(timedelta(days=8))              # past Policy.signing_key_retention
        assert set(cache.fresh().imported).isdisjoint(kid for kid, _key in signing.values())


def server_jwks(rp) -> str:
    return rp.discovery["jwks_uri"]
