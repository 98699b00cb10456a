"""The speed benchmark of issues 6 and 15: ``make bench`` (or ``python -m bench.run --help``).

Measures, on this machine, the hash and server ceilings, then the provider under
``gunicorn -w 2`` (and, with ``--servers gunicorn,granian``, under granian too) on SQLite
(memory:// limits) and on PostgreSQL + Redis, each on a fresh database, and its peer
node-oidc-provider 9 (``bench/peer.mjs``) in the same run: the three kinds of login, and
steady load on discovery, JWKS, userinfo, introspection and the refresh grant. Writes
``bench/results/bench-<time>.json`` (the servers' logs beside it) and prints a table with
issue 6's targets, the peer's figures of this run and the ratio to them.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

from . import ceilings, load, peer, report, scenarios
from .cpu import CpuMeter, attach
from .provider import (
    DEFAULT_SECRETS,
    GRANIAN_THREADS,
    ROOT,
    SERVERS,
    Provider,
    SmtpSink,
    answers,
    person,
    postgres_backend,
    seed,
    server_unavailable,
    sqlite_backend,
)

RESULTS = Path(__file__).resolve().parent / "results"


def parse_args(argv=None):
    parser = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=3, help="runs of every measurement (default 3)")
    parser.add_argument("--seconds", type=float, default=6, help="length of each measurement (default 6)")
    parser.add_argument("--warmup", type=float, default=1, help="warm-up before the first run of each measurement (default 1)")
    parser.add_argument("--only", choices=["sqlite", "postgres"], help="one backend only")
    parser.add_argument("--quick", action="store_true", help="a smoke run: 1 run of 2 s, 1 s warm-up")
    parser.add_argument("--scenarios", default=",".join(scenarios.SCENARIOS),
                        help="comma-separated subset of: " + ", ".join(scenarios.SCENARIOS))
    parser.add_argument("--no-ceilings", action="store_true", help="skip the hash and server ceilings")
    parser.add_argument("--flow-threads", type=int, default=4, help="client threads walking logins (4)")
    parser.add_argument("--connections", type=int, default=8, help="connections on steady endpoints (8)")
    parser.add_argument("--chains", type=int, default=4, help="refresh-token chains (4)")
    parser.add_argument("--workers", type=int, default=2, help="server workers (2)")
    parser.add_argument("--servers", default="gunicorn",
                        help="comma-separated WSGI servers to run the provider under: " + ", ".join(SERVERS)
                        + " (default gunicorn)")
    parser.add_argument("--granian-threads", type=int, default=GRANIAN_THREADS,
                        help=f"Python threads per granian worker (--blocking-threads; default {GRANIAN_THREADS})")
    parser.add_argument("--no-peer", action="store_true", help="skip node-oidc-provider (bench/peer.mjs)")
    parser.add_argument("--accounts", type=int, help="accounts to seed (default: enough for the runs)")
    parser.add_argument("--redis-db", type=int, default=9, help="Redis database number for the limits (9; the next ones for the other --servers)")
    parser.add_argument("--python-load", action="store_true", help="use the Python load generator, not wrk")
    parser.add_argument("--output", type=Path, help="JSON file (default bench/results/bench-<time>.json)")
    parser.add_argument("--show", type=Path, metavar="JSON", help="print the table of an earlier result and stop")
    args = parser.parse_args(argv)
    if args.quick:
        args.runs, args.seconds, args.warmup = 1, 2, 1
    args.scenarios = [s for s in args.scenarios.split(",") if s]
    args.servers = [s for s in args.servers.split(",") if s]
    if not args.servers or set(args.servers) - set(SERVERS):
        parser.error(f"--servers: a comma-separated subset of {', '.join(SERVERS)}")
    unknown = set(args.scenarios) - set(scenarios.SCENARIOS)
    if unknown:
        parser.error(f"unknown scenarios: {', '.join(sorted(unknown))}")
    return args


def say(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def line_for(name: str, m: dict) -> str:
    cpu = m.get("cpu_cores", {})
    return (f"{name:<22} {m['rate']:>9.1f}/s  p50 {m['p50_ms']} p95 {m['p95_ms']} p99 {m['p99_ms']} ms  "
            f"errors {m['errors']}  server cpu {m.get('server_cpu_ms')} ms/op  cores: provider {cpu.get('provider')} db {cpu.get('database')} "
            f"client {cpu.get('client')} other {cpu.get('other')}" + (f"  ! {m['error_samples'][0]}" if m.get("error_samples") else ""))


# -- ceilings -------------------------------------------------------------------------------------------

def measure_ceilings(run: int, args, servers: dict, found: dict) -> None:
    """One run of the hash ceiling and of each server's static ceiling, added to ``found``."""
    with CpuMeter(None) as meter:
        m = ceilings.argon2_bound(args.seconds, processes=args.workers)
    attach(m, meter.result)["server_cpu_ms"] = m["cpu_ms_per_verification"]
    found.setdefault("argon2_verify", {"runs": [], "parameters": ceilings.policy_parameters()})["runs"].append(m)
    say(f"[ceilings run {run + 1}/{args.runs}] " + line_for("argon2_verify", m))
    settings = steady_settings(args)
    for name, server in servers.items():
        key = report.static_key(name)
        if run == 0 and settings.warmup:
            scenarios.steady(server.base, settings, settings.warmup, "GET", "/")
        with CpuMeter(server.process.pid) as meter:
            m = scenarios.steady(server.base, settings, settings.seconds, "GET", "/")
        attach(m, meter.result)
        found.setdefault(key, {"runs": []})["runs"].append(m)
        say(f"[ceilings run {run + 1}/{args.runs}] " + line_for(key, m))


