"""Security events: one structured JSON log line each (issue 6 adds the audit table).

Fields are ids and outcomes only: no code, password, token, secret or NIR is ever logged
(a NIR appears as its keyed hash)."""

from __future__ import annotations

import json
import logging

from flask import g, has_request_context

log = logging.getLogger("idp.events")
FORBIDDEN = {"code", "password", "token", "secret", "nir", "access_token", "refresh_token"}


def record(event: str, **fields) -> None:
    assert not FORBIDDEN & fields.keys(), "never log a secret"
    line = {"event": event, **fields}
    if has_request_context():
        line["request_id"] = getattr(g, "request_id", None)
    log.info(json.dumps(line, default=str, ensure_ascii=False))
