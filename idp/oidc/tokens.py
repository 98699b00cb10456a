"""The token store: authorization codes, access and refresh tokens (hashed, never in clear).

* A code is consumed by one atomic ``UPDATE … WHERE used_at IS NULL``; a second use is a
  replay, which revokes every token issued from it (RFC 6749 §4.1.2, RFC 9700 §4.2.4).
* A refresh token rotates on every use by the same kind of statement; presenting a rotated
  one is a reuse, which revokes the whole family (RFC 9700 §4.14.2).
"""

from __future__ import annotations

from datetime import datetime

from flask import current_app
from sqlalchemy import bindparam, or_, select, update

from idp import clock, keyed
from idp.extensions import db
from idp.models import Account, AuthorizationCode, ProviderSession, Token


def code_digest(code: str) -> str:
    return keyed.digest("authorization-code", code)


def token_digest(value: str) -> str:
    return keyed.digest("token", value)


# -- authorization codes -----------------------------------------------------------------

def save_code(code: str, **fields) -> None:
    now = clock.now()
    db.session.add(AuthorizationCode(code_hash=code_digest(code), created_at=now, **fields))
    db.session.commit()


class CodeBoundToAnotherKey(Exception):
    """The code was asked with a ``dpop_jkt`` (RFC 9449 §10) that the request's proof lacks."""


def consume_code(code: str, client_id: str, jkt: str | None = None) -> AuthorizationCode | None:
    """The code's row if this request is the first to use it within its lifetime; on a
    replay, revoke what the first use issued and return None. A code bound to a DPoP key is
    spent only by a request whose proof is by that key (``jkt``): else CodeBoundToAnotherKey,
    and the code stays for the client."""
    digest = code_digest(code)
    now = clock.now()
    used = db.session.execute(
        update(AuthorizationCode)
        .where(AuthorizationCode.code_hash == digest, AuthorizationCode.client_id == client_id,
               AuthorizationCode.used_at.is_(None), AuthorizationCode.expires_at > now,
               or_(AuthorizationCode.dpop_jkt.is_(None), AuthorizationCode.dpop_jkt == jkt))
        .values(used_at=now)).rowcount
    row = db.session.get(AuthorizationCode, digest)
    if used == 1:
        db.session.commit()
        return row
    if row is not None and row.client_id == client_id and row.used_at is None \
            and row.expires_at > now and row.dpop_jkt != jkt:
        db.session.commit()
        raise CodeBoundToAnotherKey()
    if row is not None and row.client_id == client_id and row.used_at is not None:
        revoked = revoke_where(Token.code_hash == digest)
        db.session.commit()
        current_app.extensions["idp.events"]("code_replay_revoked", client_id=client_id,
                                             account_id=row.account_id, tokens=revoked)
    db.session.commit()
    return None


# -- access and refresh tokens -----------------------------------------------------------

# The hottest reads are built once (bound by name): building a statement costs more than
# running it (measured: ~30 % of a userinfo request).
_BEARER = (select(Token, Account, ProviderSession.ended_at)
           .join(Account, Account.id == Token.account_id)
           .outerjoin(ProviderSession, ProviderSession.id == Token.sid)
           .where(Token.access_token_hash == bindparam("digest")))
_ANY = (select(Token, Account).join(Account, Account.id == Token.account_id)
        .where(or_(Token.access_token_hash == bindparam("digest"),
                   Token.refresh_token_hash == bindparam("digest"))))
_REFRESH = select(Token).where(Token.refresh_token_hash == bindparam("digest"))


def find_bearer(value: str) -> tuple[Token, Account, datetime | None] | None:
    """For userinfo, in one query: the live token row of an access token, its account, and
    when the provider session it came from ended (None while it lasts, or without one)."""
    found = db.session.execute(_BEARER, {"digest": token_digest(value)}).first()
    if found is None or found[0].revoked_at is not None or found[0].access_expires_at <= clock.now():
        return None
    return tuple(found)


def use_access_token(row: Token) -> bool:
    """Count a use; a single-use access token answers once (atomic)."""
    if not row.single_use:
        return True
    used = db.session.execute(
        update(Token).where(Token.id == row.id, Token.access_used_at.is_(None))
        .values(access_used_at=clock.now())).rowcount
    db.session.commit()
    return used == 1


def find_any(value: str) -> tuple[Token, Account, str] | None:
    """For revocation and introspection, in one query: the row of an access or a refresh
    token (live or not: the caller judges), its account, and which of the two it is."""
    digest = token_digest(value)
    found = db.session.execute(_ANY, {"digest": digest}).first()
    if found is None:
        return None
    row, account = found
    return row, account, "access_token" if row.access_token_hash == digest else "refresh_token"


def find_refresh_token(value: str) -> Token | None:
    return db.session.execute(_REFRESH, {"digest": token_digest(value)}).scalar_one_or_none()


def rotate_refresh_token(row: Token) -> bool:
    """Mark the refresh token used; False (and the family revoked) when it was used before."""
    now = clock.now()
    moved = db.session.execute(
        update(Token).where(Token.id == row.id, Token.rotated_at.is_(None),
                            Token.revoked_at.is_(None))
        .values(rotated_at=now)).rowcount
    if moved != 1:
        revoke_reused_family(row)
        return False
    return True


def revoke_where(*conditions) -> int:
    return db.session.execute(
        update(Token).where(*conditions, Token.revoked_at.is_(None))
        .values(revoked_at=clock.now())).rowcount


def revoke_family(row: Token) -> None:
    revoke_where(Token.family == row.family)
    db.session.commit()


def revoke_reused_family(row: Token) -> None:
    """A refresh token used twice: the family is stolen, every token of it is revoked and
    the audit trail says so (issue 11.17)."""
    revoked = revoke_where(Token.family == row.family)
    db.session.commit()
    current_app.extensions["idp.events"]("refresh_reuse_revoked", client_id=row.client_id,
                                         account_id=row.account_id, tokens=revoked)


def refresh_usable(row: Token, now: datetime | None = None) -> bool:
    now = now or clock.now()
    return (row.revoked_at is None and row.rotated_at is None
            and row.refresh_expires_at is not None and row.refresh_expires_at > now)
