"""The relying party's side of the protocol tests, built on a real OIDC client library:
Authlib's requests ``OAuth2Session`` (PKCE S256, client authentication) and joserfc for the
ID token (signature against the JWKS fetched from ``jwks_uri``, then Authlib's
``CodeIDToken`` checks of iss, aud, exp, iat, nonce, azp, at_hash and auth_time).

``RelyingParty.login`` walks the person's browser through our pages (credentials, the
e-mailed code, consent when asked) until the answer reaches the client, by redirect or by
form_post."""

from __future__ import annotations

import base64
import html
import json
import re
import secrets
import time
import uuid
from dataclasses import dataclass, field
from urllib.parse import urlencode

import requests
from authlib.common.security import generate_token
from authlib.integrations.requests_client import OAuth2Session
from authlib.oauth2.rfc7523 import PrivateKeyJWT
from authlib.oidc.core import CodeIDToken
from joserfc import jwe, jwt
from joserfc.jwk import KeySet

from tests.helpers.pages import query_of_url, visible

FORM_ACTION = re.compile(r'<form[^>]*action="([^"]*)"')
HIDDEN = re.compile(r'<input type="hidden" name="([^"]+)" value="([^"]*)">')
ENCRYPTION = ["RSA-OAEP", "RSA-OAEP-256", "ECDH-ES", "A256GCM", "A128CBC-HS256"]




@dataclass
class Pending:
    """An authorization request as the client remembers it."""
    url: str
    state: str | None
    nonce: str | None
    verifier: str | None
    params: dict = field(default_factory=dict)


@dataclass
class Answer:
    """What reached the client's redirect URI: the parameters, and how they came."""
    params: dict
    mode: str            # "query" or "form_post"
    url: str = ""

    def __getitem__(self, name):
        return self.params[name]

    def get(self, name, default=None):
        return self.params.get(name, default)


