"""DPoP, sender-constrained tokens (RFC 9449), checked with joserfc.

A proof is the ``DPoP`` header: a JWS whose header names ``typ: dpop+jwt``, an asymmetric
``alg`` of ``ALGORITHMS`` and the client's public ``jwk``, over claims ``jti``, ``htm``,
``htu``, ``iat`` (and ``ath`` at a resource). ``check_proof`` verifies every point of RFC 9449
§4.3 and returns the key's RFC 7638 thumbprint, the ``jkt`` the tokens are bound to:

* one ``DPoP`` header, ``typ`` dpop+jwt, ``alg`` in ``ALGORITHMS`` (none and the symmetric
  HS* are never accepted), a ``jwk`` with no private member, the signature by that key;
* ``htm`` the request's method; ``htu`` the endpoint's public URL — the issuer's scheme and
  host (behind a proxy the request's own URL may differ) and the request's path — compared
  after syntax-based normalisation (RFC 3986 §6.2.2, §6.2.3) and ignoring the query and the
  fragment of ``htu`` (§4.3 step 9);
* ``iat`` within ``Policy.dpop_proof_window`` of now, either side;
* ``jti`` never seen for this key within that window: recorded once in the throttle table
  under a primary key (as client-assertion jtis are), so two processes cannot both accept it;
  the purge forgets it once its ``iat`` is out of the window;
* at a resource, ``ath`` the base64url SHA-256 of the access token presented.

No server nonce is asked (``use_dpop_nonce`` is never sent): the window plus the jti store
already refuse a replay, and a nonce would cost the app a round trip at every token request
(RFC 9449 §8 makes nonces optional).

Nothing here runs for a request without a ``DPoP`` header or a DPoP-bound token: the token
endpoint calls ``for_token_request`` only when the header is there, userinfo calls
``refusal_at_resource`` only when the token or the scheme is DPoP.
"""

from __future__ import annotations

import base64
import hashlib
import json
from datetime import UTC, datetime
from urllib.parse import urlsplit, urlunsplit

from authlib.oauth2.rfc6749.errors import OAuth2Error
from flask import current_app, g, request
from joserfc import jws
from joserfc.errors import JoseError
from joserfc.jwk import JWKRegistry

from idp import clock, keyed
from idp.domain import limits
from idp.policy import policy

# Asymmetric algorithms only (RFC 9449 §4.3 step 5): what phones' key stores and browsers'
# WebCrypto make (ES256 first), and RSA for the rest, with keys of 2048 bits at least.
ALGORITHMS = ("ES256", "ES384", "ES512", "PS256", "PS384", "PS512", "RS256", "RS384", "RS512")
RSA_MIN_BITS = 2048
# joserfc refuses headers over 512 bytes by default; a proof's header carries its jwk, which
# for RSA-4096 is about 1 KiB of base64url.
_REGISTRY = jws.JWSRegistry(algorithms=list(ALGORITHMS))
_REGISTRY.max_header_length = 2048
JTI_KIND = "dpop-jti"
_PRIVATE_MEMBERS = ("d", "p", "q", "dp", "dq", "qi", "k", "oth")
_DEFAULT_PORTS = {"http": 80, "https": 443}
_MAX_PROOF = 8192                     # chosen: an RSA-4096 proof is under 2 KiB


class ProofError(Exception):
    """The proof is refused; ``description`` says why (English, for the client's developers)."""

    def __init__(self, description: str):
        super().__init__(description)
        self.description = description


class InvalidDpopProofError(OAuth2Error):
    """RFC 9449 §5: the token endpoint's answer to a bad or missing proof (400)."""
    error = "invalid_dpop_proof"
    status_code = 400


# -- the proof ---------------------------------------------------------------------------

