"""The provider under test: a fresh database (SQLite file, or a PostgreSQL database of its own
that is dropped afterwards), accounts seeded through ``idp.accounts.create``, the SMTP sink
that receives the security codes, and ``gunicorn -w 2 wsgi:app`` (or granian) serving it all."""

from __future__ import annotations

import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from email import message_from_bytes
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
PG_ADMIN = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
PASSWORD = "Bench-2024!"        # every seeded account's password
# The demo secrets of the shipped clients.yaml, from demo.env (their one place).
DEFAULT_SECRETS = {name: value.strip() for name, _, value in (
    line.partition("=") for line in (ROOT / "demo.env").read_text().splitlines())
    if name.startswith("IDP_")}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def answers(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


# -- the mailbox -------------------------------------------------------------------------------

class SmtpSink:
    """An aiosmtpd server in this process; the code of each mail waits in its recipient's
    queue until a login walker takes it."""

    def __init__(self):
        from aiosmtpd.controller import Controller
        self.port = free_port()
        self.received = 0
        self._codes: dict[str, list[str]] = {}
        self._ready = threading.Condition()
        pattern = re.compile(r"^\s*(\d{4,10})\s*$", re.M)     # the code alone on its line
        sink = self

        class Handler:
            async def handle_DATA(self, server, session, envelope):
                message = message_from_bytes(envelope.content)
                part = next((p for p in message.walk() if p.get_content_type() == "text/plain"), message)
                found = pattern.findall(part.get_payload(decode=True).decode())
                with sink._ready:
                    sink.received += 1
                    if found:
                        for rcpt in envelope.rcpt_tos:
                            sink._codes.setdefault(rcpt.lower(), []).append(found[-1])
                    sink._ready.notify_all()
                return "250 OK"

        self.controller = Controller(Handler(), hostname="127.0.0.1", port=self.port)
        self.controller.start()

    def take_code(self, address: str, timeout: float = 30.0) -> str:
        """The oldest code not yet taken for that address (waits for the mail to arrive)."""
        address = address.lower()
        with self._ready:
            if not self._ready.wait_for(lambda: self._codes.get(address), timeout):
                raise RuntimeError(f"no security code mailed to {address}")
            return self._codes[address].pop(0)

    def stop(self):
        self.controller.stop()


# -- databases ---------------------------------------------------------------------------------

@dataclass
class Backend:
    name: str                  # "sqlite" or "postgres"
    database_uri: str
    ratelimit_uri: str
    drop: callable = field(default=lambda: None)
    pg_database: str | None = None     # its PostgreSQL database, whose CPU time is counted


def sqlite_backend(folder: Path, tag: str = "") -> Backend:
    path = folder / ("idp-bench" + (f"-{tag}" if tag else "") + ".db")

    def drop():
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)

    drop()
    return Backend("sqlite", f"sqlite:///{path}", "memory://", drop)


def postgres_backend(redis_db: int, tag: str = "") -> Backend:
    """A database of this run's own (of this ``tag``'s own: one per server benched), dropped
    afterwards; Redis for Flask-Limiter."""
    import sqlalchemy as sa
    name = f"idp_bench_{os.getpid()}" + (f"_{tag}" if tag else "")
    admin = sa.create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    admin.dispose()

    def drop():
        engine = sa.create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
        with engine.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        engine.dispose()

    return Backend("postgres", f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}",
                   f"redis://127.0.0.1:6379/{redis_db}", drop, pg_database=name)


# -- accounts ------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Person:
    nir: str
    email: str
    password: str = PASSWORD


def person(i: int) -> Person:
    # A made-up NIR: born in January 1985 in Paris, order number i (the key is not typed).
    return Person(nir=f"18501750{i:05d}", email=f"bench{i}@bench.example")


