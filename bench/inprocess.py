"""The token endpoints' cost in this process, without HTTP: userinfo, introspection, the
refresh grant and the code grant called as WSGI requests on the app (its middlewares and
Flask included), so that a change is measured in seconds rather than in a ``make bench`` run.
CPU time per request (best of ``--rounds`` rounds), optionally a cProfile of one of them, and
the SQL round trips a request makes.

    python -m bench.inprocess [--database sqlite|postgres] [--n 300] [--profile refresh]

PostgreSQL is the bench's (127.0.0.1:5432, a database of this run's own, dropped after; Redis
on 6379 for the limits, as ``make bench`` runs it)."""

from __future__ import annotations

import argparse
import base64
import cProfile
import io
import json
import os
import pstats
import secrets
import tempfile
import time
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlencode

from bench import provider

ISSUER = "http://127.0.0.1:5000"


def _app(backend):
    from idp import create_app
    return create_app({"SQLALCHEMY_DATABASE_URI": backend.database_uri,
                       "SECRET_KEY": secrets.token_urlsafe(40),
                       "KEY_ENCRYPTION_KEY": secrets.token_urlsafe(40),
                       "ISSUER": ISSUER, "RATELIMIT_ENABLED": False,
                       "RATELIMIT_STORAGE_URI": backend.ratelimit_uri})


def _prepare(app):
    """Schema, keys, one account, one live provider session; returns (account id, sid)."""
    from flask_migrate import upgrade

    from idp import clock, keyed, keys
    from idp.domain import accounts
    from idp.extensions import db
    from idp.models import ProviderSession
    with app.app_context():
        upgrade(directory=app.extensions["migrate"].directory, revision="heads")
        keys.ensure_keys()
        account = accounts.create(nir="1850175000001", password="Bench-2024!", email="b@bench.example",
                                  given_name="Camille", family_name="BENCH", birthdate="1985-01-15",
                                  gender="female", birthplace="75056", fund="CPAM de Paris")
        now = clock.now()
        sid = keyed.token(16)
        db.session.add(ProviderSession(id=sid, account_id=account.id, auth_time=now, amr=["pwd"],
                                       acr="eidas1", created_at=now, expires_at=now + timedelta(hours=8),
                                       clients=["portal"]))
        db.session.commit()
        account_id = account.id
        db.session.remove()
    return account_id, sid


def _code(app, account_id, sid) -> str:
    from idp import clock, keyed
    from idp.oidc import tokens
    code = keyed.token(32)
    with app.app_context():
        now = clock.now()
        tokens.save_code(code, client_id="portal", account_id=account_id,
                         redirect_uri="http://127.0.0.1:5001/callback", scope="openid profile email",
                         nonce="n", claims=None, code_challenge=None, code_challenge_method=None,
                         auth_time=now, acr="eidas1", amr=["pwd"], sid=sid,
                         expires_at=now + timedelta(minutes=1), dpop_jkt=None)
    return code


def _environ(method: str, path: str, headers: dict, body: bytes = b"") -> dict:
    environ = {"REQUEST_METHOD": method, "PATH_INFO": path, "SCRIPT_NAME": "", "QUERY_STRING": "",
               "SERVER_NAME": "127.0.0.1", "SERVER_PORT": "5000", "SERVER_PROTOCOL": "HTTP/1.1",
               "REMOTE_ADDR": "127.0.0.1", "HTTP_HOST": "127.0.0.1:5000",
               "wsgi.url_scheme": "http", "wsgi.input": io.BytesIO(body), "wsgi.errors": io.StringIO(),
               "wsgi.multithread": False, "wsgi.multiprocess": True, "wsgi.run_once": False,
               "wsgi.version": (1, 0)}
    if body:
        environ["CONTENT_TYPE"] = "application/x-www-form-urlencoded"
        environ["CONTENT_LENGTH"] = str(len(body))
    for name, value in headers.items():
        environ["HTTP_" + name.upper().replace("-", "_")] = value
    return environ


def _call(app, environ) -> tuple[str, bytes]:
    status = []
    body = b"".join(app(environ, lambda s, h, e=None: status.append(s)))
    return status[0], body


def _basic() -> str:
    return "Basic " + base64.b64encode(f"portal:{provider.DEFAULT_SECRETS['IDP_PORTAL_SECRET']}".encode()).decode()


