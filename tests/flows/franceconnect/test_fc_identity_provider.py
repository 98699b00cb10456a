"""Our provider as one of FranceConnect's identity providers: a relying party behaving as
FranceConnect's core does (its scopes, one acr, 64-hex state and nonce, prompt=login, no PKCE,
client_secret_post, ES256; FC+: encrypted ID token and userinfo), over real HTTP."""

from __future__ import annotations

import json
import secrets
import time
from datetime import timedelta

import pytest
import requests
from joserfc import jwe, jwt
from joserfc.jwk import KeySet

from tests.helpers.fc import follow
from tests.helpers.pages import query_of_url as query_of
from tests.helpers.pages import visible
from tests.helpers.parties import FRANCECONNECT_SECRET as FC_SECRET

FC_STANDARD_SCOPE = "openid profile email birth"
FC_PLUS_SCOPE = "openid profile email preferred_username birthplace birthcountry"


class FcCore:
    """FranceConnect's core as a relying party of an identity provider."""

    def __init__(self, server, browser, smtp, fc_base, client_id="franceconnect"):
        self.server, self.browser, self.smtp = server, browser, smtp
        self.client_id = client_id
        self.redirect_uri = fc_base + "/oidc-callback"
        self.logout_uri = fc_base + "/client/logout-callback"
        self.state = self.nonce = None

    def authorize(self, scope=FC_STANDARD_SCOPE, acr="eidas1"):
        self.state, self.nonce = secrets.token_hex(32), secrets.token_hex(32)
        return self.browser.get("/authorize", allow_redirects=False, params={
            "client_id": self.client_id, "redirect_uri": self.redirect_uri,
            "response_type": "code", "scope": scope, "acr_values": acr,
            "state": self.state, "nonce": self.nonce, "prompt": "login"})

    def login(self, person, scope=FC_STANDARD_SCOPE) -> dict:
        """The whole journey up to FranceConnect's callback; its query."""
        first = self.authorize(scope)
        assert first.status_code == 200 and 'name="password"' in first.text, first.text[:300]
        self.browser.submit_credentials(person.nir, person.password)
        self.browser.ask_code()
        done = self.browser.submit_code(self.smtp.code_for(person.email))
        back = follow(self.browser, done, self.redirect_uri)
        assert back.headers["Location"].startswith(self.redirect_uri), back.headers["Location"]
        return query_of(back.headers["Location"])

    def token(self, code: str) -> requests.Response:
        return requests.post(self.server.url + "/token", data={
            "grant_type": "authorization_code", "code": code, "redirect_uri": self.redirect_uri,
            "client_id": self.client_id, "client_secret": FC_SECRET})

    def userinfo(self, access_token: str) -> requests.Response:
        return requests.get(self.server.url + "/userinfo", headers={
            "Authorization": "Bearer " + access_token, "Accept": "application/jwt"})

    def provider_keys(self) -> KeySet:
        return KeySet.import_key_set(requests.get(self.server.url + "/jwks").json())

    def verify(self, compact: str) -> tuple[dict, dict]:
        token = jwt.decode(compact, self.provider_keys(), algorithms=["ES256"])
        return dict(token.header), dict(token.claims)


@pytest.fixture
def fc_person(app, person):
    """The demo person with a pivot identity from the registry: several first names, a birth
    name and a usage name, presumed born in February 1969, born abroad (Morocco)."""
    from idp.extensions import db
    from idp.models import Account
    with app.app_context():
        account = db.session.query(Account).filter_by(nir=person.nir).one()
        account.given_name, account.family_name = "Valérie Anne", "MARTIN"
        account.preferred_username, account.birthdate = "DURAND", "1969-02-00"
        account.birthplace, account.birthcountry = "", "99350"
        db.session.commit()
    return person


@pytest.fixture
def core(server, browser, smtp, fc_callback_port):
    return FcCore(server, browser, smtp, f"http://127.0.0.1:{fc_callback_port}/api/v2")


