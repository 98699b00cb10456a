"""Configuration: defaults, ``IDP_*`` from the environment, validation.

Flask's ``from_prefixed_env("IDP")`` reads ``IDP_X`` into ``X`` (values parsed as JSON when
they parse, ``IDP_POLICY__CODE_TTL`` into ``POLICY["CODE_TTL"]``). Anything wrong stops the
start with one line naming the variable (``ConfigError``).
"""

from __future__ import annotations

import base64
import ipaddress
import logging
import os
import re
import secrets
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit

from flask import Flask, current_app

PROJECT_ROOT = Path(__file__).resolve().parent.parent


# The login pages' help links (seed 004, steps 1 and 3, cases 4 and 5: "notre tuto YouTube",
# "notre article sur ameli.fr", "Cliquez ici."; issue 13.2). The seeds name no address: both
# default to ameli.fr's help and contact page, the one page of ameli.fr this project links
# elsewhere; an operator points them at the current video and article.
HELP_VIDEO_URL = "https://www.ameli.fr/assure/adresses-et-contacts"
HELP_ARTICLE_URL = "https://www.ameli.fr/assure/adresses-et-contacts"


# The account portal whose tabs "Mes informations" shows (seed 000, step 0; issue 13.3):
# "Accueil", "Mes paiements", "Mes démarches", "Mon espace prévention" are pages of the portal,
# at these paths under ``PORTAL_URL`` (path, message id of its name; "" is its home page).
# In development the default is the demo portal (``idp.demo.portal``), which answers them.
DEMO_PORTAL_URL = "http://127.0.0.1:5001"
PORTAL_TABS = (("", "portal_tab_home"), ("paiements", "portal_tab_payments"),
               ("demarches", "portal_tab_procedures"), ("prevention", "portal_tab_prevention"))


class ConfigError(Exception):
    """A missing or wrong setting; its text is the one line shown at start."""

HOST_PREFIX = "__Host-"


def secure_cookie_name(name: str) -> str:
    """A cookie's name for the running app: ``__Host-`` prefixed when the issuer is https."""
    return HOST_PREFIX + name if current_app.config["SESSION_COOKIE_SECURE"] else name


def configure_logging() -> None:
    """One stderr handler on the ``idp`` logger (once per process)."""
    logger = logging.getLogger("idp")
    if not logger.handlers:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s"))
        logger.addHandler(handler)
        logger.setLevel(logging.INFO)
        logger.propagate = False


