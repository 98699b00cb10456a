"""Operations endpoints: ``/status`` (polled by FranceConnect), ``/healthz``, ``/readyz``,
``/metrics`` (Prometheus; needs ``Authorization: Bearer $IDP_METRICS_TOKEN`` when that is set,
and answers only loopback callers when it is not)."""

from __future__ import annotations

import hmac

from flask import Blueprint, current_app, jsonify, request
from sqlalchemy import create_engine, select, text
from sqlalchemy.pool import NullPool

from idp.extensions import db
from idp.models import Account
from idp.policy import policy

bp = Blueprint("ops", __name__)


def _database_answers() -> bool:
    """A real query on a real table, on every call (issue 10.4): ``SELECT 1`` answers while
    the tables are unreadable (SQLite does not even open the file for it). The accounts'
    table is the one every login reads. On PostgreSQL the query is bounded by
    ``Policy.status_query_timeout`` so that a locked table gives a 503, not a hung poll."""
    if db.engine.dialect.name == "sqlite":
        return _sqlite_answers()
    try:
        milliseconds = max(1, int(policy().status_query_timeout.total_seconds() * 1000))
        db.session.execute(text(f"SET LOCAL statement_timeout = {milliseconds}"))
        db.session.execute(_PROBE).all()
        db.session.rollback()
        return True
    except Exception:
        db.session.rollback()
        return False


_PROBE = select(Account.id).limit(1)


def _sqlite_answers() -> bool:
    """On a connection of its own, opened for this call: a pooled SQLite connection answers
    from its page cache while the file under it is garbage (WAL mode revalidates the cache
    only against the WAL index), so it would keep saying 200."""
    engine = current_app.extensions.get("idp.status_engine")
    if engine is None:
        engine = create_engine(db.engine.url, poolclass=NullPool,
                               connect_args={"timeout": policy().status_query_timeout.total_seconds()})
        current_app.extensions["idp.status_engine"] = engine
    try:
        with engine.connect() as connection:
            connection.execute(_PROBE).all()
        return True
    except Exception:
        return False


def _redis_answers() -> bool:
    uri = current_app.config["RATELIMIT_STORAGE_URI"]
    if not uri.startswith(("redis://", "rediss://")):
        return True
    try:
        import redis
        seconds = policy().status_redis_timeout.total_seconds()
        return bool(redis.Redis.from_url(uri, socket_timeout=seconds,
                                         socket_connect_timeout=seconds).ping())
    except Exception:
        return False


def _no_store(response, status):
    response.status_code = status
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/status")
def status():
    ok = _database_answers()
    return _no_store(jsonify(status="ok" if ok else "unavailable"), 200 if ok else 503)


@bp.get("/healthz")
def healthz():
    return _no_store(jsonify(status="ok"), 200)


@bp.get("/readyz")
def readyz():
    checks = {"database": _database_answers(), "redis": _redis_answers()}
    ok = all(checks.values())
    return _no_store(jsonify(status="ok" if ok else "unavailable", **checks), 200 if ok else 503)


@bp.get("/metrics")
def metrics():
    token = current_app.config.get("METRICS_TOKEN")
    if token:
        given = request.headers.get("Authorization", "")
        if not hmac.compare_digest(given.encode(), f"Bearer {token}".encode()):
            return _no_store(jsonify(error="unauthorized"), 401)
    elif request.remote_addr not in ("127.0.0.1", "::1"):
        return _no_store(jsonify(error="forbidden"), 403)
    body = current_app.extensions["idp.metrics"].exposition()
    return current_app.response_class(body, mimetype="text/plain; version=0.0.4")
