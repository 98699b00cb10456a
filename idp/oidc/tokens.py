"""The token store: authorization codes, access and refresh tokens (hashed, never in clear).

* A code is consumed by one atomic ``UPDATE … WHERE used_at IS NULL``; a second use is a
  replay, which revokes every token issued from it (RFC 6749 §4.1.2, RFC 9700 §4.2.4).
* A refresh token rotates on every use by the same kind of statement; presenting a rotated
  one is a reuse, which revokes the whole family (RFC 9700 §4.14.2).
"""

from __future__ import annotations

from datetime import datetime

from flask import current_app
from sqlalchemy import Row, bindparam, insert, or_, select, update

from idp import clock, keyed
from idp.extensions import commit_one, db, read_one, session_idle, write_one
from idp.models import Account, AuditEvent, AuthorizationCode, ProviderSession, Token
from idp.ops import audit


def code_digest(code: str) -> str:
    return keyed.digest("authorization-code", code)


def token_digest(value: str) -> str:
    return keyed.digest("token", value)


# What a client may learn of the account (``idp.oidc.claims``), nothing more: every column
# read costs (PostgreSQL describes each one).
ACCOUNT_FIELDS = ("id", "subject", "given_name", "family_name", "preferred_username", "birthdate",
                  "gender", "birthplace", "birthcountry", "email", "email_verified")
_ACCOUNT_COLUMNS = tuple(Account.__table__.c[name].label(f"account__{name}") for name in ACCOUNT_FIELDS)


# -- authorization codes -----------------------------------------------------------------

_CODE = AuthorizationCode.__table__
_SAVE_CODE = insert(_CODE).returning(_CODE.c.code_hash)     # commit_one reads a row back
# One statement spends the code and reads it back (prebuilt, Core: the ORM's update and
# load cost more than the statements).
_SPEND = (update(_CODE)
          .where(_CODE.c.code_hash == bindparam("digest"), _CODE.c.client_id == bindparam("client"),
                 _CODE.c.used_at.is_(None), _CODE.c.expires_at > bindparam("now"),
                 or_(_CODE.c.dpop_jkt.is_(None), _CODE.c.dpop_jkt == bindparam("jkt")))
          .values(used_at=bindparam("now")))
_CONSUME = _SPEND.returning(*_CODE.c)


def save_code(code: str, *, commit: bool = True, **fields) -> None:
    """Store the code: in the session's transaction and its commit when one is open (the
    resume's, ``add_client``'s), else alone in autocommit (PostgreSQL: no BEGIN and COMMIT
    round trips). ``commit=False``: in the open transaction, left to the caller's commit (a
    login step's, which answers its request, ``interaction.complete_here``)."""
    values = {"code_hash": code_digest(code), "created_at": clock.now(), **fields}
    if commit:
        commit_one(_SAVE_CODE, values)
    else:
        db.session.connection().execute(_SAVE_CODE, values)


# The code grant ahead of Flask (``server.plain_code``) reads the code with its account
# first, and spends it only once the answer is certain (``spend_and_insert``).
_CODE_WITH_ACCOUNT = (select(*_CODE.c, *_ACCOUNT_COLUMNS)
                      .select_from(_CODE.join(Account.__table__, Account.__table__.c.id == _CODE.c.account_id))
                      .where(_CODE.c.code_hash == bindparam("digest")))


def find_code(code: str) -> Row | None:
    """The row of a code, used or not, with its account (``AccountView``); nothing written."""
    return read_one(_CODE_WITH_ACCOUNT, {"digest": code_digest(code)})


class CodeBoundToAnotherKey(Exception):
    """The code was asked with a ``dpop_jkt`` (RFC 9449 §10) that the request's proof lacks."""


def consume_code(code: str, client_id: str, jkt: str | None = None):
    """The code's row if this request is the first to use it within its lifetime; on a
    replay, revoke what the first use issued and return None. A code bound to a DPoP key is
    spent only by a request whose proof is by that key (``jkt``): else CodeBoundToAnotherKey,
    and the code stays for the client."""
    digest = code_digest(code)
    now = clock.now()
    spent = db.session.connection().execute(
        _CONSUME, {"digest": digest, "client": client_id, "now": now, "jkt": jkt}).first()
    if spent is not None:
        db.session.commit()
        return spent
    row = db.session.get(AuthorizationCode, digest)       # why not: read only then
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

# The hottest reads are built once (bound by name) as Core statements returning tuples:
# building a statement costs more than running it (measured: ~30 % of a userinfo request),
# and loading ORM objects about as much again. A row reads like the model (``row.scope``):
# the token's columns by their names, its account's as ``account__<name>`` (``AccountView``),
# and when its provider session ended as ``session_ended_at``.
_TOKEN = Token.__table__
_TOKEN_COLUMNS = tuple(_TOKEN.c)              # all of them, dpop_jkt included
_SESSION = ProviderSession.__table__
# What userinfo reads of the token (its view, ``dpop.refusal_at_resource``, the single-use
# count): PostgreSQL describes, and psycopg makes an object for, every column of a result.
_BEARER_COLUMNS = tuple(_TOKEN.c[name] for name in (
    "id", "client_id", "scope", "claims", "revoked_at", "access_expires_at", "single_use", "dpop_jkt"))


