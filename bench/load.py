"""Load generation and its statistics: wrk (with a Lua script) for the steady endpoints, and a
Python fallback (threads on ``http.client``) when wrk is missing; the percentile maths and the
thread harness that the login walkers share.

Every measurement is a dict: ``rate`` (successes per second), ``p50_ms``/``p95_ms``/``p99_ms``,
``count``, ``errors`` (with a few ``error_samples``), ``seconds`` and the ``tool`` that made it.
"""

from __future__ import annotations

import http.client
import json
import math
import shutil
import subprocess
import tempfile
import threading
import time
from pathlib import Path
from urllib.parse import urlsplit

# -- statistics ------------------------------------------------------------------------------


def percentile(sorted_values: list[float], q: float) -> float | None:
    """The q-th percentile, interpolated between the closest ranks (numpy's "linear")."""
    if not sorted_values:
        return None
    k = (len(sorted_values) - 1) * q / 100.0
    lo, hi = math.floor(k), math.ceil(k)
    return sorted_values[lo] + (sorted_values[hi] - sorted_values[lo]) * (k - lo)


def measurement(*, count: int, seconds: float, latencies_s: list[float], errors: int = 0,
                error_samples: list[str] | None = None, tool: str) -> dict:
    ordered = sorted(latencies_s)
    ms = {q: percentile(ordered, q) for q in (50, 95, 99)}
    return {"rate": count / seconds if seconds > 0 else 0.0, "count": count, "errors": errors,
            "seconds": round(seconds, 3), "tool": tool,
            **{f"p{q}_ms": round(v * 1000, 2) if v is not None else None for q, v in ms.items()},
            "error_samples": (error_samples or [])[:5]}


def summary(values: list[float]) -> dict:
    """Median and min–max over the runs."""
    ordered = sorted(v for v in values if v is not None)
    if not ordered:
        return {"median": None, "min": None, "max": None}
    return {"median": percentile(ordered, 50), "min": ordered[0], "max": ordered[-1]}


# -- a harness for Python client threads -------------------------------------------------------


def run_threads(work, *, threads: int, seconds: float, tool: str, make_state=None) -> dict:
    """Call ``work(state)`` in ``threads`` threads until ``seconds`` have passed; each call is
    one timed unit (a request or a whole login). An exception is an error, not a unit.
    ``make_state(i)`` builds each thread's private state (a connection, a token chain)."""
    latencies: list[list[float]] = [[] for _ in range(threads)]
    failures: list[list[str]] = [[] for _ in range(threads)]
    ready = threading.Barrier(threads + 1)      # every thread's state is built
    go = threading.Event()                       # ... then the clock starts for all
    deadline = [0.0]

    def loop(i: int) -> None:
        mine, bad = latencies[i], failures[i]
        try:
            state = make_state(i) if make_state else None
        except Exception as exc:  # noqa: BLE001 - counted; the others still start
            bad.append(f"setting up: {type(exc).__name__}: {exc}"[:300])
            ready.wait()
            return
        ready.wait()
        go.wait()
        while time.perf_counter() < deadline[0]:
            began = time.perf_counter()
            try:
                work(state)
            except Exception as exc:  # noqa: BLE001 - every failure is counted and sampled
                bad.append(f"{type(exc).__name__}: {exc}"[:300])
                if len(bad) > 1000:          # something is broken: stop hammering
                    return
                continue
            mine.append(time.perf_counter() - began)

    workers = [threading.Thread(target=loop, args=(i,), daemon=True) for i in range(threads)]
    for w in workers:
        w.start()
    ready.wait()
    started = time.perf_counter()
    deadline[0] = started + seconds
    go.set()
    for w in workers:
        w.join()
    elapsed = time.perf_counter() - started
    flat = [x for per in latencies for x in per]
    errors = [x for per in failures for x in per]
    return measurement(count=len(flat), seconds=elapsed, latencies_s=flat, errors=len(errors),
                       error_samples=errors, tool=tool)


# -- wrk ------------------------------------------------------------------------------------------

DONE_LUA = r"""
done = function(summary, latency, requests)
  local e = summary.errors
  local broken = 0
  for _, t in ipairs(bench_threads or {}) do broken = broken + (t:get("broken") or 0) end
  io.write(string.format(
    'BENCH-JSON {"requests":%.0f,"duration_us":%.0f,"p50_us":%.0f,"p95_us":%.0f,"p99_us":%.0f,' ..
    '"connect":%.0f,"read":%.0f,"write":%.0f,"status":%.0f,"timeout":%.0f,"broken":%.0f}\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(95),
    latency:percentile(99), e.connect, e.read, e.write, e.status, e.timeout, broken))
end
"""


def _lua_string(text: str) -> str:
    return json.dumps(text)           # a JSON string is a valid Lua string literal here


def lua_fixed(method: str = "GET", headers: dict | None = None, body: str | None = None) -> str:
    """The same request every time (discovery, JWKS, userinfo, introspection)."""
    lines = [f"wrk.method = {_lua_string(method)}"]
    for name, value in (headers or {}).items():
        lines.append(f"wrk.headers[{_lua_string(name)}] = {_lua_string(value)}")
    if body is not None:
        lines.append(f"wrk.body = {_lua_string(body)}")
    return "\n".join(lines) + "\n" + DONE_LUA


