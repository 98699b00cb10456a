"""What serving over HTTPS changes (issue 10, issue 11.15): the headers every answer carries,
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
* ``OriginCheckedCSRF``: Flask-WTF's CSRF token and strict referrer check, plus the
  ``Origin`` header when the browser sends one: an origin other than the issuer's or the
  request's own (or ``null``) is refused.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import current_app, g, request
from flask_wtf.csrf import CSRFProtect

REFERRER_POLICY = "same-origin"
HOST_PREFIX = "__Host-"


def secure_cookie_name(name: str) -> str:
    """A cookie's name for the running app: ``__Host-`` prefixed when the issuer is https."""
    return HOST_PREFIX + name if current_app.config["SESSION_COOKIE_SECURE"] else name


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
