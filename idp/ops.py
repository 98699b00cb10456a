"""Operations endpoints: ``/status`` (polled by FranceConnect), ``/healthz``, ``/readyz``,
``/metrics`` (Prometheus; needs ``Authorization: Bearer $IDP_METRICS_TOKEN`` when that is set,
and answers only loopback callers when it is not)."""

from __future__ import annotations

import hmac

from flask import Blueprint, current_app, jsonify, request
from sqlalchemy import text

from .extensions import db

bp = Blueprint("ops", __name__)


def _database_answers() -> bool:
    try:
        db.session.execute(text("SELECT 1"))
        db.session.rollback()
        return True
    except Exception:
        db.session.rollback()
        return False


def _redis_answers() -> bool:
    uri = current_app.config["RATELIMIT_STORAGE_URI"]
    if not uri.startswith(("redis://", "rediss://")):
        return True
    try:
        import redis
        return bool(redis.Redis.from_url(uri, socket_timeout=1, socket_connect_timeout=1).ping())
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
