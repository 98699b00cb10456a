"""``POST /authorize-challenge`` (draft-ietf-oauth-first-party-apps) over real HTTP, as the
ameli app calls it: a passkey assertion, made by the tests' software authenticator, for an
authorization code that /token exchanges (PKCE, DPoP); anything but a good passkey of a
usable account answers ``redirect_to_web``, so that no password is ever typed in the app."""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
from datetime import timedelta

import pytest
import requests
from cryptography.hazmat.primitives.asymmetric import ec

from tests.helpers.authenticator import Authenticator
from tests.helpers.dpop import DpopKey
from tests.helpers.parties import MOBILE_CB, register
from tests.helpers.rp import RelyingParty

FIRST_PARTY = f"""
  - client_id: app
    token_endpoint_auth_method: none
    redirect_uris: [{MOBILE_CB}]
    scope: openid profile email
    grant_types: [authorization_code, refresh_token]
    skip_consent: true
    dpop_bound_access_tokens: true
    first_party: true
  - client_id: app2
    token_endpoint_auth_method: none
    redirect_uris: [{MOBILE_CB}]
    scope: openid profile
    first_party: true
"""


@pytest.fixture
def app_config(app_config):
    register(app_config, FIRST_PARTY)
    return {**app_config, "ACR_BY_METHOD": {**app_config["ACR_BY_METHOD"], "passkey": "eidas1"}}


@pytest.fixture
def phone(app, person):
    """The person's phone with a passkey activated (through the domain, as the activation
    page does once the password and the code were given)."""
    from idp.domain import accounts, passkeys
    with app.app_context():
        device = Authenticator(origin=app.config["PASSKEY_ORIGINS"][0],
                               rp_id=app.config["PASSKEY_RP_ID"])
        account = accounts.by_nir(person.nir)
        options = passkeys.registration_options(account)
        passkeys.verify_registration(account.id, device.register(options.public_key),
                                     label="iPhone", challenge_id=options.challenge_id)
        device.account_id = account.id
    return device


class App:
    """The ameli app: its PKCE pair, its DPoP key, and the challenge endpoint's calls."""

    def __init__(self, server, client_id="app"):
        self.server = server
        self.client_id = client_id
        self.url = server.url + "/authorize-challenge"
        self.verifier = secrets.token_urlsafe(48)
        self.challenge = base64.urlsafe_b64encode(
            hashlib.sha256(self.verifier.encode()).digest()).rstrip(b"=").decode()
        self.key = DpopKey()

    def post(self, key=None, **form):
        key = self.key if key is None else key
        headers = {"DPoP": key.proof("POST", self.url)} if key else {}
        return requests.post(self.url, data={"client_id": self.client_id, **form}, headers=headers)

    def start(self, **form):
        return self.post(**{"code_challenge": self.challenge, "code_challenge_method": "S256",
                            "scope": "openid profile email", **form})

    def session(self):
        answer = self.start()
        assert answer.status_code == 400, answer.text
        body = answer.json()
        assert body["error"] == "insufficient_authorization", body
        return body["auth_session"], body["passkey_request_options"]

    def finish(self, session, assertion, **form):
        return self.post(auth_session=session, passkey_assertion=json.dumps(assertion), **form)

    def code(self, phone, **spoil):
        session, options = self.session()
        return self.finish(session, phone.assertion(options, **spoil))

    def redeem(self, code, verifier=None):
        url = self.server.url + "/token"
        return requests.post(url, data={
            "client_id": self.client_id, "grant_type": "authorization_code", "code": code,
            "code_verifier": verifier or self.verifier}, headers={"DPoP": self.key.proof("POST", url)})


@pytest.fixture
def mobile_app(server):
    return App(server)


def to_web(response):
    assert response.status_code == 400, response.text
    assert response.json()["error"] == "redirect_to_web", response.json()
    assert "authorization_code" not in response.json()
    assert response.headers["Cache-Control"] == "no-store"


# -- the good path ---------------------------------------------------------------------

