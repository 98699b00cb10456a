"""The web layer every answer shares. What serving over HTTPS changes (issue 10, issue 11.15): the headers every answer carries,
the names of our cookies, and the CSRF check's rules on the origin of a POST.

* ``Referrer-Policy: same-origin``: our own pages' POSTs carry a ``Referer`` and a real
  ``Origin`` (``no-referrer`` made Chromium send neither: ``Origin: null``), so Flask-WTF's
  strict referrer check over HTTPS (``WTF_CSRF_SSL_STRICT``, kept on) can pass; other sites
  still get no ``Referer`` from us at all (a reset link's token never leaves in one).
* ``Strict-Transport-Security`` on every answer that went out over HTTPS, and only there
  (RFC 6797 §7.2: a host must not send it over plain HTTP).
* Cookies: over an https issuer, ``__Host-`` names (RFC 6265bis §4.1.3.2: Secure, Path=/,
  no Domain, so that neither a sibling host nor a plain-HTTP page can set or shadow them);
  plain names on the loopback http issuer of ``make run``.
* ``idp.extensions.OriginCheckedCSRF``: Flask-WTF's CSRF token and strict referrer check,
  plus the ``Origin`` header when the browser sends one: an origin other than the issuer's
  or the request's own (or ``null``) is refused.

And what every request goes through: its id and latency, and the error pages (a page in the
person's language for people, RFC JSON on protocol endpoints) shared with
``idp.oidc.published``; and the templates' helpers that print a sentence of ``idp.messages``
as HTML.
"""

from __future__ import annotations

import copy
import time
import uuid
from urllib.parse import urlsplit

from flask import Flask, g, has_request_context, render_template, request
from flask.globals import request_ctx
from flask.sessions import SecureCookieSession, SecureCookieSessionInterface
from itsdangerous import BadSignature
from limits.errors import StorageError
from redis.exceptions import RedisError
from sqlalchemy.exc import OperationalError

from idp import i18n, messages
from idp.extensions import db

REFERRER_POLICY = "same-origin"
# What every HTML page carries besides ``headers``: no outside resource, no framing, no caching.
PAGE_HEADERS = (
    ("Content-Security-Policy",
     "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
     "form-action 'self' *; frame-ancestors 'none'; base-uri 'none'"),
    ("X-Frame-Options", "DENY"),
    ("Cache-Control", "no-store"))
# The protocol endpoints served by Flask that answer machines only (JSON errors, no page):
# they neither read nor set the browser's session cookie.
TOKEN_ENDPOINTS = frozenset({"/token", "/userinfo", "/revoke", "/introspect", "/authorize-challenge"})


class ProtocolSessionInterface(SecureCookieSessionInterface):
    """Flask's signed-cookie session, except on ``TOKEN_ENDPOINTS``: there an empty session
    that is never saved: no cookie verified (a client's request carries none, or a browser's
    it has no business with), none set.

    A cookie that verified is remembered (its data and when it was signed, under the keys
    that verified it) for the next requests that present the very same value, as a login's
    steps do: they skip its decoding (base64, HMAC, zlib, JSON), not its age check, and get
    a copy of their own. Any other value is verified as Flask does."""

    KNOWN_MOST = 4096

    def __init__(self):
        self._known: dict[str, tuple[dict, int]] = {}
        self._keys: tuple | None = None

    def open_session(self, app, request):
        if request.path in TOKEN_ENDPOINTS:
            return SecureCookieSession()
        value = request.cookies.get(self.get_cookie_name(app))
        if not value or not app.secret_key:
            return super().open_session(app, request)
        keys = (app.secret_key, *(app.config.get("SECRET_KEY_FALLBACKS") or ()))
        if keys != self._keys:
            self._known, self._keys = {}, keys
        max_age = int(app.permanent_session_lifetime.total_seconds())
        known = self._known.get(value)
        if known is not None and 0 <= int(time.time()) - known[1] <= max_age:  # itsdangerous' rule
            return self.session_class(_copied(known[0]))
        try:
            data, signed = self.get_signing_serializer(app).loads(
                value, max_age=max_age, return_timestamp=True)
        except BadSignature:
            return self.session_class()
        if len(self._known) >= self.KNOWN_MOST:
            self._known.clear()
        self._known[value] = (_copied(data), int(signed.timestamp()))
        return self.session_class(data)

    def save_session(self, app, session, response):
        if request.path in TOKEN_ENDPOINTS:
            return
        super().save_session(app, session, response)


def _copied(data: dict) -> dict:
    """A session's data of its own (its values are strings but for a few small dicts)."""
    return {k: v if type(v) is str else copy.deepcopy(v) for k, v in data.items()}


def strict_transport_security(app) -> str:
    """The ``Strict-Transport-Security`` value (``Policy.hsts_max_age``); no
    ``includeSubDomains``: the provider cannot know what else runs under its domain."""
    seconds = int(app.extensions["idp.policy"].hsts_max_age.total_seconds())
    return f"max-age={seconds}"


def headers(app, secure: bool) -> list[tuple[str, str]]:
    """The security headers of every answer (Flask pages and the published documents)."""
    common = [("X-Content-Type-Options", "nosniff"), ("Referrer-Policy", REFERRER_POLICY)]
    if secure:
        common.append(("Strict-Transport-Security", strict_transport_security(app)))
    return common


def init_app(app: Flask) -> None:
    """The request hooks (request id, headers, latency) and the error pages of every blueprint
    that has none of its own."""
    app.session_interface = ProtocolSessionInterface()
    _request_hooks(app)
    _error_pages(app)
    _sentences(app)