def test_discovery_says_what_franceconnect_needs(server):
    doc = requests.get(server.url + "/.well-known/openid-configuration").json()
    assert doc["issuer"] == server.url
    assert "client_secret_post" in doc["token_endpoint_auth_methods_supported"]
    assert "ES256" in doc["id_token_signing_alg_values_supported"]
    assert doc["acr_values_supported"] == ["eidas1"]
    assert {"profile", "birth", "email", "identite_pivot"} <= set(doc["scopes_supported"])
    assert doc["end_session_endpoint"] == server.url + "/end_session"
    assert doc["authorization_response_iss_parameter_supported"] is True


def test_franceconnect_s_exact_request_gives_the_identity_pivot_signed_es256(
        app, server, core, fc_person):
    answer = core.login(fc_person)
    assert answer["state"] == core.state and answer["iss"] == server.url   # RFC 9207
    response = core.token(answer["code"])                 # client_secret_post, no PKCE
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["expires_in"] <= 60 and "refresh_token" not in body
    header, claims = core.verify(body["id_token"])
    assert header["alg"] == "ES256" and header["kid"]
    assert claims["iss"] == server.url and claims["aud"] == "franceconnect"
    assert claims["nonce"] == core.nonce and claims["acr"] == "eidas1"
    assert "otp" in claims["amr"] and "pwd" in claims["amr"]
    from idp.extensions import db
    from idp.models import Account
    with app.app_context():
        subject = db.session.query(Account).filter_by(nir=fc_person.nir).one().subject
    assert fc_person.nir not in claims["sub"] and claims["sub"] != subject   # pairwise, opaque

    info = core.userinfo(body["access_token"])
    assert info.status_code == 200 and info.headers["Content-Type"] == "application/jwt"
    _, identity = core.verify(info.text)
    assert identity["sub"] == claims["sub"]
    assert {k: identity[k] for k in ("given_name", "family_name", "birthdate", "gender",
                                     "birthplace", "birthcountry", "email")} == {
        "given_name": "Valérie Anne", "family_name": "MARTIN", "birthdate": "1969-02-00",
        "gender": "female", "birthplace": "", "birthcountry": "99350",
        "email": fc_person.email}
    assert identity["preferred_username"] == "DURAND"
    assert fc_person.nir not in json.dumps(identity)

    assert response.elapsed.total_seconds() < 2 and info.elapsed.total_seconds() < 2
    again = core.userinfo(body["access_token"])          # single-use access token
    assert again.status_code == 401 and again.json()["error"] == "invalid_token"
    assert 'error="invalid_token"' in again.headers["WWW-Authenticate"]


def test_the_sub_given_to_franceconnect_is_stable_between_logins(core, fc_person):
    first = core.verify(core.token(core.login(fc_person)["code"]).json()["id_token"])[1]["sub"]
    second = core.verify(core.token(core.login(fc_person)["code"]).json()["id_token"])[1]["sub"]
    assert first == second


def test_an_access_token_lives_at_most_60_seconds(clock, core, fc_person):
    body = core.token(core.login(fc_person)["code"]).json()
    clock.shift(timedelta(seconds=61))
    expired = core.userinfo(body["access_token"])
    assert expired.status_code == 401 and expired.headers["Content-Type"].startswith(
        "application/json") and expired.json()["error"] == "invalid_token"


def _password_only_login(core, browser, person) -> dict:
    page = core.authorize()
    assert 'name="password"' in page.text
    done = browser.post_form("/login", {"nir": person.nir, "password": person.password},
                             allow_redirects=False)
    back = follow(browser, done, core.redirect_uri)
    code = query_of(back.headers["Location"])["code"]
    return core.verify(core.token(code).json()["id_token"])[1]


def test_amr_does_not_claim_the_code_when_a_trusted_device_spared_it(core, browser, smtp,
                                                                     fc_person):
    core.authorize()
    core.authorize()                        # its login page
    browser.submit_credentials(fc_person.nir, fc_person.password)
    browser.ask_code()
    done = browser.submit_code(smtp.code_for(fc_person.email), remember=True)
    assert follow(browser, done, core.redirect_uri).headers["Location"].startswith(core.redirect_uri)
    claims = _password_only_login(core, browser, fc_person)
    assert claims["amr"] == ["pwd"] and len(smtp.to(fc_person.email)) == 1