def steady_settings(args) -> scenarios.Settings:
    return scenarios.Settings(seconds=args.seconds, warmup=args.warmup, flow_threads=args.flow_threads,
                              connections=args.connections, chains=args.chains,
                              use_wrk=load.wrk_path() is not None and not args.python_load)


# -- one backend ------------------------------------------------------------------------------------------

def accounts_needed(args) -> int:
    """One fresh account per first login (the code quota is per account): enough for the
    runs at up to 3 times the hash bound that one quick verification suggests."""
    if args.accounts:
        return args.accounts
    ceiling = min(60.0, max(20.0, 3 * ceilings.quick_hash_rate(args.workers)))
    returning = max(args.flow_threads, args.chains)
    return returning + int(args.runs * (args.seconds + args.warmup) * ceiling) + 50


class BackendRun:
    """One server under test (the provider on a database under a WSGI server, or the peer),
    up from the first run to the last, so that every run measures the ceilings and each of
    them within a few minutes of each other. Its name: "sqlite", "postgres", "sqlite/granian"…
    or "peer"."""

    def __init__(self, name: str, args, logs: Path):
        self.name, self.args, self.logs = name, args, logs
        self.database, _, self.server = name.partition("/")
        self.server = self.server or "gunicorn"
        self.data: dict = {"scenarios": {}}
        self.backend = self.sink = self.provider = self.live = None

    @property
    def usable(self) -> bool:
        return self.live is not None and "failed" not in self.data

    def open(self, accounts: int) -> None:
        if self.name == "peer":
            return self._open_peer(accounts)
        missing = server_unavailable(self.server)
        if missing:
            self.data["skipped"] = missing
            return
        # Each server's provider has a database (and a Redis database) of its own.
        tag = "" if self.server == "gunicorn" else self.server
        if self.database == "postgres":
            if not answers("127.0.0.1", 5432) or not answers("127.0.0.1", 6379):
                self.data["skipped"] = "PostgreSQL on 127.0.0.1:5432 or Redis on 127.0.0.1:6379 does not answer"
                return
            self.backend = postgres_backend(self.args.redis_db + self.args.servers.index(self.server), tag)
        else:
            self.backend = sqlite_backend(self.logs, tag)
        self.data.update(database=self.backend.database_uri, ratelimit_storage=self.backend.ratelimit_uri)
        self.sink = SmtpSink()
        self.provider = Provider(self.backend, self.sink, self.logs, workers=self.args.workers,
                                 server=self.server, threads=self.args.granian_threads)
        self.provider.init_db()
        began = time.perf_counter()
        people = seed(self.provider.app(), accounts)
        say(f"[{self.name}] {accounts} accounts seeded in {time.perf_counter() - began:.1f} s; "
            f"starting {self.server} -w {self.args.workers}")
        self.provider.start()
        live = scenarios.Live(provider=self.provider, sink=self.sink, people=people)
        scenarios.prepare_returning(live, max(self.args.flow_threads, self.args.chains))
        self.live = live
        self.data["accounts_seeded"] = accounts
        self.data["server"] = f"{self.server} -w {self.args.workers}" + (
            f" --blocking-threads {self.args.granian_threads}" if self.server == "granian" else "")

    def _open_peer(self, accounts: int) -> None:
        missing = peer.unavailable()
        if missing:
            self.data["skipped"] = missing
            return
        self.sink = SmtpSink()
        self.provider = peer.Peer(self.sink, self.logs, accounts, ceilings.policy_parameters())
        self.backend = self.provider.backend
        self.data.update(database=self.backend.database_uri, ratelimit_storage=self.backend.ratelimit_uri,
                         server=f"node-oidc-provider {peer.peer_version()} on node {peer.node_version()}, "
                                "one process", argon2=ceilings.policy_parameters())
        say(f"[peer] starting node-oidc-provider {peer.peer_version()} ({accounts} accounts in memory)")
        self.provider.start()
        live = scenarios.Live(provider=self.provider, sink=self.sink,
                              people=[person(i) for i in range(accounts)], walkers=peer)
        scenarios.prepare_returning(live, max(self.args.flow_threads, self.args.chains))
        self.live = live
        self.data["accounts_seeded"] = accounts

    def measure(self, run: int, settings: scenarios.Settings) -> None:
        for scenario in self.args.scenarios:
            m = scenarios.measure(scenario, self.live, settings, warmup=run == 0)
            self.data["scenarios"].setdefault(scenario, {"runs": []})["runs"].append(m)
            say(f"[{self.name} run {run + 1}/{self.args.runs}] " + line_for(scenario, m))

    def fail(self, exc: Exception) -> None:
        self.data["failed"] = f"{type(exc).__name__}: {exc}"
        say(f"[{self.name}] FAILED: {self.data['failed']}")
        self.close()

    def close(self) -> None:
        """Stop everything and drop the database; safe to call twice."""
        if self.backend is None:
            return
        if self.live is not None:
            self.data["mails_received"], self.data["first_logins_used"] = self.sink.received, self.live.used
        steps = [self.provider and self.provider.stop, self.sink and self.sink.stop, self.backend.drop]
        for step in filter(None, steps):
            try:
                step()
            except Exception as exc:  # noqa: BLE001 - the next steps still run
                say(f"[{self.name}] clean-up: {type(exc).__name__}: {exc}")
        if self.provider is not None:
            self.data["server_log"] = self.provider.log_problems()
        self.backend = None


