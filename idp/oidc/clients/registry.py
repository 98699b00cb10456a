"""The relying-party registry in memory: the client objects Authlib sees, their lookups by
``client_id``, and the running server's copy, reloaded when ``clients.yaml`` changes.

Redirect URIs match exactly (RFC 9700 §2.1), with the one exception of RFC 8252 §7.3: a
loopback IP redirect registered without a port accepts any port. The file itself is read and
validated in ``idp.oidc.clients.file``.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import os
import re
import threading
import time
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field, fields

from authlib.oauth2.rfc6749 import ClientMixin

from idp.oidc.clients.file import ClientsFileError, _sector_of, read_clients
from idp.policy import Policy

# The logger keeps the name it had before the split (operators' log filters use it).
log = logging.getLogger("idp.oidc.clients")

_LOOPBACK_PORTLESS = re.compile(r"^http://(127\.0\.0\.1|\[::1\])([/?].*)?$")
_LOOPBACK_WITH_PORT = re.compile(r"^http://(127\.0\.0\.1|\[::1\]):(\d{1,5})([/?].*)?$")


@dataclass(frozen=True, eq=False)
class Client(ClientMixin):
    """One relying party, as Authlib's authorization server sees it."""

    client_id: str
    client_name: str | None = None
    redirect_uris: list[str] = field(default_factory=list)
    post_logout_redirect_uris: list[str] = field(default_factory=list)
    token_endpoint_auth_method: str = "client_secret_basic"
    token_endpoint_auth_signing_alg: str | None = None
    grant_types: list[str] = field(default_factory=lambda: ["authorization_code"])
    response_types: list[str] = field(default_factory=lambda: ["code"])
    scope: str = "openid"
    jwks: dict | None = None
    jwks_uri: str | None = None
    subject_type: str = "public"
    sector_identifier_uri: str | None = None
    id_token_signed_response_alg: str = "RS256"
    id_token_encrypted_response_alg: str | None = None
    id_token_encrypted_response_enc: str | None = None
    userinfo_signed_response_alg: str | None = None      # None: plain JSON
    userinfo_encrypted_response_alg: str | None = None
    userinfo_encrypted_response_enc: str | None = None
    request_object_signing_alg: str | None = None
    backchannel_logout_uri: str | None = None
    backchannel_logout_session_required: bool = False
    default_acr_values: list[str] = field(default_factory=list)
    default_max_age: int | None = None
    require_auth_time: bool = False
    skip_consent: bool = False
    require_security_code: bool = True
    biometric_offer: bool = True
    require_pkce: bool = False
    login_branding: str | None = None
    access_token_lifetime: int | None = None         # seconds; None: the policy's
    single_use_access_token: bool = False
    id_token_lifetime: int | None = None             # seconds; None: the policy's
    dpop_bound_access_tokens: bool = False           # RFC 9449 §5.2
    first_party: bool = False                        # /authorize-challenge (first-party apps)
    # hex SHA-256 of the secret (from the environment or the file's hash); never the secret
    secret_sha256: str | None = field(default=None, repr=False)

    @property
    def is_public(self) -> bool:
        return self.token_endpoint_auth_method == "none"

    @property
    def requires_pkce(self) -> bool:
        return self.is_public or self.require_pkce

    @property
    def franceconnect_branding(self) -> bool:
        """Read by the authorize endpoint to dress the login page for FranceConnect."""
        return self.login_branding == "franceconnect"

    @property
    def sector_identifier(self) -> str | None:
        """The host that pairwise subjects are computed for (OIDC Core §8.1)."""
        return _sector_of(self.sector_identifier_uri, self.redirect_uris)

    @property
    def client_metadata(self) -> dict:
        """The registration metadata (no secret), as Authlib's userinfo and end-session
        endpoints read it."""
        skip = {"secret_sha256", "skip_consent", "require_security_code", "biometric_offer",
                "require_pkce",
                "login_branding", "access_token_lifetime", "single_use_access_token",
                "id_token_lifetime", "first_party"}
        return {f.name: getattr(self, f.name) for f in fields(self)
                if f.name not in skip and getattr(self, f.name) not in (None, [])}

    def get_client_id(self) -> str:
        return self.client_id

    def get_default_redirect_uri(self) -> str | None:
        return self.redirect_uris[0] if len(self.redirect_uris) == 1 else None

    def get_allowed_scope(self, scope: str | None) -> str:
        # Unknown scopes are dropped, not refused: FranceConnect sends its own (FC.md §7).
        allowed = set(self.scope.split())
        return " ".join(dict.fromkeys(s for s in (scope or "").split() if s in allowed))

    def check_redirect_uri(self, redirect_uri: str) -> bool:
        if redirect_uri in self.redirect_uris:
            return True
        given = _LOOPBACK_WITH_PORT.match(redirect_uri or "")
        if not given or not 0 < int(given[2]) < 65536:
            return False
        for registered in self.redirect_uris:
            match = _LOOPBACK_PORTLESS.match(registered)
            if match and match[1] == given[1] and (match[2] or "") == (given[3] or ""):
                return True
        return False

    def check_post_logout_redirect_uri(self, uri: str) -> bool:
        return uri in self.post_logout_redirect_uris

    def check_client_secret(self, client_secret: str | None) -> bool:
        if self.secret_sha256 is None or not isinstance(client_secret, str):
            return False
        given = hashlib.sha256(client_secret.encode()).hexdigest()
        return hmac.compare_digest(given, self.secret_sha256)

    def check_endpoint_auth_method(self, method: str, endpoint: str) -> bool:
        # The token endpoint's registered method serves revocation and introspection too.
        return method == self.token_endpoint_auth_method

    def check_response_type(self, response_type: str) -> bool:
        return response_type == "code" and response_type in self.response_types

    def check_grant_type(self, grant_type: str) -> bool:
        return grant_type in self.grant_types