# What introspection and revocation read (``server._TokenView``, ``introspection_answer``,
# ``revoke_family``): which half was presented, its life, its owner, its family; of the
# account only what the ``sub`` is made of. 14 columns of 33, and no session: ~20 % of an
# introspection on PostgreSQL was psycopg describing the columns nobody read.
_ANY_COLUMNS = tuple(_TOKEN.c[name] for name in (
    "id", "family", "client_id", "account_id", "scope", "access_token_hash", "issued_at",
    "access_expires_at", "refresh_expires_at", "revoked_at", "rotated_at", "single_use",
    "access_used_at", "dpop_jkt"))
_SUBJECT_COLUMNS = tuple(c for c in _ACCOUNT_COLUMNS if c.name in ("account__id", "account__subject"))


def _joined(*token_columns):
    return (select(*token_columns, *_ACCOUNT_COLUMNS, _SESSION.c.ended_at.label("session_ended_at"))
            .select_from(_TOKEN.join(Account.__table__, Account.__table__.c.id == _TOKEN.c.account_id)
                         .outerjoin(_SESSION, _SESSION.c.id == _TOKEN.c.sid)))


_JOINED = _joined(*_TOKEN_COLUMNS)
_BEARER = _joined(*_BEARER_COLUMNS).where(_TOKEN.c.access_token_hash == bindparam("digest"))
_ANY = (select(*_ANY_COLUMNS, *_SUBJECT_COLUMNS)
        .select_from(_TOKEN.join(Account.__table__, Account.__table__.c.id == _TOKEN.c.account_id))
        .where(or_(_TOKEN.c.access_token_hash == bindparam("digest"),
                   _TOKEN.c.refresh_token_hash == bindparam("digest"))))
_REFRESH = _JOINED.where(_TOKEN.c.refresh_token_hash == bindparam("digest"))
_ACCOUNT = select(*_ACCOUNT_COLUMNS).where(Account.__table__.c.id == bindparam("account_id"))


class AccountView:
    """The account of a joined token row, read like an ``Account`` (``ACCOUNT_FIELDS`` only)."""

    __slots__ = ("_row",)

    def __init__(self, row):
        self._row = row

    def __getattr__(self, name):
        try:
            return getattr(self._row, "account__" + name)
        except AttributeError:
            raise AttributeError(name) from None


def find_account(account_id: int) -> AccountView | None:
    """An account as a client may learn of it (``ACCOUNT_FIELDS``), in one read."""
    row = read_one(_ACCOUNT, {"account_id": account_id})
    return AccountView(row) if row is not None else None


def find_bearer(value: str) -> tuple[Row, AccountView, datetime | None] | None:
    """For userinfo, in one query: the live token row of an access token, its account, and
    when the provider session it came from ended (None while it lasts, or without one)."""
    row = read_one(_BEARER, {"digest": token_digest(value)})
    if row is None or row.revoked_at is not None or row.access_expires_at <= clock.now():
        return None
    return row, AccountView(row), row.session_ended_at


def use_access_token(row: Token) -> bool:
    """Count a use; a single-use access token answers once (atomic)."""
    if not row.single_use:
        return True
    used = db.session.execute(
        update(Token).where(Token.id == row.id, Token.access_used_at.is_(None))
        .values(access_used_at=clock.now())).rowcount
    db.session.commit()
    return used == 1


def find_any(value: str) -> tuple[Row, AccountView, str] | None:
    """For revocation and introspection, in one query: the row of an access or a refresh
    token (live or not: the caller judges; ``_ANY_COLUMNS`` only), its account (its id and
    subject only), and which of the two it is."""
    digest = token_digest(value)
    row = read_one(_ANY, {"digest": digest})
    if row is None:
        return None
    return row, AccountView(row), "access_token" if row.access_token_hash == digest else "refresh_token"


def find_refresh_token(value: str) -> Row | None:
    """The row of a refresh token, with its account (``AccountView``) and its session's end."""
    return read_one(_REFRESH, {"digest": token_digest(value)})


_ROTATE = (update(_TOKEN).where(_TOKEN.c.id == bindparam("row_id"), _TOKEN.c.rotated_at.is_(None),
                                _TOKEN.c.revoked_at.is_(None))
           .values(rotated_at=bindparam("now")))
_INSERT = insert(_TOKEN)


def rotate(row) -> bool:
    """Mark the refresh token used, in the session's transaction (the new row of
    ``insert_token`` is committed with it); False when another request did first."""
    return db.session.connection().execute(_ROTATE, {"row_id": row.id, "now": clock.now()}).rowcount == 1


