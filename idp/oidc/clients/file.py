"""The relying-party file, ``clients.yaml``: read and validated with line numbers.

Each entry uses the metadata names of RFC 7591 §2 and OpenID Connect Dynamic Client
Registration §2 (``client_id``, ``redirect_uris``, ``token_endpoint_auth_method``, the
``*_signed_response_alg`` / ``*_encrypted_response_alg|enc`` pairs, ``jwks``, ``jwks_uri``,
``subject_type``, ``sector_identifier_uri``, ``grant_types``, ``scope``, …). Extensions, which
are not registration names:

* ``client_secret: ${VAR}`` reads the secret from that environment variable at load, and
  ``client_secret_hash: "sha256:<hex>"`` stores only its hash: a secret is never written in
  clear (CONTRACT.md "OpenID Connect"). Secrets read from the environment must have at least
  32 characters, FranceConnect's own minimum (FRANCECONNECT.md §5). Only the SHA-256 of a
  secret is kept in memory; secrets are long random strings, so a fast hash serves.
* ``skip_consent`` (default false): no consent page — first-party clients, and FranceConnect,
  which shows its own (FRANCECONNECT.md §7).
* ``require_security_code`` (default true): whether the e-mailed code is asked on this
  client's logins (seed 004's FAQ leaves it open for FranceConnect).
* ``biometric_offer`` (default true): whether this client's logins may offer the passkey
  (biometrics, issue 14): the activation offer after a login and "Se connecter avec la
  biométrie" on the login page. False for FranceConnect and for shared kiosks (the seeds'
  "bornes multi-services"), where a passkey would stay on a machine that is not the person's.
* ``require_pkce`` (default false): PKCE for a confidential client; public clients always
  need it. FranceConnect sends no ``code_challenge`` (FRANCECONNECT.md §9).
* ``login_branding: franceconnect``: the login page of this client's requests carries
  FranceConnect's branding (logos, grey Marianne background, "Revenir sur FranceConnect")
  and no FranceConnect button (FRANCECONNECT.md §14).
* ``access_token_lifetime`` (seconds, 1 to ``Policy.client_access_token_max_lifetime``;
  default: the policy's) and
  ``single_use_access_token`` (default false): FranceConnect+ asks an identity provider for
  single-use or very short-lived access tokens (FRANCECONNECT.md §9).
* ``id_token_lifetime`` (seconds, 1 to ``Policy.client_id_token_max_lifetime``; default: the
  policy's ``id_token_ttl``):
  FranceConnect's own ID tokens live 60 s and its checklist expects ``exp - iat`` ≤ 300 s.
* ``dpop_bound_access_tokens`` (RFC 9449 §5.2, a registration name; default false): every
  token request of the client carries a DPoP proof; its refresh tokens live
  ``Policy.biometric_validity`` (as long as its passkey may), not ``refresh_token_ttl``.
* ``first_party`` (default false; public clients only): the client may use
  ``/authorize-challenge`` (draft-ietf-oauth-first-party-apps): a passkey assertion for a
  code, without a browser.

Redirect URIs match exactly (RFC 9700 §2.1), with the one exception of RFC 8252 §7.3: a
loopback IP redirect registered without a port accepts any port. Private-use schemes
(RFC 8252 §7.1, a reverse domain name) are for public clients only. Keys published at a
``jwks_uri`` are fetched elsewhere (``client_keys``); this module only stores the URI.
"""

from __future__ import annotations

import difflib
import hashlib
import os
import re
from collections.abc import Iterable, Mapping
from urllib.parse import urlsplit

import yaml
from flask import current_app, has_app_context

from idp.policy import Policy

AUTH_METHODS = ("client_secret_basic", "client_secret_post", "private_key_jwt", "none")
GRANT_TYPES = ("authorization_code", "refresh_token")
SIGNING_ALGS = ("RS256", "ES256")
ENCRYPTION_ALGS = ("RSA-OAEP", "RSA-OAEP-256", "ECDH-ES")
ENCRYPTION_ENCS = ("A256GCM", "A128CBC-HS256")
DEFAULT_ENC = "A256GCM"
SUBJECT_TYPES = ("public", "pairwise")
LOOPBACK_HOSTS = ("127.0.0.1", "::1", "localhost")