class _OneHash:
    """The provider's own Hasher, except that ``hash`` of the same password is computed once:
    every account gets the same real argon2id hash (the policy's parameters), so seeding a
    thousand accounts takes seconds while each login still verifies at full cost."""

    def __init__(self, real):
        self.real, self.made = real, {}

    def hash(self, password: str) -> str:
        if password not in self.made:
            self.made[password] = self.real.hash(password)
        return self.made[password]

    def __getattr__(self, name):
        return getattr(self.real, name)


def seed(app, count: int) -> list[Person]:
    """Create ``count`` active accounts with a validated e-mail, through the domain."""
    from idp.domain import accounts
    from idp.extensions import db
    people = [person(i) for i in range(count)]
    with app.app_context():
        app.extensions["idp.hasher"] = _OneHash(accounts.hasher())
        for i, p in enumerate(people):
            accounts.create(nir=p.nir, password=p.password, email=p.email, given_name="Camille",
                            family_name=f"BENCH{i}", birthdate="1985-01-15", gender="female",
                            birthplace="75056", fund="CPAM de Paris")
            if i % 200 == 199:
                db.session.commit()
        db.session.commit()
        del app.extensions["idp.hasher"]
        db.session.remove()
        db.engine.dispose()
    return people


# -- the WSGI servers -------------------------------------------------------------------------------

SERVERS = ("gunicorn", "granian")


def server_unavailable(server: str) -> str | None:
    """Why ``server`` cannot run here, or None."""
    if not (BIN / server).exists():
        return f"{server} is not installed in {BIN.parent} (make bench installs it; pip failed?)"
    return None


GRANIAN_THREADS = 1      # Python threads per granian worker: one request at a time, like a sync worker


def server_command(server: str, workers: int, port: int, app: str, folder: Path | None = None,
                   threads: int = GRANIAN_THREADS) -> list[str]:
    """The command serving the WSGI ``app`` ("module:name") on 127.0.0.1:``port``:
    ``gunicorn`` sync workers (a connection per request, no keep-alive) or ``granian``'s WSGI
    interface (Rust HTTP/1.1 with keep-alive in front of ``workers`` Python processes, each
    running the app in ``threads`` threads; granian's own default is 256, which on SQLite and
    with the GIL measured worse)."""
    if server == "gunicorn":
        return [str(BIN / "gunicorn"), "-w", str(workers), "-b", f"127.0.0.1:{port}", "--graceful-timeout", "5",
                "--no-control-socket", *(["--chdir", str(folder)] if folder else []), app]
    if server == "granian":
        return [str(BIN / "granian"), "--interface", "wsgi", "--workers", str(workers), "--host", "127.0.0.1",
                "--port", str(port), "--blocking-threads", str(threads), "--no-ws", "--log-level", "warning",
                *(["--working-dir", str(folder)] if folder else []), app]
    raise ValueError(f"unknown server {server!r}")


# -- the provider ----------------------------------------------------------------------------------

