"""Issue 11.12 — fetching a client's ``jwks_uri``: no redirects, a size cap, a total timeout,
a failure not retried by every request, and an unknown ``kid`` fetching again at most once
per interval. A real local HTTP server plays the client's key host (serving, redirecting,
huge, slow, down) and counts its hits; the provider reads it for request objects (RFC 9101)
and ``private_key_jwt``, over real HTTP."""

from __future__ import annotations

import json
import threading
import time
import uuid
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

import pytest
import requests
from joserfc import jwt
from joserfc.jwk import RSAKey

from tests.helpers.live import free_port
from tests.helpers.parties import RpKeys, register
from tests.helpers.rp import sends_to_login

REMOTE_KEYS = RpKeys("remote")
REMOTE_CB = "https://remote.example/cb"
TIMEOUT = 1.0            # Policy.remote_timeout in these tests, seconds


class KeyHost:
    """The client's key server. ``mode``: serve, redirect, huge, slow, down."""

    def __init__(self):
        self.mode = "serve"
        self.hits: dict[str, int] = {}
        self.sent = 0                       # bytes of the last answer the provider took
        host = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                host.hits[self.path] = host.hits.get(self.path, 0) + 1
                body = json.dumps(REMOTE_KEYS.public_jwks()).encode()
                if self.path == "/moved" or host.mode == "serve":
                    return self._send(200, body)
                if host.mode == "redirect":
                    self.send_response(302)
                    self.send_header("Location", "/moved")
                    self.send_header("Content-Length", "0")
                    return self.end_headers()
                if host.mode == "down":
                    return self._send(503, b"down")
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                head, pad = body[:-1] + b', "padding": "', b" " * 65536
                if host.mode == "huge, declared":
                    self.send_header("Content-Length", str(len(head) + 128 * len(pad) + 2))
                self.end_headers()                  # else no Content-Length: read until it closes
                host.sent = 0
                try:
                    if host.mode.startswith("huge"):  # a valid key set, 8 MiB long
                        self.wfile.write(head)
                        for _ in range(128):
                            self.wfile.write(pad)
                            host.sent += len(pad)
                        self.wfile.write(b'"}')
                    else:                            # slow: the same key set, trickled
                        for i in range(0, len(body), len(body) // 12 + 1):
                            self.wfile.write(body[i:i + len(body) // 12 + 1])
                            self.wfile.flush()
                            host.sent += 1
                            time.sleep(TIMEOUT / 4)     # the fault itself: a slow host
                except OSError:
                    pass                             # the provider hung up

            def _send(self, status, body):
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", free_port()), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_port}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def stop(self):
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def key_host():
    from idp.oidc import client_keys
    client_keys.forget()
    host = KeyHost()
    yield host
    host.stop()
    client_keys.forget()


@pytest.fixture
def app_config(app_config, key_host):
    """The protocol tests' clients, plus one whose keys live at ``key_host``."""
    register(app_config, f"""
  - client_id: remote
    token_endpoint_auth_method: private_key_jwt
    jwks_uri: {key_host.url}/jwks
    redirect_uris: [{REMOTE_CB}]
    scope: openid profile
    skip_consent: true
""")
    policy = {**app_config["POLICY"], "REMOTE_TIMEOUT": TIMEOUT}
    return {**app_config, "POLICY": policy}


def _request_object(server, key=REMOTE_KEYS.sig_rsa) -> str:
    now = int(time.time())
    return jwt.encode({"alg": "RS256", "kid": key.kid}, {
        "iss": "remote", "aud": server.url, "client_id": "remote", "response_type": "code",
        "redirect_uri": REMOTE_CB, "scope": "openid", "state": "s", "iat": now,
        "exp": now + 300, "jti": uuid.uuid4().hex}, key)


def _authorize(server, **kw) -> str:
    """The error the client is told, or "login" when the request object was accepted."""
    answer = requests.get(server.url + "/authorize", allow_redirects=False, params={
        "client_id": "remote", "response_type": "code", "scope": "openid",
        "redirect_uri": REMOTE_CB, "request": _request_object(server, **kw)})
    if sends_to_login(answer):
        return "login"
    assert answer.status_code in (302, 303), (answer.status_code, answer.text[:300])
    location = answer.headers["Location"]
    assert location.startswith(REMOTE_CB), location
    return parse_qs(urlparse(location).query)["error"][0]


def _assertion_token(server, key=REMOTE_KEYS.sig_rsa) -> requests.Response:
    now = int(time.time())
    assertion = jwt.encode({"alg": "RS256", "kid": key.kid}, {
        "iss": "remote", "sub": "remote", "aud": server.url + "/token", "iat": now,
        "exp": now + 60, "jti": uuid.uuid4().hex}, key)
    return requests.post(server.url + "/token", data={
        "grant_type": "authorization_code", "code": "none", "redirect_uri": REMOTE_CB,
        "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
        "client_assertion": assertion})


def test_the_client_s_keys_are_fetched_once_and_kept(server, key_host):
    """Issue 11.12: the working case the others depart from."""
    assert _authorize(server) == "login" and _authorize(server) == "login"
    assert key_host.hits == {"/jwks": 1}


def test_a_redirecting_jwks_uri_is_not_followed(server, key_host):
    """Issue 11.12: a 302 from the key host is a failure; its target is never asked."""
    key_host.mode = "redirect"
    assert _authorize(server) == "invalid_request_object"
    assert key_host.hits == {"/jwks": 1}


@pytest.mark.parametrize("mode", ["huge", "huge, declared"])
def test_a_huge_key_set_is_abandoned_at_the_size_cap(server, key_host, mode):
    """Issue 11.12: an 8 MiB answer (a valid key set), its length declared or not, is read no
    further than the cap."""
    key_host.mode = mode
    assert _authorize(server) == "invalid_request_object"
    assert key_host.sent < 8 * 1024 * 1024     # it stopped reading: the rest was never taken


def test_a_slow_key_host_is_given_a_total_timeout(server, key_host):
    """Issue 11.12: a key set trickled byte after byte (each piece within any per-read
    timeout) is abandoned once the whole fetch has taken ``Policy.remote_timeout``."""
    key_host.mode = "slow"
    started = time.monotonic()
    assert _authorize(server) == "invalid_request_object"
    assert time.monotonic() - started < 2 * TIMEOUT


def test_a_key_host_that_is_down_is_not_asked_again_before_the_retry_delay(
        server, key_host, clock):
    """Issue 11.12: a failed fetch is remembered ``Policy.remote_retry_after``: the requests
    meanwhile fail at once without reaching the host; then it is asked again."""
    from idp.policy import Policy
    key_host.mode = "down"
    for _ in range(3):
        assert _authorize(server) == "invalid_request_object"
    assert key_host.hits == {"/jwks": 1}
    key_host.mode = "serve"
    clock.shift(Policy().remote_retry_after - timedelta(seconds=1))
    assert _authorize(server) == "invalid_request_object" and key_host.hits == {"/jwks": 1}
    clock.shift(timedelta(seconds=1))
    assert _authorize(server) == "login" and key_host.hits == {"/jwks": 2}


def test_an_unknown_kid_fetches_the_keys_again_at_most_once_per_interval(
        server, key_host, clock):
    """Issue 11.12: request objects naming kids the client never published make one fetch
    per ``Policy.remote_refetch_interval``, however many arrive."""
    from idp.policy import Policy
    assert _authorize(server) == "login" and key_host.hits == {"/jwks": 1}
    for n in range(5):
        stranger = RSAKey.generate_key(2048, parameters={"kid": f"unknown-{n}"})
        assert _authorize(server, key=stranger) == "invalid_request_object"
    assert key_host.hits == {"/jwks": 2}
    clock.shift(Policy().remote_refetch_interval)
    stranger = RSAKey.generate_key(2048, parameters={"kid": "unknown-later"})
    assert _authorize(server, key=stranger) == "invalid_request_object"
    assert key_host.hits == {"/jwks": 3}


def test_private_key_jwt_with_the_key_host_down_is_invalid_client(server, key_host):
    """Issue 11.12: the token endpoint answers RFC 6749's invalid_client (not a 500) when the
    client's keys cannot be fetched, and does not ask the host again at once."""
    key_host.mode = "down"
    for _ in range(2):
        answer = _assertion_token(server)
        # RFC 6749 §5.2: 401 only "may" answer a client that did not authenticate by header.
        assert answer.status_code in (400, 401) and answer.json()["error"] == "invalid_client"
    assert key_host.hits == {"/jwks": 1}


def test_a_key_set_yields_only_its_public_signing_keys_and_those_of_the_kid_asked():
    from idp.remote import signing_keys
    sig = {"kty": "EC", "kid": "s1", "use": "sig", "crv": "P-256", "x": "a", "y": "b"}
    bare = {"kty": "RSA", "kid": "s2", "n": "c", "e": "AQAB"}
    jwks = {"keys": [sig, bare, {"kty": "RSA", "kid": "e1", "use": "enc", "n": "c", "e": "AQAB"},
                     {**bare, "kid": "p1", "d": "secret"}, "not a key"]}
    assert signing_keys(jwks) == [sig, bare]
    assert signing_keys(jwks, "s2") == [bare]
    assert signing_keys(jwks, "e1") == []
    assert signing_keys({"keys": "nope"}) == [] and signing_keys({}) == []
