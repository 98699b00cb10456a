"""Discovery and the JWKS (and ``/franceconnect/jwks``, our encryption keys as FranceConnect+'s
relying party), served from precomputed bytes ahead of Flask's request cycle.

They are the provider's most requested URLs and the same for every caller: the discovery
document is built once from the configuration, the JWKS comes from the signing-key cache
(``idp.oidc.keys``, read again from the database when stale). Each answer carries an ETag
(``If-None-Match`` gets a 304), a public ``Cache-Control``, CORS for browser-based clients,
the provider's security headers, a request id and its latency in ``/metrics``.
"""

from __future__ import annotations

import json
import logging
import time
import uuid

from idp import i18n, keys
from idp import web as transport
from idp.oidc import claims as claims_mod
from idp.oidc import dpop

log = logging.getLogger("idp.oidc")

DISCOVERY_PATHS = ("/.well-known/openid-configuration", "/.well-known/oauth-authorization-server")
CORS = [("Access-Control-Allow-Origin", "*")]
# Our encryption keys as FranceConnect+'s relying party (issue 10.5), the URL declared to FC+.
FRANCECONNECT_JWKS_PATH = "/franceconnect/jwks"


def discovery_document(app) -> dict:
    issuer = app.config["ISSUER"]
    return {
        "issuer": issuer,
        "authorization_endpoint": f"{issuer}/authorize",
        "token_endpoint": f"{issuer}/token",
        "userinfo_endpoint": f"{issuer}/userinfo",
        "jwks_uri": f"{issuer}/jwks",
        "end_session_endpoint": f"{issuer}/end_session",
        "revocation_endpoint": f"{issuer}/revoke",
        "introspection_endpoint": f"{issuer}/introspect",
        # draft-ietf-oauth-first-party-apps: the app's passkey sign-in without a browser.
        "authorization_challenge_endpoint": f"{issuer}/authorize-challenge",
        "scopes_supported": list(claims_mod.SCOPES_SUPPORTED),
        "response_types_supported": ["code"],
        "response_modes_supported": ["query", "form_post"],
        "grant_types_supported": ["authorization_code", "refresh_token"],
        "subject_types_supported": ["public", "pairwise"],
        "id_token_signing_alg_values_supported": list(keys.SUPPORTED_ALGS),
        "id_token_encryption_alg_values_supported": ["RSA-OAEP", "RSA-OAEP-256", "ECDH-ES"],
        "id_token_encryption_enc_values_supported": ["A256GCM", "A128CBC-HS256"],
        "userinfo_signing_alg_values_supported": list(keys.SUPPORTED_ALGS),
        "userinfo_encryption_alg_values_supported": ["RSA-OAEP", "RSA-OAEP-256", "ECDH-ES"],
        "userinfo_encryption_enc_values_supported": ["A256GCM", "A128CBC-HS256"],
        "request_object_signing_alg_values_supported": list(keys.SUPPORTED_ALGS),
        "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post",
                                                  "private_key_jwt", "none"],
        "token_endpoint_auth_signing_alg_values_supported": list(keys.SUPPORTED_ALGS),
        "revocation_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post",
                                                       "private_key_jwt", "none"],
        "introspection_endpoint_auth_methods_supported": ["client_secret_basic",
                                                          "client_secret_post", "private_key_jwt"],
        "code_challenge_methods_supported": ["S256"],
        "dpop_signing_alg_values_supported": list(dpop.ALGORITHMS),      # RFC 9449 §5.1
        "claims_supported": list(claims_mod.CLAIMS_SUPPORTED),
        "claims_parameter_supported": True,
        "request_parameter_supported": True,
        "request_uri_parameter_supported": False,
        "acr_values_supported": sorted(set(app.config["ACR_BY_METHOD"].values())),
        "prompt_values_supported": ["none", "login", "consent", "select_account"],
        "ui_locales_supported": list(i18n.SUPPORTED),      # issue 13.7
        "claim_types_supported": ["normal"],
        "authorization_response_iss_parameter_supported": True,
        "backchannel_logout_supported": True,
        "backchannel_logout_session_supported": True,
    }


class PublishedDocuments:
    """WSGI middleware: GET and HEAD of the discovery paths and ``/jwks``; the rest goes on."""

    def __init__(self, app, wsgi_app):
        self.app = app
        self.next = wsgi_app
        body = json.dumps(discovery_document(app), separators=(",", ":")).encode()
        self.discovery = (body, keys.etag_of(body))
        self.latency = app.extensions["idp.metrics"].latency
        # An RP may keep /jwks this long; a rotated-in key signs only after it (issue 10.1).
        max_age = int(app.extensions["idp.policy"].jwks_max_age.total_seconds())
        self.jwks_cache = f"public, max-age={max_age}"
        rules = app.extensions["idp.policy"]
        self.discovery_cache = f"public, max-age={int(rules.discovery_max_age.total_seconds())}"
        self.retry_after = str(int(rules.unavailable_retry_after.total_seconds()))

    def __call__(self, environ, start_response):
        path = environ.get("PATH_INFO", "")
        if path == "/jwks":
            endpoint, cache, mimetype = "oidc.jwks", self.jwks_cache, "application/jwk-set+json"
        elif path == FRANCECONNECT_JWKS_PATH:
            endpoint, cache, mimetype = "franceconnect.jwks", self.jwks_cache, "application/jwk-set+json"
        elif path in DISCOVERY_PATHS:
            endpoint, cache, mimetype = "oidc.discovery", self.discovery_cache, "application/json"
        else:
            return self.next(environ, start_response)
        started = time.perf_counter()
        method = environ.get("REQUEST_METHOD")
        request_id = environ.get("HTTP_X_REQUEST_ID", "")[:64] or uuid.uuid4().hex
        secure = environ.get("wsgi.url_scheme") == "https"
        headers = [*transport.headers(self.app, secure), *CORS, ("X-Request-Id", request_id)]
        try:
            if method not in ("GET", "HEAD"):
                return _answer(start_response, "405 METHOD NOT ALLOWED",
                               [*headers, ("Allow", "GET, HEAD")], b"")
            body, etag = (self.discovery if endpoint == "oidc.discovery"
                          else keys.published_encryption(self.app)
                          if endpoint == "franceconnect.jwks" else keys.published(self.app))
            headers += [("Cache-Control", cache), ("ETag", etag)]
            if etag in environ.get("HTTP_IF_NONE_MATCH", ""):
                return _answer(start_response, "304 NOT MODIFIED", headers, b"")
            headers += [("Content-Type", mimetype), ("Content-Length", str(len(body)))]
            return _answer(start_response, "200 OK", headers, b"" if method == "HEAD" else body)
        except Exception:  # noqa: BLE001 - the key store is unreachable: RFC 6749's answer
            log.error("published documents unavailable: the signing keys cannot be read")
            body = b'{"error":"temporarily_unavailable"}'
            return _answer(start_response, "503 SERVICE UNAVAILABLE",
                           [*headers, ("Cache-Control", "no-store"), ("Retry-After", self.retry_after),
                            ("Content-Type", "application/json"),
                            ("Content-Length", str(len(body)))], body)
        finally:
            self.latency.labels(endpoint).observe(time.perf_counter() - started)


def _answer(start_response, status: str, headers: list, body: bytes):
    start_response(status, headers)
    return [body]