def defaults(instance_path: str) -> dict:
    instance = Path(instance_path)
    return {
        "ISSUER": "http://127.0.0.1:5000",
        "SQLALCHEMY_DATABASE_URI": f"sqlite:///{instance / 'idp.db'}",
        "SQLALCHEMY_ENGINE_OPTIONS": {},
        "RATELIMIT_STORAGE_URI": "memory://",
        "RATELIMIT_ENABLED": True,
        # Redis down must not open the door: limits fail closed (issue 6, documented).
        "RATELIMIT_SWALLOW_ERRORS": False,
        "RATELIMIT_HEADERS_ENABLED": False,
        "LOGIN_RATE_LIMIT_PER_IP": "60 per minute",
        "LOGIN_RATE_LIMIT_PER_NIR": "30 per minute",
        # Issue 11.5: each POST of a reset link's form may cost an argon2 verification (64 MiB):
        # a person types a new password a few times, a script hundreds.
        "PASSWORD_RESET_RATE_LIMIT_PER_IP": "10 per minute",
        "MAIL_SERVER": None,
        "MAIL_PORT": 25,
        "MAIL_USE_TLS": False,
        "MAIL_USE_SSL": False,
        "MAIL_USERNAME": None,
        "MAIL_PASSWORD": None,
        "MAIL_DEFAULT_SENDER": "Votre Assurance Maladie <ne-pas-repondre@app.assurance-maladie.fr>",
        "MAIL_TIMEOUT": 10,            # seconds for a whole SMTP exchange (issue 11.11)
        "MAIL_CA_FILE": None,          # the relay's CA (PEM); unset: the system's trust store
        "MAIL_QUEUE": True,            # registration and reset mails leave the request (issue 11.11)
        "MAIL_OUTBOX": str(instance / "outbox"),
        "CLIENTS_FILE": "clients.yaml",
        "FRANCECONNECT_DISCOVERY_URL": None,
        "FRANCECONNECT_CLIENT_ID": None,
        "FRANCECONNECT_CLIENT_SECRET": None,
        "FRANCECONNECT_ACR_VALUES": "eidas1",
        # acr announced for each way of logging in (issue 3: mapped through configuration).
        "ACR_BY_METHOD": {"pwd_mail": "eidas1", "pwd_device": "eidas1", "pwd": "eidas1",
                          "passkey": "eidas1"},
        "POLICY": {},
        "KEY_ENCRYPTION_KEY": None,
        "SESSION_COOKIE_NAME": "idp_session",
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "WTF_CSRF_TIME_LIMIT": None,   # the form lives as long as the login journey
        "PROXY_FIX": None,             # e.g. {"x_for": 1, "x_proto": 1, "x_host": 1}
        "METRICS_TOKEN": None,         # /metrics needs "Authorization: Bearer <token>" when set
        "HELP_VIDEO_URL": HELP_VIDEO_URL,      # "notre tuto YouTube" (issue 13.2)
        "HELP_ARTICLE_URL": HELP_ARTICLE_URL,  # "notre article sur ameli.fr", "Cliquez ici."
        # The portal of the account page's tabs (issue 13.3); unset: the demo portal on a
        # development (http) issuer, no tabs on an https one.
        "PORTAL_URL": None,
        # Issue 14, passkeys (WebAuthn): the RP ID and the origins an assertion may come from;
        # unset, the issuer's host and origin (``_passkey_settings``).
        "PASSKEY_RP_ID": None,
        "PASSKEY_ORIGINS": None,
        # Issue 14: the ameli app's identities, from which the association files and the
        # Android passkey origins are made (``native_apps``); unset, no file is served.
        "NATIVE_APPS": None,
    }


DEMO_ENV = PROJECT_ROOT / "demo.env"


def load_demo_env(path: Path = DEMO_ENV) -> list[str]:
    """Issue 13.9: in development only (the issuer from ``IDP_ISSUER``, or its default, is
    plain http, which ``load`` allows on a loopback host only), the demo secrets of
    ``demo.env`` fill the ``IDP_*`` variables that are unset, so that the CLI and the demo
    portal work outside ``make``. An https issuer (production) never reads it. Returns the
    names it set."""
    issuer = os.environ.get("IDP_ISSUER", defaults("")["ISSUER"])
    if urlsplit(issuer).scheme != "http" or not path.is_file():
        return []
    filled = []
    for line in path.read_text(encoding="utf-8").splitlines():
        name, sep, value = line.partition("=")
        name = name.strip()
        if not sep or name.startswith("#") or not name.startswith("IDP_") or name in os.environ:
            continue
        os.environ[name] = value.strip()
        filled.append(name)
    return filled