def test_a_client_set_not_to_ask_the_code_logs_in_with_the_password_alone(
        server, browser, smtp, fc_callback_port, fc_person):
    core = FcCore(server, browser, smtp, f"http://127.0.0.1:{fc_callback_port}/api/v2",
                  client_id="franceconnect-no-code")
    claims = _password_only_login(core, browser, fc_person)
    assert claims["amr"] == ["pwd"] and smtp.to(fc_person.email) == []


def test_prompt_login_asks_for_a_real_login_even_with_a_live_session(core, browser, fc_person):
    core.login(fc_person)
    again = core.authorize()
    assert again.status_code == 200 and 'name="password"' in again.text


@pytest.mark.parametrize("level", ["eidas2", "eidas3"])
def test_a_level_that_cannot_be_met_is_an_error_redirect_with_the_state(server, core, level):
    response = core.authorize(acr=level)
    answer = query_of(response.headers["Location"])
    assert response.headers["Location"].startswith(core.redirect_uri)
    assert answer["error"] == "unmet_authentication_requirements"
    assert answer["state"] == core.state and answer["iss"] == server.url and "code" not in answer


@pytest.mark.fcconfig(FRANCECONNECT_DISCOVERY_URL="http://127.0.0.1:9/.well-known/x",
                      FRANCECONNECT_CLIENT_ID="ameli-fs", FRANCECONNECT_CLIENT_SECRET="x" * 40)
def test_the_login_page_for_franceconnect_carries_its_branding_and_no_franceconnect_button(
        server, core, browser):
    page = core.authorize()
    text = visible(page)
    assert 'class="fc-branding"' in page.text and "franceconnect-logo.svg" in page.text
    assert "FranceConnect" in text and "ameli" in text
    assert "support" in text and "Créer un compte" in text and "Mot de passe oublié ?" in text
    assert "/franceconnect/login" not in page.text and "S'identifier avec" not in text
    assert 'name="viewport" content="width=device-width' in page.text
    css = requests.get(server.url + "/static/idp.css").text
    assert "fc-marianne.svg" in css and "max-width: 400px" in css
    assert requests.get(server.url + "/static/fc-marianne.svg").status_code == 200


def test_revenir_sur_franceconnect_returns_access_denied_with_the_state(server, core, browser):
    page = core.authorize()
    cancel = page.text.split('>Revenir sur FranceConnect<')[0].rsplit('href="', 1)[1].split('"')[0]
    response = browser.get(cancel, allow_redirects=False)
    answer = query_of(response.headers["Location"])
    assert response.headers["Location"].startswith(core.redirect_uri)
    assert answer["error"] == "access_denied" and answer["state"] == core.state
    assert answer["iss"] == server.url


def test_franceconnect_logs_out_with_an_expired_hint_and_no_client_id(clock, core, browser,
                                                                      fc_person):
    hint = core.token(core.login(fc_person)["code"]).json()["id_token"]
    clock.shift(timedelta(hours=1))                       # the ID token expired long ago
    assert browser.get("/compte", allow_redirects=False).status_code == 200
    state = secrets.token_hex(32)
    response = browser.get("/end_session", allow_redirects=False, params={
        "id_token_hint": hint, "state": state, "post_logout_redirect_uri": core.logout_uri})
    assert response.status_code in (302, 303)
    assert response.headers["Location"] == f"{core.logout_uri}?state={state}"
    assert browser.get("/compte", allow_redirects=False).status_code == 303


def test_franceconnect_s_id_tokens_live_60_seconds_and_still_serve_as_a_logout_hint(
        clock, server, core, browser, smtp, fc_callback_port, fc_person):
    """issue 10.3: the franceconnect client's ``id_token_lifetime: 60`` makes exp - iat 60 s
    (a client without it keeps the policy's 600 s); 61 s later the hint has expired and
    RP-initiated logout still accepts it (RP-Initiated Logout §2)."""
    hint = core.token(core.login(fc_person)["code"]).json()["id_token"]
    _, claims = core.verify(hint)
    assert claims["exp"] - claims["iat"] == 60
    clock.shift(timedelta(seconds=61))
    with pytest.raises(Exception, match="expired"):
        jwt.JWTClaimsRegistry(exp={"essential": True}).validate(claims)
    state = secrets.token_hex(32)
    response = browser.get("/end_session", allow_redirects=False, params={
        "id_token_hint": hint, "state": state, "post_logout_redirect_uri": core.logout_uri})
    assert response.status_code == 303
    assert response.headers["Location"] == f"{core.logout_uri}?state={state}"
    assert browser.get("/compte", allow_redirects=False).status_code == 303
    other = FcCore(server, browser, smtp, f"http://127.0.0.1:{fc_callback_port}/api/v2",
                   client_id="franceconnect-no-code")           # no id_token_lifetime
    claims = _password_only_login(other, browser, fc_person)
    assert claims["exp"] - claims["iat"] == 600


