"""Issue 10.5 — the button with ``IDP_FRANCECONNECT_*`` pointing at a FranceConnect+ provider:
FC+ encrypts the ID token and the userinfo to our keys as its relying party, published at
``/franceconnect/jwks`` (RSA-OAEP-256 and ECDH-ES, A256GCM), stored and rotated with the
signing keys. The stand-in provider (conftest's ``Upstream``) in FC+ mode fetches that URL
and encrypts to it, as FC+ does."""

from __future__ import annotations

from datetime import timedelta

import pytest
import requests
from joserfc import jwt
from joserfc.jwk import ECKey, KeySet, RSAKey

from tests.helpers.fc import (
    PORTAL,
    claims_of,
    click_franceconnect,
    fc_sub_of,
    follow,
    open_portal_login,
    portal_tokens,
)
from tests.helpers.pages import visible

RP_JWKS = "/franceconnect/jwks"


@pytest.fixture
def plus_upstream(server, upstream):
    """The stand-in switched to FranceConnect+: it encrypts to the keys at our RP JWKS URL."""
    upstream.rp_jwks_uri = server.url + RP_JWKS
    return upstream


def _fc_login(browser):
    open_portal_login(browser)
    return follow(browser, click_franceconnect(browser))


def test_our_encryption_keys_are_published_at_the_documented_url(server):
    """Issue 10.5: one RSA-OAEP-256 and one ECDH-ES public key, for encryption, apart from
    the signing keys of /jwks."""
    answer = requests.get(server.url + RP_JWKS)
    assert answer.status_code == 200
    assert answer.headers["Content-Type"].startswith("application/jwk-set+json")
    assert answer.headers["Cache-Control"].startswith("public, max-age=")
    keys = answer.json()["keys"]
    assert sorted(k["alg"] for k in keys) == ["ECDH-ES", "RSA-OAEP-256"]
    assert {k["use"] for k in keys} == {"enc"} and all(k["kid"] for k in keys)
    assert next(k for k in keys if k["alg"] == "ECDH-ES")["crv"] == "P-256"
    for key in keys:
        assert not {"d", "p", "q", "dp", "dq", "qi"} & set(key)
    signing = requests.get(server.url + "/jwks").json()["keys"]
    assert {k["use"] for k in signing} == {"sig"}
    assert not {k["kid"] for k in signing} & {k["kid"] for k in keys}


def test_a_franceconnect_plus_login_decrypts_then_verifies_the_id_token_and_userinfo(
        app, server, browser, plus_upstream, registered):
    """Issue 10.5: the encrypted ID token and userinfo are read; the person is logged in and
    linked as with FranceConnect standard."""
    landing = _fc_login(browser)
    assert landing.headers["Location"].startswith(PORTAL), visible(landing)[:400]
    assert plus_upstream.rp_jwks_fetches == 1
    claims = claims_of(portal_tokens(server, landing.headers["Location"])["id_token"])
    assert claims["amr"][0] == "fc"
    assert fc_sub_of(app, registered.nir) == plus_upstream.sub


def test_the_logout_hint_is_the_signed_token_inside(server, browser, plus_upstream,
                                                    registered):
    """Issue 10.5: FranceConnect+ gets back its own signed ID token as id_token_hint (the JWS
    inside the JWE, as FC+'s relying parties send)."""
    _fc_login(browser)
    follow(browser, browser.logout())
    hint = plus_upstream.end_session_requests[-1]["id_token_hint"]
    assert hint.count(".") == 2
    public = KeySet([plus_upstream.key])
    assert jwt.decode(hint, public, algorithms=["ES256"]).claims["sub"] == plus_upstream.sub


def test_a_token_encrypted_to_a_key_that_is_not_ours_is_refused(
        app, server, browser, plus_upstream, registered):
    """Issue 10.5: a JWE we cannot open is refused with the explanation, nobody logged in."""
    foreign = KeySet([RSAKey.generate_key(2048, parameters={"kid": "x", "use": "enc",
                                                            "alg": "RSA-OAEP-256"}),
                      ECKey.generate_key("P-256", parameters={"kid": "y", "use": "enc",
                                                              "alg": "ECDH-ES"})])
    plus_upstream.rp_keys = foreign
    page = _fc_login(browser)
    assert page.status_code in (400, 502)
    assert "n'a pas pu être vérifiée" in visible(page)
    assert fc_sub_of(app, registered.nir) is None
    assert browser.get("/compte", allow_redirects=False).status_code == 303


def test_our_encryption_keys_rotate_with_the_signing_keys_without_breaking_fc_plus(
        clock, app, server, browser, plus_upstream, registered):
    """Issue 10.5: ``keys rotate`` publishes new encryption keys at once; what FC+ encrypts
    to the copy it holds still decrypts; the old keys leave the URL once the new ones sign,
    and still decrypt until they expire."""
    from idp.policy import Policy
    before = {k["kid"] for k in requests.get(server.url + RP_JWKS).json()["keys"]}
    assert _fc_login(browser).headers["Location"].startswith(PORTAL)
    result = app.test_cli_runner().invoke(args=["idp", "keys", "rotate"])
    assert result.exit_code == 0 and "/franceconnect/jwks" in result.output, result.output
    now = {k["kid"] for k in requests.get(server.url + RP_JWKS).json()["keys"]}
    assert before < now and len(now) == 4

    browser.http.cookies.clear()
    assert _fc_login(browser).headers["Location"].startswith(PORTAL)   # FC+'s old copy
    clock.shift(Policy().signing_key_promotion)
    after = {k["kid"] for k in requests.get(server.url + RP_JWKS).json()["keys"]}
    assert after == now - before
    browser.http.cookies.clear()
    assert _fc_login(browser).headers["Location"].startswith(PORTAL)   # still the old copy
    plus_upstream.forget_rp_keys()
    browser.http.cookies.clear()
    assert _fc_login(browser).headers["Location"].startswith(PORTAL)   # the new keys
    assert plus_upstream.rp_jwks_fetches == 2
    assert {k.kid for k in plus_upstream.rp_keys.keys} == after

    clock.shift(Policy().signing_key_retention + timedelta(seconds=1))
    assert {k["kid"] for k in requests.get(server.url + RP_JWKS).json()["keys"]} == after
