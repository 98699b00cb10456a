"""FranceConnect on both sides of our provider, over real HTTP:

* ``upstream``: a FranceConnect stand-in (discovery, jwks, authorize that approves at once,
  token, userinfo as a signed JWT, end_session) for the "S'identifier avec FranceConnect"
  button, with switches for each fault FranceConnect's answers could carry;
* ``fc_keys``: FranceConnect's own encryption key set, served at a URL (its
  ``/client/.well-known/keys``), whose keys the tests can change, for FranceConnect+.
"""

from __future__ import annotations

import base64
import json
import re
import secrets
import threading
import time
from urllib.parse import urlencode

import pytest
import requests
from flask import Flask, jsonify, redirect, request
from joserfc import jwe, jwt
from joserfc.jwk import ECKey, KeySet, RSAKey
from werkzeug.serving import make_server

from tests.helpers.live import free_port
from tests.helpers.pages import query_of_url as query_of
from tests.helpers.pages import says
from tests.helpers.parties import PORTAL_SECRET

FS_CLIENT_ID = "ameli-fs-client"
FS_SECRET = "fs-secret-0123456789abcdef0123456789abcdef"


class Threaded:
    def __init__(self, app: Flask):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.server = make_server("127.0.0.1", self.port, app, threaded=True)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self):
        self.server.shutdown()


class Upstream(Threaded):
    """FranceConnect (v2) as a service provider sees it, with fault switches."""

    def __init__(self):
        self.key = ECKey.generate_key("P-256", parameters={"kid": "fc-1", "use": "sig"})
        self.signer = self.key              # a key of the same kid but not published: forged
        self.published = [self.key]
        self.acr = "eidas1"
        self.nonce = None                   # None: echo the one we were sent
        self.state = None                   # None: echo the one we were sent
        self.userinfo_sub = None            # None: the ID token's sub
        self.deny = False                   # the person cancels at FranceConnect
        self.sub = secrets.token_hex(32) + "v1"
        self.identity = {"given_name": "Valérie Anne", "family_name": "MARTIN",
                         "birthdate": "1969-02-15", "gender": "female", "birthplace": "",
                         "birthcountry": "99134", "email": "valerie.martin@example.fr"}
        self.authorize_requests: list[dict] = []
        self.token_requests: list[dict] = []
        self.end_session_requests: list[dict] = []
        self.jwks_fetches = 0
        self.discovery_fetches = 0
        self.down = False                   # discovery answers 503 (issue 11.12)
        # FranceConnect+ mode (issue 10.5): the ID token and userinfo are encrypted to the
        # relying party's keys, fetched from this URL once and kept until ``forget_rp_keys``.
        self.rp_jwks_uri: str | None = None
        self.rp_keys: KeySet | None = None
        self.rp_jwks_fetches = 0
        self._codes: dict[str, dict] = {}
        super().__init__(self._app())
        self.issuer = self.url + "/api/v2"

    def discovery_url(self) -> str:
        return self.issuer + "/.well-known/openid-configuration"

    def rotate(self):
        """A new signing key, published and used; the old one withdrawn."""
        self.key = ECKey.generate_key("P-256", parameters={"kid": f"fc-{time.time_ns()}",
                                                             "use": "sig"})
        self.signer, self.published = self.key, [self.key]

    def forge(self):
        self.signer = ECKey.generate_key("P-256", parameters={"kid": self.key.kid, "use": "sig"})

    def _sign(self, claims: dict) -> str:
        return jwt.encode({"alg": "ES256", "kid": self.signer.kid}, claims, self.signer)

    def forget_rp_keys(self):
        self.rp_keys = None

    def _sealed(self, compact: str, alg: str) -> str:
        """FC+: the signed token encrypted (A256GCM) to the RP key of ``alg``, its kid named."""
        if self.rp_jwks_uri is None:
            return compact
        if self.rp_keys is None:
            answer = requests.get(self.rp_jwks_uri, timeout=5)
            answer.raise_for_status()
            self.rp_jwks_fetches += 1
            self.rp_keys = KeySet.import_key_set(answer.json())
        kty = "RSA" if alg.startswith("RSA") else "EC"
        key = next(k for k in self.rp_keys.keys
                   if k.key_type == kty and k.get("use") == "enc" and k.get("alg") in (None, alg))
        header = {"alg": alg, "enc": "A256GCM", "kid": key.kid, "cty": "JWT"}
        return jwe.encrypt_compact(header, compact.encode(), key, algorithms=[alg, "A256GCM"])

    def _app(self) -> Flask:
        app = Flask("franceconnect-stand-in")
        up = self

        @app.get("/api/v2/.well-known/openid-configuration")
        def discovery():
            up.discovery_fetches += 1
            if up.down:
                return jsonify(error="unavailable"), 503
            base = up.issuer
            return jsonify(issuer=base, authorization_endpoint=base + "/authorize",
                           token_endpoint=base + "/token", userinfo_endpoint=base + "/userinfo",
                           jwks_uri=base + "/jwks", end_session_endpoint=base + "/session/end",
                           id_token_signing_alg_values_supported=["ES256"])

        @app.get("/api/v2/jwks")
        def jwks():
            up.jwks_fetches += 1
            return jsonify(keys=[k.as_dict(private=False) for k in up.published])

        @app.get("/api/v2/authorize")
        def authorize():
            params = request.args.to_dict()
            up.authorize_requests.append(params)
            code = secrets.token_urlsafe(16)
            up._codes[code] = params
            state = up.state if up.state is not None else params["state"]
            answer = {"error": "access_denied", "error_description": "User auth aborted"} \
                if up.deny else {"code": code}
            return redirect(params["redirect_uri"] + "?" + urlencode({**answer, "state": state}))

        @app.post("/api/v2/token")
        def token():
            form = request.form.to_dict()
            up.token_requests.append({"form": form, "auth": request.headers.get("Authorization")})
            params = up._codes.pop(form.get("code"), None)
            if params is None or form.get("client_id") != FS_CLIENT_ID \
                    or form.get("client_secret") != FS_SECRET \
                    or form.get("redirect_uri") != params["redirect_uri"]:
                return jsonify(error="invalid_grant"), 400
            now = int(time.time())
            access = secrets.token_urlsafe(24)
            up._codes["at:" + access] = params
            claims = {"iss": up.issuer, "aud": FS_CLIENT_ID, "sub": up.sub, "iat": now,
                      "exp": now + 60, "acr": up.acr, "amr": ["pwd", "mail"],
                      "nonce": up.nonce if up.nonce is not None else params["nonce"]}
            return jsonify(access_token=access, token_type="Bearer", expires_in=60,
                           id_token=up._sealed(up._sign(claims), "RSA-OAEP-256"))

        @app.get("/api/v2/userinfo")
        def userinfo():
            access = request.headers.get("Authorization", "")[7:]
            if up._codes.pop("at:" + access, None) is None:
                return jsonify(error="invalid_token"), 401
            claims = {"iss": up.issuer, "aud": FS_CLIENT_ID,
                      "sub": up.userinfo_sub or up.sub, **up.identity}
            return app.response_class(up._sealed(up._sign(claims), "ECDH-ES"),
                                      mimetype="application/jwt")

        @app.get("/api/v2/session/end")
        def session_end():
            params = request.args.to_dict()
            up.end_session_requests.append(params)
            state = up.state if up.state is not None else params["state"]
            return redirect(params["post_logout_redirect_uri"] + "?" + urlencode({"state": state}))

        return app