_ENV_REF = re.compile(r"^\$\{([A-Za-z_][A-Za-z0-9_]*)\}$")
_SECRET_HASH = re.compile(r"^sha256:([0-9a-fA-F]{64})$")
_CLIENT_ID = re.compile(r"^[\x21-\x7e]+$")                  # RFC 6749 VSCHAR, no space

# Every accepted field and its YAML type; anything else is an error.
_FIELDS: dict[str, type] = {
    "client_id": str, "client_name": str, "client_secret": str, "client_secret_hash": str,
    "redirect_uris": list, "post_logout_redirect_uris": list,
    "token_endpoint_auth_method": str, "token_endpoint_auth_signing_alg": str,
    "grant_types": list, "response_types": list, "scope": str,
    "jwks": dict, "jwks_uri": str, "subject_type": str, "sector_identifier_uri": str,
    "id_token_signed_response_alg": str, "id_token_encrypted_response_alg": str,
    "id_token_encrypted_response_enc": str, "userinfo_signed_response_alg": str,
    "userinfo_encrypted_response_alg": str, "userinfo_encrypted_response_enc": str,
    "request_object_signing_alg": str, "backchannel_logout_uri": str,
    "backchannel_logout_session_required": bool, "default_acr_values": list,
    "default_max_age": int, "require_auth_time": bool,
    "skip_consent": bool, "require_security_code": bool, "biometric_offer": bool,
    "require_pkce": bool,
    "login_branding": str, "access_token_lifetime": int, "single_use_access_token": bool,
    "id_token_lifetime": int, "dpop_bound_access_tokens": bool, "first_party": bool,
}
LOGIN_BRANDINGS = ("franceconnect",)
_KIND = {str: "a string", list: "a list", dict: "a mapping", bool: "true or false",
         int: "an integer"}


class ClientsFileError(Exception):
    """The clients file is unusable; ``errors`` holds every problem as "FILE:LINE: message"."""

    def __init__(self, errors: list[str]):
        super().__init__("\n".join(errors))
        self.errors = errors


def read_clients(path: str | os.PathLike, environ: Mapping[str, str] = os.environ,
                 rules: Policy | None = None) -> list[dict]:
    """The fields of every client of the file (``Client`` keyword arguments, with the
    secret's SHA-256 as ``secret_sha256``); raise ClientsFileError naming every error found.

    The limits (secret length, lifetimes) are ``rules``'s, else the running application's
    policy, else the default policy (``idp clients check`` may run without an application)."""
    rules = rules or _running_policy()
    name = os.fspath(path)
    try:
        with open(path, "rb") as stream:
            data = stream.read()
    except OSError as exc:
        raise ClientsFileError([f"{name}: cannot read the file: {exc.strerror}"]) from None
    errors: list[tuple[int, str]] = []
    clients = _validate_document(data, environ, rules, lambda line, msg: errors.append((line, msg)))
    if errors:
        errors.sort(key=lambda e: e[0])   # stable: same-line errors keep their order
        raise ClientsFileError([f"{name}:{line}: {msg}" for line, msg in errors])
    return clients


def check_clients_file(path: str | os.PathLike, environ: Mapping[str, str] = os.environ,
                       rules: Policy | None = None) -> list[str]:
    """Every error of the file, or an empty list when it is valid (``idp clients check``)."""
    try:
        read_clients(path, environ, rules)
    except ClientsFileError as exc:
        return exc.errors
    return []


def _running_policy() -> Policy:
    if has_app_context() and "idp.policy" in current_app.extensions:
        return current_app.extensions["idp.policy"]
    return Policy()


# -- YAML with line numbers --------------------------------------------------------------

class _Mapping(dict):
    line: int = 1                      # where the mapping starts
    lines: dict                        # key -> line of the key


class _Sequence(list):
    line: int = 1
    lines: list[int]                   # line of each item


