"""FranceConnect as *our* upstream identity provider: the "S'identifier avec FranceConnect"
button (FRANCECONNECT.md §16).

What this module owns, in the order of a login:

1. ``discovery()`` and the upstream key set, fetched through ``idp.remote`` (the same fetcher
   as clients' keys: kept ``Policy.remote_max_age``, FranceConnect's max-age; no redirects, a
   size cap, a total timeout, a failure not retried at once); an ID token signed with an
   unknown ``kid`` makes us fetch the key set again, at most once per
   ``Policy.remote_refetch_interval``;
2. ``authorization_url()``: the code flow with fresh 64-hex ``state`` and ``nonce`` and the
   level asked (``IDP_FRANCECONNECT_ACR_VALUES``);
3. ``exchange()``: the token request (``client_secret_post``, no refresh token), then the full
   validation of the ID token (signature, ``iss``, ``aud``, ``exp``, ``iat``, ``nonce``, ``acr``
   not below what was asked) and of the signed userinfo (same ``sub``);
4. (the identity pivot against the registry, and the account's link to a ``sub``, are rules of
   the account: ``idp.domain.franceconnect``);
5. ``logout_url()``: FranceConnect's ``end_session`` with our ``id_token_hint`` and a state.

Every failure is an ``UpstreamRefused`` naming a message id: the page explains it in French
and offers the local login. Nothing here logs a token, a NIR or a pivot identity.
"""

from __future__ import annotations

import json
import logging
import secrets
from dataclasses import dataclass
from urllib.parse import urlencode

import requests
from flask import current_app
from joserfc import jws
from joserfc.errors import JoseError
from joserfc.jwk import KeySet
from sqlalchemy import select

from idp import clock
from idp.domain import eidas
from idp.extensions import db
from idp.models import FranceConnectLogin
from idp.policy import policy
from idp.remote import RemoteJson, Unavailable, signing_keys

SCOPE = "openid identite_pivot email"
SIGNING_ALGS = ("ES256", "RS256")

log = logging.getLogger(__name__)
_documents = RemoteJson("FranceConnect")


class UpstreamRefused(Exception):
    """FranceConnect's answer cannot be used; ``message_id`` says why, in French."""

    def __init__(self, message_id: str, detail: str = ""):
        super().__init__(f"{message_id}: {detail}" if detail else message_id)
        self.message_id = message_id


@dataclass
class Upstream:
    """What a validated FranceConnect login gives us."""
    sub: str
    acr: str
    amr: list[str]
    id_token: str
    identity: dict


def configured() -> bool:
    return bool(current_app.config.get("FRANCECONNECT_CLIENT_ID"))


def _settings() -> tuple[str, str, str]:
    cfg = current_app.config
    return (cfg["FRANCECONNECT_DISCOVERY_URL"], cfg["FRANCECONNECT_CLIENT_ID"],
            cfg["FRANCECONNECT_CLIENT_SECRET"])


def asked_acr() -> str:
    return str(current_app.config.get("FRANCECONNECT_ACR_VALUES") or "eidas1").split()[0]


def _timeout() -> float:
    """Seconds given to each token or userinfo request (``Policy.franceconnect_timeout``)."""
    return policy().franceconnect_timeout.total_seconds()


def fresh_secret() -> str:
    """A ``state`` or ``nonce``: 32 random bytes, 64 hex characters (FRANCECONNECT.md §16)."""
    return secrets.token_hex(32)


# -- discovery and keys ------------------------------------------------------------------

def _get_json(url: str, kid: str | None = None) -> dict:
    try:
        return _documents.get_with_kid(url, kid)
    except Unavailable:
        raise UpstreamRefused("fc_unavailable") from None


def discovery() -> dict:
    data = _get_json(_settings()[0])
    needed = ("issuer", "authorization_endpoint", "token_endpoint", "userinfo_endpoint",
              "jwks_uri")
    if any(not isinstance(data.get(k), str) for k in needed):
        raise UpstreamRefused("fc_unavailable", "incomplete discovery document")
    return data


def forget() -> None:
    _documents.forget()


def _verify(compact: str, meta: dict) -> dict:
    """The claims of a JWS signed by FranceConnect; the key set is fetched again once when
    the ``kid`` is unknown (FranceConnect rotates its keys)."""
    try:
        header = json.loads(_header(compact))
        if not isinstance(header, dict):
            raise ValueError("header")
    except ValueError:
        raise UpstreamRefused("fc_invalid_token", "not a JWS") from None
    alg, kid = header.get("alg"), header.get("kid")
    if alg not in SIGNING_ALGS:
        raise UpstreamRefused("fc_invalid_token", f"alg {alg!r}")
    usable = signing_keys(_get_json(meta["jwks_uri"], kid), kid)
    if not usable:
        raise UpstreamRefused("fc_invalid_token", "unknown kid")
    try:
        key_set = KeySet.import_key_set({"keys": usable})
        token = jws.deserialize_compact(compact, key_set, algorithms=[alg])
        claims = json.loads(token.payload)
    except (JoseError, ValueError):
        raise UpstreamRefused("fc_invalid_token", "bad signature") from None
    if not isinstance(claims, dict):
        raise UpstreamRefused("fc_invalid_token", "claims not an object")
    return claims


def _header(compact: str) -> str:
    import base64
    part = compact.split(".")[0]
    if compact.count(".") != 2:
        raise ValueError("not a compact JWS")
    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)).decode()


# -- the login ---------------------------------------------------------------------------

def authorization_url(*, redirect_uri: str, state: str, nonce: str) -> str:
    meta = discovery()
    params = {"response_type": "code", "client_id": _settings()[1], "redirect_uri": redirect_uri,
              "scope": SCOPE, "acr_values": asked_acr(), "state": state, "nonce": nonce}
    sep = "&" if "?" in meta["authorization_endpoint"] else "?"
    return meta["authorization_endpoint"] + sep + urlencode(params)