# -- the whole run ------------------------------------------------------------------------------------------

def _git(*command: str) -> str:
    try:
        return subprocess.run(["git", *command], cwd=ROOT, capture_output=True, text=True).stdout.strip()
    except OSError:
        return ""


def main(argv=None) -> int:
    args = parse_args(argv)
    if args.show:
        print(report.table(json.loads(args.show.read_text())))
        return 0
    for key, value in DEFAULT_SECRETS.items():
        os.environ.setdefault(key, value)
    started = time.perf_counter()
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    logs = RESULTS / f"bench-{stamp}-logs"
    logs.mkdir(parents=True, exist_ok=True)
    output = args.output or RESULTS / f"bench-{stamp}.json"
    tool = load.wrk_version() if load.wrk_path() and not args.python_load else "python http.client (fallback)"
    say(f"idp bench: {args.runs} run(s) x {args.seconds:g} s (+{args.warmup:g} s warm-up), steady load by {tool}")
    result = {
        "started_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "command": " ".join(sys.argv),
        "settings": {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()},
        "machine": {"cores": os.cpu_count(), "python": platform.python_version(),
                    "interpreter": str(Path(sys.executable).resolve()),
                    "platform": platform.platform()},
        "git": {"head": _git("rev-parse", "HEAD"), "changed": _git("status", "--porcelain").splitlines()},
        "load_tools": {"steady": tool, "flows": "python http.client threads"},
        "ceilings": {}, "backends": {},
    }
    names = [database if server == "gunicorn" else f"{database}/{server}"
             for server in args.servers for database in ("sqlite", "postgres") if args.only in (None, database)]
    backends = [BackendRun(name, args, logs) for name in names + ([] if args.no_peer else ["peer"])]
    with contextlib.ExitStack() as stack:
        statics = {} if args.no_ceilings else {
            server: stack.enter_context(ceilings.StaticServer(logs, args.workers, server, args.granian_threads))
            for server in args.servers if not server_unavailable(server)}
        accounts = accounts_needed(args)
        for backend in backends:
            stack.callback(backend.close)
            try:
                backend.open(accounts)
            except Exception as exc:  # noqa: BLE001 - reported; the other backend still runs
                backend.fail(exc)
        settings = steady_settings(args)
        for run in range(args.runs):
            if statics:
                measure_ceilings(run, args, statics, result["ceilings"])
            for backend in (b for b in backends if b.usable):
                try:
                    backend.measure(run, settings)
                except Exception as exc:  # noqa: BLE001 - reported; the other backend still runs
                    backend.fail(exc)
    for block in result["ceilings"].values():
        block["summary"] = report.summarize(block["runs"])
    for backend in backends:
        for block in backend.data["scenarios"].values():
            block["summary"] = report.summarize(block["runs"])
        result["backends"][backend.name] = backend.data
    goals = report.targets(result["ceilings"])
    result["targets"] = {k: {"value": v[0], "rule": v[1]} for k, v in goals.items()}
    result["ratios"] = {backend: {k: block["summary"]["rate"]["median"] / goals[k][0]
                                  for k, block in data.get("scenarios", {}).items()
                                  if k in goals and block["summary"]["rate"]["median"] is not None}
                        for backend, data in result["backends"].items()}
    result["versus_peer"] = report.versus_peer(result["backends"])
    result["duration_s"] = round(time.perf_counter() - started, 1)
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(json.dumps(result, indent=2, ensure_ascii=False))
    print(report.table(result))
    for name, data in result["backends"].items():
        if "skipped" in data:
            print(f"{name}: skipped: {data['skipped']}")
            continue
        if "failed" in data:
            print(f"{name}: FAILED: {data['failed']}")
        problems = data.get("server_log")
        if problems:
            print(f"{name}: server log {problems['log']}: {problems['tracebacks']} tracebacks, "
                  f"{problems['error_lines']} ERROR lines")
    print(f"the provider ran on Python {platform.python_version()} "
          f"({Path(sys.executable).resolve()}; README Speed says why the build matters).")
    print(f"steady load: {tool}; logins: python http.client threads. "
          f"Took {result['duration_s']:.0f} s. Results: {output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
