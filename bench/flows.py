"""The login walkers: a person's browser over real HTTP, kept as cheap as possible for the
client (``http.client``, a cookie dict, no HTML parsing beyond the CSRF token), and the
relying party's calls (token, userinfo) with the shipped ``portal`` client.

* ``first_login``: authorize → NIR + password → "Recevoir un code de sécurité" → the code
  read from the SMTP sink → callback code → /token → /userinfo;
* ``trusted_login``: a browser holding only the remember-device cookie: authorize →
  password → /token (no code);
* ``session_login``: a browser with a live provider session: authorize goes straight back
  to the client → /token.
"""

from __future__ import annotations

import base64
import hashlib
import http.client
import json
import os
import re
import secrets
from urllib.parse import parse_qs, urlencode, urlsplit

PORTAL_ID = "portal"
REDIRECT = "http://127.0.0.1:5001/callback"
CSRF = re.compile(rb'name="csrf_token" value="([^"]+)"')
SESSION_COOKIE = "idp_session"
DEVICE_COOKIE = "idp_device"
# The cookies that carry a provider session / a remembered device (``bench.peer`` has its own).
SESSION_COOKIES = (SESSION_COOKIE,)
DEVICE_COOKIES = (DEVICE_COOKIE,)


def portal_secret() -> str:
    from bench.provider import DEFAULT_SECRETS
    return os.environ.get("IDP_PORTAL_SECRET", DEFAULT_SECRETS["IDP_PORTAL_SECRET"])


def portal_basic() -> str:
    return "Basic " + base64.b64encode(f"{PORTAL_ID}:{portal_secret()}".encode()).decode()


class FlowError(Exception):
    pass


class Browser:
    """One person's browser: one connection (reopened when the server closes it, as sync
    workers do), cookies by name (a single host and path here)."""

    def __init__(self, base: str, cookies: dict | None = None):
        parts = urlsplit(base)
        self.base = base
        self.conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=60)
        self.cookies = dict(cookies or {})
        self.page = b""

    def send(self, method: str, path: str, form: dict | None = None, headers: dict | None = None):
        headers = dict(headers or {})
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        body = None
        if form is not None:
            body = urlencode(form)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        self.conn.request(method, path, body=body, headers=headers)
        answer = self.conn.getresponse()
        data = answer.read()
        for line in answer.headers.get_all("Set-Cookie") or ():
            self._remember(line)
        return answer.status, answer.headers, data

    def _remember(self, line: str) -> None:
        first, _, attributes = line.partition(";")
        name, _, value = first.strip().partition("=")
        if not value or "max-age=0" in attributes.lower().replace(" ", ""):
            self.cookies.pop(name, None)
        else:
            self.cookies[name] = value

    def get(self, path: str):
        """GET, then follow like a browser; see ``_settle``."""
        return self._settle(*self.send("GET", path))

    def post_form(self, action: str, data: dict):
        """POST a form of the current page (with its CSRF token), then follow like a browser."""
        found = CSRF.search(self.page)
        if found is None:
            raise FlowError(f"no csrf_token on the page before POST {action}: {self.page[:200]!r}")
        return self._settle(*self.send("POST", action, {"csrf_token": found.group(1).decode(), **data}))

    def _settle(self, status, headers, data):
        """Follow the provider's own redirects; (status, None) with the page kept, or
        (status, location) at the first redirect that leaves the provider (the client's)."""
        for _ in range(10):
            location = headers.get("Location")
            if status not in (302, 303) or not location:
                self.page = data
                return status, None
            if location.startswith(self.base):
                location = location[len(self.base):] or "/"
            elif not location.startswith("/"):
                return status, location
            status, headers, data = self.send("GET", location)
        raise FlowError("too many redirects")


def _pkce() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(40)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    return verifier, challenge


def authorize_path() -> tuple[str, str]:
    verifier, challenge = _pkce()
    query = urlencode({"client_id": PORTAL_ID, "response_type": "code", "scope": "openid profile email",
                       "redirect_uri": REDIRECT, "state": secrets.token_urlsafe(8),
                       "nonce": secrets.token_urlsafe(8), "code_challenge": challenge,
                       "code_challenge_method": "S256"})
    return "/authorize?" + query, verifier


def code_from(location: str | None, step: str) -> str:
    if not location or not location.startswith(REDIRECT):
        raise FlowError(f"{step}: expected a redirect to the client, got {location!r}")
    query = parse_qs(urlsplit(location).query)
    if "code" not in query:
        raise FlowError(f"{step}: the client got no code: {location}")
    return query["code"][0]


def expect(status: int, step: str, browser: Browser, wanted: int = 200) -> None:
    if status != wanted:
        raise FlowError(f"{step}: HTTP {status} {browser.page[:200]!r}")


def exchange(browser: Browser, code: str, verifier: str) -> dict:
    """The relying party's token request (client_secret_basic)."""
    status, _headers, data = browser.send("POST", "/token", {
        "grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT,
        "code_verifier": verifier}, {"Authorization": portal_basic()})
    if status != 200:
        raise FlowError(f"token: HTTP {status} {data[:200]!r}")
    return json.loads(data)


def userinfo(browser: Browser, access_token: str) -> dict:
    status, _headers, data = browser.send("GET", "/userinfo", headers={"Authorization": "Bearer " + access_token})
    if status != 200:
        raise FlowError(f"userinfo: HTTP {status} {data[:200]!r}")
    return json.loads(data)


# -- the three logins -----------------------------------------------------------------------------

def first_login(base: str, who, sink, *, remember: bool = False) -> tuple[Browser, dict]:
    """A whole first login; returns the browser (its cookies: session, trusted device) and
    the tokens."""
    browser = Browser(base)
    path, verifier = authorize_path()
    status, _ = browser.get(path)
    expect(status, "authorize", browser)
    status, _ = browser.post_form("/login", {"nir": who.nir, "password": who.password})
    expect(status, "password", browser)
    status, _ = browser.post_form("/login/code/send", {})
    expect(status, "send code", browser)
    form = {"code": sink.take_code(who.email)}
    if remember:
        form["remember_device"] = "1"
    _status, location = browser.post_form("/login/code", form)
    tokens = exchange(browser, code_from(location, "code"), verifier)
    userinfo(browser, tokens["access_token"])
    return browser, tokens


def trusted_login(base: str, who, device_cookies: dict) -> dict:
    browser = Browser(base, device_cookies)
    path, verifier = authorize_path()
    status, _ = browser.get(path)
    expect(status, "authorize", browser)
    _status, location = browser.post_form("/login", {"nir": who.nir, "password": who.password})
    return exchange(browser, code_from(location, "password (trusted device)"), verifier)


def session_login(browser: Browser) -> dict:
    path, verifier = authorize_path()
    _status, location = browser.get(path)
    return exchange(browser, code_from(location, "authorize (live session)"), verifier)
