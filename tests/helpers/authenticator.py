"""A software WebAuthn authenticator for the tests (issue 14): a P-256 key from
``cryptography``, CBOR from ``cbor2``, written from the specification (WebAuthn Level 3 §6.1
authenticator data, §6.5.4 attestation "none", §8.7 COSE EC2 keys), independently of the
server's library. It answers creation and request options (the JSON the provider hands to
``navigator.credentials``) with the JSON a browser sends back, good or bad on demand."""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import struct

import cbor2
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec

UP, UV, BE, BS, AT, ED = 0x01, 0x04, 0x08, 0x10, 0x40, 0x80


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unb64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def cose_key(public: ec.EllipticCurvePublicKey) -> bytes:
    """The COSE_Key of a P-256 public key for ES256 (kty EC2, alg -7, crv P-256)."""
    numbers = public.public_numbers()
    return cbor2.dumps({1: 2, 3: -7, -1: 1, -2: numbers.x.to_bytes(32, "big"),
                        -3: numbers.y.to_bytes(32, "big")})


class Authenticator:
    """One platform authenticator holding one discoverable credential once ``register``
    ran: its id, key, user handle and sign counter (``counter``; 0 plays a synced passkey
    that never counts: pass ``step=0``)."""

    def __init__(self, *, origin: str, rp_id: str, step: int = 1):
        self.origin = origin
        self.rp_id = rp_id
        self.step = step
        self.key = ec.generate_private_key(ec.SECP256R1())
        self.credential_id = secrets.token_bytes(32)
        self.counter = 0
        self.user_handle: bytes | None = None
        self.user: dict | None = None

    # -- the pieces ------------------------------------------------------------------------

    def client_data(self, kind: str, challenge: str, *, origin: str | None = None) -> bytes:
        return json.dumps({"type": kind, "challenge": challenge,
                           "origin": origin or self.origin, "crossOrigin": False},
                          separators=(",", ":")).encode()

    def authenticator_data(self, *, flags: int, counter: int, rp_id: str | None = None,
                           attested: bytes = b"") -> bytes:
        rp_id_hash = hashlib.sha256((rp_id or self.rp_id).encode()).digest()
        return rp_id_hash + bytes([flags]) + struct.pack(">I", counter) + attested

    # -- navigator.credentials.create --------------------------------------------------------

    def register(self, options: dict, *, origin: str | None = None, rp_id: str | None = None,
                 up: bool = True, uv: bool = True, challenge: str | None = None) -> dict:
        """A RegistrationResponseJSON with attestation "none" for the creation options."""
        self.user = options["user"]
        self.user_handle = unb64url(options["user"]["id"])
        self.counter += self.step
        attested = (bytes(16) + struct.pack(">H", len(self.credential_id)) + self.credential_id
                    + cose_key(self.key.public_key()))
        flags = AT | (UP if up else 0) | (UV if uv else 0)
        auth_data = self.authenticator_data(flags=flags, counter=self.counter, rp_id=rp_id,
                                            attested=attested)
        attestation = cbor2.dumps({"fmt": "none", "attStmt": {}, "authData": auth_data})
        client_data = self.client_data("webauthn.create", challenge or options["challenge"],
                                       origin=origin)
        return {"id": b64url(self.credential_id), "rawId": b64url(self.credential_id),
                "type": "public-key", "authenticatorAttachment": "platform",
                "clientExtensionResults": {},
                "response": {"clientDataJSON": b64url(client_data),
                             "attestationObject": b64url(attestation),
                             "transports": ["internal"]}}

    # -- navigator.credentials.get -------------------------------------------------------------

    def assertion(self, options: dict, *, origin: str | None = None, rp_id: str | None = None,
                  up: bool = True, uv: bool = True, counter: int | None = None,
                  signing_key: ec.EllipticCurvePrivateKey | None = None,
                  user_handle: bytes | None = None, credential_id: bytes | None = None,
                  kind: str = "webauthn.get", challenge: str | None = None) -> dict:
        """An AuthenticationResponseJSON for the request options: by default a good one
        (counter stepped up), each argument spoiling one part."""
        if counter is None:
            self.counter += self.step
            counter = self.counter
        flags = (UP if up else 0) | (UV if uv else 0)
        auth_data = self.authenticator_data(flags=flags, counter=counter, rp_id=rp_id)
        client_data = self.client_data(kind, challenge or options["challenge"], origin=origin)
        signature = (signing_key or self.key).sign(
            auth_data + hashlib.sha256(client_data).digest(), ec.ECDSA(hashes.SHA256()))
        raw_id = credential_id or self.credential_id
        handle = self.user_handle if user_handle is None else user_handle
        return {"id": b64url(raw_id), "rawId": b64url(raw_id), "type": "public-key",
                "authenticatorAttachment": "platform", "clientExtensionResults": {},
                "response": {"clientDataJSON": b64url(client_data),
                             "authenticatorData": b64url(auth_data),
                             "signature": b64url(signature),
                             "userHandle": b64url(handle) if handle else None}}
