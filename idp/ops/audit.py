"""The audit trail: every security event of ``idp.events`` as one ``audit_event`` row.

Rows are queued during a request and written after it, in their own short transaction
(a savepoint), so that a failed audit write never breaks a login; where a step commits its
own writes anyway, ``into_commit`` puts the rows queued so far in that commit (``into_step``:
in a savepoint of it, for the login's steps, which a failed audit write must not break). A
person's trail is read by the keyed hash of their NIR (``idp.keyed.nir_key``) and by their
account id: the NIR is never stored in clear."""

from __future__ import annotations

import logging

from flask import Flask, g, has_app_context, has_request_context
from sqlalchemy import insert, or_, select

from idp import clock, keyed
from idp.extensions import db
from idp.models import Account, AuditEvent

log = logging.getLogger("idp.audit")
NIR_KEY_LENGTH = 16      # callers log the first 16 hex digits of the keyed hash
OUTCOMES = {"login_failed": "failure", "login_succeeded": "success"}
_TABLE = AuditEvent.__table__
_COLUMNS = tuple(c.name for c in _TABLE.c if c.name != "id")
_INSERT = insert(_TABLE)          # built once: building a statement costs as much as running it
_SAVEPOINT, _ROLLBACK_TO = "SAVEPOINT step_audit", "ROLLBACK TO SAVEPOINT step_audit"


class QueuedRow:
    """An ``audit_event`` row waiting for the end of the request: its columns as attributes
    (read like the model's, ``row.event``), not an ORM object, whose instrumented
    construction was a third of ``idp.events.record``; written by a Core insert."""

    __slots__ = _COLUMNS

    def __init__(self, **values):
        for name in _COLUMNS:
            setattr(self, name, values.get(name))

    def values(self) -> dict:
        return {name: getattr(self, name) for name in _COLUMNS}


def row_for(event: str, fields: dict, request_id: str | None) -> QueuedRow:
    details = {k: v for k, v in fields.items()
               if k not in ("nir_key", "account_id", "client_id", "outcome")}
    return QueuedRow(
        event=event[:64], at=clock.now(),
        nir_key=(str(fields["nir_key"])[:NIR_KEY_LENGTH] if fields.get("nir_key") else None),
        account_id=fields.get("account_id"), client_id=fields.get("client_id"),
        outcome=str(fields.get("outcome") or fields.get("cause") or OUTCOMES.get(event, "") or "")[:64]
        or None,
        request_id=request_id, details=details or None)


def serving() -> bool:
    """A request is being served: Flask's request context, or the app context in which
    ``idp.oidc.hot`` answers one ahead of Flask (with its ``g.request_id``)."""
    return has_request_context() or (has_app_context() and g.get("request_id") is not None)


def queue(event: str, fields: dict, request_id: str | None) -> None:
    """Keep the row for the end of the request, or write it now outside a request."""
    row = row_for(event, fields, request_id)
    if serving():
        g.setdefault("_audit_rows", []).append(row)
    else:
        write([row])


def write(rows: list[QueuedRow]) -> None:
    """Write rows in a savepoint of their own and commit; any failure is logged, never raised."""
    if not rows:
        return
    try:
        with db.session.begin_nested():
            _insert([row.values() for row in rows])
        db.session.commit()
    except Exception:  # noqa: BLE001 - the audit must never break the caller
        log.exception("audit write failed (%d events lost)", len(rows))
        try:
            db.session.rollback()
        except Exception:  # noqa: BLE001
            log.debug("rollback after a failed audit write failed too")


def take_queued() -> list[dict]:
    """The rows queued so far, as column values, for the caller to write with its own
    writes; they are no longer written after the request."""
    rows = g.pop("_audit_rows", None) if has_app_context() else None
    return [row.values() for row in rows or ()]


def into_commit(rows: list[dict] | None = None) -> None:
    """Move the rows queued so far (or ``rows``, from ``take_queued``) into the session's
    open transaction, to be committed with the caller's own writes: one commit instead of a
    second transaction after the request (the token endpoint's, where an audit row goes with
    every issued token)."""
    rows = take_queued() if rows is None else rows
    if rows:
        _insert(rows)


def into_step() -> None:
    """Like ``into_commit``, for a login step: the rows queued so far go in the step's own
    transaction (no second one after the request), in a savepoint, so that a failed audit
    write is logged and loses its rows but never breaks the login (the step's writes stay)."""
    rows = take_queued()
    if not rows:
        return
    # A savepoint in plain SQL: SQLAlchemy's (the session's ``begin_nested``, even the
    # connection's) tracks a nested transaction and releases it, which cost more than the
    # insert. Nothing needs releasing before the step's COMMIT; on a failure the rollback to
    # it undoes the insert alone and leaves the transaction usable for the step's commit.
    # SQLite needs none for one row: a failed statement there is undone alone and leaves the
    # transaction usable; an error that ended the transaction (disk full, I/O), which would
    # have ended a savepoint too, is raised: the step's writes are gone, its commit would
    # commit nothing. Several rows are as many executions, undone together by a savepoint.
    connection = db.session.connection()
    savepoint = len(rows) > 1 or connection.dialect.name != "sqlite"
    if savepoint:
        connection.exec_driver_sql(_SAVEPOINT)
    try:
        _insert(rows)
    except Exception:  # noqa: BLE001 - the audit must never break the caller
        log.exception("audit write failed (%d events lost)", len(rows))
        if savepoint:
            connection.exec_driver_sql(_ROLLBACK_TO)
        elif not connection.connection.driver_connection.in_transaction:
            raise


def _insert(rows: list[dict]) -> None:
    """A Core insert: the ORM's unit of work cost more than the statement."""
    db.session.connection().execute(_INSERT, rows)


def init_app(app: Flask) -> None:
    @app.teardown_request
    def _flush(_exc):
        write(g.pop("_audit_rows", []))


def trail(nir: str) -> list[AuditEvent]:
    """One person's events, oldest first: by keyed NIR hash and by their account id."""
    key = keyed.nir_key(nir)[:NIR_KEY_LENGTH]
    account_ids = db.session.scalars(select(Account.id).where(Account.nir == nir)).all()
    condition = AuditEvent.nir_key == key
    if account_ids:
        condition = or_(condition, AuditEvent.account_id.in_(account_ids))
    return list(db.session.scalars(select(AuditEvent).where(condition)
                                   .order_by(AuditEvent.at, AuditEvent.id)))