def load(app: Flask, test_config: dict | None) -> None:
    """Fill ``app.config`` and validate it; raise ConfigError with one clear line."""
    os.makedirs(app.instance_path, exist_ok=True)
    load_demo_env()
    app.config.from_mapping(defaults(app.instance_path))
    app.config.from_prefixed_env("IDP")
    if test_config:
        app.config.update(test_config)
    cfg = app.config

    if not cfg.get("SECRET_KEY"):
        cfg["SECRET_KEY"] = _instance_secret(app.instance_path, "secret_key")
    if not cfg.get("KEY_ENCRYPTION_KEY"):
        cfg["KEY_ENCRYPTION_KEY"] = _instance_secret(app.instance_path, "key_encryption_key")
    if len(str(cfg["SECRET_KEY"])) < 32:
        raise ConfigError("IDP_SECRET_KEY: must be at least 32 characters long")
    if len(str(cfg["KEY_ENCRYPTION_KEY"])) < 32:
        raise ConfigError("IDP_KEY_ENCRYPTION_KEY: must be at least 32 characters long")

    issuer = str(cfg["ISSUER"]).rstrip("/")
    parts = urlsplit(issuer)
    if parts.scheme not in ("http", "https") or not parts.netloc or parts.query or parts.fragment:
        raise ConfigError(f"IDP_ISSUER: expected an absolute http(s) URL, got {cfg['ISSUER']!r}")
    if parts.scheme == "http" and parts.hostname not in ("127.0.0.1", "localhost", "::1"):
        raise ConfigError("IDP_ISSUER: http is only allowed on a loopback host; use https")
    cfg["ISSUER"] = issuer
    # Issue 11.2: a request naming another host (Host, or X-Forwarded-Host under PROXY_FIX)
    # is refused, so that nothing is ever built from an attacker's host name. A loopback
    # issuer (development only) answers every loopback name.
    if not cfg.get("TRUSTED_HOSTS"):
        loopback = ["127.0.0.1", "localhost", "::1"]
        cfg["TRUSTED_HOSTS"] = loopback if parts.hostname in loopback else [parts.hostname]
    # Every cookie is Secure when the issuer is https (issue 3, issue 6).
    cfg["SESSION_COOKIE_SECURE"] = parts.scheme == "https"
    # ... and named __Host-… (issue 11.15: Secure, Path=/, no Domain; see idp.transport).
    if cfg["SESSION_COOKIE_SECURE"] and not str(cfg["SESSION_COOKIE_NAME"]).startswith(HOST_PREFIX):
        cfg["SESSION_COOKIE_NAME"] = HOST_PREFIX + str(cfg["SESSION_COOKIE_NAME"])
    if cfg["SESSION_COOKIE_SECURE"] and (cfg.get("SESSION_COOKIE_DOMAIN")
                                         or cfg.get("SESSION_COOKIE_PATH") not in (None, "/")):
        # a browser drops a __Host- cookie that names a Domain or another Path: nobody could log in
        raise ConfigError("IDP_SESSION_COOKIE_DOMAIN and IDP_SESSION_COOKIE_PATH: must stay unset "
                          "with an https issuer (the session cookie is __Host-: Path=/, no Domain)")

    uri = str(cfg["SQLALCHEMY_DATABASE_URI"])
    if not uri.startswith(("sqlite:", "postgresql")):
        raise ConfigError(
            "IDP_SQLALCHEMY_DATABASE_URI: expected sqlite:///… or postgresql+psycopg://…")
    if uri.startswith("postgresql://") or uri.startswith("postgres://"):
        uri = "postgresql+psycopg://" + uri.split("://", 1)[1]
    cfg["SQLALCHEMY_DATABASE_URI"] = uri
    if uri.startswith("sqlite:"):
        cfg["SQLALCHEMY_ENGINE_OPTIONS"] = {"connect_args": {"timeout": 30}, **cfg["SQLALCHEMY_ENGINE_OPTIONS"]}
    # PostgreSQL: no pool_pre_ping (a round trip per checkout); idp.extensions.tune_engine
    # checks a pooled connection's socket instead.

    storage = str(cfg["RATELIMIT_STORAGE_URI"])
    if not storage.startswith(("memory://", "redis://", "rediss://")):
        raise ConfigError(
            f"IDP_RATELIMIT_STORAGE_URI: expected memory:// or redis://…, got {storage!r}")
    if storage.startswith("redis"):
        # A Redis that stops answering refuses the limited requests within a second, rather
        # than holding every worker.
        cfg["RATELIMIT_STORAGE_OPTIONS"] = {"socket_timeout": 1, "socket_connect_timeout": 1,
                                            **cfg.get("RATELIMIT_STORAGE_OPTIONS", {})}
    for flag in ("RATELIMIT_ENABLED", "MAIL_USE_TLS", "MAIL_USE_SSL"):
        cfg[flag] = _boolean(flag, cfg[flag])
    try:
        cfg["MAIL_PORT"] = int(cfg["MAIL_PORT"])
    except (TypeError, ValueError):
        raise ConfigError(f"IDP_MAIL_PORT: expected a port number, got {cfg['MAIL_PORT']!r}") from None

    fc = [cfg.get(f"FRANCECONNECT_{k}") for k in ("DISCOVERY_URL", "CLIENT_ID", "CLIENT_SECRET")]
    if any(fc) and not all(fc):
        raise ConfigError("IDP_FRANCECONNECT_DISCOVERY_URL, _CLIENT_ID and _CLIENT_SECRET "
                          "must be set together")

    for name in ("HELP_VIDEO_URL", "HELP_ARTICLE_URL"):
        link = urlsplit(str(cfg[name]))
        if link.scheme != "https" or not link.netloc:
            raise ConfigError(f"IDP_{name}: expected an absolute https URL, got {cfg[name]!r}")

    cfg["PORTAL_URL"] = _portal_url(cfg["PORTAL_URL"], development=parts.scheme == "http")
    cfg["NATIVE_APPS"] = native_apps(cfg.get("NATIVE_APPS"))
    _passkey_settings(cfg, parts)

    clients = Path(str(cfg["CLIENTS_FILE"]))
    if not clients.is_absolute():
        clients = PROJECT_ROOT / clients if not clients.exists() else clients.resolve()
    if not clients.is_file():
        raise ConfigError(f"IDP_CLIENTS_FILE: no such file: {clients}")
    cfg["CLIENTS_FILE"] = str(clients)


