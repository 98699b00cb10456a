"""Keyed hashes and random values.

Short codes, tokens and device ids are stored as HMAC-SHA256 under a key derived from the
application secret: fast (only passwords pay the slow argon2 hash, issue 6) and useless to
whoever reads the database without the secret. The NIR is keyed the same way wherever it
names a counter or an audit line, so that those tables never hold it in clear.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

from flask import current_app


def _key(purpose: str) -> bytes:
    cache = current_app.extensions.setdefault("idp.keyed", {})
    key = cache.get(purpose)
    if key is None:
        secret = str(current_app.config["SECRET_KEY"]).encode()
        key = cache[purpose] = hmac.new(secret, b"idp/" + purpose.encode(), hashlib.sha256).digest()
    return key


def digest(purpose: str, value: str) -> str:
    """HMAC-SHA256 of ``value`` under the key for ``purpose``, hex."""
    return hmac.new(_key(purpose), value.encode(), hashlib.sha256).hexdigest()


def same(purpose: str, value: str, stored_digest: str) -> bool:
    """Constant-time comparison of a submitted value with a stored digest."""
    return hmac.compare_digest(digest(purpose, value), stored_digest)


def nir_key(nir: str) -> str:
    """The keyed hash that names a NIR in counters, locks and the audit trail."""
    return digest("nir", nir)


def token(nbytes: int = 32) -> str:
    return secrets.token_urlsafe(nbytes)


def digits(n: int) -> str:
    """A code of ``n`` random digits (CSPRNG)."""
    return "".join(secrets.choice("0123456789") for _ in range(n))
