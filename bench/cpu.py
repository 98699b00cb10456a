"""Who used the two cores during a measurement: the provider's workers, the database and
Redis, and the load generator (this process and its children, e.g. wrk). Read from /proc, so
it costs nothing while the load runs."""

from __future__ import annotations

import os
import resource
import time
from pathlib import Path

TICKS = os.sysconf("SC_CLK_TCK")


def _process_seconds(pid: int) -> float:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / TICKS       # utime + stime


def _children(pid: int) -> list[int]:
    found = []
    for task in Path(f"/proc/{pid}/task").glob("*/children"):
        try:
            found += [int(x) for x in task.read_text().split()]
        except OSError:
            pass
    return found


def _postgres_backends(database: str) -> list[int]:
    """The PostgreSQL server processes serving ``database`` (their title names it)."""
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if (entry / "comm").read_text().strip() == "postgres" and \
                        f" {database} ".encode() in (entry / "cmdline").read_bytes():
                    pids.append(int(entry.name))
            except OSError:
                pass
    return pids


def _redis_server() -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if (entry / "comm").read_text().strip() == "redis-server":
                    found.append(int(entry.name))
            except OSError:
                pass
    return found


def _machine_busy_seconds() -> float:
    """Busy time of all cores together (everything but idle and iowait)."""
    fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:9]]
    return (sum(fields) - fields[3] - fields[4]) / TICKS


def _self_seconds() -> float:
    own = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)   # wrk, once it has exited
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


class CpuMeter:
    """``with CpuMeter(server_pid) as meter: …`` then ``meter.result``: cores used by each
    party over the wall time (1.0 = one core busy all along); ``machine`` is every core's
    busy time, ``other`` what none of the parties explains. ``database`` counts the PostgreSQL
    backends of that database only (a SQLite provider does its database work in its own
    processes); ``redis`` the whole Redis server, which others may share."""

    def __init__(self, server_pid: int | None, database: str | None = None, redis: bool = False):
        self.server_pid, self.database, self.redis = server_pid, database, redis

    def _sample(self) -> dict:
        server = [self.server_pid, *_children(self.server_pid)] if self.server_pid else []
        database = _postgres_backends(self.database) if self.database else []
        return {"provider": sum(_process_seconds(p) for p in server),
                "database": sum(_process_seconds(p) for p in database),
                "redis": sum(_process_seconds(p) for p in _redis_server()) if self.redis else 0.0,
                "client": _self_seconds(), "machine": _machine_busy_seconds(),
                "wall": time.perf_counter()}

    def __enter__(self):
        self.before = self._sample()
        return self

    def __exit__(self, *_exc):
        after = self._sample()
        wall = after["wall"] - self.before["wall"]
        if wall <= 0:
            self.result = {}
            return False
        used = {name: max(0.0, (after[name] - self.before[name]) / wall)
                for name in ("provider", "database", "redis", "client", "machine")}
        # Anything else on the machine (another test run, a build) skews the figures.
        used["other"] = max(0.0, used["machine"] - sum(used[k] for k in ("provider", "database", "redis", "client")))
        self.result = {name: round(value, 2) for name, value in used.items()}
        return False


def attach(measurement: dict, cores: dict) -> dict:
    """Add the cores used, and the server side's CPU time per unit (request or login) in ms:
    provider + database + Redis, a cost that other load on the machine barely changes."""
    measurement["cpu_cores"] = cores
    server = sum(cores.get(k, 0.0) for k in ("provider", "database", "redis"))
    rate = measurement.get("rate") or 0.0
    measurement["server_cpu_ms"] = round(server * 1000 / rate, 2) if server and rate else None
    return measurement