class RelyingParty:
    def __init__(self, server, client_id: str, redirect_uri: str, *, secret: str | None = None,
                 method: str = "client_secret_basic", keys=None, alg: str = "RS256",
                 scope: str = "openid profile email", sealed: bool = False):
        self.server = server
        self.issuer = server.url
        self.client_id = client_id
        self.redirect_uri = redirect_uri
        self.keys = keys                # the client's own key pairs (RpKeys), if any
        self.alg = alg                  # the ID token's expected signing algorithm
        self.sealed = sealed            # ID tokens come encrypted to the client
        credential = keys.sig_rsa if method == "private_key_jwt" else secret
        self.oauth = OAuth2Session(client_id, credential, token_endpoint_auth_method=method,
                                   revocation_endpoint_auth_method=method, scope=scope,
                                   redirect_uri=redirect_uri, code_challenge_method="S256")
        if method == "private_key_jwt":
            self.oauth.register_client_auth_method(
                PrivateKeyJWT(self.token_endpoint, headers={"kid": keys.sig_rsa.kid}))
        # Over TLS (tests/conftest.py's TlsServer), the tests' certificate authority.
        self.verify = str(server.tls.ca) if getattr(server, "tls", None) else True
        self.oauth.verify = self.verify
        self.oauth.trust_env = False    # else REQUESTS_CA_BUNDLE would override ``verify``
        self._discovery = None

    # -- metadata ----------------------------------------------------------------------

    @property
    def discovery(self) -> dict:
        if self._discovery is None:
            self._discovery = requests.get(self.issuer + "/.well-known/openid-configuration",
                                           verify=self.verify).json()
        return self._discovery

    @property
    def token_endpoint(self) -> str:
        return self.issuer + "/token"

    def jwks(self) -> KeySet:
        return KeySet.import_key_set(requests.get(self.discovery["jwks_uri"], verify=self.verify).json())

    # -- the authorization request ---------------------------------------------------------

    def authorization(self, *, pkce: bool = True, nonce: bool = True, **params) -> Pending:
        verifier = generate_token(48) if pkce else None
        nonce_value = secrets.token_urlsafe(12) if nonce else None
        extra = {k: v for k, v in params.items() if v is not None}
        if nonce_value:
            extra.setdefault("nonce", nonce_value)
        url, state = self.oauth.create_authorization_url(
            self.issuer + "/authorize", code_verifier=verifier, **extra)
        return Pending(url, state, extra.get("nonce"), verifier, extra)

    def request_object(self, claims: dict, *, alg: str = "RS256", key=None, kid=None) -> str:
        """A request object (RFC 9101) signed with the client's own key."""
        key = key or (self.keys.sig_ec if alg == "ES256" else self.keys.sig_rsa)
        now = int(time.time())
        body = {"iss": self.client_id, "aud": self.issuer, "client_id": self.client_id,
                "iat": now, "exp": now + 300, "jti": uuid.uuid4().hex, **claims}
        return jwt.encode({"alg": alg, "kid": kid or key.kid}, body, key, algorithms=[alg])

    def client_assertion(self) -> str:
        """A ``private_key_jwt`` client assertion (RFC 7523), as Authlib makes one per request."""
        now = int(time.time())
        claims = {"iss": self.client_id, "sub": self.client_id, "aud": self.token_endpoint,
                  "jti": uuid.uuid4().hex, "iat": now, "exp": now + 60}
        return jwt.encode({"alg": "RS256", "kid": self.keys.sig_rsa.kid}, claims, self.keys.sig_rsa)

    def start(self, browser, *, method: str = "GET", **params):
        """Send the browser to the authorization endpoint; the pending request and the
        first answer (not followed)."""
        pending = self.authorization(**params)
        if method == "POST":
            query = query_of_url(pending.url)
            answer = browser.http.post(self.issuer + "/authorize", data=query, allow_redirects=False)
            browser.page = answer
        else:
            answer = browser.get(pending.url, allow_redirects=False)
        return pending, answer

    def login(self, browser, person=None, smtp=None, *, remember: bool = False,
              decision: str = "accept", **params) -> tuple[Pending, Answer]:
        pending, answer = self.start(browser, **params)
        return pending, self.walk(browser, answer, person, smtp, remember=remember,
                                  decision=decision)

    def walk(self, browser, response, person=None, smtp=None, *, remember=False,
             decision="accept") -> Answer:
        """Follow our pages as the person does until the answer reaches the client."""
        for _ in range(20):
            if response.status_code in (302, 303):
                location = response.headers["Location"]
                if location.startswith(self.redirect_uri):
                    query = query_of_url(location)
                    return Answer(query, "query", location)
                response = browser.get(location, allow_redirects=False)
                continue
            assert response.status_code == 200, (response.status_code, response.text[:500])
            actions = FORM_ACTION.findall(response.text)
            if html.unescape(actions[0] if actions else "") == self.redirect_uri:
                return Answer(form_post_values(response.text), "form_post")
            if "/login/consent" in actions:
                response = browser.post_form("/login/consent", {"decision": decision},
                                             allow_redirects=False)
            elif "/login/code" in actions:
                data = {"code": smtp.code_for(person.email)}
                if remember:
                    data["remember_device"] = "1"
                response = browser.post_form("/login/code", data, allow_redirects=False)
            elif "/login/code/send" in actions:
                response = browser.post_form("/login/code/send", {}, allow_redirects=False)
            elif "/login" in actions and 'name="password"' in response.text:
                response = browser.post_form("/login", {"nir": person.nir, "password": person.password},
                                             allow_redirects=False)
            else:
                raise AssertionError("stuck on a page: " + response.text[:800])
        raise AssertionError("too many steps")

    # -- the token endpoint -------------------------------------------------------------

    def exchange(self, answer: Answer, pending: Pending) -> dict:
        """The code for tokens, through Authlib (which checks the state of a query answer)."""
        if answer.mode == "query":
            return dict(self.oauth.fetch_token(self.token_endpoint, authorization_response=answer.url,
                                               state=pending.state, code_verifier=pending.verifier))
        assert answer["state"] == pending.state
        return dict(self.oauth.fetch_token(self.token_endpoint, code=answer["code"],
                                           code_verifier=pending.verifier))

    def post(self, path: str, data: dict, *, auth: bool = True) -> requests.Response:
        """A raw POST to a back-channel endpoint, authenticated as this client."""
        client_auth = self.oauth.client_auth(self.oauth.token_endpoint_auth_method) if auth else None
        if not auth:
            data = {"client_id": self.client_id, **data}
        return requests.post(self.issuer + path, data=data, auth=client_auth, verify=self.verify)

    def token_request(self, **form) -> requests.Response:
        return self.post("/token", form)

    def redeem(self, answer: Answer, pending: Pending, **overrides) -> requests.Response:
        form = {"grant_type": "authorization_code", "code": answer["code"],
                "redirect_uri": self.redirect_uri, "code_verifier": pending.verifier}
        form.update(overrides)
        return self.token_request(**{k: v for k, v in form.items() if v is not None})

    def refresh(self, refresh_token: str) -> requests.Response:
        return self.token_request(grant_type="refresh_token", refresh_token=refresh_token)

    # -- ID tokens and userinfo -----------------------------------------------------------

    def open_jwe(self, value: str) -> str:
        """Decrypt a JWE sent to this client with the client's private keys."""
        keys = KeySet([self.keys.enc_rsa, self.keys.enc_ec])
        return jwe.decrypt_compact(value, keys, algorithms=ENCRYPTION).plaintext.decode()

    def verify_jws(self, value: str, algs=("RS256", "ES256")):
        return jwt.decode(value, self.jwks(), algorithms=list(algs))

    def validate_id_token(self, tokens: dict, pending: Pending | None = None, *,
                          max_age: int | None = None):
        """Every check a careful client makes; the decoded token (header and claims)."""
        raw = tokens["id_token"]
        assert (raw.count(".") == 4) == self.sealed, "encrypted exactly when registered"
        if self.sealed:
            raw = self.open_jwe(raw)
        token = jwt.decode(raw, self.jwks(), algorithms=[self.alg])
        assert token.header["kid"]
        options = {"iss": {"essential": True, "value": self.issuer},
                   "aud": {"essential": True, "value": self.client_id},
                   "exp": {"essential": True}, "iat": {"essential": True},
                   "auth_time": {"essential": True}, "sub": {"essential": True}}
        params = {"client_id": self.client_id, "access_token": tokens.get("access_token"),
                  "max_age": max_age}
        if pending is not None and pending.nonce:
            params["nonce"] = pending.nonce
        claims = CodeIDToken(token.claims, token.header, options, params)
        claims.validate()
        if pending is not None and not pending.nonce:
            assert "nonce" not in claims
        return token

    def userinfo(self, access_token: str, how: str = "GET") -> requests.Response:
        url = self.discovery["userinfo_endpoint"]
        header = {"Authorization": "Bearer " + access_token}
        if how == "GET":
            return requests.get(url, headers=header, verify=self.verify)
        if how == "POST header":
            return requests.post(url, headers=header, verify=self.verify)
        return requests.post(url, data={"access_token": access_token}, verify=self.verify)

    def userinfo_claims(self, response: requests.Response, *, algs=("RS256", "ES256")) -> dict:
        """Userinfo as the client reads it: JSON, or a JWT (decrypted, then verified)."""
        assert response.status_code == 200, response.text
        if response.headers["Content-Type"].startswith("application/json"):
            return response.json()
        assert response.headers["Content-Type"].startswith("application/jwt")
        value = response.text
        if value.count(".") == 4:
            value = self.open_jwe(value)
        token = self.verify_jws(value, algs)
        assert token.claims["iss"] == self.issuer and token.claims["aud"] == self.client_id
        return {k: v for k, v in token.claims.items() if k not in ("iss", "aud", "iat", "exp")}