def test_status_answers_200_when_the_database_answers(server):
    response = requests.get(server.url + "/status")
    assert response.status_code == 200 and response.json() == {"status": "ok"}


def test_status_answers_503_when_the_database_does_not(tmp_path):
    from idp import create_app
    app = create_app({"TESTING": True, "SECRET_KEY": "t" * 40, "KEY_ENCRYPTION_KEY": "k" * 40,
                      "SQLALCHEMY_DATABASE_URI": "postgresql+psycopg://postgres@127.0.0.1:9/none",
                      "MAIL_OUTBOX": str(tmp_path), "RATELIMIT_ENABLED": False})
    started = time.monotonic()
    response = app.test_client().get("/status")
    assert response.status_code == 503 and response.get_json() == {"status": "unavailable"}
    assert time.monotonic() - started < 2


# -- FranceConnect+: encryption to FranceConnect's keys --------------------------------------

@pytest.fixture
def plus(server, browser, smtp, fc_callback_port, fc_keys):
    return FcCore(server, browser, smtp, f"http://127.0.0.1:{fc_callback_port}/api/v2",
                  client_id="franceconnect-plus")


def _open(compact: str, fc_keys, alg: str) -> tuple[dict, str]:
    assert compact.count(".") == 4
    sealed = jwe.decrypt_compact(compact, fc_keys.private, algorithms=[alg, "A256GCM"])
    return dict(sealed.protected), sealed.plaintext.decode()


def test_franceconnect_plus_gets_id_token_and_userinfo_signed_then_encrypted_to_its_keys(
        plus, fc_keys, fc_person):
    body = plus.token(plus.login(fc_person, FC_PLUS_SCOPE)["code"]).json()
    header, inner = _open(body["id_token"], fc_keys, "RSA-OAEP-256")
    assert header["alg"] == "RSA-OAEP-256" and header["enc"] == "A256GCM"
    assert header["kid"] == fc_keys.private.keys[0].kid and header["cty"] == "JWT"
    _, claims = plus.verify(inner)
    assert claims["nonce"] == plus.nonce and claims["aud"] == "franceconnect-plus"

    info = plus.userinfo(body["access_token"])
    assert info.headers["Content-Type"] == "application/jwt"
    header, inner = _open(info.text, fc_keys, "ECDH-ES")
    assert header["alg"] == "ECDH-ES" and header["kid"] == fc_keys.private.keys[1].kid
    _, identity = plus.verify(inner)
    assert identity["sub"] == claims["sub"] and identity["birthcountry"] == "99350"


def test_franceconnect_s_keys_are_cached_at_most_ten_minutes(clock, plus, fc_keys, fc_person):
    first = plus.token(plus.login(fc_person, FC_PLUS_SCOPE)["code"]).json()["id_token"]
    old_kid = _open(first, fc_keys, "RSA-OAEP-256")[0]["kid"]
    old_keys = fc_keys.private
    fc_keys.renew()                                       # FranceConnect changes its keys
    clock.shift(timedelta(minutes=9))
    second = plus.token(plus.login(fc_person, FC_PLUS_SCOPE)["code"]).json()["id_token"]
    assert jwe.decrypt_compact(second, old_keys, algorithms=["RSA-OAEP-256", "A256GCM"]) \
        .protected["kid"] == old_kid and fc_keys.fetches == 1
    clock.shift(timedelta(minutes=1))
    third = plus.token(plus.login(fc_person, FC_PLUS_SCOPE)["code"]).json()["id_token"]
    assert _open(third, fc_keys, "RSA-OAEP-256")[0]["kid"] == fc_keys.private.keys[0].kid
    assert fc_keys.fetches == 2
