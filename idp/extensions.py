"""Flask extensions, created here and bound to the app in ``create_app``."""

import select
from contextvars import ContextVar
from urllib.parse import urlsplit

from flask import current_app, g, request
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_mail import Mail
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf.csrf import CSRFProtect
from psycopg.pq import TransactionStatus
from sqlalchemy import event
from sqlalchemy.exc import DBAPIError, DisconnectionError
from sqlalchemy.orm import DeclarativeBase


def _own_origins() -> set[str]:
    """The issuer's origin (what browsers see, also behind a proxy that forwards neither the
    scheme nor the host) and the request's own."""
    issuer = urlsplit(current_app.config["ISSUER"])
    return {f"{issuer.scheme}://{issuer.netloc}", f"{request.scheme}://{request.host}"}


class OriginCheckedCSRF(CSRFProtect):
    """Flask-WTF's protection (token, then over HTTPS the strict same-host ``Referer``), and
    on the same views a foreign ``Origin`` refused. Browsers send ``Origin`` on every POST;
    a client that sends none is judged on the token and the referrer alone."""

    def protect(self, apply_exemptions=False):
        super().protect(apply_exemptions=apply_exemptions)
        if not g.get("csrf_valid"):
            return      # exempt view or method: nothing was checked, nothing to add
        origin = request.headers.get("Origin")
        if origin is not None and origin not in _own_origins():
            self._error_response("The origin does not match the host.")


class Base(DeclarativeBase):
    pass


# A request is short and reads what it needs again where it matters (``refresh`` after a
# compare-and-set): objects are not expired at each commit, which saved ~20 % of the
# statements of a login (each commit re-read every object touched so far).
db = SQLAlchemy(model_class=Base, session_options={"expire_on_commit": False})
migrate = Migrate()
mail = Mail()
csrf = OriginCheckedCSRF()   # Flask-WTF's check, and the Origin header (issue 10)
limiter = Limiter(key_func=get_remote_address, default_limits=[])


# Set while ``read_one`` runs its statement: SQLite then issues no BEGIN at all.
_reading = ContextVar("idp_read_only", default=False)
_IDLE = TransactionStatus.IDLE


def read_one(statement, params: dict):
    """The first row (a tuple, or None) of a precompiled Core ``statement``. Inside a
    transaction of the request's session it joins it; else it runs alone in autocommit, on a
    pooled connection of its own, outside any write lock: on SQLite one SELECT is its own
    read transaction (no ``BEGIN IMMEDIATE``: the two workers read in parallel), on PostgreSQL
    no BEGIN/COMMIT round trips. No ORM session is made for it: that cost as much as the query."""
    if db.session.registry.has():
        session = db.session()
        if session.in_transaction():
            return session.connection().execute(statement, params).first()
    engine = db.engine
    flag = _reading.set(True)
    try:
        try:
            return _alone(engine, statement, params)
        except DBAPIError as error:
            if not error.connection_invalidated:
                raise
            # The server dropped a pooled connection between the liveness check and the
            # query (``tune_engine``): once more, on a new connection.
            return _alone(engine, statement, params)
    finally:
        _reading.reset(flag)


def in_session(statement, params: dict):
    """Run a prebuilt Core ``statement`` (or one per dialect: a dict by dialect name, for
    ON CONFLICT clauses) in the request's session transaction, which it begins if need be;
    no ORM execution path, no autoflush."""
    connection = db.session.connection()
    if isinstance(statement, dict):
        statement = statement[connection.dialect.name]
    return connection.execute(statement, params)


def write_one(statement, params: dict):
    """The first row (or None) of one data-modifying ``statement`` that is atomic by itself,
    run in autocommit on a pooled connection of its own (PostgreSQL: no BEGIN/COMMIT round
    trips). Not retried: a connection dropped mid-way leaves the caller to judge."""
    return _alone(db.engine, statement, params)


def commit_one(statement, params: dict) -> None:
    """Run and commit one ``statement`` that is atomic by itself (a row stored; it returns a
    column, since ``write_one`` reads a row back): in the request's session transaction when
    one is open, committed with what it holds (on SQLite, under its write lock); else alone
    in autocommit (``write_one``)."""
    if session_idle():
        write_one(statement, params)
    else:
        db.session.connection().execute(statement, params)
        db.session.commit()


def session_idle() -> bool:
    """No transaction of the request's session is open (else a write joins it)."""
    return not (db.session.registry.has() and db.session().in_transaction())


def _alone(engine, statement, params: dict):
    """One statement on a pooled connection of its own, in autocommit (SQLite: its own
    implicit transaction). On PostgreSQL the driver's connection is put in autocommit for the
    statement and back before it returns to the pool, which is what SQLAlchemy's
    ``isolation_level="AUTOCOMMIT"`` does, without its per-call option and reset machinery
    (~25 us a statement)."""
    with engine.connect() as connection:
        if engine.dialect.name == "sqlite":
            row = connection.execute(statement, params).first()
            connection.commit()
            return row
        driver = connection.connection.driver_connection
        driver.autocommit = True          # no BEGIN: SQLAlchemy's commit is then a no-op
        try:
            row = connection.execute(statement, params).first()
            connection.commit()
        finally:
            if driver.pgconn.transaction_status == _IDLE:
                driver.autocommit = False
            elif not connection.invalidated:    # broken or interrupted: not pooled again
                connection.invalidate()
    return row


def _gone(dbapi_connection) -> bool:
    """A psycopg connection the server has closed: closed or broken on our side, or its
    socket readable while idle (the server's goodbye or the end of the stream; an idle
    connection receives nothing else, we LISTEN to nothing). No round trip, unlike
    ``pool_pre_ping``'s ``SELECT 1`` at every checkout."""
    if dbapi_connection.closed or getattr(dbapi_connection, "broken", False):
        return True
    try:
        readable, _, _ = select.select([dbapi_connection.pgconn.socket], [], [], 0)
    except (OSError, ValueError):
        return True
    return bool(readable)


def tune_engine(engine) -> None:
    """SQLite: WAL, foreign keys, and every transaction that may write BEGIN IMMEDIATE, so
    that the read-then-write rules (``idp.limits``, code consumption, flows) are serialized
    between processes instead of failing; the single reads of ``read_one`` take no write
    lock. PostgreSQL relies on row locks instead, and a pooled connection is checked alive at
    checkout by its socket (``_gone``), not by a round trip."""
    if engine.dialect.name == "postgresql":
        @event.listens_for(engine, "checkout")
        def _alive(dbapi_connection, _record, _proxy):
            if _gone(dbapi_connection):
                raise DisconnectionError("the server closed this connection")   # the pool opens another
    if engine.dialect.name != "sqlite":
        return

    @event.listens_for(engine, "connect")
    def _connect(dbapi_connection, _record):
        dbapi_connection.isolation_level = None   # we issue BEGIN ourselves
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        # WAL with NORMAL: a commit is atomic and survives a crash of the process; only a
        # power loss may undo the last commits. FULL would fsync every commit (~3 ms here).
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _begin(connection):
        if not _reading.get():         # read_one: one SELECT, its own read transaction
            connection.exec_driver_sql("BEGIN IMMEDIATE")
