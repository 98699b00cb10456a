"""Flask extensions, created here and bound to the app in ``create_app``."""

from contextvars import ContextVar
from urllib.parse import urlsplit

from flask import current_app, g, request
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_mail import Mail
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf.csrf import CSRFProtect
from sqlalchemy import event
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


# Set while ``read_one`` opens its transaction: SQLite begins it deferred (no write lock).
_reading = ContextVar("idp_read_only", default=False)
_AUTOCOMMIT = {"isolation_level": "AUTOCOMMIT"}


def read_one(statement, params: dict):
    """The first row (a tuple, or None) of a precompiled Core ``statement``. Inside a
    transaction it joins it; else it reads outside any write lock and ends at once: on SQLite
    in a deferred ``BEGIN`` (the two workers read in parallel), on PostgreSQL in autocommit
    (no BEGIN/COMMIT round trips). A later write of the request begins its own transaction."""
    session = db.session()            # the request's own Session
    if session.in_transaction():
        return session.connection().execute(statement, params).first()
    flag = _reading.set(True)
    try:
        options = _AUTOCOMMIT if session.get_bind().dialect.name != "sqlite" else None
        row = session.connection(execution_options=options).execute(statement, params).first()
    finally:
        _reading.reset(flag)
    session.commit()
    return row


def tune_engine(engine) -> None:
    """SQLite: WAL, foreign keys, and every transaction that may write BEGIN IMMEDIATE, so
    that the read-then-write rules (``idp.limits``, code consumption, flows) are serialized
    between processes instead of failing; the reads of ``read_one`` take a plain (deferred)
    BEGIN. PostgreSQL relies on row locks instead."""
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
        connection.exec_driver_sql("BEGIN" if _reading.get() else "BEGIN IMMEDIATE")