def check_proof(method: str, path: str, access_token: str | None = None) -> str:
    """The thumbprint of the key of this request's ``DPoP`` proof; ProofError when refused."""
    values = request.headers.getlist("DPoP")
    if len(values) != 1:
        raise ProofError("Exactly one DPoP header is expected." if values
                         else "A DPoP proof is required.")
    proof = values[0]
    if len(proof) > _MAX_PROOF or proof.count(".") != 2:
        raise ProofError("The DPoP proof is not a compact JWS.")
    try:
        header = jws.extract_compact(proof.encode(), registry=_REGISTRY).headers()
    except (JoseError, ValueError, TypeError):
        raise ProofError("The DPoP proof is not a compact JWS.") from None
    if header.get("typ") != "dpop+jwt":
        raise ProofError("The DPoP proof's typ is not dpop+jwt.")
    alg = header.get("alg")
    if alg not in ALGORITHMS:
        raise ProofError("The DPoP proof's alg is not an accepted asymmetric algorithm.")
    jwk = header.get("jwk")
    if not isinstance(jwk, dict):
        raise ProofError("The DPoP proof carries no jwk.")
    if any(member in jwk for member in _PRIVATE_MEMBERS):
        raise ProofError("The DPoP proof's jwk holds a private key.")
    try:
        key = JWKRegistry.import_key(jwk)
        if key.key_type == "oct":
            raise ProofError("The DPoP proof's jwk is a symmetric key.")
        if key.key_type == "RSA" and key.raw_value.key_size < RSA_MIN_BITS:
            raise ProofError("The DPoP proof's RSA key is too short.")
        signed = jws.deserialize_compact(proof, key, registry=_REGISTRY)
        claims = json.loads(signed.payload)
    except ProofError:
        raise
    except (JoseError, ValueError, TypeError, KeyError):
        raise ProofError("The DPoP proof's signature does not verify with its jwk.") from None
    if not isinstance(claims, dict):
        raise ProofError("The DPoP proof's payload is not a JSON object.")
    jti, iat = claims.get("jti"), claims.get("iat")
    if not isinstance(jti, str) or not jti or len(jti) > 256:
        raise ProofError("The DPoP proof has no jti.")
    if claims.get("htm") != method:
        raise ProofError("The DPoP proof's htm is not this request's method.")
    htu = claims.get("htu")
    if not isinstance(htu, str) or _normalised(htu) != _normalised(public_url(path)):
        raise ProofError("The DPoP proof's htu is not this endpoint's URL.")
    window = policy().dpop_proof_window.total_seconds()
    if not isinstance(iat, (int, float)) or isinstance(iat, bool) \
            or abs(clock.timestamp() - iat) > window:
        raise ProofError("The DPoP proof's iat is not within the accepted window.")
    if access_token is not None and claims.get("ath") != access_token_hash(access_token):
        raise ProofError("The DPoP proof's ath is missing or is not the access token's hash.")
    jkt = key.thumbprint()
    if not limits.first_use(keyed.digest(JTI_KIND, f"{jkt}|{jti}"), JTI_KIND,
                            forget_at=datetime.fromtimestamp(iat + window, UTC)):
        raise ProofError("The DPoP proof's jti was already used.")
    return jkt


def access_token_hash(access_token: str) -> str:
    digest = hashlib.sha256(access_token.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def public_url(path: str) -> str:
    """The endpoint's URL as the client reaches it: the issuer's scheme and host."""
    issuer = urlsplit(current_app.config["ISSUER"])
    return urlunsplit((issuer.scheme, issuer.netloc, issuer.path.rstrip("/") + path, "", ""))


def _normalised(url: str) -> tuple:
    """RFC 3986 §6.2.2-6.2.3: scheme and host in lower case, the default port dropped, an
    empty path as "/"; query and fragment ignored (RFC 9449 §4.3 step 9)."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return ("invalid", url)
    scheme = parts.scheme.lower()
    if port == _DEFAULT_PORTS.get(scheme):
        port = None
    return scheme, (parts.hostname or "").lower(), port, parts.path or "/"


# -- the token endpoint ------------------------------------------------------------------

def for_token_request() -> None:
    """At /token with a ``DPoP`` header: check it and keep its thumbprint for the grant
    (``presented_jkt``); raise InvalidDpopProofError when refused."""
    try:
        g.dpop_jkt = check_proof("POST", "/token")
    except ProofError as error:
        raise InvalidDpopProofError(error.description) from None


def presented_jkt() -> str | None:
    """The thumbprint of this token request's verified proof, or None without one."""
    return g.get("dpop_jkt")


def require_for(client, jkt_bound: str | None = None) -> None:
    """A client registered ``dpop_bound_access_tokens`` sends a proof at every token
    request; a refresh token bound to a key is used only with a proof by that key."""
    jkt = presented_jkt()
    if jkt is None and getattr(client, "dpop_bound_access_tokens", False):
        raise InvalidDpopProofError("This client must send a DPoP proof.")
    if jkt_bound is not None and jkt != jkt_bound:
        raise InvalidDpopProofError("The DPoP proof is not made with the refresh token's key.")


def binds_refresh_token(client) -> bool:
    """RFC 9449 §5: a public client's refresh token is bound to the proof's key; a
    confidential client's is already bound to its authentication."""
    return bool(client.is_public)


# -- resources (userinfo) ----------------------------------------------------------------

def refusal_at_resource(row, access_token: str, scheme: str, path: str):
    """None when the access token may be used as presented, else the (status, headers,
    body) of a 401 (RFC 9449 §7.1): a DPoP-bound token only with the DPoP scheme and a
    proof by its key carrying its ``ath``; the DPoP scheme only with a DPoP-bound token."""
    if row.dpop_jkt is None:
        return challenge("invalid_token", "The access token is not DPoP-bound.")
    if scheme != "dpop":
        return challenge("invalid_token", "The access token is DPoP-bound: use the DPoP "
                         "authorization scheme with a proof.")
    try:
        jkt = check_proof(request.method, path, access_token)
    except ProofError as error:
        return challenge("invalid_dpop_proof", error.description)
    if jkt != row.dpop_jkt:
        return challenge("invalid_dpop_proof", "The DPoP proof is not made with the key "
                         "the access token is bound to.")
    return None


def challenge(error: str, description: str):
    """The (status, headers, body) of a 401 with a ``WWW-Authenticate: DPoP`` challenge."""
    value = (f'DPoP error="{error}", error_description="{description}", '
             f'algs="{" ".join(ALGORITHMS)}"')
    return 401, {"WWW-Authenticate": value}, {"error": error, "error_description": description}
