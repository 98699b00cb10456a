"""Client kinds beyond the shipped file: private_key_jwt with a signed request object, ES256
ID tokens, pairwise subjects, back-channel logout, and a third party that needs consent."""

from __future__ import annotations

import json
import secrets
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, HTTPServer
from urllib.parse import parse_qs, urlencode, urlparse

import pytest
import requests
from conftest import free_port
from joserfc import jwt
from joserfc.jwk import KeySet, RSAKey

AGENCY_CB = "http://127.0.0.1:5002/cb"
THIRD_CB = "http://127.0.0.1:5003/cb"
AGENCY_KEY = RSAKey.generate_key(2048, auto_kid=True)


class Receiver:
    """A relying party's back-channel logout endpoint."""

    def __init__(self):
        self.tokens: list[str] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"])).decode()
                outer.tokens.extend(parse_qs(body).get("logout_token", []))
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.httpd = HTTPServer(("127.0.0.1", free_port()), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_port}/backchannel"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()


@pytest.fixture
def receiver():
    r = Receiver()
    yield r
    r.httpd.shutdown()


@pytest.fixture
def app_config(app_config, tmp_path, receiver):
    public = {**AGENCY_KEY.as_dict(private=False), "use": "sig", "alg": "RS256"}
    (tmp_path / "clients.yaml").write_text(f"""
clients:
  - client_id: agency
    token_endpoint_auth_method: private_key_jwt
    jwks: {json.dumps({"keys": [public]})}
    redirect_uris: [{AGENCY_CB}]
    post_logout_redirect_uris: ["http://127.0.0.1:5002/"]
    id_token_signed_response_alg: ES256
    subject_type: pairwise
    backchannel_logout_uri: {receiver.url}
    scope: openid profile email
    skip_consent: true
  - client_id: thirdparty
    client_secret: ${{IDP_PORTAL_SECRET}}
    redirect_uris: [{THIRD_CB}]
    scope: openid profile
""")
    return {**app_config, "CLIENTS_FILE": str(tmp_path / "clients.yaml")}


def sign(claims: dict) -> str:
    return jwt.encode({"alg": "RS256", "kid": AGENCY_KEY.kid}, claims, AGENCY_KEY)


def assertion(server) -> str:
    now = int(time.time())
    return sign({"iss": "agency", "sub": "agency", "aud": server.url + "/token",
                 "jti": uuid.uuid4().hex, "iat": now, "exp": now + 60})


def follow(browser, response):
    while response.status_code in (302, 303):
        location = response.headers["Location"]
        if location.startswith(("http://127.0.0.1:5002", "http://127.0.0.1:5003")):
            return parse_qs(urlparse(location).query)
        response = browser.get(location, allow_redirects=False)
    raise AssertionError(response.text[:300])


def agency_login(server, browser, person, smtp):
    state, nonce = secrets.token_hex(8), secrets.token_hex(8)
    request_object = sign({"client_id": "agency", "iss": "agency", "aud": server.url,
                           "response_type": "code", "scope": "openid email",
                           "redirect_uri": AGENCY_CB, "state": state, "nonce": nonce})
    browser.get("/authorize?" + urlencode({"client_id": "agency", "response_type": "code",
                                           "scope": "openid", "request": request_object}))
    browser.submit_credentials(person.nir, person.password)
    browser.ask_code()
    query = follow(browser, browser.submit_code(smtp.code_for(person.email)))
    assert query["state"] == [state]                 # read from the signed request object
    token = requests.post(server.url + "/token", data={
        "grant_type": "authorization_code", "code": query["code"][0], "redirect_uri": AGENCY_CB,
        "client_id": "agency", "client_assertion": assertion(server),
        "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"})
    assert token.status_code == 200, token.text
    return token.json(), nonce


def test_a_signed_request_object_and_private_key_jwt_give_an_es256_pairwise_id_token(
        server, browser, person, smtp):
    body, nonce = agency_login(server, browser, person, smtp)
    jwks = KeySet.import_key_set(requests.get(server.url + "/jwks").json())
    token = jwt.decode(body["id_token"], jwks, algorithms=["ES256"])
    assert token.header["alg"] == "ES256" and token.claims["nonce"] == nonce
    info = requests.get(server.url + "/userinfo",
                        headers={"Authorization": "Bearer " + body["access_token"]}).json()
    assert info["sub"] == token.claims["sub"] and set(info) == {"sub", "email", "email_verified"}
    from idp.extensions import db
    from idp.models import Account
    with server.app.app_context():
        account = db.session.query(Account).filter_by(nir=person.nir).one()
        assert token.claims["sub"] != account.subject        # pairwise, not the public subject


def test_a_request_object_signed_by_another_key_is_refused(server, browser):
    stranger = RSAKey.generate_key(2048, auto_kid=True)
    forged = jwt.encode({"alg": "RS256", "kid": AGENCY_KEY.kid},
                        {"client_id": "agency", "response_type": "code", "scope": "openid",
                         "redirect_uri": AGENCY_CB, "state": "s"}, stranger)
    answer = browser.get("/authorize?" + urlencode({
        "client_id": "agency", "response_type": "code", "scope": "openid", "request": forged,
        "redirect_uri": AGENCY_CB, "state": "s"}), allow_redirects=False)
    assert parse_qs(urlparse(answer.headers["Location"]).query)["error"] == ["invalid_request_object"]


def test_a_client_assertion_cannot_be_replayed(server, browser, person, smtp):
    body, _ = agency_login(server, browser, person, smtp)
    reused = assertion(server)
    first = requests.post(server.url + "/introspect", data={
        "token": body["access_token"], "client_id": "agency", "client_assertion": reused,
        "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"})
    again = requests.post(server.url + "/introspect", data={
        "token": body["access_token"], "client_id": "agency", "client_assertion": reused,
        "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"})
    assert first.json()["active"] is True
    assert again.status_code in (400, 401), again.text
    assert again.json()["error"] == "invalid_client", again.text


def test_logout_notifies_the_client_on_its_back_channel(server, browser, person, smtp, receiver):
    body, _ = agency_login(server, browser, person, smtp)
    answer = browser.get("/end_session", params={"id_token_hint": body["id_token"]},
                         allow_redirects=False)
    assert answer.status_code == 200
    assert len(receiver.tokens) == 1
    jwks = KeySet.import_key_set(requests.get(server.url + "/jwks").json())
    logout = jwt.decode(receiver.tokens[0], jwks, algorithms=["ES256", "RS256"])
    id_claims = jwt.decode(body["id_token"], jwks, algorithms=["ES256"]).claims
    assert logout.claims["aud"] == "agency" and "nonce" not in logout.claims
    assert logout.claims["sid"] == id_claims["sid"] and logout.claims["sub"] == id_claims["sub"]
    assert "http://schemas.openid.net/event/backchannel-logout" in logout.claims["events"]


def test_a_third_party_needs_consent_and_prompt_none_says_so(server, browser, person, smtp):
    agency_login(server, browser, person, smtp)       # a live provider session
    answer = browser.get("/authorize", params={
        "client_id": "thirdparty", "response_type": "code", "scope": "openid profile",
        "redirect_uri": THIRD_CB, "state": "t", "prompt": "none"}, allow_redirects=False)
    query = parse_qs(urlparse(answer.headers["Location"]).query)
    assert query["error"] == ["consent_required"] and query["state"] == ["t"]
