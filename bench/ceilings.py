"""The two ceilings the provider is compared with, measured on this machine in the same run:

* the hash bound: argon2id verifications per second on two processes (one per gunicorn
  worker) at the provider's own parameters, through ``idp.passwords.Hasher``;
* the server bound: requests per second of ``gunicorn -w 2`` (and of each other server benched)
  serving fixed JSON bytes from a minimal Flask app (``bench/static_app.py``), measured with
  the same load tool.
"""

from __future__ import annotations

import multiprocessing
import os
import subprocess
import time
from pathlib import Path

from .provider import free_port, server_command, stop_process, wait_until_up

HERE = Path(__file__).resolve().parent


def provider_policy():
    """``idp.policy.Policy()`` as the provider builds it: the defaults, and any
    ``IDP_POLICY__*`` of the environment (which the provider under test sees too)."""
    from idp.policy import Policy
    prefix = "IDP_POLICY__"
    return Policy.from_mapping({k[len(prefix):]: v for k, v in os.environ.items() if k.startswith(prefix)})


def policy_parameters() -> dict:
    p = provider_policy()
    return {"memory_kib": p.argon2_memory_kib, "time_cost": p.argon2_time_cost,
            "parallelism": p.argon2_parallelism}


def _verify_loop(gate, seconds: float, results) -> None:
    from idp.domain.passwords import Hasher
    hasher = Hasher(provider_policy())
    stored = hasher.hash("Bench-2024!")
    gate.wait()
    count, started, cpu = 0, time.perf_counter(), time.process_time()
    while time.perf_counter() - started < seconds:
        if not hasher.verify(stored, "Bench-2024!"):
            raise SystemExit("argon2 verification failed")
        count += 1
    results.put((count, time.perf_counter() - started, time.process_time() - cpu))


def argon2_bound(seconds: float, processes: int = 2) -> dict:
    """Verifications per second of ``processes`` processes verifying in a loop together."""
    context = multiprocessing.get_context("spawn")
    gate = context.Barrier(processes)
    results = context.Queue()
    workers = [context.Process(target=_verify_loop, args=(gate, seconds, results))
               for _ in range(processes)]
    for w in workers:
        w.start()
    answers = [results.get(timeout=seconds + 120) for _ in workers]
    for w in workers:
        w.join()
    count = sum(c for c, _, _ in answers)
    return {"rate": sum(c / elapsed for c, elapsed, _ in answers), "count": count, "errors": 0,
            "seconds": round(max(e for _, e, _ in answers), 3), "tool": f"{processes} processes",
            "p50_ms": None, "p95_ms": None, "p99_ms": None, "error_samples": [],
            # CPU time of one verification (all argon2 lanes' threads), to compare with a login's
            "cpu_ms_per_verification": round(sum(c for _, _, c in answers) * 1000 / count, 1) if count else None}


def quick_hash_rate(processes: int) -> float:
    """A rough hash bound from one verification here (to size the account pool)."""
    from idp.domain.passwords import Hasher
    hasher = Hasher(provider_policy())
    stored = hasher.hash("Bench-2024!")
    started = time.process_time()
    hasher.verify(stored, "Bench-2024!")
    return processes / max(time.process_time() - started, 1e-4)    # one core per process


class StaticServer:
    def __init__(self, folder: Path, workers: int = 2, server: str = "gunicorn", threads: int = 1):
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.log = folder / f"{server}-static.log"
        self.workers, self.server, self.threads = workers, server, threads
        self.process = None

    def __enter__(self):
        with open(self.log, "ab") as out:
            self.process = subprocess.Popen(server_command(self.server, self.workers, self.port, "static_app:app", HERE,
                                                           threads=self.threads),
                                            stdout=out, stderr=out)
        wait_until_up(self.base + "/", self.process, self.log)
        return self

    def __exit__(self, *_exc):
        stop_process(self.process)
        return False