def test_a_passkey_gets_the_app_a_code_and_tokens_without_a_browser(mobile_app, phone, server):
    discovery = requests.get(server.url + "/.well-known/openid-configuration").json()
    assert discovery["authorization_challenge_endpoint"] == mobile_app.url
    session, options = mobile_app.session()
    assert options["userVerification"] == "required" and options["rpId"] == "localhost"
    assert not options.get("allowCredentials")
    answer = mobile_app.finish(session, phone.assertion(options))
    assert answer.status_code == 200, answer.text
    assert answer.headers["Cache-Control"] == "no-store"
    code = answer.json()["authorization_code"]

    tokens = mobile_app.redeem(code)
    assert tokens.status_code == 200, tokens.text
    tokens = tokens.json()
    assert tokens["token_type"] == "DPoP"
    rp = RelyingParty(server, "app", MOBILE_CB, method="none")
    claims = rp.validate_id_token(tokens).claims
    assert claims["amr"] == ["pop", "mfa"] and claims["acr"] == "eidas1"
    info = requests.get(server.url + "/userinfo", headers={
        "Authorization": "DPoP " + tokens["access_token"],
        "DPoP": mobile_app.key.proof("GET", server.url + "/userinfo",
                                     access_token=tokens["access_token"])})
    assert info.status_code == 200 and info.json()["sub"] == claims["sub"]
    assert mobile_app.redeem(code).json()["error"] == "invalid_grant"       # a code once


def test_the_code_needs_the_apps_verifier(mobile_app, phone):
    code = mobile_app.code(phone).json()["authorization_code"]
    assert mobile_app.redeem(code, verifier=secrets.token_urlsafe(48)).json()["error"] == "invalid_grant"


def test_the_code_is_bound_to_the_sessions_dpop_key(mobile_app, phone):
    """RFC 9449 §10, as ``dpop_jkt`` at /authorize: only a proof by the key the session was
    started with redeems the code; a thief's proof leaves it to the app."""
    code = mobile_app.code(phone).json()["authorization_code"]
    app_key, mobile_app.key = mobile_app.key, DpopKey()
    answer = mobile_app.redeem(code)
    assert answer.status_code == 400 and answer.json()["error"] == "invalid_dpop_proof", answer.text
    mobile_app.key = app_key
    assert mobile_app.redeem(code).status_code == 200


def test_an_auth_session_is_used_once(mobile_app, phone):
    session, options = mobile_app.session()
    assert mobile_app.finish(session, phone.assertion(options)).status_code == 200
    to_web(mobile_app.finish(session, phone.assertion(options)))     # a new assertion, same session


# -- bad assertions, dead passkeys, unusable accounts -------------------------------------

@pytest.mark.parametrize("spoil", [
    {"uv": False}, {"up": False}, {"origin": "https://evil.example"}, {"rp_id": "evil.example"},
    {"signing_key": ec.generate_private_key(ec.SECP256R1())},
    {"credential_id": b"unknown-credential-0123456789abcd"}, {"counter": 0},
    {"challenge": "bm90LW91ci1jaGFsbGVuZ2U"},
], ids=["uv unset", "up unset", "wrong origin", "wrong rp id hash", "wrong key",
        "unknown credential", "counter back", "another challenge"])
def test_a_bad_assertion_answers_redirect_to_web(spoil, mobile_app, phone):
    mobile_app.code(phone)                                            # counter now above 1
    to_web(mobile_app.code(phone, **spoil))


def test_no_assertion_answers_redirect_to_web_and_the_session_then_still_serves(mobile_app, phone):
    session, options = mobile_app.session()
    to_web(mobile_app.post(auth_session=session))
    assert mobile_app.finish(session, phone.assertion(options)).status_code == 200


def test_an_expired_passkey_answers_redirect_to_web(clock, mobile_app, phone):
    clock.shift(timedelta(days=184))                  # past Policy.biometric_validity
    to_web(mobile_app.code(phone))


def test_a_revoked_passkey_answers_redirect_to_web(app, mobile_app, phone):
    from idp.domain import passkeys
    with app.app_context():
        passkeys.revoke_all(phone.account_id, "password_changed")
    to_web(mobile_app.code(phone))


@pytest.mark.parametrize("status", ["resigned", "unattached", "pending"])
def test_an_unusable_account_answers_redirect_to_web(status, app, mobile_app, phone):
    from idp.extensions import db
    from idp.models import Account
    with app.app_context():
        db.session.get(Account, phone.account_id).status = status
        db.session.commit()
    to_web(mobile_app.code(phone))


