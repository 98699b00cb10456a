"""idp — the OpenID Connect provider of the ameli login.

``create_app(test_config=None)``: config → extensions → protocol and journeys → CLI.
"""

from __future__ import annotations

import logging
import sys
import time
import uuid
from pathlib import Path
from urllib.parse import urlsplit

from flask import Flask, g, render_template, request
from limits.errors import StorageError
from redis.exceptions import RedisError
from sqlalchemy import event
from sqlalchemy.exc import OperationalError

from . import config, events, transport
from .extensions import csrf, db, limiter, migrate
from .extensions import mail as mail_extension
from .metrics import Metrics
from .policy import Policy

MIGRATIONS = str(Path(__file__).parent / "migrations")


def create_app(test_config: dict | None = None) -> Flask:
    app = Flask(__name__, instance_relative_config=True)
    try:
        config.load(app, test_config)
        app.extensions["idp.policy"] = Policy.from_mapping(app.config.get("POLICY"))
    except (config.ConfigError, ValueError) as exc:
        raise SystemExit(f"idp: configuration error: {exc}") from None

    _logging(app)
    db.init_app(app)
    migrate.init_app(app, db, directory=MIGRATIONS)
    mail_extension.init_app(app)
    csrf.init_app(app)
    limiter.init_app(app)
    with app.app_context():
        _tune_engine(db.engine)
    app.extensions["idp.events"] = events.record
    from . import audit
    audit.init_app(app)
    app.extensions["idp.metrics"] = Metrics()

    from . import oidc
    from .flows import init_app as init_flows
    try:
        oidc.init_app(app)
    except oidc.ClientsFileError as exc:
        raise SystemExit("idp: clients file refused:\n  " + "\n  ".join(exc.errors)) from None
    init_flows(app)
    # Outermost, so that the published documents ahead of Flask see the client's scheme too
    # (HSTS on HTTPS only). Unset, X-Forwarded-* is never read: the peer's address is the
    # one the per-IP limits and /metrics' loopback rule judge (issue 11.15).
    if app.config.get("PROXY_FIX"):
        from werkzeug.middleware.proxy_fix import ProxyFix
        app.wsgi_app = ProxyFix(app.wsgi_app, **app.config["PROXY_FIX"])

    from . import ops
    app.register_blueprint(ops.bp)
    _request_hooks(app)
    _error_pages(app)

    from .cli import idp_cli
    app.cli.add_command(idp_cli)
    return app


def _logging(app: Flask) -> None:
    logger = logging.getLogger("idp")
    if not logger.handlers:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s"))
        logger.addHandler(handler)
        logger.setLevel(logging.INFO)
        logger.propagate = False


def _tune_engine(engine) -> None:
    """SQLite: WAL, foreign keys, and every transaction BEGIN IMMEDIATE, so that the
    read-then-write rules (``idp.limits``, code consumption, flows) are serialized between
    processes instead of failing; PostgreSQL relies on row locks instead."""
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
        connection.exec_driver_sql("BEGIN IMMEDIATE")


def _request_hooks(app: Flask) -> None:
    @app.before_request
    def _start():
        g.request_id = request.headers.get("X-Request-Id", "")[:64] or uuid.uuid4().hex
        g.started = time.perf_counter()
        app.extensions["idp.clients"].maybe_reload()

    @app.after_request
    def _headers(response):
        for name, value in transport.headers(app, request.is_secure):
            response.headers.setdefault(name, value)
        if response.mimetype == "text/html":
            response.headers.setdefault(
                "Content-Security-Policy",
                "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
                "form-action 'self' *; frame-ancestors 'none'; base-uri 'none'")
            response.headers.setdefault("X-Frame-Options", "DENY")
            response.headers.setdefault("Cache-Control", "no-store")
        response.headers["X-Request-Id"] = g.get("request_id", "")
        endpoint = request.endpoint or "unknown"
        app.extensions["idp.metrics"].latency.labels(endpoint).observe(
            time.perf_counter() - g.get("started", time.perf_counter()))
        return response


def _error_pages(app: Flask) -> None:
    from flask_wtf.csrf import CSRFError
    from werkzeug.exceptions import SecurityError

    def _protocol() -> bool:
        return request.path in ("/token", "/userinfo", "/revoke", "/introspect") or \
            request.path.startswith("/.well-known") or request.path == "/jwks"

    @app.errorhandler(404)
    def _not_found(_e):
        return render_template("error.html", message_id="not_found"), 404

    @app.errorhandler(SecurityError)
    def _untrusted_host(_e):
        # Issue 11.2: a Host that is not the issuer's (TRUSTED_HOSTS).
        if _protocol():
            return {"error": "invalid_request", "error_description": "Unknown host."}, 400
        from flask.globals import request_ctx
        issuer = urlsplit(app.config["ISSUER"])
        # The page's own links (its style sheet) are built on the issuer, not that host.
        request_ctx.url_adapter = app.url_map.bind(issuer.netloc, url_scheme=issuer.scheme)
        return render_template("error.html", message_id="untrusted_host"), 400

    @app.errorhandler(CSRFError)
    def _csrf(_e):
        return render_template("error.html", message_id="csrf_failed"), 400

    @app.errorhandler(429)
    def _too_many(_e):
        if _protocol():
            return {"error": "slow_down"}, 429
        return render_template("error.html", message_id="too_many_requests"), 429

    def _unavailable(message_id: str):
        if _protocol():
            return {"error": "temporarily_unavailable"}, 503, {"Retry-After": "30"}
        return render_template("error.html", message_id=message_id), 503, {"Retry-After": "30"}

    @app.errorhandler(OperationalError)
    def _database_down(_e):
        try:
            db.session.rollback()
        except Exception:  # noqa: S110 - the connection is gone; the pool replaces it
            pass
        app.logger.error("database unavailable")
        return _unavailable("service_unavailable")

    # Redis (Flask-Limiter's storage) down: the limits fail closed, the attempt is refused
    # before anything is evaluated or counted (RATELIMIT_SWALLOW_ERRORS is off).
    @app.errorhandler(RedisError)
    @app.errorhandler(StorageError)
    def _limits_down(_e):
        app.logger.error("rate-limit storage unavailable: limited requests refused")
        return _unavailable("rate_limit_unavailable")

    @app.errorhandler(500)
    def _fault(_e):
        db.session.rollback()
        if _protocol():
            return {"error": "server_error"}, 500
        return render_template("error.html", message_id="server_error"), 500
