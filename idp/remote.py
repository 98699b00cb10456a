"""JSON documents fetched from other servers and kept: relying parties' ``jwks_uri``
(``idp.oidc.client_keys``) and FranceConnect's discovery and keys (``idp.franceconnect``).

One fetcher for both (issue 11.12), on ``Policy``'s numbers:

- no redirect is followed (a ``jwks_uri`` names the document, not a place to be sent from);
- the body is read up to ``remote_max_bytes`` and the whole fetch given ``remote_timeout``
  (each socket operation gets what is left of it, and the body is abandoned when it runs
  out), so a huge or trickling answer holds no worker;
- a copy is kept ``remote_max_age``; a ``kid`` it lacks makes it be fetched again, at most
  once per ``remote_refetch_interval``;
- a failed fetch is remembered: the document is not asked again before
  ``remote_retry_after`` (every request meets the same failure at once, the host is spared).

Times are read on ``idp.clock`` (tests move it); the deadline of one fetch on the monotonic
clock, which only real time moves.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from dataclasses import dataclass

import requests
import urllib3

from idp import clock
from idp.policy import policy

log = logging.getLogger(__name__)


class Unavailable(Exception):
    """The document cannot be had now (fetch failed, or failed recently)."""


@dataclass
class _Entry:
    data: dict | None = None
    fetched_at: float = 0.0        # when ``data`` was fetched (idp.clock, epoch seconds)
    failed_at: float | None = None  # when the last fetch failed, until one succeeds
    refetched_at: float | None = None  # the last fetch asked for an unknown kid


class RemoteJson:
    """A per-process cache of JSON objects keyed by URL."""

    def __init__(self, name: str):
        self.name = name                      # for the logs: "client keys", "FranceConnect"
        self._lock = threading.Lock()
        self._entries: dict[str, _Entry] = {}

    def get(self, url: str) -> dict:
        """The document, from the copy while it is fresh."""
        entry = self._entry(url)
        if entry.data is not None and _now() - entry.fetched_at < _seconds("remote_max_age"):
            return entry.data
        return self._fetch(url, entry)

    def get_with_kid(self, url: str, kid: str | None) -> dict:
        """The key set, fetched again when it lacks ``kid`` (the keys were rotated), at most
        once per ``remote_refetch_interval``; it may still lack it."""
        data = self.get(url)
        if kid is None or _has_kid(data, kid):
            return data
        entry = self._entry(url)
        now = _now()
        if entry.refetched_at is not None and \
                now - entry.refetched_at < _seconds("remote_refetch_interval"):
            return data
        entry.refetched_at = now
        return self._fetch(url, entry)

    def forget(self, url: str | None = None) -> None:
        with self._lock:
            if url is None:
                self._entries.clear()
            else:
                self._entries.pop(url, None)

    def _entry(self, url: str) -> _Entry:
        with self._lock:
            return self._entries.setdefault(url, _Entry())

    def _fetch(self, url: str, entry: _Entry) -> dict:
        now = _now()
        if entry.failed_at is not None and now - entry.failed_at < _seconds("remote_retry_after"):
            raise Unavailable(f"{url}: failed recently")
        try:
            data = _download(url)
        except Unavailable as exc:
            entry.failed_at = now
            log.warning("%s unavailable: %s", self.name, exc)
            raise
        entry.data, entry.fetched_at, entry.failed_at = data, now, None
        return data


def _download(url: str) -> dict:
    limit = policy().remote_max_bytes
    deadline = time.monotonic() + _seconds("remote_timeout")

    def left() -> float:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise Unavailable(f"{url}: took longer than the timeout")
        return remaining

    try:
        with requests.get(url, timeout=left(), stream=True, allow_redirects=False,
                          headers={"Accept": "application/json",
                                   "Accept-Encoding": "identity"}) as response:
            if response.is_redirect or response.status_code != 200:
                raise Unavailable(f"{url}: answered {response.status_code}")
            if response.headers.get("Content-Encoding", "identity") != "identity":
                raise Unavailable(f"{url}: compressed")      # its size would be unknown
            declared = response.headers.get("Content-Length", "")
            if declared.isdigit() and int(declared) > limit:
                raise Unavailable(f"{url}: larger than {limit} bytes")
            body = bytearray()
            sock = _socket_of(response)
            while True:
                if sock is not None:
                    try:
                        sock.settimeout(left())
                    except OSError:      # the body is complete: the connection is closed
                        sock = None
                chunk = response.raw.read1(min(8192, limit + 1 - len(body)),
                                           decode_content=False)
                left()
                if not chunk:
                    break
                body += chunk
                if len(body) > limit:
                    raise Unavailable(f"{url}: larger than {limit} bytes")
    except requests.RequestException as exc:
        raise Unavailable(f"{url}: {exc.__class__.__name__}") from None
    except (OSError, urllib3.exceptions.HTTPError) as exc:  # a timeout or reset in the body
        raise Unavailable(f"{url}: {exc.__class__.__name__}") from None
    try:
        data = json.loads(bytes(body))
    except ValueError:
        raise Unavailable(f"{url}: not JSON") from None
    if not isinstance(data, dict):
        raise Unavailable(f"{url}: not a JSON object")
    return data


def _socket_of(response):
    """The connection's socket, so that each read gets only what is left of the deadline."""
    try:
        return response.raw._fp.fp.raw._sock
    except AttributeError:
        return None


def signing_keys(jwks: dict, kid: str | None = None) -> list[dict]:
    """The keys of a JWK set that may verify a signature (``use`` sig or unset, no private
    member), only those named ``kid`` when it is given; [] when ``jwks`` is not a JWK set.

    The one reading of a key set for both of its callers: clients' keys
    (``idp.oidc.client_keys``) and FranceConnect's (``idp.flows.franceconnect.upstream``)."""
    keys = jwks.get("keys")
    if not isinstance(keys, list):
        return []
    return [k for k in keys if isinstance(k, dict) and k.get("use", "sig") == "sig"
            and "d" not in k and (kid is None or k.get("kid") == kid)]


def _has_kid(data: dict, kid: str) -> bool:
    keys = data.get("keys")
    return isinstance(keys, list) and any(isinstance(k, dict) and k.get("kid") == kid
                                          for k in keys)


def _now() -> float:
    return clock.now().timestamp()


def _seconds(name: str) -> float:
    return getattr(policy(), name).total_seconds()