def test_a_passkey_whose_account_is_gone_answers_redirect_to_web(app, mobile_app, phone):
    """The account row deleted under its passkey (foreign keys bypassed: what a purge racing
    the assertion leaves for an instant): a valid assertion then names no account."""
    import sqlite3

    import sqlalchemy as sa

    from idp.extensions import db
    with app.app_context():
        engine = db.engine
        if engine.dialect.name == "sqlite":
            with sqlite3.connect(engine.url.database) as raw:       # foreign keys off
                raw.execute("DELETE FROM account WHERE id = ?", (phone.account_id,))
        else:
            with engine.begin() as conn:
                conn.execute(sa.text("SET LOCAL session_replication_role = replica"))
                conn.execute(sa.text("DELETE FROM account WHERE id = :id"),
                             {"id": phone.account_id})
    to_web(mobile_app.code(phone))


# -- requests the endpoint does not serve -----------------------------------------------

def test_a_client_not_first_party_answers_redirect_to_web(server, phone):
    to_web(App(server, "mobile").start())
    answer = App(server, "nobody").start()
    assert answer.status_code == 401 and answer.json()["error"] == "invalid_client"


def test_prompt_login_and_an_unmet_acr_answer_redirect_to_web(mobile_app):
    to_web(mobile_app.start(prompt="login"))
    to_web(mobile_app.start(acr_values="eidas3"))


@pytest.mark.parametrize("form", [
    {"code_challenge": None, "code_challenge_method": None},
    {"code_challenge_method": "plain"},
    {"code_challenge": "short"},
])
def test_pkce_s256_is_required(form, mobile_app):
    answer = mobile_app.post(**{"code_challenge": mobile_app.challenge,
                                "code_challenge_method": "S256", **{k: v for k, v in form.items()}})
    assert answer.status_code == 400 and answer.json()["error"] == "invalid_request", answer.text


def test_a_forged_expired_or_other_clients_session_is_invalid_session(clock, server, mobile_app,
                                                                      phone):
    session, options = mobile_app.session()
    for forged in (session[:-2] + ("AA" if not session.endswith("AA") else "BB"), "x"):
        answer = mobile_app.finish(forged, phone.assertion(options))
        assert answer.json()["error"] == "invalid_session", answer.text
    other = App(server, "app2")
    other.key = None
    answer = other.finish(session, phone.assertion(options))
    assert answer.json()["error"] == "invalid_session", answer.text
    clock.shift(timedelta(minutes=6))                 # past Policy.passkey_challenge_ttl
    assert mobile_app.finish(session, phone.assertion(options)).json()["error"] == "invalid_session"


def test_a_session_started_with_a_dpop_key_is_finished_with_it(mobile_app, phone):
    session, options = mobile_app.session()
    answer = mobile_app.post(key=DpopKey(), auth_session=session,
                             passkey_assertion=json.dumps(phone.assertion(options)))
    assert answer.status_code == 400 and answer.json()["error"] == "invalid_dpop_proof"
    answer = mobile_app.post(key=False, auth_session=session,
                             passkey_assertion=json.dumps(phone.assertion(options)))
    assert answer.json()["error"] == "invalid_dpop_proof"


def test_a_first_party_client_must_be_public(tmp_path):
    from idp.oidc.clients.file import check_clients_file
    path = tmp_path / "clients.yaml"
    path.write_text("clients:\n  - client_id: x\n    client_secret_hash: sha256:" + "0" * 64
                    + "\n    redirect_uris: [https://x.example/cb]\n    first_party: true\n")
    assert any("first_party" in error for error in check_clients_file(path))


@pytest.mark.config(RATELIMIT_ENABLED=True, RATELIMIT_STORAGE_URI="memory://",
                    LOGIN_RATE_LIMIT_PER_IP="4 per minute")
def test_the_endpoint_is_rate_limited_per_ip_as_the_login(mobile_app, phone):
    for _ in range(4):
        assert mobile_app.start().status_code == 400
    answer = mobile_app.start()
    assert answer.status_code == 429 and answer.json()["error"] == "slow_down", answer.text