def logged_in(rp: RelyingParty, browser, person, smtp, **params) -> tuple[dict, dict]:
    """A whole login for ``rp``: the token response and the validated ID token's claims."""
    pending, answer = rp.login(browser, person, smtp, **params)
    tokens = rp.exchange(answer, pending)
    return tokens, rp.validate_id_token(tokens, pending).claims



def to_consent(rp: RelyingParty, browser, person, smtp, **params):
    """Log in for ``rp`` up to its consent page; the pending request and that page."""
    pending, answer = rp.start(browser, **params)
    page = login_page(browser, answer)
    for _ in range(8):
        actions = FORM_ACTION.findall(page.text)
        if "/login/consent" in actions:
            return pending, page
        if "/login/code" in actions:
            page = browser.post_form("/login/code", {"code": smtp.code_for(person.email)})
        elif "/login/code/send" in actions:
            page = browser.post_form("/login/code/send", {})
        else:
            page = browser.submit_credentials(person.nir, person.password)
    raise AssertionError("no consent page: " + visible(page)[:500])



def sends_to_login(response) -> bool:
    """The authorization request asks a login: its answer is the login page (issue 15), or
    the redirect to it: a request sent by POST, or a flow that the provider session moved on
    at once to consent or the code (its page at /login)."""
    if response.status_code == 303:
        location = response.headers["Location"]
        return location == "/login" or location.startswith("/login?interaction=")
    return response.status_code == 200 and 'action="/login"' in response.text \
        and interaction_of(response) is not None


SWITCH = re.compile(r'href="/langue/[a-z]+\?next=([^"]+)"')


def interaction_of(page) -> str | None:
    """The pending request a login page serves: the id in the address its language switch
    comes back to (/login?interaction=<id>), also on the page GET /authorize answers."""
    from urllib.parse import parse_qs, unquote, urlsplit
    found = SWITCH.search(page.text)
    if found is None:
        return None
    back = unquote(html.unescape(found.group(1)))
    return parse_qs(urlsplit(back).query).get("interaction", [None])[0]


def login_page(browser, answer):
    """The login page an authorization request's ``answer`` is (GET) or redirects to (POST)."""
    if answer.status_code in (302, 303):
        return browser.get(answer.headers["Location"])
    assert answer.status_code == 200, (answer.status_code, answer.text[:300])
    return answer


def jose_header(compact: str) -> dict:
    """The protected header of a JWS or JWE, unverified."""
    part = compact.split(".")[0]
    return json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))


def form_post_values(page: str) -> dict:
    return {name: html.unescape(value) for name, value in HIDDEN.findall(page)}


def query_of(response) -> dict:
    """The parameters of a redirect to the client."""
    assert response.status_code in (302, 303), (response.status_code, response.text[:500])
    return query_of_url(response.headers["Location"])


def inner_params(pending) -> dict:
    """Every parameter of the pending request, to be signed into a request object."""
    return query_of_url(pending.url)


def url_with(base: str, **params) -> str:
    return base + "?" + urlencode(params)
