"""The provider's CPU per login, in this process (issue 15, the login side): the three logins
of ``bench.flows`` driven through Flask's test client — no HTTP server, no load generator —
each timed in this thread's CPU (``time.thread_time``: the SMTP sink's thread and the database
server are not counted), the argon2id verification timed apart and left out, and the SQL
statements and transactions each flow costs (SQLAlchemy's engine events).

    PYTHONPATH=. .venv/bin/python -m bench.login_profile [-n 30] [--db sqlite|postgres|both]
        [--requests] [--profile first|trusted|session] [--real-hash]

``--requests`` prints each request of a flow (ms CPU, statements, transactions); ``--profile``
prints cProfile's top functions for one kind of flow. The hash is the policy's unless
``--real-hash`` is not given: then a cheap argon2id (it is subtracted anyway). Not ``make
bench``: that one measures the servers from outside; this one says where a login's time goes.
"""

from __future__ import annotations

import argparse
import base64
import cProfile
import hashlib
import io
import pstats
import re
import secrets
import statistics
import tempfile
import time
from collections import defaultdict
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import parse_qs, urlencode, urlsplit

from bench.flows import PORTAL_ID, REDIRECT, portal_basic
from bench.provider import (
    SmtpSink,
    answers,
    postgres_backend,
    seed,
    sqlite_backend,
)

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
BASE = "http://127.0.0.1:5000"       # a loopback issuer: plain http allowed (and by Authlib)
CHEAP_HASH = {"ARGON2_MEMORY_KIB": 1024, "ARGON2_TIME_COST": 1, "ARGON2_PARALLELISM": 1}


class Meter:
    """CPU of this thread, statements and transactions, with the hash's CPU kept apart."""

    def __init__(self):
        self.hash_cpu = 0.0
        self.statements = 0
        self.transactions = 0
        self.reads = 0               # ``read_one``'s autocommit reads
        self.echo: list[str] | None = None

    def snapshot(self):
        return (time.thread_time(), self.hash_cpu, self.statements, self.transactions, self.reads)

    def since(self, before):
        now = self.snapshot()
        cpu, hashed, statements, transactions, reads = (a - b for a, b in zip(now, before, strict=True))
        return {"ms": (cpu - hashed) * 1000, "hash_ms": hashed * 1000, "statements": statements,
                "transactions": transactions, "reads": reads}


class TimedHasher:
    """The app's Hasher, its verifications timed (to be left out of a flow's CPU)."""

    def __init__(self, real, meter: Meter):
        self.real, self.meter = real, meter

    def _timed(self, name, *args):
        start = time.thread_time()
        try:
            return getattr(self.real, name)(*args)
        finally:
            self.meter.hash_cpu += time.thread_time() - start

    def verify(self, *args):
        return self._timed("verify", *args)

    def dummy_verify(self, *args):
        return self._timed("dummy_verify", *args)

    def hash(self, *args):
        return self._timed("hash", *args)

    def __getattr__(self, name):
        return getattr(self.real, name)


def count_sql(engine, meter: Meter) -> None:
    from sqlalchemy import event

    from idp.extensions import _reading

    @event.listens_for(engine, "before_cursor_execute")
    def _statement(_conn, _cursor, statement, *_args):
        if statement.startswith("BEGIN"):
            return
        meter.statements += 1
        if meter.echo is not None:
            meter.echo.append(statement.split("\n")[0][:110])

    @event.listens_for(engine, "begin")
    def _begin(_conn):
        if _reading.get():
            meter.reads += 1
        else:
            meter.transactions += 1


class Client:
    """A browser on the test client: follows the provider's redirects, stops at the client's."""

    def __init__(self, app, meter: Meter, trace: list | None = None):
        self.http = app.test_client()
        self.meter = meter
        self.page = ""
        self.trace = trace

    def _send(self, method, path, **kw):
        before = self.meter.snapshot()
        answer = self.http.open(path, method=method, base_url=BASE, **kw)
        if self.trace is not None:
            self.trace.append((f"{method} {path.split('?')[0]}", self.meter.since(before)))
        return answer

    def _settle(self, answer):
        for _ in range(10):
            location = answer.headers.get("Location")
            if answer.status_code not in (302, 303) or not location:
                self.page = answer.get_data(as_text=True)
                return answer.status_code, None
            if location.startswith(BASE):
                location = location[len(BASE):]
            if not location.startswith("/"):
                return answer.status_code, location
            answer = self._send("GET", location)
        raise RuntimeError("too many redirects")

    def get(self, path):
        return self._settle(self._send("GET", path))

    def post_form(self, action, data):
        token = CSRF.search(self.page)
        if token is None:
            raise RuntimeError(f"no CSRF token before {action}: {self.page[:300]}")
        return self._settle(self._send("POST", action, data={"csrf_token": token.group(1), **data}))

    def token(self, code, verifier):
        answer = self._send("POST", "/token", data={
            "grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT,
            "code_verifier": verifier}, headers={"Authorization": portal_basic()})
        assert answer.status_code == 200, answer.get_data(as_text=True)
        return answer.get_json()

    def userinfo(self, access_token):
        answer = self._send("GET", "/userinfo", headers={"Authorization": "Bearer " + access_token})
        assert answer.status_code == 200, answer.get_data(as_text=True)