class _LineLoader(yaml.SafeLoader):
    """SafeLoader that remembers the line of every key and list item, and duplicate keys."""

    def __init__(self, stream):
        super().__init__(stream)
        self.duplicate_keys: list[tuple[int, object]] = []

    def construct_mapping(self, node, deep=False):
        own = [k for k, _ in node.value if k.tag != "tag:yaml.org,2002:merge"]
        mapping = _Mapping(super().construct_mapping(node, deep=deep))
        mapping.line, mapping.lines = node.start_mark.line + 1, {}
        # node.value is now flattened: merged keys first, so that the mapping's own win.
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)   # cached: the same object
            mapping.lines[key] = key_node.start_mark.line + 1
        seen = set()
        for key_node in own:       # a merge (<<) may be overridden; a key given twice not
            key = self.construct_object(key_node, deep=deep)
            if key in seen:
                self.duplicate_keys.append((key_node.start_mark.line + 1, key))
            seen.add(key)
        return mapping


def _construct_sequence(loader: _LineLoader, node) -> _Sequence:
    sequence = _Sequence(loader.construct_sequence(node, deep=True))
    sequence.line = node.start_mark.line + 1
    sequence.lines = [item.start_mark.line + 1 for item in node.value]
    return sequence


_LineLoader.add_constructor("tag:yaml.org,2002:map",
                            lambda loader, node: loader.construct_mapping(node, deep=True))
_LineLoader.add_constructor("tag:yaml.org,2002:seq", _construct_sequence)


def _parse(data: bytes, report) -> tuple[object, bool]:
    """The document and whether it parsed."""
    loader = _LineLoader(data)
    try:
        document = loader.get_single_data()
    except yaml.MarkedYAMLError as exc:
        # Only the problem's wording: str(exc) would quote the line, which may hold a secret.
        mark = exc.problem_mark or exc.context_mark
        report(mark.line + 1 if mark else 1, f"YAML syntax error: {exc.problem or exc.context}")
        return None, False
    except yaml.reader.ReaderError as exc:
        report(data[:exc.position].count(b"\n") + 1, f"unreadable character: {exc.reason}")
        return None, False
    finally:
        loader.dispose()
    for line, key in loader.duplicate_keys:
        report(line, f"duplicate key '{key}': the later value would silently win")
    return document, True


# -- validation --------------------------------------------------------------------------

def _validate_document(data: bytes, environ: Mapping[str, str], rules: Policy, report
                       ) -> list[dict]:
    document, parsed = _parse(data, report)
    if not parsed:
        return []
    if document is None:
        report(1, "the file is empty: expected a top-level 'clients:' list")
        return []
    for key in document if isinstance(document, _Mapping) else ():
        if key != "clients":
            report(document.lines[key], f"unknown top-level key '{key}'{_suggest(key, ['clients'])}")
    if not isinstance(document, _Mapping) or not isinstance(document.get("clients"), list):
        line = document.lines.get("clients", 1) if isinstance(document, _Mapping) else 1
        report(line, "expected a top-level 'clients:' list")
        return []
    entries = document["clients"]
    clients: list[dict] = []
    first_line: dict[str, int] = {}
    for index, entry in enumerate(entries):
        if not isinstance(entry, _Mapping):
            report(entries.lines[index], "each client must be a mapping of fields")
            continue
        client = _build_client(entry, environ, rules, report)
        cid = entry.get("client_id")
        if isinstance(cid, str):
            line = entry.lines["client_id"]
            if cid in first_line:
                report(line, f"duplicate client_id '{cid}' (first at line {first_line[cid]})")
                continue
            first_line[cid] = line
        if client is not None:
            clients.append(client)
    return clients


