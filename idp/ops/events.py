"""Security events: one structured JSON log line each, and one ``audit_event`` row
(``idp.audit``, written after the request in its own transaction).

Fields are ids and outcomes only: no code, password, token, secret or NIR is ever logged
(a NIR appears as its keyed hash)."""

from __future__ import annotations

import json
import logging

from flask import current_app, g, has_app_context

log = logging.getLogger("idp.events")
FORBIDDEN = {"code", "password", "token", "secret", "nir", "access_token", "refresh_token"}


def record(event: str, **fields) -> None:
    assert not FORBIDDEN & fields.keys(), "never log a secret"
    from idp.ops import audit
    line = {"event": event, **fields}
    if audit.serving():
        line["request_id"] = g.get("request_id")
    log.info(json.dumps(line, default=str, ensure_ascii=False))
    try:
        audit.queue(event, fields, line.get("request_id"))
        if has_app_context() and "idp.metrics" in current_app.extensions:
            current_app.extensions["idp.metrics"].event(event)
    except Exception:  # noqa: BLE001 - the audit must never break the caller
        log.exception("audit event could not be queued")