def authorize_path():
    verifier = secrets.token_urlsafe(40)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    return "/authorize?" + urlencode({
        "client_id": PORTAL_ID, "response_type": "code", "scope": "openid profile email",
        "redirect_uri": REDIRECT, "state": secrets.token_urlsafe(8), "nonce": secrets.token_urlsafe(8),
        "code_challenge": challenge, "code_challenge_method": "S256"}), verifier


def code_of(location, step):
    if not location or not location.startswith(REDIRECT):
        raise RuntimeError(f"{step}: no redirect to the client: {location!r}")
    return parse_qs(urlsplit(location).query)["code"][0]


def first_login(browser: Client, who, sink, *, remember=False):
    path, verifier = authorize_path()
    status, _ = browser.get(path)
    assert status == 200, browser.page[:300]
    status, _ = browser.post_form("/login", {"nir": who.nir, "password": who.password})
    assert status == 200, browser.page[:300]
    status, _ = browser.post_form("/login/code/send", {})
    assert status == 200, browser.page[:300]
    form = {"code": sink.take_code(who.email)}
    if remember:
        form["remember_device"] = "1"
    _status, location = browser.post_form("/login/code", form)
    tokens = browser.token(code_of(location, "code"), verifier)
    browser.userinfo(tokens["access_token"])


def trusted_login(browser: Client, who):
    path, verifier = authorize_path()
    status, _ = browser.get(path)
    assert status == 200, browser.page[:300]
    _status, location = browser.post_form("/login", {"nir": who.nir, "password": who.password})
    browser.token(code_of(location, "password (trusted device)"), verifier)


def session_login(browser: Client):
    path, verifier = authorize_path()
    _status, location = browser.get(path)
    browser.token(code_of(location, "authorize (live session)"), verifier)


@contextmanager
def backend_for(name: str, folder: Path):
    backend = sqlite_backend(folder) if name == "sqlite" else postgres_backend(15, "profile")
    try:
        yield backend
    finally:
        backend.drop()


def make_app(backend, sink, folder: Path, real_hash: bool):
    from flask_migrate import upgrade

    from idp import create_app, keys
    from idp.config import load_demo_env
    load_demo_env()          # the shipped clients' secrets (bench.flows uses the portal's)
    config = {"SQLALCHEMY_DATABASE_URI": backend.database_uri, "SECRET_KEY": secrets.token_urlsafe(40),
              "KEY_ENCRYPTION_KEY": secrets.token_urlsafe(40), "ISSUER": BASE,
              "RATELIMIT_ENABLED": False, "RATELIMIT_STORAGE_URI": "memory://",
              "MAIL_SERVER": "127.0.0.1", "MAIL_PORT": sink.port, "MAIL_OUTBOX": str(folder / "outbox")}
    if not real_hash:
        config["POLICY"] = dict(CHEAP_HASH)
    app = create_app(config)
    with app.app_context():
        upgrade(directory=app.extensions["migrate"].directory, revision="heads")
        keys.ensure_keys()
    return app


KINDS = ("first", "trusted", "session")