class Provider:
    """``gunicorn -w 2 wsgi:app`` (or granian) on one backend, with rate limits off (account
    locks and code quotas stay on) and mails to the sink."""

    def __init__(self, backend: Backend, sink: SmtpSink, folder: Path, workers: int = 2,
                 server: str = "gunicorn", threads: int = GRANIAN_THREADS):
        self.backend, self.folder, self.workers, self.server = backend, folder, workers, server
        self.threads = threads
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.log = folder / f"{server}-{backend.name}.log"
        self.env = {**DEFAULT_SECRETS, **os.environ,
                    "IDP_SQLALCHEMY_DATABASE_URI": backend.database_uri,
                    "IDP_RATELIMIT_STORAGE_URI": backend.ratelimit_uri,
                    "IDP_RATELIMIT_ENABLED": "false",
                    "IDP_SECRET_KEY": secrets.token_urlsafe(40),
                    "IDP_KEY_ENCRYPTION_KEY": secrets.token_urlsafe(40),
                    "IDP_ISSUER": self.base,
                    "IDP_MAIL_SERVER": "127.0.0.1", "IDP_MAIL_PORT": str(sink.port),
                    "IDP_MAIL_OUTBOX": str(folder / "outbox"),
                    # as production runs several workers: /metrics adds them all up, so that
                    # ``hash_cpu_seconds`` reads the whole server's argon2 time
                    "PROMETHEUS_MULTIPROC_DIR": str(folder / f"metrics-{server}-{backend.name}")}
        self.process = None
        Path(self.env["PROMETHEUS_MULTIPROC_DIR"]).mkdir(parents=True, exist_ok=True)

    def app(self):
        """The same application in this process (same database, secrets and policy: any
        ``IDP_POLICY__*`` of the environment reaches both), for seeding."""
        from idp import create_app
        return create_app({"SQLALCHEMY_DATABASE_URI": self.backend.database_uri,
                           "SECRET_KEY": self.env["IDP_SECRET_KEY"],
                           "KEY_ENCRYPTION_KEY": self.env["IDP_KEY_ENCRYPTION_KEY"],
                           "ISSUER": self.base, "RATELIMIT_ENABLED": False,
                           "RATELIMIT_STORAGE_URI": "memory://"})

    def init_db(self) -> None:
        """The contract's ``flask --app wsgi idp init-db``: schema and signing keys."""
        done = subprocess.run([str(BIN / "flask"), "--app", "wsgi", "idp", "init-db"], cwd=ROOT,
                              env=self.env, capture_output=True, text=True)
        if done.returncode != 0:
            raise RuntimeError(f"init-db failed: {done.stdout}{done.stderr}")

    def hash_cpu_seconds(self) -> float | None:
        """The CPU the server's workers have spent in argon2 so far (the provider's own
        ``idp_password_hash_cpu_seconds`` counter), so that a login's cost beyond its hash is
        measured rather than inferred from the hash ceiling; None if /metrics does not say."""
        try:
            text = requests.get(self.base + "/metrics", timeout=10).text
        except requests.RequestException:
            return None
        for line in text.splitlines():
            if line.startswith("idp_password_hash_cpu_seconds_total "):
                return float(line.split()[1])
        return None

    def start(self) -> None:
        metrics = Path(self.env["PROMETHEUS_MULTIPROC_DIR"])
        shutil.rmtree(metrics, ignore_errors=True)      # emptied of the CLI's values
        metrics.mkdir(parents=True)
        with open(self.log, "ab") as out:
            self.process = subprocess.Popen(server_command(self.server, self.workers, self.port, "wsgi:app",
                                                           threads=self.threads),
                                            cwd=ROOT, env=self.env, stdout=out, stderr=out)
        wait_until_up(self.base + "/healthz", self.process, self.log)

    def stop(self) -> None:
        stop_process(self.process)

    def log_problems(self) -> dict:
        """Tracebacks, ERROR lines and worker restarts in the server's log."""
        text = self.log.read_text(errors="replace") if self.log.exists() else ""
        lines = text.splitlines()
        errors = [x for x in lines if " ERROR " in x or "[ERROR]" in x or "CRITICAL" in x]
        first = text.find("Traceback")
        return {"tracebacks": text.count("Traceback (most recent call last)"),
                "error_lines": len(errors), "first_error_lines": errors[:5],
                "first_traceback": text[first:first + 3000] if first >= 0 else None,
                "log": str(self.log)}


def wait_until_up(url: str, process, log: Path) -> None:
    for _ in range(600):                         # process start-up, not a rule of time
        if process.poll() is not None:
            raise RuntimeError("the server stopped:\n" + log.read_text(errors="replace")[-3000:])
        try:
            if requests.get(url, timeout=5).status_code == 200:
                return
        except requests.RequestException:
            pass
        time.sleep(0.05)
    raise RuntimeError(f"{url} did not answer:\n" + log.read_text(errors="replace")[-3000:])


def stop_process(process) -> None:
    if process is None or process.poll() is not None:
        return
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
