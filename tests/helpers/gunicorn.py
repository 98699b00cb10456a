"""The provider as production runs it: ``gunicorn -w N wsgi:app`` processes, for the tests
that need real processes (concurrency between workers, several instances).
``tests/conftest.py`` builds its ``start_gunicorn`` fixture on it.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import requests

from tests.helpers.live import take_reserved
from tests.helpers.tls import Tls

ROOT = Path(__file__).resolve().parents[2]
CHEAP_ARGON2 = {"IDP_POLICY__ARGON2_MEMORY_KIB": "1024", "IDP_POLICY__ARGON2_TIME_COST": "1",
                "IDP_POLICY__ARGON2_PARALLELISM": "1"}


def provider_env(*, database_uri: str, secret_key: str, key_encryption_key: str,
                 smtp_port: int, outbox: Path, **extra: str) -> dict:
    """The environment of a provider process: the given database and secrets, cheap argon2,
    mails to the given SMTP port; ``extra`` adds or overrides ``IDP_*`` variables."""
    return {**os.environ,
            "IDP_SQLALCHEMY_DATABASE_URI": database_uri,
            "IDP_SECRET_KEY": secret_key,
            "IDP_KEY_ENCRYPTION_KEY": key_encryption_key,
            "IDP_MAIL_SERVER": "127.0.0.1", "IDP_MAIL_PORT": str(smtp_port),
            "IDP_MAIL_OUTBOX": str(outbox),
            **CHEAP_ARGON2, **extra}


def config_env(config: dict) -> dict:
    """An app configuration (``tests/conftest.py``'s ``app_config``) as the ``IDP_*``
    environment of a provider process: every value JSON-encoded, which Flask's
    ``from_prefixed_env`` reads back as the same value (keys starting with ``_`` are the
    tests' own and stay out)."""
    return {f"IDP_{key}": json.dumps(value, default=str)
            for key, value in config.items() if not key.startswith("_")}


class Gunicorn:
    """``gunicorn -w N wsgi:app``, a real provider process. Its listening socket is bound here
    and handed over (``fd://``), so the port is known before the start (an issuer may name it)
    and nobody else can take it meanwhile; everything it prints goes to ``log``."""

    def __init__(self, log: Path, port: int = 0, tls: Tls | None = None):
        # A port reserved earlier (tests/helpers/live.py) is handed over still bound, so that
        # no other process can take it between the reservation and gunicorn's start.
        held = take_reserved(port) if port else None
        self.listener = held or socket.create_server(("127.0.0.1", port), backlog=128)
        self.port = self.listener.getsockname()[1]
        self.tls = tls                     # served over TLS (--certfile/--keyfile) when given
        self.url = f"{'https' if tls else 'http'}://127.0.0.1:{self.port}"
        self.log = log
        self.log.touch()
        self.env: dict = {}
        self.process: subprocess.Popen | None = None
        self._mark = 0

    def start(self, env: dict, workers: int = 2) -> Gunicorn:
        self.env = env
        fd = self.listener.fileno()
        tls = ["--certfile", str(self.tls.cert), "--keyfile", str(self.tls.key)] if self.tls else []
        with open(self.log, "ab") as out:
            self.process = subprocess.Popen(
                [str(Path(sys.executable).parent / "gunicorn"), "-w", str(workers),
                 "-b", f"fd://{fd}", "--graceful-timeout", "2", *tls, "wsgi:app"],
                cwd=ROOT, env=env, stdout=out, stderr=out, pass_fds=(fd,))
        self.listener.close()              # the process has its own copy
        return self

    def wait_until_it_answers(self, timeout: float = 60.0) -> None:
        """Process start-up, not a rule of time: bounded, and the log is shown on failure."""
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if self.process.poll() is not None:
                raise AssertionError(f"gunicorn on {self.url} stopped:\n{self.tail()}")
            try:
                if requests.get(self.url + "/healthz", timeout=5,
                                verify=str(self.tls.ca) if self.tls else True).status_code == 200:
                    return
            except requests.RequestException:
                pass
            time.sleep(0.05)
        raise AssertionError(f"gunicorn on {self.url} did not answer:\n{self.tail()}")

    def terminate(self) -> None:
        """Ask for a stop (without waiting): see ``stop_all``."""
        self.listener.close()
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)

    def wait_stopped(self) -> None:
        if self.process is None:
            return
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()

    def tail(self, size: int = 3000) -> str:
        return self.log.read_text(errors="replace")[-size:]

    def mark(self) -> None:
        """From now on, ``events`` reads only what the process logs after this point."""
        self._mark = self.log.stat().st_size

    def events(self, name: str, **fields) -> list[dict]:
        """The ``idp.events`` lines named ``name`` whose fields include ``fields``, logged by
        any of this process's workers since the last ``mark``."""
        with open(self.log, "rb") as f:
            f.seek(self._mark)
            lines = f.read().decode(errors="replace").splitlines()
        found = []
        for line in lines:
            if " idp.events {" not in line:
                continue
            event = json.loads(line[line.index("{"):])
            if event.get("event") == name and all(event.get(k) == v for k, v in fields.items()):
                found.append(event)
        return found


def stop_all(processes: list[Gunicorn]) -> None:
    """Stop every process, all at once (each takes about a second to stop)."""
    try:
        for process in processes:
            process.terminate()
    finally:
        for process in processes:
            process.wait_stopped()


def all_at_once(calls):
    """Run the calls in threads released together; return their responses."""
    barrier = threading.Barrier(len(calls))
    results = [None] * len(calls)

    def run(i, call):
        barrier.wait()
        results[i] = call()
    threads = [threading.Thread(target=run, args=(i, c)) for i, c in enumerate(calls)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    return results