class FcKeys(Threaded):
    """FranceConnect's encryption keys (``/client/.well-known/keys``), private halves kept."""

    def __init__(self):
        self.fetches = 0
        self.renew()
        app = Flask("fc-keys")

        @app.get("/client/.well-known/keys")
        def keys():
            self.fetches += 1
            response = jsonify(keys=[k.as_dict(private=False) for k in self.private.keys])
            response.headers["Cache-Control"] = "public, max-age=600"
            return response

        super().__init__(app)
        self.uri = self.url + "/client/.well-known/keys"

    def renew(self):
        tag = secrets.token_hex(4)
        rsa = RSAKey.generate_key(2048, parameters={"kid": f"rsa-{tag}", "use": "enc"})
        ec = ECKey.generate_key("P-256", parameters={"kid": f"ec-{tag}", "use": "enc"})
        self.private = KeySet([rsa, ec])


@pytest.fixture
def upstream():
    from idp.flows.franceconnect import upstream as franceconnect
    franceconnect.forget()
    server = Upstream()
    yield server
    server.stop()
    franceconnect.forget()


@pytest.fixture
def fc_keys():
    from idp.oidc import client_keys
    client_keys.forget()
    server = FcKeys()
    yield server
    server.stop()
    client_keys.forget()


@pytest.fixture
def fc_callback_port():
    return free_port()


@pytest.fixture
def app_config(app_config, request, tmp_path, fc_callback_port):
    """Our provider with a clients file naming FranceConnect (standard and FC+) at loopback
    URIs, and — when the test uses ``upstream`` — the button configured against the stand-in."""
    fc = f"http://127.0.0.1:{fc_callback_port}/api/v2"
    extra = {}
    keys_uri = "http://127.0.0.1:9/unused"
    if "fc_keys" in request.fixturenames:
        keys_uri = request.getfixturevalue("fc_keys").uri
    clients = tmp_path / "clients.yaml"
    clients.write_text(CLIENTS.format(fc=fc, keys_uri=keys_uri))
    extra["CLIENTS_FILE"] = str(clients)
    if "upstream" in request.fixturenames:
        up = request.getfixturevalue("upstream")
        extra.update(FRANCECONNECT_DISCOVERY_URL=up.discovery_url(),
                     FRANCECONNECT_CLIENT_ID=FS_CLIENT_ID, FRANCECONNECT_CLIENT_SECRET=FS_SECRET)
    marker = request.node.get_closest_marker("fcconfig")
    if marker is not None:
        extra.update(marker.kwargs)
    return {**app_config, **extra}




