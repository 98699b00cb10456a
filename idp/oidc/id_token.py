"""ID tokens (OIDC Core §2, §3.1.3.6) and signed/encrypted userinfo responses.

Signed with the client's ``id_token_signed_response_alg`` (RS256 when it names none, as
OpenID Connect Registration §2 requires), with a ``kid``; then, for a client that registers
``id_token_encrypted_response_alg``, encrypted to its key (sign-then-encrypt, nested JWT).
"""

from __future__ import annotations

from flask import current_app

from idp import clock, keys
from idp.oidc import claims as claims_mod
from idp.oidc import client_keys
from idp.policy import policy


def subject(account, client) -> str:
    return claims_mod.subject_for(account, client)


def seal_for(client, payload: dict, signed_alg: str, enc_alg: str | None, enc: str | None) -> str:
    token = keys.sign(payload, signed_alg)
    if enc_alg:
        token = client_keys.encrypt(client, token, enc_alg, enc or "A256GCM")
    return token


def build(account, client, *, scope: str, claims_param: dict | None, auth_time, acr, amr,
          sid: str | None, nonce: str | None, access_token: str | None) -> str:
    alg = client.id_token_signed_response_alg or "RS256"
    now = clock.timestamp()
    lifetime = getattr(client, "id_token_lifetime", None) or int(policy().id_token_ttl.total_seconds())
    payload = claims_mod.user_claims(account, client, scope, claims_param, "id_token")
    payload.update({
        "iss": current_app.config["ISSUER"],
        "aud": client.client_id,
        "azp": client.client_id,
        "iat": now,
        "exp": now + lifetime,
        "auth_time": int(auth_time.timestamp()),
        "amr": list(amr or []),
    })
    if acr:
        payload["acr"] = acr
    if sid:
        payload["sid"] = sid
    if nonce:
        payload["nonce"] = nonce
    if access_token:
        payload["at_hash"] = claims_mod.half_hash(access_token, alg)
    return seal_for(client, payload, alg, client.id_token_encrypted_response_alg,
                    client.id_token_encrypted_response_enc)