def _portal_url(value, *, development: bool) -> str | None:
    """The portal's base URL without its trailing slash: absolute, https (http on a loopback
    host only, as the issuer); unset, the demo portal in development, else none."""
    if value in (None, ""):
        return DEMO_PORTAL_URL if development else None
    link = urlsplit(str(value))
    if (link.scheme not in ("http", "https") or not link.netloc or link.query or link.fragment
            or (link.scheme == "http"
                and link.hostname not in ("127.0.0.1", "localhost", "::1"))):
        raise ConfigError("IDP_PORTAL_URL: expected an absolute https URL (http on a loopback "
                          f"host only), got {value!r}")
    return str(value).rstrip("/")
def _passkey_settings(cfg, issuer) -> None:
    """Issue 14: ``PASSKEY_RP_ID`` (a host name, never an IP address: WebAuthn refuses one)
    and ``PASSKEY_ORIGINS`` (a JSON list or comma-separated: ``https://host[:port]`` origins on
    the RP ID or under it, or an app's ``android:apk-key-hash:…``). Unset, the issuer's host
    and the issuer's origin; a loopback IP issuer (``make run``, the tests) gets ``localhost``
    and the issuer's origin on ``localhost``, where browsers allow passkeys."""
    rp_id = cfg.get("PASSKEY_RP_ID")
    host = issuer.hostname or ""
    port = f":{issuer.port}" if issuer.port else ""
    if not rp_id:
        rp_id = "localhost" if _is_ip(host) else host
        default_origin = f"{issuer.scheme}://{rp_id}{port}"
    else:
        rp_id = str(rp_id).strip().lower()
        default_origin = f"{issuer.scheme}://{issuer.netloc}"
    if not rp_id or _is_ip(rp_id) or "/" in rp_id or ":" in rp_id:
        raise ConfigError(f"IDP_PASSKEY_RP_ID: expected a host name (not an IP address), "
                          f"got {cfg.get('PASSKEY_RP_ID')!r}")
    raw = cfg.get("PASSKEY_ORIGINS")
    if raw is None or raw == "" or raw == []:
        origins = [default_origin]
    elif isinstance(raw, str):
        origins = [o.strip() for o in raw.split(",") if o.strip()]
    elif isinstance(raw, list) and all(isinstance(o, str) for o in raw):
        origins = [o.strip() for o in raw]
    else:
        raise ConfigError(f"IDP_PASSKEY_ORIGINS: expected a list of origins, got {raw!r}")
    for origin in origins:
        if origin.startswith("android:apk-key-hash:") and len(origin) > len("android:apk-key-hash:"):
            continue
        link = urlsplit(origin)
        on_rp_id = link.hostname is not None and (
            link.hostname == rp_id or link.hostname.endswith("." + rp_id))
        if link.scheme not in ("http", "https") or not on_rp_id or link.path or link.query \
                or link.fragment or link.username or (link.scheme == "http"
                                                      and link.hostname != "localhost"):
            raise ConfigError(f"IDP_PASSKEY_ORIGINS: {origin!r} is not an https origin on "
                              f"{rp_id} (nor http://localhost, nor android:apk-key-hash:…)")
    for origin in android_origins(cfg.get("NATIVE_APPS")):
        if origin not in origins:
            origins.append(origin)
    cfg["PASSKEY_RP_ID"] = rp_id
    cfg["PASSKEY_ORIGINS"] = origins