def _build_client(entry: _Mapping, environ: Mapping[str, str], rules: Policy, report
                  ) -> dict | None:
    """The ``Client`` keyword arguments of one entry, or None when it has errors."""
    cid = entry.get("client_id")
    prefix = f"client '{cid}': " if isinstance(cid, str) else ""
    count = 0

    def error(key: str | None, message: str, line: int | None = None) -> None:
        nonlocal count
        count += 1
        report(line or entry.lines.get(key, entry.line), prefix + message)

    values = _typed_values(entry, error)
    if "client_id" not in values:
        if "client_id" not in entry or entry["client_id"] is None:
            error(None, "client_id is missing")
    elif not _CLIENT_ID.match(values["client_id"]):
        error("client_id", "client_id: only printable ASCII characters, no spaces")

    method = values.get("token_endpoint_auth_method", "client_secret_basic")
    if method not in AUTH_METHODS:
        error("token_endpoint_auth_method",
              f"token_endpoint_auth_method '{method}' is not one of {', '.join(AUTH_METHODS)}")
        method = None
    secret_sha256 = _secret(values, method, environ, rules, error)

    public = method == "none"
    for key in ("redirect_uris", "post_logout_redirect_uris"):
        uris = values.get(key, [])
        for uri, line in zip(uris, _item_lines(entry, key) if uris else [], strict=True):
            if problem := _redirect_uri_problem(uri, public=public):
                error(key, f"{key}: '{uri}' {problem}", line=line)
    if not entry.get("redirect_uris"):    # absent, null or [] (a wrong type is named above)
        error("redirect_uris", "redirect_uris: at least one redirect URI is required")
    for key in ("jwks_uri", "sector_identifier_uri", "backchannel_logout_uri"):
        if key in values and (problem := _web_uri_problem(values[key])):
            error(key, f"{key}: '{values[key]}' {problem}")

    _check_protocol(values, rules, error)
    if values.get("first_party") and not public:
        error("first_party", "first_party: only for a public client (token_endpoint_auth_method:"
              " none): /authorize-challenge authenticates no client")
    enc_algs = _check_algorithms(values, error)
    _check_keys(values, method, enc_algs, error)

    if values.get("subject_type") == "pairwise" and not _sector_of(
            values.get("sector_identifier_uri"), values.get("redirect_uris", [])):
        error("subject_type", "pairwise subjects need one sector: the redirect URIs have "
              "several hosts (or none), so set sector_identifier_uri")
    if count:
        return None
    values.pop("client_secret", None)
    values.pop("client_secret_hash", None)
    return {**values, "secret_sha256": secret_sha256}


def _typed_values(entry: _Mapping, error) -> dict:
    """The known fields whose YAML type is right; null counts as absent."""
    values = {}
    for key, value in entry.items():
        if key not in _FIELDS:
            error(key, f"unknown field '{key}'{_suggest(key, _FIELDS)}")
            continue
        if value is None:
            continue
        expected = _FIELDS[key]
        if not isinstance(value, expected) or (expected is int and isinstance(value, bool)):
            error(key, f"{key}: expected {_KIND[expected]}, got {_kind_of(value)}")
        elif expected is list and not all(isinstance(item, str) for item in value):
            error(key, f"{key}: every item must be a string")
        elif expected is int and value < 0:
            error(key, f"{key}: must not be negative")
        else:
            values[key] = _plain(value)
    return values


def _secret(values: dict, method: str | None, environ: Mapping[str, str], rules: Policy,
            error) -> str | None:
    """Check the secret fields against the auth method; the secret's SHA-256, or None."""
    given = [key for key in ("client_secret", "client_secret_hash") if key in values]
    digest = None
    if len(given) == 2:
        error("client_secret_hash", "set client_secret or client_secret_hash, not both")
    if "client_secret" in values:
        ref = _ENV_REF.match(values["client_secret"])
        if ref is None:
            error("client_secret",
                  "client_secret: a literal secret is not allowed: use ${VAR} or client_secret_hash")
        elif (secret := environ.get(ref[1])) is None:
            error("client_secret", f"client_secret: environment variable {ref[1]} is not set")
        elif len(secret) < rules.client_secret_min_length:
            error("client_secret", f"client_secret: the value of {ref[1]} is shorter than "
                  f"{rules.client_secret_min_length} characters")
        else:
            digest = hashlib.sha256(secret.encode()).hexdigest()
    elif "client_secret_hash" in values:
        match = _SECRET_HASH.match(values["client_secret_hash"])
        if match is None:
            error("client_secret_hash",
                  'client_secret_hash: expected "sha256:" followed by 64 hexadecimal digits')
        else:
            digest = match[1].lower()
    where = "token_endpoint_auth_method"
    if method == "none" and given:
        error(given[0], "a public client (token_endpoint_auth_method: none) must not have a secret")
    elif method == "private_key_jwt" and given:
        error(given[0], "private_key_jwt authenticates with keys: remove the unused secret")
    elif method in ("client_secret_basic", "client_secret_post") and not given:
        error(where, f"{method} needs client_secret: ${{VAR}} or client_secret_hash")
    return digest


