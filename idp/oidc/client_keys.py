"""Clients' public keys: for encrypting to them (JWE) and verifying what they sign
(``private_key_jwt``, request objects).

Keys come from the client's ``jwks`` in clients.yaml or from its ``jwks_uri``, fetched and
kept for at most ``MAX_AGE`` (FranceConnect serves its keys with max-age=600 and changes them
regularly), and fetched again at once when a ``kid`` we need is not in the cached set.
"""

from __future__ import annotations

import json
import threading
import time

import requests
from joserfc import jwe
from joserfc.jwk import KeySet

MAX_AGE = 600.0
FETCH_TIMEOUT = 3.0
MIN_REFETCH_INTERVAL = 10.0   # an unknown kid cannot make us hammer the client's server

_lock = threading.Lock()
_cache: dict[str, tuple[float, dict]] = {}
_last_fetch: dict[str, float] = {}


class KeysUnavailable(Exception):
    pass


def _fetch(uri: str) -> dict:
    try:
        response = requests.get(uri, timeout=FETCH_TIMEOUT, headers={"Accept": "application/json"})
        response.raise_for_status()
        data = response.json()
        if not isinstance(data, dict) or not isinstance(data.get("keys"), list):
            raise ValueError("not a JWK set")
    except (requests.RequestException, ValueError) as exc:
        raise KeysUnavailable(f"{uri}: {exc.__class__.__name__}") from None
    with _lock:
        _cache[uri] = (time.monotonic(), data)
        _last_fetch[uri] = time.monotonic()
    return data


def key_set(client, *, need_kid: str | None = None) -> dict:
    """The client's JWK set as a dict (``{"keys": [...]}``)."""
    if client.jwks:
        return client.jwks
    uri = client.jwks_uri
    if not uri:
        raise KeysUnavailable(f"client {client.client_id} has no keys")
    cached = _cache.get(uri)
    now = time.monotonic()
    if cached is None or now - cached[0] > MAX_AGE:
        return _fetch(uri)
    data = cached[1]
    if need_kid and not any(k.get("kid") == need_kid for k in data["keys"]):
        if now - _last_fetch.get(uri, 0) >= MIN_REFETCH_INTERVAL:
            return _fetch(uri)
    return data


def forget(uri: str | None = None) -> None:
    with _lock:
        if uri is None:
            _cache.clear()
            _last_fetch.clear()
        else:
            _cache.pop(uri, None)


def _encryption_key(client, alg: str) -> dict:
    kty = "EC" if alg.startswith("ECDH") else "RSA"
    for jwk in key_set(client)["keys"]:
        if jwk.get("kty") != kty or jwk.get("use", "enc") != "enc":
            continue
        if jwk.get("alg") not in (None, alg):
            continue
        return jwk
    raise KeysUnavailable(f"client {client.client_id}: no {kty} encryption key for {alg}")


def encrypt(client, payload: str, alg: str, enc: str) -> str:
    """A nested JWT: the signed token ``payload`` encrypted to the client (``cty: JWT``), with
    the recipient key's ``kid`` in the header so that the client picks the right key."""
    jwk = _encryption_key(client, alg)
    key = KeySet.import_key_set({"keys": [jwk]}).keys[0]
    header = {"alg": alg, "enc": enc, "cty": "JWT"}
    if jwk.get("kid"):
        header["kid"] = jwk["kid"]
    return jwe.encrypt_compact(header, payload.encode(), key, algorithms=[alg, enc])


def verification_keys(client, kid: str | None = None) -> KeySet:
    data = key_set(client, need_kid=kid)
    usable = [k for k in data["keys"] if k.get("use", "sig") == "sig" and "d" not in k]
    return KeySet.import_key_set(json.loads(json.dumps({"keys": usable})))