class Scenarios:
    def __init__(self, app, account_id, sid):
        self.app, self.account_id, self.sid = app, account_id, sid
        self.tokens = self.exchange()

    def exchange(self) -> dict:
        code = _code(self.app, self.account_id, self.sid)
        body = urlencode({"grant_type": "authorization_code", "code": code,
                          "redirect_uri": "http://127.0.0.1:5001/callback"}).encode()
        status, answer = _call(self.app, _environ("POST", "/token", {"Authorization": _basic()}, body))
        assert status.startswith("200"), (status, answer)
        return json.loads(answer)

    def environ(self, name: str) -> dict:
        if name == "userinfo":
            return _environ("GET", "/userinfo", {"Authorization": "Bearer " + self.tokens["access_token"]})
        if name == "introspection":
            body = urlencode({"token": self.tokens["access_token"]}).encode()
            return _environ("POST", "/introspect", {"Authorization": _basic()}, body)
        if name == "refresh":
            body = urlencode({"grant_type": "refresh_token",
                              "refresh_token": self.tokens["refresh_token"]}).encode()
            return _environ("POST", "/token", {"Authorization": _basic()}, body)
        raise ValueError(name)

    def once(self, name: str) -> float:
        """One request; its CPU seconds (the code grant's code is made outside the timing)."""
        if name == "code":
            code = _code(self.app, self.account_id, self.sid)
            body = urlencode({"grant_type": "authorization_code", "code": code,
                              "redirect_uri": "http://127.0.0.1:5001/callback"}).encode()
            environ = _environ("POST", "/token", {"Authorization": _basic()}, body)
        else:
            environ = self.environ(name)
        started = time.process_time()
        status, answer = _call(self.app, environ)
        spent = time.process_time() - started
        assert status.startswith("200"), (name, status, answer)
        if name in ("refresh", "code"):
            self.tokens = json.loads(answer)
        return spent


SCENARIOS = ("userinfo", "introspection", "refresh", "code")


def _statements(app, scenarios: Scenarios, name: str) -> list[str]:
    from sqlalchemy import event

    from idp.extensions import db
    seen = []
    with app.app_context():
        engine = db.engine

    def note(conn, cursor, statement, *args):
        seen.append(statement.split()[0] if statement.strip() else statement)

    def begin(conn):
        seen.append("(begin)")

    def commit(conn):
        seen.append("(commit)")

    def rollback(conn):
        seen.append("(rollback)")
    event.listen(engine, "before_cursor_execute", note)
    event.listen(engine, "begin", begin)
    event.listen(engine, "commit", commit)
    event.listen(engine, "rollback", rollback)
    try:
        scenarios.once(name)
    finally:
        event.remove(engine, "before_cursor_execute", note)
        event.remove(engine, "begin", begin)
        event.remove(engine, "commit", commit)
        event.remove(engine, "rollback", rollback)
    return seen


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("--n", type=int, default=300, help="requests per round")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--only", nargs="*", choices=SCENARIOS, default=list(SCENARIOS))
    parser.add_argument("--profile", choices=SCENARIOS)
    parser.add_argument("--sql", action="store_true", help="print the statements of one request each")
    parser.add_argument("--marks", type=int, default=0,
                        help="after warming, N requests of each scenario between marks written to "
                             "stderr, for counting round trips under strace -e sendto")
    args = parser.parse_args(argv)
    folder = Path(tempfile.mkdtemp(prefix="idp-inprocess-"))
    backend = (provider.sqlite_backend(folder) if args.database == "sqlite"
               else provider.postgres_backend(redis_db=14, tag="inprocess"))
    try:
        app = _app(backend)
        scenarios = Scenarios(app, *_prepare(app))
        for name in args.only:
            for _ in range(20):
                scenarios.once(name)            # warm: caches, pools, keys
        if args.sql:
            for name in args.only:
                seen = _statements(app, scenarios, name)
                print(f"{name:14} {len([s for s in seen if not s.startswith('(')])} statements: "
                      + " ".join(seen))
        if args.marks:
            for name in args.only:
                os.write(2, f"@@start {name}\n".encode())
                for _ in range(args.marks):
                    scenarios.once(name)
                os.write(2, b"@@end\n")
            return
        if args.profile:
            profiler = cProfile.Profile(time.process_time)     # CPU, not the waits on the database
            profiler.enable()
            for _ in range(args.n):
                scenarios.once(args.profile)
            profiler.disable()
            pstats.Stats(profiler).sort_stats("cumulative").print_stats(45)
            return
        for name in args.only:
            best = min(sum(scenarios.once(name) for _ in range(args.n)) / args.n
                       for _ in range(args.rounds))
            print(f"{args.database:8} {name:14} {best * 1000:6.3f} ms CPU/request (best of {args.rounds} x {args.n})")
    finally:
        from idp.extensions import db
        try:
            with app.app_context():
                db.engine.dispose()
        except NameError:
            pass
        backend.drop()


if __name__ == "__main__":
    main()