# PostgreSQL: the new token row and its audit row as one statement (data-modifying CTEs,
# atomic by themselves, so in autocommit: no BEGIN and COMMIT round trips), after the
# rotation of the refresh token presented when the statement rotates it too: then the new
# row is inserted only when the rotation happened, the audit row only with the new row, and
# no row comes back when another request rotated first.
_NEW_COLUMNS = tuple(c for c in _TOKEN.c       # a new row is neither used, rotated nor revoked
                     if c.name not in ("id", "access_used_at", "rotated_at", "revoked_at"))
_AUDIT = AuditEvent.__table__
_AUDIT_COLUMNS = tuple(c for c in _AUDIT.c if c.name != "id")


def _with_audit(issued):
    return (insert(_AUDIT)
            .from_select([c.name for c in _AUDIT_COLUMNS],
                         select(*(bindparam("a_" + c.name, type_=c.type) for c in _AUDIT_COLUMNS))
                         .select_from(issued))
            .returning(_AUDIT.c.id))


def _new_row(source=None):
    values = select(*(bindparam("t_" + c.name, type_=c.type) for c in _NEW_COLUMNS))
    return (insert(_TOKEN).from_select([c.name for c in _NEW_COLUMNS],
                                       values.select_from(source) if source is not None else values)
            .returning(_TOKEN.c.id).cte("issued"))


_INSERT_AUDIT = _with_audit(_new_row())
_ROTATE_INSERT_AUDIT = _with_audit(_new_row(_ROTATE.returning(_TOKEN.c.id).cte("rotated")))
_SPEND_INSERT_AUDIT = _with_audit(_new_row(_SPEND.returning(_CODE.c.code_hash).cte("spent")))


def _in_one_statement(audit_rows: list[dict]) -> bool:
    """PostgreSQL, one audit row, and no transaction of the session open (else the writes
    join it: a grant's rotation is committed with them)."""
    return db.engine.dialect.name == "postgresql" and len(audit_rows) == 1 and session_idle()


def _params(values: dict, audit_row: dict, **more) -> dict:
    return {**more, **{"t_" + k: v for k, v in values.items()}, **{"a_" + k: v for k, v in audit_row.items()}}


def insert_with_audit(values: dict, audit_rows: list[dict]) -> None:
    """Insert the new token row ``values`` and the ``audit_rows``, and commit: one statement
    on PostgreSQL when it can (``_in_one_statement``), else in the session's transaction (with
    what it holds, a grant's rotation) and one commit."""
    if _in_one_statement(audit_rows):
        write_one(_INSERT_AUDIT, _params(values, audit_rows[0]))
        return
    insert_token(**values)
    audit.into_commit(audit_rows)
    db.session.commit()


def _first_use_and_insert(together, first_use, used: dict, values: dict, audit_rows: list[dict]) -> bool:
    """The first use of a credential (``first_use``, an update of one row bound by ``used``),
    the new token row ``values`` and the ``audit_rows``, committed all or nothing; False
    (nothing written) when another request used it first. PostgreSQL: ``together``, one
    statement, when it can; else in the session's transaction."""
    if _in_one_statement(audit_rows):
        return write_one(together, _params(values, audit_rows[0], **used)) is not None
    if db.session.connection().execute(first_use, used).rowcount != 1:
        return False
    insert_with_audit(values, audit_rows)
    return True


def rotate_and_insert(row, values: dict, audit_rows: list[dict]) -> bool:
    """Rotate the refresh token of ``row``, insert the new token row ``values`` and the
    ``audit_rows``, and commit, all or nothing; False (nothing written) when another request
    rotated it first."""
    return _first_use_and_insert(_ROTATE_INSERT_AUDIT, _ROTATE, {"row_id": row.id, "now": clock.now()},
                                 values, audit_rows)


def spend_and_insert(code, values: dict, audit_rows: list[dict]) -> bool:
    """Spend the code of the row ``code`` (unused, unexpired, not DPoP-bound, of the client
    the new row is for), insert the new token row ``values`` and the ``audit_rows``, and
    commit, all or nothing; False (nothing written) when another request spent it first or it
    expired since."""
    return _first_use_and_insert(
        _SPEND_INSERT_AUDIT, _SPEND,
        {"digest": code.code_hash, "client": values["client_id"], "now": clock.now(), "jkt": None},
        values, audit_rows)


def rotate_refresh_token(row) -> bool:
    """``rotate``; False, and the family revoked, when the token was used before."""
    if not rotate(row):
        revoke_reused_family(row)
        return False
    return True


def session_over(row, now: datetime | None = None) -> bool:
    """The provider session a joined token row came from has ended: its refresh token ended
    with it (a logout)."""
    return row.session_ended_at is not None and row.session_ended_at <= (now or clock.now())


def insert_token(**values) -> None:
    """A new token row, in the session's transaction (a Core insert: the ORM's unit of work
    cost more than the statement)."""
    db.session.connection().execute(_INSERT, values)


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
