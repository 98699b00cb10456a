"""The peer measured in the same run (issue 15): node-oidc-provider 9 (``bench/peer.mjs``, one
Node process, in-memory store) with the provider's argon2id parameters behind its login and a
code mailed to the benchmark's SMTP sink; and the login walkers for its interaction pages.

The peer answers the provider's paths (/authorize, /token, /userinfo, /introspect, /jwks) with
the same ``portal`` client, secret and redirect URI, so that the steady scenarios and the
existing-session login send the same requests to both. Only the login pages differ: the
walkers here follow the form actions of the peer's pages instead of the provider's paths.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

from . import flows
from .provider import Backend, free_port, stop_process, wait_until_up

HERE = Path(__file__).resolve().parent
PROGRAM = HERE / "peer.mjs"
ACTION = re.compile(rb'<form method="post" action="([^"]+)"')
SESSION_COOKIES = ("_session", "_session.sig")
DEVICE_COOKIES = ("peer_device",)


def unavailable() -> str | None:
    """Why the peer cannot run here, or None."""
    if shutil.which("node") is None or shutil.which("npm") is None:
        return "node/npm not found on PATH (install Node.js 20.19+ and run make bench again)"
    if not (HERE / "node_modules" / "oidc-provider").is_dir():
        return "bench/node_modules is missing (make bench runs npm ci in bench/; it failed or was skipped)"
    return None


def node_version() -> str:
    done = subprocess.run(["node", "--version"], capture_output=True, text=True)
    return done.stdout.strip()


def peer_version() -> str:
    meta = HERE / "node_modules" / "oidc-provider" / "package.json"
    return json.loads(meta.read_text())["version"]


class Peer:
    """``node bench/peer.mjs``, with the shape of ``provider.Provider`` that the scenarios use
    (``base``, ``process``, ``backend``, ``log_problems``)."""

    def __init__(self, sink, folder: Path, accounts: int, argon2: dict):
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.backend = Backend("peer", "memory (node-oidc-provider's in-memory adapter)", "memory://")
        self.log = folder / "node-peer.log"
        self.env = {**os.environ, "PEER_PORT": str(self.port), "PEER_ISSUER": self.base,
                    "PEER_ACCOUNTS": str(accounts), "PEER_SMTP_PORT": str(sink.port),
                    "PEER_PORTAL_SECRET": flows.portal_secret(), "PEER_REDIRECT_URI": flows.REDIRECT,
                    "PEER_ARGON2_MEMORY_KIB": str(argon2["memory_kib"]),
                    "PEER_ARGON2_TIME_COST": str(argon2["time_cost"]),
                    "PEER_ARGON2_PARALLELISM": str(argon2["parallelism"]),
                    "NODE_ENV": "production"}
        self.process = None

    def start(self) -> None:
        with open(self.log, "ab") as out:
            self.process = subprocess.Popen(["node", str(PROGRAM)], cwd=HERE, env=self.env,
                                            stdout=out, stderr=out)
        wait_until_up(self.base + "/.well-known/openid-configuration", self.process, self.log)

    def stop(self) -> None:
        stop_process(self.process)

    def log_problems(self) -> dict:
        text = self.log.read_text(errors="replace") if self.log.exists() else ""
        errors = [x for x in text.splitlines() if "error" in x.lower()]
        return {"tracebacks": text.count("\n    at "), "error_lines": len(errors),
                "first_error_lines": errors[:5], "first_traceback": None, "log": str(self.log)}


# -- the walkers (the same steps as ``flows``, on the peer's pages) -------------------------------

def _post_page_form(browser: flows.Browser, data: dict):
    found = ACTION.search(browser.page)
    if found is None:
        raise flows.FlowError(f"no form on the peer's page: {browser.page[:200]!r}")
    return browser.post_form(found.group(1).decode(), data)


def first_login(base: str, who, sink, *, remember: bool = False) -> tuple[flows.Browser, dict]:
    browser = flows.Browser(base)
    path, verifier = flows.authorize_path()
    status, _ = browser.get(path)
    flows.expect(status, "authorize", browser)
    status, _ = _post_page_form(browser, {"nir": who.nir, "password": who.password})
    flows.expect(status, "password", browser)
    status, _ = _post_page_form(browser, {})
    flows.expect(status, "send code", browser)
    form = {"code": sink.take_code(who.email)}
    if remember:
        form["remember_device"] = "1"
    _status, location = _post_page_form(browser, form)
    tokens = flows.exchange(browser, flows.code_from(location, "code"), verifier)
    flows.userinfo(browser, tokens["access_token"])
    return browser, tokens


def trusted_login(base: str, who, device_cookies: dict) -> dict:
    browser = flows.Browser(base, device_cookies)
    path, verifier = flows.authorize_path()
    status, _ = browser.get(path)
    flows.expect(status, "authorize", browser)
    _status, location = _post_page_form(browser, {"nir": who.nir, "password": who.password})
    return flows.exchange(browser, flows.code_from(location, "password (trusted device)"), verifier)


session_login = flows.session_login