def exchange(*, code: str, redirect_uri: str, nonce: str) -> Upstream:
    """Token request, ID token and signed userinfo, each fully checked."""
    meta = discovery()
    _, client_id, secret = _settings()
    try:
        response = requests.post(meta["token_endpoint"], timeout=_timeout(), data={
            "grant_type": "authorization_code", "code": code, "redirect_uri": redirect_uri,
            "client_id": client_id, "client_secret": secret})
        body = response.json() if response.ok else None
    except (requests.RequestException, ValueError):
        body = None
    if not isinstance(body, dict) or not isinstance(body.get("id_token"), str) \
            or not isinstance(body.get("access_token"), str):
        raise UpstreamRefused("fc_invalid_token", "token request failed")
    signed = _opened(body["id_token"])
    claims = check_id_token(signed, meta, client_id=client_id, nonce=nonce)
    identity = _userinfo(body["access_token"], meta, client_id=client_id, sub=claims["sub"])
    amr = [a for a in claims.get("amr") or [] if isinstance(a, str)]
    # The signed token is kept (for logout's id_token_hint, as FC+'s own relying parties do).
    return Upstream(sub=claims["sub"], acr=claims["acr"], amr=amr, id_token=signed,
                    identity=identity)


def _opened(compact: str) -> str:
    """The signed token: FranceConnect+ encrypts it to our keys (a 5-part JWE, issue 10.5),
    FranceConnect standard sends it as is. The signature inside is verified in both cases, so
    a plain one loses only confidentiality, which TLS to FranceConnect already gives."""
    if compact.count(".") != 4:
        return compact
    from idp import keys
    try:
        return keys.decrypt(compact)
    except ValueError:
        raise UpstreamRefused("fc_invalid_token", "cannot decrypt") from None


def check_id_token(compact: str, meta: dict, *, client_id: str, nonce: str) -> dict:
    claims = _verify(compact, meta)
    now = clock.timestamp()
    aud = claims.get("aud")
    audiences = aud if isinstance(aud, list) else [aud]
    if claims.get("iss") != meta["issuer"]:
        raise UpstreamRefused("fc_invalid_token", "iss")
    if client_id not in audiences or (len(audiences) > 1 and claims.get("azp") != client_id):
        raise UpstreamRefused("fc_invalid_token", "aud")
    exp, iat = claims.get("exp"), claims.get("iat")
    leeway = policy().franceconnect_clock_leeway.total_seconds()
    if not isinstance(exp, (int, float)) or exp + leeway < now:
        raise UpstreamRefused("fc_invalid_token", "expired")
    if not isinstance(iat, (int, float)) or iat - leeway > now:
        raise UpstreamRefused("fc_invalid_token", "iat")
    if not isinstance(claims.get("nonce"), str) or not secrets.compare_digest(
            claims["nonce"], nonce):
        raise UpstreamRefused("fc_invalid_token", "nonce")
    if not isinstance(claims.get("sub"), str) or not claims["sub"]:
        raise UpstreamRefused("fc_invalid_token", "sub")
    if eidas.rank(claims.get("acr")) < eidas.rank(asked_acr(), unknown=1):
        raise UpstreamRefused("fc_low_acr")
    return claims


def _userinfo(access_token: str, meta: dict, *, client_id: str, sub: str) -> dict:
    try:
        response = requests.get(meta["userinfo_endpoint"], timeout=_timeout(), headers={
            "Authorization": f"Bearer {access_token}", "Accept": "application/jwt"})
    except requests.RequestException:
        raise UpstreamRefused("fc_invalid_token", "userinfo unreachable") from None
    if response.status_code != 200 or response.headers.get("Content-Type", "").split(";")[0] \
            .strip() != "application/jwt":
        raise UpstreamRefused("fc_invalid_token", "userinfo is not a signed JWT")
    claims = _verify(_opened(response.text.strip()), meta)
    if claims.get("sub") != sub:
        raise UpstreamRefused("fc_invalid_token", "userinfo sub")
    if "iss" in claims and claims["iss"] != meta["issuer"]:
        raise UpstreamRefused("fc_invalid_token", "userinfo iss")
    if "aud" in claims and client_id not in (
            claims["aud"] if isinstance(claims["aud"], list) else [claims["aud"]]):
        raise UpstreamRefused("fc_invalid_token", "userinfo aud")
    return claims


# -- the session and logout ---------------------------------------------------------------

def remember_login(account_id: int, upstream: Upstream, auth_time) -> None:
    """Keep the ID token for the logout (``id_token_hint``), keyed by who and when."""
    db.session.add(FranceConnectLogin(account_id=account_id, auth_time=auth_time,
                                      id_token=upstream.id_token, created_at=clock.now()))
    db.session.commit()


def login_of(account_id: int, auth_time) -> FranceConnectLogin | None:
    return db.session.execute(
        select(FranceConnectLogin).where(FranceConnectLogin.account_id == account_id,
                                         FranceConnectLogin.auth_time == auth_time)
        .order_by(FranceConnectLogin.id.desc())).scalars().first()


def logout_url(login: FranceConnectLogin, *, state: str, post_logout_redirect_uri: str
               ) -> str | None:
    """FranceConnect's end_session for this login, or None when it publishes none."""
    try:
        endpoint = discovery().get("end_session_endpoint")
    except UpstreamRefused:
        return None
    if not isinstance(endpoint, str) or not endpoint:
        return None
    params = {"id_token_hint": login.id_token, "state": state,
              "post_logout_redirect_uri": post_logout_redirect_uri}
    return endpoint + ("&" if "?" in endpoint else "?") + urlencode(params)