CLIENTS = """
clients:
  - client_id: portal
    client_name: Mon compte ameli
    client_secret: ${{IDP_PORTAL_SECRET}}
    redirect_uris: [http://127.0.0.1:5001/callback]
    post_logout_redirect_uris: [http://127.0.0.1:5001/]
    scope: openid profile email
    skip_consent: true
  - client_id: franceconnect
    client_name: FranceConnect
    client_secret: ${{IDP_FRANCECONNECT_SECRET}}
    token_endpoint_auth_method: client_secret_post
    redirect_uris: [{fc}/oidc-callback]
    post_logout_redirect_uris: [{fc}/client/logout-callback]
    scope: openid profile email birth given_name family_name birthdate gender birthplace birthcountry preferred_username identite_pivot
    grant_types: [authorization_code]
    id_token_signed_response_alg: ES256
    userinfo_signed_response_alg: ES256
    subject_type: pairwise
    skip_consent: true
    login_branding: franceconnect
    access_token_lifetime: 60
    id_token_lifetime: 60              # as the shipped clients.yaml (issue 10.3)
    single_use_access_token: true
  - client_id: franceconnect-no-code
    client_secret: ${{IDP_FRANCECONNECT_SECRET}}
    token_endpoint_auth_method: client_secret_post
    redirect_uris: [{fc}/oidc-callback]
    scope: openid profile email birth
    id_token_signed_response_alg: ES256
    skip_consent: true
    login_branding: franceconnect
    require_security_code: false       # the operator's choice (seed 004 FAQ)
  - client_id: franceconnect-plus
    client_name: FranceConnect+
    client_secret: ${{IDP_FRANCECONNECT_SECRET}}
    token_endpoint_auth_method: client_secret_post
    redirect_uris: [{fc}/oidc-callback]
    post_logout_redirect_uris: [{fc}/client/logout-callback]
    scope: openid profile email preferred_username birthplace birthcountry
    grant_types: [authorization_code]
    id_token_signed_response_alg: ES256
    id_token_encrypted_response_alg: RSA-OAEP-256
    id_token_encrypted_response_enc: A256GCM
    userinfo_signed_response_alg: ES256
    userinfo_encrypted_response_alg: ECDH-ES
    userinfo_encrypted_response_enc: A256GCM
    jwks_uri: {keys_uri}
    subject_type: pairwise
    skip_consent: true
    login_branding: franceconnect
    access_token_lifetime: 60
    single_use_access_token: true
"""


# -- the demo portal's login through the button ------------------------------------------

PORTAL = "http://127.0.0.1:5001/callback"
HEX64 = re.compile(r"^[0-9a-f]{64}$")


def follow(browser, response, stop: str = PORTAL):
    """Follow redirects one by one (across hosts) until one leaves for ``stop``."""
    for _ in range(10):
        location = response.headers.get("Location")
        if response.status_code not in (301, 302, 303, 307) or location is None:
            return response
        if location.startswith(stop):
            return response
        if location.startswith("/"):
            location = browser.base + location
        response = browser.get(location, allow_redirects=False)
    raise AssertionError("redirect loop")


def open_portal_login(browser):
    page = browser.get("/authorize", params={
        "client_id": "portal", "response_type": "code", "scope": "openid profile email",
        "redirect_uri": PORTAL, "state": "portal-state", "nonce": "portal-nonce",
        "prompt": "login"})
    assert says(page, "S'identifier avec"), page.text[:500]
    return page


def click_franceconnect(browser):
    return browser.post_form("/franceconnect/login", {}, allow_redirects=False)


def claims_of(compact: str) -> dict:
    part = compact.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))


def portal_tokens(server, location: str) -> dict:
    query = query_of(location)
    assert query["state"] == "portal-state" and query["iss"] == server.url
    response = requests.post(server.url + "/token", data={
        "grant_type": "authorization_code", "code": query["code"], "redirect_uri": PORTAL},
        auth=("portal", PORTAL_SECRET))
    assert response.status_code == 200, response.text
    return response.json()


@pytest.fixture
def registered(app, person, upstream):
    """The demo person in the registry of insured persons, as FranceConnect knows her."""
    from idp.extensions import db
    from idp.models import Person
    with app.app_context():
        db.session.add(Person(nir=person.nir, **{k: upstream.identity[k] for k in (
            "given_name", "family_name", "birthdate", "gender", "birthplace", "birthcountry")},
            email=person.email))
        db.session.commit()
    return person


def fc_sub_of(app, nir):
    from idp.extensions import db
    from idp.models import Account
    with app.app_context():
        return db.session.query(Account).filter_by(nir=nir).one().fc_sub
