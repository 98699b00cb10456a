"""Which claims a token grants, and their values.

Scopes map to claims by FranceConnect's scheme, which is a subset of OpenID Connect Core's
``profile`` (FRANCECONNECT.md §7): ``profile`` gives names (``given_name``, ``family_name``
and OIDC Core §5.1's ``name``, the two together), birthdate, gender and
``preferred_username``; ``birth`` gives birthplace and birth country; ``identite_pivot`` the
six pivot claims; and each claim has a scope of its own. The ``claims`` request parameter
(OIDC Core §5.5) can ask for any supported claim in the ID token or at userinfo.

``sub`` is never the NIR: it is the account's random ``subject``, or for a pairwise client an
HMAC of it with the client's sector identifier (OIDC Core §8.1).
"""

from __future__ import annotations

import hashlib

from .. import keyed
from ..models import Account

PIVOT = ("given_name", "family_name", "birthdate", "gender", "birthplace", "birthcountry")
SCOPE_CLAIMS: dict[str, tuple[str, ...]] = {
    "profile": ("name", "given_name", "family_name", "birthdate", "gender", "preferred_username"),
    "email": ("email", "email_verified"),
    "birth": ("birthplace", "birthcountry"),
    "identite_pivot": PIVOT,
    **{name: (name,) for name in PIVOT + ("preferred_username",)},
}
SCOPE_CLAIMS["email"] = ("email", "email_verified")
USER_CLAIMS = tuple(dict.fromkeys(c for claims in SCOPE_CLAIMS.values() for c in claims))
SCOPES_SUPPORTED = ("openid", *SCOPE_CLAIMS.keys())
CLAIMS_SUPPORTED = ("sub", "iss", "aud", "exp", "iat", "auth_time", "nonce", "acr", "amr", "sid",
                    "azp", "at_hash", *USER_CLAIMS)


def subject_for(account: Account, client) -> str:
    if getattr(client, "subject_type", "public") == "pairwise":
        sector = client.sector_identifier
        return keyed.digest("pairwise", f"{sector}|{account.subject}")
    return account.subject


def account_claims(account: Account) -> dict:
    return {
        "name": full_name(account),
        "given_name": account.given_name,
        "family_name": account.family_name,
        "birthdate": account.birthdate,
        "gender": account.gender,
        "birthplace": account.birthplace or "",
        "birthcountry": account.birthcountry,
        "preferred_username": account.preferred_username or account.family_name,
        "email": account.email,
        "email_verified": bool(account.email_verified),
    }


def full_name(account: Account) -> str | None:
    """OIDC Core §5.1 ``name``: the given names, then the family name, as displayed."""
    parts = [p for p in (account.given_name, account.family_name) if p]
    return " ".join(parts) or None


def requested(scope: str, claims_param: dict | None, target: str) -> list[str]:
    """The user claims granted for ``target`` ("userinfo" or "id_token")."""
    names: list[str] = []
    if target == "userinfo":
        for s in (scope or "").split():
            names.extend(SCOPE_CLAIMS.get(s, ()))
    asked = (claims_param or {}).get(target) or {}
    if isinstance(asked, dict):
        names.extend(n for n in asked if n in USER_CLAIMS)
    return list(dict.fromkeys(names))


def user_claims(account: Account, client, scope: str, claims_param: dict | None,
                target: str) -> dict:
    values = account_claims(account)
    out = {"sub": subject_for(account, client)}
    for name in requested(scope, claims_param, target):
        value = values.get(name)
        if value is not None:
            out[name] = value
    return out


def half_hash(value: str, alg: str) -> str:
    """``at_hash``: the left half of the SHA-256 of the token, base64url (OIDC Core §3.1.3.6);
    RS256 and ES256 both use SHA-256."""
    import base64
    digest = hashlib.sha256(value.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest[: len(digest) // 2]).rstrip(b"=").decode()