_NATIVE_KEYS = ("apple_app_ids", "apple_paths", "android_package", "android_cert_fingerprints")
_APPLE_APP_ID = re.compile(r"^[A-Z0-9]{10}\.[A-Za-z0-9.-]+$")       # TEAMID.bundle.id
_ANDROID_PACKAGE = re.compile(r"^[A-Za-z][A-Za-z0-9_]*(\.[A-Za-z][A-Za-z0-9_]*)+$")
_FINGERPRINT = re.compile(r"^[0-9A-F]{2}(:[0-9A-F]{2}){31}$")


def native_apps(raw) -> dict | None:
    """Issue 14, ``IDP_NATIVE_APPS``: the ameli app's identities, a JSON object of
    ``apple_app_ids`` (``TEAMID.bundle.id``), ``apple_paths`` (the universal-link paths of
    the app's claimed https redirects; default ``["/app/*"]``), ``android_package`` and
    ``android_cert_fingerprints`` (SHA-256 of the signing certificates, ``AB:CD:…``, as
    ``keytool`` prints them). Normalised: fingerprints in upper case with colons."""
    if raw in (None, "", {}):
        return None
    if not isinstance(raw, dict) or set(raw) - set(_NATIVE_KEYS):
        raise ConfigError(f"IDP_NATIVE_APPS: expected an object of {', '.join(_NATIVE_KEYS)}")
    apple = raw.get("apple_app_ids") or []
    paths = raw.get("apple_paths") or ["/app/*"]
    package = raw.get("android_package")
    prints = raw.get("android_cert_fingerprints") or []
    if not isinstance(apple, list) or not all(isinstance(a, str) and _APPLE_APP_ID.match(a)
                                              for a in apple):
        raise ConfigError("IDP_NATIVE_APPS: apple_app_ids: expected a list of TEAMID.bundle.id")
    if not isinstance(paths, list) or not all(isinstance(p, str) and p.startswith("/")
                                              for p in paths):
        raise ConfigError("IDP_NATIVE_APPS: apple_paths: expected a list of paths (/…)")
    if not isinstance(prints, list) or not all(isinstance(f, str) for f in prints):
        raise ConfigError("IDP_NATIVE_APPS: android_cert_fingerprints: expected a list")
    normalised = []
    for value in prints:
        digits = value.replace(":", "").strip().upper()
        text = ":".join(digits[i:i + 2] for i in range(0, len(digits), 2))
        if not _FINGERPRINT.match(text):
            raise ConfigError("IDP_NATIVE_APPS: android_cert_fingerprints: expected SHA-256 "
                              f"fingerprints (32 hexadecimal bytes), got {value!r}")
        normalised.append(text)
    if (package is None) != (not normalised) or (
            package is not None and not (isinstance(package, str) and _ANDROID_PACKAGE.match(package))):
        raise ConfigError("IDP_NATIVE_APPS: android_package (a package name such as fr.ameli.app)"
                          " and android_cert_fingerprints go together")
    if not apple and package is None:
        return None
    return {"apple_app_ids": apple, "apple_paths": paths, "android_package": package,
            "android_cert_fingerprints": normalised}


def android_origins(apps: dict | None) -> list[str]:
    """The WebAuthn origin of the Android app for each signing certificate:
    ``android:apk-key-hash:`` and the base64url (unpadded) of the SHA-256 bytes."""
    return ["android:apk-key-hash:" + base64.urlsafe_b64encode(
                bytes.fromhex(fp.replace(":", ""))).rstrip(b"=").decode()
            for fp in (apps or {}).get("android_cert_fingerprints", [])]


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return False
    return True


def _boolean(name: str, value) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("1", "true", "yes", "on"):
        return True
    if text in ("0", "false", "no", "off"):
        return False
    raise ConfigError(f"IDP_{name}: expected true or false, got {value!r}")


def _instance_secret(instance_path: str, name: str) -> str:
    """A random secret generated once into the instance folder (single-machine default)."""
    path = Path(instance_path) / name
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        pass  # made by another worker or an earlier start
    else:
        with os.fdopen(fd, "w") as f:
            f.write(secrets.token_urlsafe(48))
    for _ in range(50):  # another worker may be writing it right now
        value = path.read_text().strip()
        if value:
            return value
        time.sleep(0.01)
    raise ConfigError(f"{path}: empty secret file; delete it to regenerate")