def run(db_name: str, n: int, *, per_request: bool, profile: str | None, real_hash: bool,
        echo: str | None, callees: str | None = None) -> dict:
    folder = Path(tempfile.mkdtemp(prefix="idp-login-profile-"))
    sink = SmtpSink()
    try:
        with backend_for(db_name, folder) as backend:
            app = make_app(backend, sink, folder, real_hash)
            people = seed(app, 2 * n + 4)
            meter = Meter()
            from idp.domain import accounts
            from idp.extensions import db
            with app.app_context():
                count_sql(db.engine, meter)
                app.extensions["idp.hasher"] = TimedHasher(accounts.hasher(), meter)
            results = defaultdict(list)
            traces = defaultdict(list)
            profiler = cProfile.Profile(time.thread_time) if profile else None    # CPU, not waits

            def measure(kind, browser, action, i):
                trace = [] if per_request else None
                browser.trace = trace
                before = meter.snapshot()
                if profiler and kind == profile and i > 0:
                    profiler.enable()
                if echo == kind and i == 1:
                    meter.echo = []
                action(browser)
                if profiler:
                    profiler.disable()
                if meter.echo is not None:
                    print(f"-- SQL of one {kind} login ({len(meter.echo)}):")
                    print("\n".join(meter.echo))
                    meter.echo = None
                if i > 0:            # the first of each kind warms caches up
                    results[kind].append(meter.since(before))
                    if trace is not None:
                        traces[kind].append(trace)

            for i in range(n + 1):
                who, trusted_who = people[2 * i], people[2 * i + 1]
                live = Client(app, meter)
                measure("first", live, lambda b, who=who: first_login(b, who, sink), i)
                measure("session", live, session_login, i)
                remembered = Client(app, meter)
                first_login(remembered, trusted_who, sink, remember=True)
                device = Client(app, meter)
                cookie = remembered.http.get_cookie("idp_device", domain="127.0.0.1")
                device.http.set_cookie("idp_device", cookie.value, domain="127.0.0.1")
                measure("trusted", device, lambda b, who=trusted_who: trusted_login(b, who), i)
            with app.app_context():
                db.session.remove()
                db.engine.dispose()
            summary = {kind: _summary(rows) for kind, rows in results.items()}
            if per_request:
                for kind in KINDS:
                    _print_trace(db_name, kind, traces[kind])
            if profiler:
                out = io.StringIO()
                pstats.Stats(profiler, stream=out).sort_stats("cumulative").print_stats(45)
                print(out.getvalue())
                out = io.StringIO()
                stats = pstats.Stats(profiler, stream=out)
                stats.sort_stats("tottime").print_stats(30)
                if callees:
                    stats.sort_stats("cumulative").print_callees(callees)
                print(out.getvalue())
                _by_package(stats)
            return summary
    finally:
        sink.stop()


def _by_package(stats) -> None:
    """Own CPU by package (sqlalchemy, flask, jinja2, idp, ...): where a login's time goes."""
    totals = defaultdict(float)
    for (filename, _line, _name), (_cc, _nc, tottime, _ct, _callers) in stats.stats.items():
        if "site-packages/" in filename:
            package = filename.split("site-packages/")[1].split("/")[0]
        elif "/idp/" in filename:
            package = "idp." + filename.split("/idp/")[1].split("/")[0].removesuffix(".py")
        elif filename.startswith("~") or filename.startswith("<"):
            package = "builtins"
        else:
            package = "stdlib." + Path(filename).stem
        totals[package] += tottime
    whole = sum(totals.values())
    print("own CPU by package:")
    for package, seconds in sorted(totals.items(), key=lambda kv: -kv[1])[:25]:
        print(f"  {package:32} {100 * seconds / whole:5.1f} %")


def _summary(rows):
    return {"ms": statistics.median(r["ms"] for r in rows),
            "ms_min": min(r["ms"] for r in rows),
            "hash_ms": statistics.median(r["hash_ms"] for r in rows),
            "statements": statistics.median(r["statements"] for r in rows),
            "transactions": statistics.median(r["transactions"] for r in rows),
            "reads": statistics.median(r["reads"] for r in rows)}


def _print_trace(db_name, kind, traces):
    if not traces:
        return
    print(f"\n{db_name} {kind}: per request (median of {len(traces)})")
    for j, (label, _) in enumerate(traces[0]):
        rows = [t[j][1] for t in traces if len(t) > j]
        print(f"  {label:28} {statistics.median(r['ms'] for r in rows):6.2f} ms"
              f"  {statistics.median(r['statements'] for r in rows):3.0f} stmts"
              f"  {statistics.median(r['transactions'] for r in rows):2.0f} tx"
              f"  {statistics.median(r['reads'] for r in rows):2.0f} reads")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-n", type=int, default=30)
    parser.add_argument("--db", choices=("sqlite", "postgres", "both"), default="both")
    parser.add_argument("--requests", action="store_true")
    parser.add_argument("--profile", choices=KINDS)
    parser.add_argument("--echo", choices=KINDS, help="print the SQL of one login of that kind")
    parser.add_argument("--callees", help="with --profile: what these functions call (a regexp)")
    parser.add_argument("--real-hash", action="store_true")
    args = parser.parse_args()
    names = ["sqlite", "postgres"] if args.db == "both" else [args.db]
    if "postgres" in names and not answers("127.0.0.1", 5432):
        print("PostgreSQL does not answer on 127.0.0.1:5432: SQLite only")
        names.remove("postgres")
    table = {name: run(name, args.n, per_request=args.requests, profile=args.profile,
                       real_hash=args.real_hash, echo=args.echo, callees=args.callees) for name in names}
    print(f"\nms CPU of this process beyond the password hash, median of {args.n} (min), "
          "statements, write transactions, autocommit reads per flow")
    for name, summary in table.items():
        for kind in KINDS:
            s = summary[kind]
            print(f"  {name:8} {kind:8} {s['ms']:7.2f} ms ({s['ms_min']:6.2f})  hash {s['hash_ms']:6.1f} ms"
                  f"  {s['statements']:4.0f} stmts  {s['transactions']:3.0f} tx  {s['reads']:3.0f} reads")


if __name__ == "__main__":
    main()
