"""The app's side of DPoP (RFC 9449) for the tests: a key pair and its proofs, good ones by
default and each argument spoiling one part, written from the RFC with joserfc."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
import uuid

from joserfc import jws
from joserfc.jwk import ECKey, RSAKey


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def ath(access_token: str) -> str:
    return b64url(hashlib.sha256(access_token.encode()).digest())


class DpopKey:
    """The app's DPoP key (P-256, ES256, as a phone's secure enclave makes)."""

    def __init__(self, rsa_bits: int | None = None):
        self.key = RSAKey.generate_key(rsa_bits) if rsa_bits else ECKey.generate_key("P-256")
        self.public = self.key.as_dict(private=False)
        self.jkt = self.key.thumbprint()

    def proof(self, htm: str, htu: str, *, access_token: str | None = None,
              iat: float | None = None, jti: str | None = None, typ: str = "dpop+jwt",
              alg: str | None = None, jwk: dict | None = None, ath_value: str | None = None,
              drop: tuple[str, ...] = ()) -> str:
        claims = {"jti": jti or uuid.uuid4().hex, "htm": htm, "htu": htu,
                  "iat": int(time.time() if iat is None else iat)}
        if access_token is not None:
            claims["ath"] = ath(access_token)
        if ath_value is not None:
            claims["ath"] = ath_value
        for name in drop:
            claims.pop(name, None)
        alg = alg or ("RS256" if self.key.key_type == "RSA" else "ES256")
        header = {"typ": typ, "alg": alg, "jwk": self.public if jwk is None else jwk}
        payload = json.dumps(claims).encode()
        if alg == "none":
            return f"{b64url(json.dumps(header).encode())}.{b64url(payload)}."
        if alg == "HS256":     # a symmetric MAC, keyed with the public x (what a forger knows)
            signing = f"{b64url(json.dumps(header).encode())}.{b64url(payload)}"
            mac = hmac.new(self.public["x"].encode(), signing.encode(), hashlib.sha256).digest()
            return f"{signing}.{b64url(mac)}"
        return jws.serialize_compact(header, payload, self.key, algorithms=[alg])