def _check_protocol(values: dict, rules: Policy, error) -> None:
    grants = values.get("grant_types")
    if grants is not None:
        for grant in grants:
            if grant not in GRANT_TYPES:
                error("grant_types", f"grant_types: '{grant}' is not supported "
                      f"(only {', '.join(GRANT_TYPES)})")
        if "authorization_code" not in grants:
            error("grant_types", "grant_types: must include authorization_code")
    if values.get("response_types", ["code"]) != ["code"]:
        error("response_types", 'response_types: only ["code"] is supported')
    subject_type = values.get("subject_type", "public")
    if subject_type not in SUBJECT_TYPES:
        error("subject_type", f"subject_type '{subject_type}' is not public or pairwise")
    branding = values.get("login_branding")
    if branding is not None and branding not in LOGIN_BRANDINGS:
        error("login_branding", f"login_branding '{branding}' is not one of "
              f"{', '.join(LOGIN_BRANDINGS)}")
    for key, longest in (("access_token_lifetime", rules.client_access_token_max_lifetime),
                         ("id_token_lifetime", rules.client_id_token_max_lifetime)):
        lifetime, most = values.get(key), int(longest.total_seconds())
        if lifetime is not None and not 1 <= lifetime <= most:
            error(key, f"{key}: expected seconds between 1 and {most}")


def _check_algorithms(values: dict, error) -> list[tuple[str, str]]:
    """Check every alg/enc; fill the default enc; return the (field, alg) of encryption."""
    for key in ("id_token_signed_response_alg", "userinfo_signed_response_alg",
                "request_object_signing_alg", "token_endpoint_auth_signing_alg"):
        if key in values and values[key] not in SIGNING_ALGS:
            error(key, f"{key}: unsupported algorithm '{values[key]}' "
                  f"(supported: {', '.join(SIGNING_ALGS)})")
    encryption = []
    for target in ("id_token", "userinfo"):
        alg_key, enc_key = f"{target}_encrypted_response_alg", f"{target}_encrypted_response_enc"
        alg, enc = values.get(alg_key), values.get(enc_key)
        if enc is not None and alg is None:
            error(enc_key, f"{enc_key} is set without {alg_key}")
        if enc is not None and enc not in ENCRYPTION_ENCS:
            error(enc_key, f"{enc_key}: unsupported content encryption '{enc}' "
                  f"(supported: {', '.join(ENCRYPTION_ENCS)})")
        if alg is None:
            continue
        if alg not in ENCRYPTION_ALGS:
            error(alg_key, f"{alg_key}: unsupported algorithm '{alg}' "
                  f"(supported: {', '.join(ENCRYPTION_ALGS)})")
            continue
        values.setdefault(enc_key, DEFAULT_ENC)          # OIDC Registration §2
        encryption.append((alg_key, alg))
    return encryption


_KEY_MEMBERS = {"RSA": ("n", "e"), "EC": ("crv", "x", "y"), "OKP": ("crv", "x")}
_PRIVATE_MEMBERS = ("d", "p", "q", "dp", "dq", "qi", "k")


