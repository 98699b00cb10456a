"""Signed, single-use, time-limited links (e-mail validation, password reset).

The link carries an itsdangerous signature (a salt per purpose) over the id of a server-side
``AccountAction`` row; the row holds the deadline and the ``used_at`` mark, so that a link
works once, and is void once a newer one replaces it or the account goes.
"""

from __future__ import annotations

from datetime import timedelta

from flask import current_app
from itsdangerous import BadData, URLSafeSerializer
from sqlalchemy import delete, update

from idp import clock, keyed
from idp.extensions import db
from idp.models import AccountAction

MAX_TOKEN_LENGTH = 256


def _serializer(purpose: str) -> URLSafeSerializer:
    return URLSafeSerializer(current_app.config["SECRET_KEY"], salt=f"idp/link/{purpose}")


def external(endpoint: str, **values) -> str:
    """The absolute URL of one of our pages for a mail: on ``IDP_ISSUER``, whatever host,
    port or scheme the request that sends the mail named (issue 11.2)."""
    path = current_app.url_map.bind("", url_scheme="https").build(endpoint, values)
    return current_app.config["ISSUER"] + path


def create(purpose: str, *, ttl: timedelta, account_id: int | None = None,
           nir: str | None = None, email: str | None = None,
           replace: bool = True) -> tuple[AccountAction, str]:
    """A new record (replacing the account's earlier ones of this purpose) and its token."""
    if replace and account_id is not None:
        db.session.execute(delete(AccountAction).where(
            AccountAction.purpose == purpose, AccountAction.account_id == account_id,
            AccountAction.used_at.is_(None)))
    now = clock.now()
    row = AccountAction(id=keyed.token(24), purpose=purpose, account_id=account_id, nir=nir,
                        email=email, created_at=now, expires_at=now + ttl)
    db.session.add(row)
    db.session.flush()
    return row, _serializer(purpose).dumps(row.id)


def live(purpose: str, token: str | None) -> AccountAction | None:
    """The live record a token names, or None (bad signature, used, expired, gone)."""
    if not token or len(token) > MAX_TOKEN_LENGTH:
        return None
    try:
        record_id = _serializer(purpose).loads(token)
    except BadData:
        return None
    if not isinstance(record_id, str):
        return None
    row = db.session.get(AccountAction, record_id)
    if row is None or row.purpose != purpose or row.used_at is not None \
            or row.expires_at <= clock.now():
        return None
    return row


def use(row: AccountAction) -> bool:
    """Mark the record used; True only for the one request that did it."""
    return db.session.execute(
        update(AccountAction).where(AccountAction.id == row.id, AccountAction.used_at.is_(None),
                                    AccountAction.expires_at > clock.now())
        .values(used_at=clock.now())).rowcount == 1
