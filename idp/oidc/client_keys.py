"""Clients' public keys: for encrypting to them (JWE) and verifying what they sign
(``private_key_jwt``, request objects).

Keys come from the client's ``jwks`` in clients.yaml or from its ``jwks_uri``, fetched through
``idp.remote`` (no redirects, a size cap and a total timeout, a copy kept
``Policy.remote_max_age``, fetched again on an unknown ``kid`` at most once per
``Policy.remote_refetch_interval``, a failure not retried before ``Policy.remote_retry_after``).
"""

from __future__ import annotations

import json

from joserfc import jwe
from joserfc.jwk import KeySet

from idp.remote import RemoteJson, Unavailable, signing_keys

_documents = RemoteJson("client keys")


class KeysUnavailable(Exception):
    pass


def key_set(client, *, need_kid: str | None = None) -> dict:
    """The client's JWK set as a dict (``{"keys": [...]}``)."""
    if client.jwks:
        return client.jwks
    uri = client.jwks_uri
    if not uri:
        raise KeysUnavailable(f"client {client.client_id} has no keys")
    try:
        data = _documents.get_with_kid(uri, need_kid)
    except Unavailable as exc:
        raise KeysUnavailable(str(exc)) from None
    if not isinstance(data.get("keys"), list):
        raise KeysUnavailable(f"{uri}: not a JWK set")
    return data


def forget(uri: str | None = None) -> None:
    _documents.forget(uri)


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
    usable = signing_keys(key_set(client, need_kid=kid))
    return KeySet.import_key_set(json.loads(json.dumps({"keys": usable})))
