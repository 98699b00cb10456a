"""Helpers for the multi-instance tests: a browser behind a load balancer that the test steers,
and what a relying party does over HTTP (PKCE, token exchange, ID token validation)."""

from __future__ import annotations

import base64
import hashlib
import html
import re
import secrets
from urllib.parse import parse_qs, urlparse

import requests
from authlib.oidc.core import CodeIDToken
from joserfc import jwt
from joserfc.jwk import KeySet

from tests.helpers.parties import PORTAL_SECRET

PORTAL = ("portal", PORTAL_SECRET)
REDIRECT = "http://127.0.0.1:5001/callback"
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
_TAG = re.compile(r"<[^>]+>")
_SPACE = re.compile(r"\s+")


class Browser:
    """One person's browser in front of a load balancer: the test names the instance that
    serves each request. The cookies are host-only cookies of 127.0.0.1 and a port never
    separates cookies (RFC 6265 §8.5), so both instances receive the same cookies, as they
    would behind one public host name. Redirects (relative) stay on the instance that sent
    them unless the test follows them itself."""

    def __init__(self):
        self.http = requests.Session()
        self.page: requests.Response | None = None

    def get(self, instance, path: str, **kw) -> requests.Response:
        self.page = self.http.get(instance.url + path, **kw)
        return self.page

    def post_form(self, instance, action: str, data: dict, **kw) -> requests.Response:
        token = CSRF.search(self.page.text).group(1)
        self.page = self.http.post(instance.url + action, data={"csrf_token": token, **data}, **kw)
        return self.page


def text_of(page) -> str:
    """The visible text of a page, entities decoded and whitespace normalised."""
    body = re.sub(r"<(script|style)\b.*?</\1>", " ", page.text, flags=re.S)
    return _SPACE.sub(" ", html.unescape(_TAG.sub(" ", body))).strip()


def blocked_until(page) -> str:
    """The end of a lock or quota as the page states it ("bloqué jusqu'au …")."""
    found = re.search(r"bloqué jusqu'au (.+?) \(heure de Paris\)", text_of(page))
    assert found, text_of(page)[:800]
    return found.group(1)


# -- the relying party ----------------------------------------------------------------------

def authorize_params(**extra) -> tuple[dict, str]:
    verifier = secrets.token_urlsafe(40)
    challenge = base64.urlsafe_b64encode(
        hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    params = {"client_id": "portal", "response_type": "code", "scope": "openid profile email",
              "redirect_uri": REDIRECT, "state": "st", "nonce": "no",
              "code_challenge": challenge, "code_challenge_method": "S256", **extra}
    return params, verifier


def at_client(response: requests.Response) -> dict:
    """The query of a redirect to the relying party."""
    assert response.status_code == 303, (response.status_code, response.text[:300])
    location = response.headers["Location"]
    assert location.startswith(REDIRECT), location
    return parse_qs(urlparse(location).query)


def exchange(instance, code: str, verifier: str) -> dict:
    answer = requests.post(instance.url + "/token", auth=PORTAL, data={
        "grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT,
        "code_verifier": verifier})
    assert answer.status_code == 200, answer.text
    return answer.json()


def silent_tokens(browser: Browser, at, exchange_at) -> dict:
    """``prompt=none`` with the browser's provider session: authorize at ``at``, exchange the
    code at ``exchange_at``; the tokens."""
    params, verifier = authorize_params(prompt="none")
    query = at_client(browser.get(at, "/authorize", params=params, allow_redirects=False))
    assert "code" in query, query
    return exchange(exchange_at, query["code"][0], verifier)


def jwks_of(instance) -> dict:
    answer = requests.get(instance.url + "/jwks")
    assert answer.status_code == 200
    return answer.json()


def kids_of(instance) -> set[str]:
    return {key["kid"] for key in jwks_of(instance)["keys"]}


def validate_id_token(id_token: str, jwks: dict, issuer: str, nonce: str = "no"):
    """As a careful client does: the signature against the given key set, then iss, aud,
    exp, iat and nonce (Authlib's CodeIDToken). The decoded token."""
    token = jwt.decode(id_token, KeySet.import_key_set(jwks), algorithms=["RS256", "ES256"])
    CodeIDToken(token.claims, token.header, {"iss": {"value": issuer}, "aud": {"value": "portal"},
                                             "nonce": {"value": nonce}}).validate()
    return token
