"""The hottest protocol calls, userinfo, introspection, the refresh and code grants, answered
ahead of Flask's request cycle (issue 15): Flask's cycle (request and session objects,
routing, hooks) and Authlib's endpoint and grant machinery cost about as much as the calls'
own work.
Like ``idp.oidc.published``, a WSGI middleware for exact paths, inside ``ProxyFix``.

Only the plain success is answered here:
* ``GET /userinfo`` with ``Authorization: Bearer``, no DPoP, as ``endpoints.plain_userinfo``
  (the view's own rule) says;
* ``POST /introspect`` of a form holding ``token`` (and maybe a valid ``token_type_hint``)
  and nothing else, by a client authenticating with ``client_secret_basic`` as it registered,
  of an active token of its own;
* ``POST /token`` of a form holding ``grant_type=refresh_token`` and ``refresh_token`` and
  nothing else, no DPoP proof, by a client authenticating with ``client_secret_basic`` as it
  registered, as ``server.plain_refresh`` says; likewise of ``grant_type=authorization_code``,
  ``code``, ``redirect_uri`` and ``code_verifier`` (or no ``code_verifier``, for a code asked
  without PKCE), as ``server.plain_code`` says.
Always on a trusted host, over a transport Authlib accepts (``/introspect`` and ``/token``).
Everything else, and any failure on the way (the database down included), goes on to Flask
untouched, which answers it as always (its errors, ``WWW-Authenticate``, 503s, the
single-use count, DPoP, signed or encrypted answers, inactive tokens, a reused refresh
token's or a replayed code's revocation). What was done here until then only read, or was
rolled back, so nothing is done twice. The answer carries what Flask's would: the same body,
``Cache-Control: no-store`` (and ``Pragma``), the security headers of ``idp.web``,
``X-Request-Id``, the audit row and the latency metric under the endpoint's name.
"""

from __future__ import annotations

import io
import time
import uuid
from urllib.parse import parse_qsl

from authlib.common.security import is_secure_transport
from authlib.oauth2.rfc6749.util import extract_basic_authorization
from flask import current_app, g
from werkzeug.exceptions import SecurityError
from werkzeug.wsgi import get_host

from idp import web
from idp.oidc import endpoints, server, tokens

FORM = "application/x-www-form-urlencoded"
LARGEST_FORM = 4096           # bytes; a larger request goes to Flask
HINTS = ("access_token", "refresh_token")
NO_CACHE = [("Pragma", "no-cache")]
# The grants answered here: the fields their form may hold (one of these sets), and which of
# them is the credential.
GRANTS = {"refresh_token": (({"grant_type", "refresh_token"},), "refresh_token"),
          "authorization_code": (({"grant_type", "code", "redirect_uri", "code_verifier"},
                                  {"grant_type", "code", "redirect_uri"}), "code")}
SHAPES = tuple(shape for shapes, _ in GRANTS.values() for shape in shapes)


class HotEndpoints:
    """WSGI middleware: the plain successes of ``GET /userinfo``, ``POST /introspect`` and the
    refresh and code grants at ``POST /token``."""

    def __init__(self, app, wsgi_app):
        self.app = app
        self.next = wsgi_app
        latency = app.extensions["idp.metrics"].latency
        # (answer, its latency metric, whether Authlib's transport rule applies)
        self.routes = {("/userinfo", "GET"): (self._userinfo, latency.labels("oidc.userinfo"), False),
                       ("/introspect", "POST"): (self._introspection, latency.labels("oidc.introspect"), True),
                       ("/token", "POST"): (self._token, latency.labels("oidc.token"), True)}

    def __call__(self, environ, start_response):
        route = self.routes.get((environ.get("PATH_INFO"), environ.get("REQUEST_METHOD")))
        if route is None or "HTTP_DPOP" in environ or environ.get("QUERY_STRING"):
            return self.next(environ, start_response)
        answer, latency, transport = route
        started = time.perf_counter()
        try:
            host = get_host(environ, self.app.config["TRUSTED_HOSTS"])
        except SecurityError:
            return self.next(environ, start_response)
        scheme = environ.get("wsgi.url_scheme")
        if transport and not is_secure_transport(f"{scheme}://{host}{environ['PATH_INFO']}"):
            return self.next(environ, start_response)     # InsecureTransportError's answer
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
        start_response("200 OK", [("Content-Type", "application/json"),
                                  ("Content-Length", str(len(body))),
                                  ("Cache-Control", "no-store"), *extra,
                                  *web.headers(self.app, scheme == "https"), ("X-Request-Id", request_id)])
        latency.observe(time.perf_counter() - started)
        return [body]

    @staticmethod
    def _userinfo(environ) -> tuple[bytes, list] | None:
        """The JSON claims of the plain success, or None when Flask must answer."""
        value, scheme = endpoints.presented_in_header(environ.get("HTTP_AUTHORIZATION", ""))
        if not value:
            return None
        found = tokens.find_bearer(value)
        body = endpoints.plain_userinfo(found, scheme) if found is not None else None
        return (body, []) if body is not None else None

    @staticmethod
    def _introspection(environ) -> tuple[bytes, list] | None:
        """RFC 7662's answer for an active token, or None when Flask must answer."""
        fields = _form(environ, ({"token"}, {"token", "token_type_hint"}))
        if fields is None or fields.get("token_type_hint", HINTS[0]) not in HINTS or not fields["token"]:
            return None
        client = _basic_client(environ, "introspection")
        if client is None:
            return None
        token = server.token_view(fields["token"])
        if token is None or token.row.client_id != client.client_id \
                or token.is_expired() or token.is_revoked():
            return None
        answer = server.introspection_answer(token)
        if answer.get("active") is not True:
            return None
        # Authlib's Flask integration writes it with Flask's JSON provider (sorted keys).
        return current_app.json.dumps(answer).encode(), NO_CACHE

    @staticmethod
    def _token(environ) -> tuple[bytes, list] | None:
        """The refresh or code grant's token response, committed, or None when Flask must
        answer (nothing written then)."""
        fields = _form(environ, SHAPES)
        grant_type = fields["grant_type"] if fields is not None else None
        grant = GRANTS.get(grant_type)
        if grant is None or set(fields) not in grant[0] or not fields[grant[1]]:
            return None
        client = _basic_client(environ, "token")
        if client is None or not client.check_grant_type(grant_type) \
                or getattr(client, "dpop_bound_access_tokens", False):
            return None
        if grant_type == "refresh_token":
            token = server.plain_refresh(client, fields["refresh_token"])
        else:
            token = server.plain_code(client, fields["code"], fields["redirect_uri"],
                                      fields.get("code_verifier"))
        if token is None:
            return None
        # Authlib's answer (``handle_response``): Flask's JSON provider, its headers.
        return current_app.json.dumps(token).encode(), NO_CACHE


def _form(environ, shapes: tuple[set, ...]) -> dict | None:
    """The fields of a small urlencoded form whose names are one of ``shapes``, each once;
    else None. The body read is put back for Flask."""
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
    fields = dict(form)
    if len(fields) != len(form) or set(fields) not in shapes:
        return None
    return fields


def _basic_client(environ, endpoint: str):
    """The client of a valid ``client_secret_basic`` header, when that is the method it
    registered; else None."""
    client_id, secret = extract_basic_authorization(
        {"Authorization": environ.get("HTTP_AUTHORIZATION", "")})
    client = server.query_client(client_id) if client_id and secret else None
    if client is None or not client.check_endpoint_auth_method("client_secret_basic", endpoint) \
            or not client.check_client_secret(secret):
        return None
    return client