class ClientRegistry:
    """The clients of one version of the file, by ``client_id``."""

    def __init__(self, clients: Iterable[Client] = ()):
        self.by_id: dict[str, Client] = {c.client_id: c for c in clients}

    def get(self, client_id: str | None) -> Client | None:
        return self.by_id.get(client_id) if isinstance(client_id, str) else None

    def __iter__(self) -> Iterator[Client]:
        return iter(self.by_id.values())

    def __len__(self) -> int:
        return len(self.by_id)

    def __contains__(self, client_id: object) -> bool:
        return client_id in self.by_id



def load_clients(path: str | os.PathLike, environ: Mapping[str, str] = os.environ,
                 rules: Policy | None = None) -> ClientRegistry:
    """Read and validate the file; raise ClientsFileError naming every error found."""
    return ClientRegistry(Client(**values) for values in read_clients(path, environ, rules))


class RegistryHolder:
    """The running server's registry: reloaded when the file changes, and kept as it was
    when the new version is bad, so that an editing mistake cannot lock every client out."""

    def __init__(self, path: str | os.PathLike, environ: Mapping[str, str] = os.environ,
                 *, check_interval: float | None = None, rules: Policy | None = None):
        rules = rules or Policy()
        if check_interval is None:
            check_interval = rules.clients_file_check_interval.total_seconds()
        self.rules = rules
        self.path = path
        self.environ = environ
        self.check_interval = check_interval
        self.errors: list[str] = []          # of the last reload that failed, until a good one
        self._lock = threading.Lock()
        try:
            self._signature = self._stat()   # before reading: a change in between is seen later
        except OSError as exc:
            raise ClientsFileError([f"{os.fspath(path)}: cannot read the file: {exc.strerror}"]
                                   ) from None
        self._current = load_clients(path, environ, rules)   # a bad file at start refuses to start
        self._next_check = time.monotonic() + check_interval

    @property
    def current(self) -> ClientRegistry:
        return self._current

    def reload(self) -> list[str]:
        """Re-read the file if it changed; return its errors (empty when fine or unchanged)."""
        with self._lock:
            return self._reload_locked()

    def maybe_reload(self) -> list[str]:
        """``reload`` at most once per ``check_interval``; cheap enough for every request."""
        now = time.monotonic()
        if now < self._next_check:
            return []
        self._next_check = now + self.check_interval
        if not self._lock.acquire(blocking=False):   # another thread is on it
            return []
        try:
            return self._reload_locked()
        finally:
            self._lock.release()

    def _stat(self) -> tuple[int, int, int]:
        st = os.stat(self.path)
        return st.st_mtime_ns, st.st_size, st.st_ino

    def _reload_locked(self) -> list[str]:
        name = os.fspath(self.path)
        try:
            signature = self._stat()
        except OSError as exc:
            errors = [f"{name}: cannot read the file: {exc.strerror}"]
            if self._signature is not None:              # say it once, not every second
                log.warning("clients file unreadable, keeping %d clients: %s",
                            len(self._current), errors[0])
            self._signature = None
            self.errors = errors
            return errors
        if signature == self._signature:
            return []
        self._signature = signature
        try:
            registry = load_clients(self.path, self.environ, self.rules)
        except ClientsFileError as exc:
            # The messages name fields, lines and variable names, never a secret's value.
            log.warning("clients file %s has %d error(s), keeping the previous %d clients:\n%s",
                        name, len(exc.errors), len(self._current), "\n".join(exc.errors))
            self.errors = exc.errors
            return exc.errors
        self._current, self.errors = registry, []
        log.info("clients file %s reloaded: %d clients", name, len(registry))
        return []