def lua_refresh_chains(tokens: list[str], authorization: str) -> str:
    """One refresh-token chain per wrk thread (one connection each, so requests and answers
    strictly alternate): each request sends the refresh token of the previous answer."""
    initial = "{" + ",".join(_lua_string(t) for t in tokens) + "}"
    return f"""
local initial = {initial}
local next_index = 1
bench_threads = {{}}
setup = function(thread)
  thread:set("token", initial[next_index])
  next_index = next_index + 1
  table.insert(bench_threads, thread)
end
broken = 0
request = function()
  return wrk.format("POST", "/token", {{
    ["Authorization"] = {_lua_string(authorization)},
    ["Content-Type"] = "application/x-www-form-urlencoded"}},
    "grant_type=refresh_token&refresh_token=" .. token)
end
response = function(status, headers, body)
  local fresh = string.match(body, '"refresh_token"%s*:%s*"([^"]+)"')
  if status == 200 and fresh then token = fresh else broken = broken + 1 end
end
""" + DONE_LUA


def wrk_path() -> str | None:
    return shutil.which("wrk")


def wrk_version() -> str:
    found = wrk_path()
    if not found:
        return "none"
    out = subprocess.run([found, "-v"], capture_output=True, text=True).stdout
    return out.split("Copyright")[0].strip() or "wrk"


def run_wrk(url: str, lua: str, *, seconds: int, connections: int, threads: int = 1) -> dict:
    """Run wrk against ``url`` with the script; the measurement (errors = non-2xx/3xx and
    socket errors; ``broken`` counts refresh chains that did not get a new token)."""
    with tempfile.TemporaryDirectory() as folder:
        script = Path(folder) / "bench.lua"
        script.write_text(lua)
        command = [wrk_path(), "-t", str(threads), "-c", str(connections), "-d", f"{max(1, int(seconds))}s",
                   "--timeout", "30s", "-s", str(script), url]
        done = subprocess.run(command, capture_output=True, text=True, timeout=seconds + 60)
    line = next((x for x in done.stdout.splitlines() if x.startswith("BENCH-JSON ")), None)
    if line is None:
        raise RuntimeError(f"wrk gave no result (exit {done.returncode}): {done.stdout[-500:]} {done.stderr[-500:]}")
    data = json.loads(line.split(" ", 1)[1])
    socket_errors = data["connect"] + data["read"] + data["write"] + data["timeout"]
    errors = data["status"] + socket_errors
    duration = data["duration_us"] / 1e6
    ok = max(0, data["requests"] - data["status"])
    samples = []
    if errors:
        samples.append(f"wrk: {data['status']} answers >= 400, socket errors connect {data['connect']} "
                       f"read {data['read']} write {data['write']} timeout {data['timeout']}")
    if data["broken"]:
        samples.append(f"{data['broken']} refresh answers without a new refresh token")
    return {"rate": ok / duration if duration else 0.0, "count": ok, "errors": errors,
            "seconds": round(duration, 3), "p50_ms": round(data["p50_us"] / 1000, 2),
            "p95_ms": round(data["p95_us"] / 1000, 2), "p99_ms": round(data["p99_us"] / 1000, 2),
            "tool": f"wrk -t{threads} -c{connections}", "error_samples": samples}


# -- the Python fallback ------------------------------------------------------------------------


class Endpoint:
    """One request to send again and again over ``http.client`` (a fresh connection when the
    server closes it, as gunicorn's sync workers do)."""

    def __init__(self, base: str, method: str, path: str, headers: dict | None = None,
                 body: str | None = None):
        parts = urlsplit(base)
        self.host, self.port = parts.hostname, parts.port or 80
        self.method, self.path, self.headers, self.body = method, path, headers or {}, body

    def connection(self) -> http.client.HTTPConnection:
        return http.client.HTTPConnection(self.host, self.port, timeout=60)

    def send(self, conn: http.client.HTTPConnection, body: str | None = None) -> bytes:
        conn.request(self.method, self.path, body=body if body is not None else self.body,
                     headers=self.headers)
        answer = conn.getresponse()
        data = answer.read()
        if answer.status >= 400:
            raise RuntimeError(f"{self.method} {self.path}: HTTP {answer.status} {data[:120]!r}")
        return data


def python_fixed(endpoint: Endpoint, *, seconds: float, connections: int) -> dict:
    return run_threads(lambda conn: endpoint.send(conn), threads=connections, seconds=seconds,
                       make_state=lambda _i: endpoint.connection(),
                       tool=f"python http.client x{connections} threads")


def python_refresh_chains(endpoint: Endpoint, tokens: list[str], *, seconds: float) -> dict:
    """One chain per thread: each answer's refresh token is the next request's."""
    def make_state(i):
        return {"conn": endpoint.connection(), "token": tokens[i]}

    def work(state):
        data = endpoint.send(state["conn"], body=f"grant_type=refresh_token&refresh_token={state['token']}")
        state["token"] = json.loads(data)["refresh_token"]

    return run_threads(work, threads=len(tokens), seconds=seconds, make_state=make_state,
                       tool=f"python http.client x{len(tokens)} threads")
