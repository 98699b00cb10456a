"""The hottest protocol calls, userinfo and introspection, answered ahead of Flask's request
cycle (issue 15): Flask's cycle (request and session objects, routing, hooks) and Authlib's
endpoint machinery cost about as much as the calls' own work. Like ``idp.oidc.published``, a
WSGI middleware for exact paths, inside ``ProxyFix``.

Only the plain success is answered here:
* ``GET /userinfo`` with ``Authorization: Bearer``, no DPoP, for a live, multi-use, bearer
  (not DPoP-bound) ``openid`` token of a live session, to a known client that wants plain JSON;
* ``POST /introspect`` of a form holding ``token`` (and maybe a valid ``token_type_hint``)
  and nothing else, by a client authenticating with ``client_secret_basic`` as it registered,
  of an active token of its own.
Always on a trusted host. Everything else, and any failure on the way (the database down
included), goes on to Flask untouched, which answers it as always (its errors,
``WWW-Authenticate``, 503s, the single-use count, DPoP, signed or encrypted answers, inactive
tokens). What was done here until then only read, so nothing is done twice. The answer
carries what Flask's would: the same body, ``Cache-Control: no-store`` (and introspection's
``Pragma``), the security headers of ``idp.web``, ``X-Request-Id``, and the latency metric
under the endpoint's name.
"""

from __future__ import annotations

import io
import json
import time
import uuid
from urllib.parse import parse_qsl

from authlib.oauth2.rfc6749.util import extract_basic_authorization
from flask import current_app, g
from werkzeug.exceptions import SecurityError
from werkzeug.wsgi import get_host

from idp import web
from idp.oidc import claims as claims_mod
from idp.oidc import server, tokens

FORM = "application/x-www-form-urlencoded"
LARGEST_FORM = 4096           # bytes; a larger introspection request goes to Flask
HINTS = ("access_token", "refresh_token")


class HotEndpoints:
    """WSGI middleware: the plain successes of ``GET /userinfo`` and ``POST /introspect``."""

    def __init__(self, app, wsgi_app):
        self.app = app
        self.next = wsgi_app
        latency = app.extensions["idp.metrics"].latency
        self.routes = {("/userinfo", "GET"): (self._userinfo, latency.labels("oidc.userinfo")),
                       ("/introspect", "POST"): (self._introspection, latency.labels("oidc.introspect"))}

    def __call__(self, environ, start_response):
        route = self.routes.get((environ.get("PATH_INFO"), environ.get("REQUEST_METHOD")))
        if route is None or "HTTP_DPOP" in environ:
            return self.next(environ, start_response)
        answer, latency = route
        started = time.perf_counter()
        try:
            get_host(environ, self.app.config["TRUSTED_HOSTS"])
        except SecurityError:
            return self.next(environ, start_response)
        request_id = environ.get("HTTP_X_REQUEST_ID", "")[:64] or uuid.uuid4().hex
        try:
            with self.app.app_context():
                g.request_id = request_id
                self.app.extensions["idp.clients"].maybe_reload()
                found = answer(environ)
        except Exception:  # noqa: BLE001 - Flask answers it, with its own error handling
            found = None
        if found is None:
            return self.next(environ, start_response)
        body, extra = found
        secure = environ.get("wsgi.url_scheme") == "https"
        start_response("200 OK", [("Content-Type", "application/json"),
                                  ("Content-Length", str(len(body))),
                                  ("Cache-Control", "no-store"), *extra,
                                  *web.headers(self.app, secure), ("X-Request-Id", request_id)])
        latency.observe(time.perf_counter() - started)
        return [body]

    @staticmethod
    def _userinfo(environ) -> tuple[bytes, list] | None:
        """The JSON claims of the plain success, or None when Flask must answer."""
        header = environ.get("HTTP_AUTHORIZATION", "")
        value = header[7:].strip() if header[:7].lower() == "bearer " else ""
        if not value:
            return None
        found = tokens.find_bearer(value)
        if found is None:
            return None
        row, account, session_ended_at = found
        if row.dpop_jkt is not None or row.single_use or session_ended_at is not None \
                or "openid" not in row.scope.split():
            return None
        client = server.query_client(row.client_id)
        if client is None or client.userinfo_signed_response_alg \
                or client.userinfo_encrypted_response_alg:
            return None
        data = claims_mod.user_claims(account, client, row.scope, row.claims, "userinfo")
        return json.dumps(data, separators=(",", ":")).encode(), []

    @staticmethod
    def _introspection(environ) -> tuple[bytes, list] | None:
        """RFC 7662's answer for an active token, or None when Flask must answer. The body read
        is put back for Flask."""
        if not environ.get("CONTENT_TYPE", "").startswith(FORM):
            return None
        try:
            length = int(environ.get("CONTENT_LENGTH") or "")
        except ValueError:
            return None
        if not 0 < length <= LARGEST_FORM:
            return None
        data = environ["wsgi.input"].read(length)
        environ["wsgi.input"] = io.BytesIO(data)
        environ["CONTENT_LENGTH"] = str(len(data))
        try:
            form = parse_qsl(data.decode("ascii"), keep_blank_values=True)
        except UnicodeDecodeError:
            return None
        names = [name for name, _ in form]
        if names not in (["token"], ["token", "token_type_hint"], ["token_type_hint", "token"]):
            return None
        fields = dict(form)
        if fields.get("token_type_hint", HINTS[0]) not in HINTS or not fields["token"]:
            return None
        client_id, secret = extract_basic_authorization(
            {"Authorization": environ.get("HTTP_AUTHORIZATION", "")})
        client = server.query_client(client_id) if client_id and secret else None
        if client is None or not client.check_endpoint_auth_method("client_secret_basic", "introspection") \
                or not client.check_client_secret(secret):
            return None
        token = server.token_view(fields["token"])
        if token is None or token.row.client_id != client.client_id \
                or token.is_expired() or token.is_revoked():
            return None
        answer = server.introspection_answer(token)
        if answer.get("active") is not True:
            return None
        # Authlib's Flask integration writes it with Flask's JSON provider (sorted keys).
        return current_app.json.dumps(answer).encode(), [("Pragma", "no-cache")]