def _sentences(app: Flask) -> None:
    """The HTML forms of idp.messages' sentences for every template (issue 12), beside ``msg``
    (the plain sentence, escaped as any value): ``msg_links`` for a sentence with links in it,
    ``msg_html`` for one that carries a piece of the template's own markup; and, per render,
    ``_page_helpers`` (issue 15)."""
    app.add_template_global(messages.with_links, "msg_links")
    app.add_template_global(messages.as_html, "msg_html")
    app.add_template_global(_fixed_links(app), "url_for")
    app.context_processor(_page_helpers)


def _page_helpers() -> dict:
    """The helpers of the page being rendered, in its language asked once for the whole
    render (each ``lang()``, ``msg``, ``msg_links`` and the switch asked it again). They
    belong to this render only: nothing is kept beyond it. Macros imported without context
    (flows/_fields.html) still see the app's globals, which ask the language themselves."""
    lang = i18n.language()
    return {"lang": lambda: lang, "msg": messages.texts_in(lang),
            "msg_links": messages.links_in(lang),
            "language_switch": lambda: i18n.switch_targets(lang)}


def _fixed_links(app: Flask):
    """The templates' ``url_for``: Flask's, except that the links it is asked with no values
    (and the static files) are built once per script root, not at each page (the layout
    alone asks six). Only when no ``url_defaults`` function could change them."""
    build = app.url_for
    if app.url_default_functions:
        return build
    built: dict[tuple, str] = {}

    def url_for(endpoint: str, **values) -> str:
        adapter = request_ctx.url_adapter if has_request_context() else None
        if adapter is None or endpoint[:1] == "." or \
                (values and (endpoint != "static" or values.keys() != {"filename"})):
            return build(endpoint, **values)
        key = (adapter.script_name, endpoint, values.get("filename"))
        try:
            return built[key]
        except KeyError:
            url = built[key] = build(endpoint, **values)
            return url

    return url_for


def _request_hooks(app: Flask) -> None:
    @app.before_request
    def _start():
        g.request_id = request.headers.get("X-Request-Id", "")[:64] or uuid.uuid4().hex
        g.started = time.perf_counter()
        app.extensions["idp.clients"].maybe_reload()

    @app.after_request
    def _headers(response):
        # Each header unless the view set it: the names present read in one pass (werkzeug's
        # ``setdefault`` looks each up and builds an exception for each one missing).
        wanted = headers(app, request.is_secure)
        if response.mimetype == "text/html":
            wanted = [*wanted, *PAGE_HEADERS]
        present = {name.lower() for name, _value in response.headers}
        response.headers.extend([(name, value) for name, value in wanted
                                 if name.lower() not in present])
        response.headers["X-Request-Id"] = g.get("request_id", "")
        endpoint = request.endpoint or "unknown"
        app.extensions["idp.metrics"].latency.labels(endpoint).observe(
            time.perf_counter() - g.get("started", time.perf_counter()))
        return response


def _error_pages(app: Flask) -> None:
    from authlib.oauth2.rfc6749.errors import InsecureTransportError
    from flask_wtf.csrf import CSRFError
    from werkzeug.exceptions import SecurityError

    def _protocol() -> bool:
        return request.path in TOKEN_ENDPOINTS or \
            request.path.startswith("/.well-known") or request.path == "/jwks"

    @app.errorhandler(404)
    def _not_found(_e):
        return render_template("error.html", message_id="not_found"), 404

    @app.errorhandler(SecurityError)
    def _untrusted_host(_e):
        # Issue 11.2: a Host that is not the issuer's (TRUSTED_HOSTS).
        if _protocol():
            return {"error": "invalid_request", "error_description": "Unknown host."}, 400
        issuer = urlsplit(app.config["ISSUER"])
        # The page's own links (its style sheet) are built on the issuer, not that host.
        request_ctx.url_adapter = app.url_map.bind(issuer.netloc, url_scheme=issuer.scheme)
        return render_template("error.html", message_id="untrusted_host"), 400

    @app.errorhandler(InsecureTransportError)
    def _plain_http(_e):
        # An https issuer reached over plain http: behind a TLS proxy without IDP_PROXY_FIX the
        # worker sees http. Authlib refuses the request; answer it per RFC 6749 §5.2 (not 500)
        # and tell the operator what is missing.
        app.logger.warning("plain-http request on an https issuer (behind a TLS proxy, "
                           "set IDP_PROXY_FIX)")
        if _protocol():
            return {"error": "invalid_request", "error_description": "HTTPS is required."}, 400
        return render_template("error.html", message_id="invalid_request"), 400

    @app.errorhandler(CSRFError)
    def _csrf(_e):
        return render_template("error.html", message_id="csrf_failed"), 400

    @app.errorhandler(429)
    def _too_many(_e):
        if _protocol():
            return {"error": "slow_down"}, 429
        return render_template("error.html", message_id="too_many_requests"), 429

    def _unavailable(message_id: str):
        retry = {"Retry-After": str(int(
            app.extensions["idp.policy"].unavailable_retry_after.total_seconds()))}
        if _protocol():
            return {"error": "temporarily_unavailable"}, 503, retry
        return render_template("error.html", message_id=message_id), 503, retry

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
    def _fault(error):
        # A service that went away while an error handler ran (a step's error page that
        # reads the flow again): Flask hands that second exception to this handler, not to
        # its own; it is the same outage, and the person gets the same page.
        original = getattr(error, "original_exception", None)
        if isinstance(original, OperationalError):
            return _database_down(original)
        db.session.rollback()
        if _protocol():
            return {"error": "server_error"}, 500
        return render_template("error.html", message_id="server_error"), 500
