"""Signing keys: RS256 (the default of OpenID Connect Registration) and ES256.

Private keys live in the database encrypted with AES-256-GCM under the key-encryption key
(``IDP_KEY_ENCRYPTION_KEY``), so every instance signs and verifies with the same keys and a
rotation done on one is seen by all (within ``Policy.signing_key_cache``). ``rotate()`` adds
a key per algorithm and retires the previous one: it stops signing at once and stays published
for ``Policy.signing_key_retention`` so that every token it signed still verifies.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import threading

from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from flask import current_app
from joserfc import jws, jwt
from joserfc.errors import InvalidKeyIdError
from joserfc.jwk import ECKey, KeySet, RSAKey
from sqlalchemy import or_, select, update

from .. import clock
from ..extensions import db
from ..models import SigningKey
from ..policy import policy

SUPPORTED_ALGS = ("RS256", "ES256")


def _aead() -> AESGCM:
    kek = str(current_app.config["KEY_ENCRYPTION_KEY"]).encode()
    return AESGCM(hashlib.sha256(b"idp/signing-keys/" + kek).digest())


def _seal(private_jwk: dict, kid: str) -> str:
    nonce = os.urandom(12)
    sealed = _aead().encrypt(nonce, json.dumps(private_jwk).encode(), kid.encode())
    return base64.b64encode(nonce + sealed).decode()


def _unseal(blob: str, kid: str) -> dict:
    raw = base64.b64decode(blob)
    return json.loads(_aead().decrypt(raw[:12], raw[12:], kid.encode()))


def _generate(alg: str):
    if alg == "RS256":
        return RSAKey.generate_key(2048, auto_kid=True)
    return ECKey.generate_key("P-256", auto_kid=True)


def add_key(alg: str) -> SigningKey:
    key = _generate(alg)
    public = {**key.as_dict(private=False), "use": "sig", "alg": alg}
    row = SigningKey(kid=key.kid, alg=alg, public_jwk=public,
                     private_jwk_encrypted=_seal(key.as_dict(private=True), key.kid),
                     created_at=clock.now())
    db.session.add(row)
    return row


def ensure_keys() -> list[str]:
    """Make a signing key for each algorithm that has none (init-db, first start)."""
    made = []
    for alg in SUPPORTED_ALGS:
        active = db.session.execute(
            select(SigningKey.kid).where(SigningKey.alg == alg, SigningKey.retired_at.is_(None))
        ).first()
        if active is None:
            made.append(add_key(alg).kid)
    db.session.commit()
    _cache_for_app().clear()
    return made


def rotate() -> list[str]:
    """Add a new key per algorithm; retire the old ones, published until their tokens expire."""
    now = clock.now()
    db.session.execute(
        update(SigningKey).where(SigningKey.retired_at.is_(None))
        .values(retired_at=now, expires_at=now + policy().signing_key_retention))
    kids = [add_key(alg).kid for alg in SUPPORTED_ALGS]
    db.session.commit()
    _cache_for_app().clear()
    return kids


class _Cache:
    """Per-process copy of the key rows, read again once ``Policy.signing_key_cache`` has
    passed (on the clock of ``idp.clock``, so that tests move it)."""

    def __init__(self):
        self.lock = threading.Lock()
        self.clear()

    def clear(self):
        self.valid = (0.0, 0.0)          # [loaded, expires) in epoch seconds
        self.signing: dict[str, tuple[str, object]] = {}
        self.published: list[dict] = []
        self.jwks_bytes = b""
        self.jwks_etag = ""
        self.verify_set: KeySet | None = None

    def _valid_at(self, instant: float) -> bool:
        loaded, expires = self.valid
        return loaded <= instant < expires     # a clock moved back also reads again

    def fresh(self):
        if self._valid_at(clock.now().timestamp()):
            return self
        with self.lock:
            now = clock.now()
            if self._valid_at(now.timestamp()):
                return self
            rows = db.session.execute(
                select(SigningKey).where(or_(SigningKey.expires_at.is_(None),
                                             SigningKey.expires_at > now))
                .order_by(SigningKey.created_at.desc())).scalars().all()
            signing = {}
            for row in rows:
                if row.retired_at is None and row.alg not in signing:
                    signing[row.alg] = (row.kid, _import(_unseal(row.private_jwk_encrypted, row.kid)))
            self.signing = signing
            self.published = [row.public_jwk for row in rows]
            self.jwks_bytes = json.dumps({"keys": self.published}, separators=(",", ":")).encode()
            self.jwks_etag = etag_of(self.jwks_bytes)
            self.verify_set = KeySet.import_key_set({"keys": self.published}) if rows else None
            self.valid = (now.timestamp(), now.timestamp() + policy().signing_key_cache.total_seconds())
        return self


def etag_of(body: bytes) -> str:
    return '"' + hashlib.sha256(body).hexdigest()[:32] + '"'


def _import(jwk: dict):
    return RSAKey.import_key(jwk) if jwk["kty"] == "RSA" else ECKey.import_key(jwk)


def _cache_for_app() -> _Cache:
    cache = current_app.extensions.get("idp.keys")
    if cache is None:
        cache = current_app.extensions["idp.keys"] = _Cache()
    return cache


def published(app) -> tuple[bytes, str]:
    """The JWKS bytes and their ETag, callable outside an app context: the database is read
    (in a context of its own) only when this process's copy is stale."""
    cache = app.extensions.get("idp.keys")
    if cache is None or not cache._valid_at(clock.now().timestamp()):
        with app.app_context():
            cache = _cache_for_app().fresh()
    return cache.jwks_bytes, cache.jwks_etag


def sign(claims: dict, alg: str = "RS256", typ: str = "JWT") -> str:
    cache = _cache_for_app().fresh()
    if alg not in cache.signing:
        ensure_keys()
        cache = _cache_for_app().fresh()
    kid, key = cache.signing[alg]
    return jwt.encode({"alg": alg, "kid": kid, "typ": typ}, claims, key, algorithms=[alg])


def verify(compact: str) -> dict:
    """Verify a JWS we signed (any published key) and return its claims; no time checks.
    Raises ValueError when the signature is not ours."""
    cache = _cache_for_app().fresh()
    try:
        header = json.loads(base64.urlsafe_b64decode(compact.split(".")[0] + "=="))
        if header.get("alg") not in SUPPORTED_ALGS or cache.verify_set is None:
            raise ValueError("unsupported alg")
        try:
            key = cache.verify_set.get_by_kid(header.get("kid"))
        except InvalidKeyIdError:                          # a key added by another instance
            _cache_for_app().valid = (0.0, 0.0)
            key = _cache_for_app().fresh().verify_set.get_by_kid(header.get("kid"))
        obj = jws.deserialize_compact(compact, key, algorithms=[header["alg"]])
        return json.loads(obj.payload)
    except ValueError:
        raise
    except Exception as exc:  # joserfc's own errors, malformed input
        raise ValueError("invalid signature") from exc
