"""Which claims a token grants, and their values.

Scopes map to claims by FranceConnect's scheme, which is a subset of OpenID Connect Core's
``profile`` (FRANCECONNECT.md §7): ``profile`` gives names (``given_name``, ``family_name``
and OIDC Core §5.1's ``name``, the two together), birthdate, gender and
``preferred_username``; ``birth`` gives birthplace and birth country; ``identite_pivot`` the
six pivot claims; and each claim has a scope of its own. The ``claims`` request parameter
(OIDC Core §5.5) can ask for a supported claim in the ID token or at userinfo, but only one
that the client's registered scopes cover (issue 11.8); consent covers those claims too,
through the scopes that give them (``consent_scope``).

``sub`` is never the NIR: it is the account's random ``subject``, or for a pairwise client an
HMAC of it with the client's sector identifier (OIDC Core §8.1).
"""

from __future__ import annotations

import hashlib

from idp import keyed
from idp.models import Account

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


def allowed_claims(client) -> set[str]:
    """The user claims the client's registered scopes cover: all it may ever receive."""
    return {c for s in (getattr(client, "scope", "") or "").split() for c in SCOPE_CLAIMS.get(s, ())}


def within_client(claims_param: dict | None, client) -> dict | None:
    """The ``claims`` parameter without the user claims the client may not have (issue
    11.8); other members (``acr``, ``auth_time``, …) are kept as asked."""
    if not claims_param:
        return claims_param
    allowed = allowed_claims(client)
    return {target: ({name: value for name, value in asked.items()
                      if name not in USER_CLAIMS or name in allowed}
                     if isinstance(asked, dict) else asked)
            for target, asked in claims_param.items()}


def _covering_scope(claim: str) -> str:
    """The narrowest scope that gives ``claim``: its own when it has one."""
    if claim in SCOPE_CLAIMS:
        return claim
    return next(s for s, names in SCOPE_CLAIMS.items() if claim in names)


def consent_scope(scope: str, claims_param: dict | None) -> str:
    """What a consent must cover: the granted scopes, plus for each user claim asked through
    ``claims`` the scope that gives it, so that a claim asked later the same way, and not
    consented, asks consent again."""
    scopes = (scope or "").split()
    for target in ("userinfo", "id_token"):
        scopes.extend(_covering_scope(name) for name in requested("", claims_param, target))
    return " ".join(dict.fromkeys(scopes))


def consented_claims(scope: str) -> list[str]:
    """The user claims a consent scope gives, in display order (``email_verified`` goes with
    ``email``, it is not shown on its own; nor is ``name`` beside ``given_name`` and
    ``family_name``, which it is made of: issue 13.4)."""
    names = list(dict.fromkeys(c for s in (scope or "").split() for c in SCOPE_CLAIMS.get(s, ())))
    hidden = {"email_verified"}
    if {"given_name", "family_name"} <= set(names):
        hidden.add("name")
    return [c for c in names if c not in hidden]


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
    allowed = allowed_claims(client)
    for name in requested(scope, claims_param, target):
        if name not in allowed:     # the registry may have changed since the grant
            continue
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
