"""The measurements on a running provider: the three logins (Python client threads) and the
steady endpoints (wrk, or the Python fallback). Each one has a short warm-up whose figures
are thrown away, then the timed window; each records the cores used by every party."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from urllib.parse import urlencode

from . import flows, load
from .cpu import CpuMeter, attach

SCENARIOS = ("first_login", "trusted_device_login", "session_login", "discovery", "jwks",
             "userinfo", "introspection", "refresh")
LOGINS = ("first_login", "trusted_device_login")        # the scenarios that verify a password


@dataclass
class Settings:
    seconds: float
    warmup: float
    flow_threads: int          # client threads walking logins
    connections: int           # wrk connections (or Python threads) on the steady endpoints
    chains: int                # refresh-token chains, one per wrk thread
    use_wrk: bool


@dataclass
class Live:
    """What the measurements share on one running provider."""
    provider: object           # provider.Provider or peer.Peer
    sink: object
    people: list               # accounts never logged in yet, for first logins
    walkers: object = flows    # the module whose login walkers fit its pages (flows or peer)
    returning: list = field(default_factory=list)   # (person, device cookies, session cookies)
    _next: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def base(self) -> str:
        return self.provider.base

    @property
    def used(self) -> int:
        return self._next

    def fresh_person(self):
        with self._lock:
            if self._next >= len(self.people):
                raise RuntimeError("the pool of fresh accounts is used up (raise --accounts)")
            self._next += 1
            return self.people[self._next - 1]

    def session_browser(self, i: int) -> flows.Browser:
        return flows.Browser(self.base, self.returning[i % len(self.returning)][2])

    def fresh_tokens(self, i: int = 0) -> dict:
        return self.walkers.session_login(self.session_browser(i))


def prepare_returning(live: Live, count: int) -> None:
    """People who logged in once with "Se souvenir de cet appareil": their trusted-device
    cookie and their provider session serve the trusted-device and existing-session logins."""
    for _ in range(count):
        who = live.fresh_person()
        browser, _tokens = live.walkers.first_login(live.base, who, live.sink, remember=True)
        live.returning.append((who, _cookies(browser, live.walkers.DEVICE_COOKIES),
                               _cookies(browser, live.walkers.SESSION_COOKIES)))


def _cookies(browser: flows.Browser, names: tuple) -> dict:
    missing = [n for n in names if n not in browser.cookies]
    if missing:
        raise flows.FlowError(f"the login left no cookie {', '.join(missing)}: {sorted(browser.cookies)}")
    return {n: browser.cookies[n] for n in names}


# -- one measurement -------------------------------------------------------------------------------

def measure(name: str, live: Live, settings: Settings, *, warmup: bool = True) -> dict:
    """Warm up (unless the provider is warm already), then measure ``name``; the result
    carries the cores each party used."""
    run = RUNNERS[name]
    if warmup and settings.warmup > 0:
        run(live, settings, settings.warmup)
    backend = live.provider.backend
    hashed = getattr(live.provider, "hash_cpu_seconds", None) if name in LOGINS else None
    before = hashed() if hashed else None
    with CpuMeter(live.provider.process.pid, database=backend.pg_database,
                  redis=backend.ratelimit_uri.startswith("redis")) as meter:
        result = run(live, settings, settings.seconds)
    after = hashed() if hashed else None
    attach(result, meter.result)
    if before is not None and after is not None and result.get("count"):
        # The server's own argon2 time per login, and what the login cost beyond it: the
        # figure issue 15's first target is about (the peer reports no such counter).
        result["hash_cpu_ms"] = round((after - before) * 1000 / result["count"], 2)
        if result.get("server_cpu_ms") is not None:
            result["beyond_hash_ms"] = round(result["server_cpu_ms"] - result["hash_cpu_ms"], 2)
    return result


def _flow_tool(settings: Settings) -> str:
    return f"python http.client x{settings.flow_threads} threads"


def _first_login(live, settings, seconds):
    def work(_state):
        live.walkers.first_login(live.base, live.fresh_person(), live.sink)
    return load.run_threads(work, threads=settings.flow_threads, seconds=seconds,
                            tool=_flow_tool(settings))


def _trusted_login(live, settings, seconds):
    def work(i):
        who, device, _session = live.returning[i % len(live.returning)]
        live.walkers.trusted_login(live.base, who, device)
    return load.run_threads(work, threads=settings.flow_threads, seconds=seconds,
                            make_state=lambda i: i, tool=_flow_tool(settings))


def _session_login(live, settings, seconds):
    return load.run_threads(live.walkers.session_login, threads=settings.flow_threads, seconds=seconds,
                            make_state=live.session_browser, tool=_flow_tool(settings))


def steady(base, settings, seconds, method, path, headers=None, body=None):
    """The same request again and again: wrk, or the Python fallback."""
    if settings.use_wrk:
        return load.run_wrk(base + path, load.lua_fixed(method, headers, body),
                            seconds=round(seconds), connections=settings.connections)
    endpoint = load.Endpoint(base, method, path, headers, body)
    return load.python_fixed(endpoint, seconds=seconds, connections=settings.connections)


def _discovery(live, settings, seconds):
    return steady(live.base, settings, seconds, "GET", "/.well-known/openid-configuration")


def _jwks(live, settings, seconds):
    return steady(live.base, settings, seconds, "GET", "/jwks")


def _userinfo(live, settings, seconds):
    token = live.fresh_tokens()["access_token"]
    return steady(live.base, settings, seconds, "GET", "/userinfo", {"Authorization": "Bearer " + token})


def _introspection(live, settings, seconds):
    token = live.fresh_tokens()["access_token"]
    return steady(live.base, settings, seconds, "POST", "/introspect",
                   {"Authorization": flows.portal_basic(),
                    "Content-Type": "application/x-www-form-urlencoded"},
                   urlencode({"token": token, "token_type_hint": "access_token"}))


def _refresh(live, settings, seconds):
    """Each chain starts from a login of its own; every request spends the previous answer's
    refresh token (they rotate, and a reuse would revoke the family)."""
    tokens = [live.fresh_tokens(i)["refresh_token"] for i in range(settings.chains)]
    if settings.use_wrk:
        return load.run_wrk(live.base + "/token", load.lua_refresh_chains(tokens, flows.portal_basic()),
                            seconds=round(seconds), connections=settings.chains, threads=settings.chains)
    endpoint = load.Endpoint(live.base, "POST", "/token",
                             {"Authorization": flows.portal_basic(),
                              "Content-Type": "application/x-www-form-urlencoded"})
    return load.python_refresh_chains(endpoint, tokens, seconds=seconds)


RUNNERS = {"first_login": _first_login, "trusted_device_login": _trusted_login,
           "session_login": _session_login, "discovery": _discovery, "jwks": _jwks,
           "userinfo": _userinfo, "introspection": _introspection, "refresh": _refresh}