def _check_keys(values: dict, method: str | None, encryption: list, error) -> None:
    jwks, jwks_uri = values.get("jwks"), values.get("jwks_uri")
    if jwks is not None and jwks_uri is not None:
        error("jwks_uri", "set jwks or jwks_uri, not both")
    if method == "private_key_jwt" and jwks is None and jwks_uri is None:
        error("token_endpoint_auth_method", "private_key_jwt needs the client's public keys: "
              "set jwks or jwks_uri")
    for alg_key, _alg in encryption:
        if jwks is None and jwks_uri is None:
            error(alg_key, f"{alg_key}: encryption needs the client's public key: "
                  "set jwks or jwks_uri")
    if jwks is None:
        return
    keys = jwks.get("keys")
    if not isinstance(keys, list) or not all(isinstance(k, dict) for k in keys):
        error("jwks", 'jwks: expected a JWK set, {"keys": [{...}, ...]}')
        return
    for number, key in enumerate(keys, 1):
        members = _KEY_MEMBERS.get(key.get("kty"))
        if members is None:
            error("jwks", f"jwks: key {number} has kty '{key.get('kty')}' (expected RSA, EC or OKP)")
        elif private := [m for m in _PRIVATE_MEMBERS if m in key]:
            error("jwks", f"jwks: key {number} is a private key (has '{private[0]}'): "
                  "publish only the public half")
        elif missing := [m for m in members if m not in key]:
            error("jwks", f"jwks: key {number} lacks {', '.join(missing)}")
    for alg_key, alg in encryption:
        kty = "EC" if alg.startswith("ECDH") else "RSA"
        # The same choice as client_keys makes when it encrypts.
        if not any(k.get("kty") == kty and k.get("use", "enc") == "enc"
                   and k.get("alg") in (None, alg) for k in keys):
            error(alg_key, f"{alg_key}: jwks has no {kty} key usable for {alg} "
                  f"(kty {kty}, use enc)")


# -- URIs ----------------------------------------------------------------------------------

def _redirect_uri_problem(uri: str, *, public: bool) -> str | None:
    """What is wrong with a redirect (or post-logout redirect) URI, or None."""
    if not uri or any(c.isspace() for c in uri):
        return "is empty or contains spaces"
    if "#" in uri:
        return "must not contain a fragment (#)"       # RFC 6749 §3.1.2
    scheme = urlsplit(uri).scheme.lower()
    if scheme in ("https", "http"):
        return _web_uri_problem(uri)
    if not scheme:
        return "is not an absolute URI"
    if "." not in scheme:
        return (f"is not an absolute https URI, and '{scheme}:' is not a private-use scheme "
                "(a reverse domain name such as fr.ameli.app:, RFC 8252 §7.1)")
    if not public:
        return "uses a private-use scheme, allowed only for public clients " \
               "(token_endpoint_auth_method: none)"
    return None


def _web_uri_problem(uri: str) -> str | None:
    """An absolute https URI, or http on a loopback host (RFC 8252 §7.3, §8.3)."""
    if "#" in uri:
        return "must not contain a fragment (#)"
    parts = urlsplit(uri)
    if parts.scheme.lower() not in ("https", "http") or not parts.hostname:
        return "is not an absolute https URI"
    if "@" in parts.netloc:
        return "must not contain user information (user@)"
    try:
        _ = parts.port                     # raises on a non-numeric or out-of-range port
    except ValueError:
        return "has an invalid port"
    if parts.scheme.lower() == "http" and parts.hostname not in LOOPBACK_HOSTS:
        return ("uses http for a non-loopback host (only http://127.0.0.1, http://[::1] and "
                "http://localhost may use http)")
    return None


def _sector_of(sector_identifier_uri: str | None, redirect_uris: list[str]) -> str | None:
    """OIDC Registration §2: the host of sector_identifier_uri, else the one host shared
    by every redirect URI; None when they have several (or a private-use scheme)."""
    if sector_identifier_uri:
        return urlsplit(sector_identifier_uri).hostname
    hosts = {urlsplit(uri).hostname for uri in redirect_uris}
    return hosts.pop() if len(hosts) == 1 and None not in hosts else None


# -- small helpers -------------------------------------------------------------------------

def _item_lines(entry: _Mapping, key: str) -> list[int]:
    value = entry.get(key)
    if isinstance(value, _Sequence):
        return value.lines
    return [entry.lines.get(key, entry.line)] * len(value or [])


def _suggest(name: object, known: Iterable[str]) -> str:
    close = difflib.get_close_matches(str(name), list(known), n=1, cutoff=0.75)
    return f" (did you mean '{close[0]}'?)" if close else ""


def _kind_of(value: object) -> str:
    if isinstance(value, bool):
        return "a boolean"
    for kind, text in ((str, "a string"), (list, "a list"), (dict, "a mapping"),
                       ((int, float), "a number")):
        if isinstance(value, kind):
            return text
    return type(value).__name__


def _plain(value):
    """Plain dicts and lists (without line bookkeeping) for what the Client keeps."""
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value
