"""Signing keys: RS256 (the default of OpenID Connect Registration) and ES256.

Private keys live in the database encrypted with AES-256-GCM under the key-encryption key
(``IDP_KEY_ENCRYPTION_KEY``), so every instance signs and verifies with the same keys and a
rotation done on one is seen by all (within ``Policy.signing_key_cache``).

``rotate()`` adds a key per algorithm, published at once but signing only from ``signs_from``,
``Policy.signing_key_promotion`` later (issue 10.1): by then every instance's copy and every
relying party's copy of ``/jwks`` (kept up to its max-age) lists it, so no RP meets a ``kid``
it cannot know. The previous key signs until that instant, then stays published for
``Policy.signing_key_retention`` so that every token it signed still verifies. The first keys
(``init-db``) and an emergency rotation (``rotate(at_once=True)``) sign at once.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import threading
from datetime import UTC, datetime
from typing import NamedTuple

from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from flask import current_app
from joserfc import jwe, jws, jwt
from joserfc.errors import InvalidKeyIdError
from joserfc.jwk import ECKey, KeySet, RSAKey
from sqlalchemy import or_, select, update

from idp import clock
from idp.extensions import db
from idp.models import SigningKey
from idp.policy import policy

SUPPORTED_ALGS = ("RS256", "ES256")
# Our keys as FranceConnect+'s relying party: FC+ encrypts ID tokens and userinfo to them
# (issue 10.5, FRANCECONNECT.md §5 and §16), content encryption A256GCM.
ENCRYPTION_ALGS = ("RSA-OAEP-256", "ECDH-ES")
CONTENT_ENCRYPTION = "A256GCM"
# The ``signs_from`` of a key with no predecessor: no copy of the key set can miss it.
ALWAYS = datetime(1970, 1, 1, tzinfo=UTC)


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
    if alg in ("RS256", "RSA-OAEP-256"):
        return RSAKey.generate_key(2048, auto_kid=True)
    return ECKey.generate_key("P-256", auto_kid=True)


def _use(alg: str) -> str:
    return "enc" if alg in ENCRYPTION_ALGS else "sig"


def add_key(alg: str, signs_from) -> SigningKey:
    key = _generate(alg)
    public = {**key.as_dict(private=False), "use": _use(alg), "alg": alg}
    row = SigningKey(kid=key.kid, alg=alg, use=_use(alg), public_jwk=public,
                     private_jwk_encrypted=_seal(key.as_dict(private=True), key.kid),
                     created_at=clock.now(), signs_from=signs_from)
    db.session.add(row)
    return row


def ensure_keys() -> list[str]:
    """Make a key for each algorithm that has none (init-db, first start). No relying party
    holds any key yet: they sign at once (and whatever the clock says)."""
    made = []
    for alg in SUPPORTED_ALGS + ENCRYPTION_ALGS:
        active = db.session.execute(
            select(SigningKey.kid).where(SigningKey.alg == alg, SigningKey.retired_at.is_(None))
        ).first()
        if active is None:
            made.append(add_key(alg, ALWAYS).kid)
    db.session.commit()
    _cache_for_app().clear()
    return made


class Rotation(NamedTuple):
    kids: list[str]                  # the new signing keys
    starts: datetime                 # when they start signing
    encryption_kids: list[str]       # the new FranceConnect+ encryption keys, published now


def rotate(*, at_once: bool = False) -> Rotation:
    """Add a new key per algorithm, published now and signing from the instant returned;
    the keys signing until then stop at that instant and stay published until their tokens
    expire. ``at_once`` (a key believed compromised) makes the new keys sign now: relying
    parties holding a copy of the key set refuse tokens until they fetch it again.
    The encryption keys (issue 10.5) turn over the same way: the new ones are published
    now, the old ones leave the published set at ``starts`` and still decrypt until they
    expire, so what FranceConnect+ encrypted to a copy it holds can be read."""
    now = clock.now()
    starts = now if at_once else now + policy().signing_key_promotion
    db.session.execute(
        update(SigningKey)
        .where(or_(SigningKey.retired_at.is_(None), SigningKey.retired_at > starts))
        .values(retired_at=starts, expires_at=starts + policy().signing_key_retention))
    kids = [add_key(alg, starts).kid for alg in SUPPORTED_ALGS]
    encryption = [add_key(alg, starts).kid for alg in ENCRYPTION_ALGS]
    db.session.commit()
    _cache_for_app().clear()
    return Rotation(kids, starts, encryption)


class _Cache:
    """Per-process copy of the key rows, read again once ``Policy.signing_key_cache`` has
    passed (on the clock of ``idp.clock``, so that tests move it)."""

    def __init__(self):
        self.lock = threading.Lock()
        # The private keys already imported, by kid: a kid is its key's RFC 7638 thumbprint
        # (and the associated data of its sealed row), so it never names another key. Kept
        # across reloads, since importing an RSA private key checks it (cryptography: ~25 ms):
        # re-importing the set at every reload cost ~60 ms of CPU per worker every
        # ``signing_key_cache`` (10 s), a few ms of each login at the benchmark's rate.
        self.imported: dict[str, object] = {}
        self.clear()

    def clear(self):
        self.valid = (0.0, 0.0)          # [loaded, expires) in epoch seconds
        self.signing: dict[str, tuple[str, object]] = {}
        self.published: list[dict] = []
        self.jwks_bytes = b""
        self.jwks_etag = ""
        self.verify_set: KeySet | None = None
        self.decrypt_set = KeySet([])
        self.enc_jwks_bytes = b""
        self.enc_jwks_etag = ""
        self.unknown_kid_reload: float | None = None

    def reload_for_unknown_kid(self):
        """Read the keys again now, unless that was done less than
        ``Policy.signing_key_reload_interval`` ago for another unknown kid (issue 11.12)."""
        now = clock.now().timestamp()
        with self.lock:
            last = self.unknown_kid_reload
            if last is not None and last <= now < last + \
                    policy().signing_key_reload_interval.total_seconds():
                return self
            self.unknown_kid_reload = now
            self.valid = (0.0, 0.0)
        return self.fresh()

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
                .order_by(SigningKey.signs_from.desc(), SigningKey.created_at.desc())
            ).scalars().all()
            signing, decrypting, encryption_published = {}, [], []
            imported = {}

            def private(row):
                key = self.imported.get(row.kid)
                if key is None:
                    key = _import(_unseal(row.private_jwk_encrypted, row.kid))
                imported[row.kid] = key
                return key
            for row in rows:
                if row.use == "enc":
                    decrypting.append(private(row))
                    if row.retired_at is None or now < row.retired_at:
                        encryption_published.append(row.public_jwk)
                elif _signs_at(row, now) and row.alg not in signing:
                    signing[row.alg] = (row.kid, private(row))
            self.imported = imported            # the keys gone from the set are forgotten
            rows = [row for row in rows if row.use != "enc"]
            # Read again at the next instant a key starts or stops signing or leaves the set.
            until = now + policy().signing_key_cache
            for row in rows:
                for instant in (row.signs_from, row.retired_at, row.expires_at):
                    if instant is not None and now < instant < until:
                        until = instant
            self.signing = signing
            self.published = [row.public_jwk for row in rows]
            self.jwks_bytes = json.dumps({"keys": self.published}, separators=(",", ":")).encode()
            self.jwks_etag = etag_of(self.jwks_bytes)
            self.verify_set = KeySet.import_key_set({"keys": self.published}) if rows else None
            self.decrypt_set = KeySet(decrypting)
            self.enc_jwks_bytes = json.dumps({"keys": encryption_published},
                                             separators=(",", ":")).encode()
            self.enc_jwks_etag = etag_of(self.enc_jwks_bytes)
            self.valid = (now.timestamp(), until.timestamp())
        return self


def _signs_at(row: SigningKey, instant: datetime) -> bool:
    return row.signs_from <= instant and (row.retired_at is None or instant < row.retired_at)


def etag_of(body: bytes) -> str:
    return '"' + hashlib.sha256(body).hexdigest()[:32] + '"'


def _import(jwk: dict):
    return RSAKey.import_key(jwk) if jwk["kty"] == "RSA" else ECKey.import_key(jwk)


def _cache_for_app() -> _Cache:
    cache = current_app.extensions.get("idp.keys")
    if cache is None:
        cache = current_app.extensions["idp.keys"] = _Cache()
    return cache


def _fresh_outside(app) -> _Cache:
    """This process's copy, callable outside an app context: the database is read (in a
    context of its own) only when the copy is stale."""
    cache = app.extensions.get("idp.keys")
    if cache is None or not cache._valid_at(clock.now().timestamp()):
        with app.app_context():
            cache = _cache_for_app().fresh()
    return cache


def published(app) -> tuple[bytes, str]:
    """The JWKS bytes (signing keys) and their ETag."""
    cache = _fresh_outside(app)
    return cache.jwks_bytes, cache.jwks_etag


def published_encryption(app) -> tuple[bytes, str]:
    """Our encryption keys as FranceConnect+'s relying party (``/franceconnect/jwks``)."""
    cache = _fresh_outside(app)
    return cache.enc_jwks_bytes, cache.enc_jwks_etag


def decrypt(compact: str) -> str:
    """The plaintext of a JWE encrypted to one of our encryption keys (its ``kid``, then any
    of ours); raises ValueError when it is not for us or not one of the algorithms we publish."""
    cache = _cache_for_app().fresh()
    try:
        return jwe.decrypt_compact(compact, cache.decrypt_set,
                                   algorithms=[*ENCRYPTION_ALGS, CONTENT_ENCRYPTION]
                                   ).plaintext.decode()
    except Exception as exc:  # joserfc's own errors, malformed input
        raise ValueError("cannot decrypt") from exc


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
        except InvalidKeyIdError:        # a key added elsewhere (rotate --now), or a forged kid
            key = cache.reload_for_unknown_kid().verify_set.get_by_kid(header.get("kid"))
        obj = jws.deserialize_compact(compact, key, algorithms=[header["alg"]])
        return json.loads(obj.payload)
    except ValueError:
        raise
    except Exception as exc:  # joserfc's own errors, malformed input
        raise ValueError("invalid signature") from exc
