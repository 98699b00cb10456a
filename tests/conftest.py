"""Real parts: a migrated SQLite file (and PostgreSQL on 127.0.0.1:5432 when it answers), an
aiosmtpd server catching the mails, the app on real HTTP, and a moved clock."""

from __future__ import annotations

import os
import re
import shutil
import socket
import threading
import time
from datetime import UTC, datetime, timedelta
from email import message_from_bytes
from pathlib import Path

import pytest
import requests
from service_probe import POSTGRES_PORT, answers

os.environ.setdefault("IDP_PORTAL_SECRET", "demo-portal-secret-0123456789abcdef0123")
os.environ.setdefault("IDP_FRANCECONNECT_SECRET", "demo-franceconnect-secret-0123456789abcdef")

PG_ADMIN = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
CHEAP_POLICY = {"ARGON2_MEMORY_KIB": 1024, "ARGON2_TIME_COST": 1, "ARGON2_PARALLELISM": 1}
PASSWORD = "Ameli2024!"


PG_UP = answers(POSTGRES_PORT)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# -- databases -----------------------------------------------------------------------------

@pytest.fixture(scope="session")
def _sqlite_template(tmp_path_factory):
    """One migrated SQLite file per worker; each test gets a copy."""
    from idp import create_app
    folder = tmp_path_factory.mktemp("template")
    uri = f"sqlite:///{folder / 'template.db'}"
    app = create_app(_base_config(folder, uri))
    with app.app_context():
        from flask_migrate import upgrade
        upgrade(directory=app.extensions["migrate"].directory, revision="heads")
        from idp.extensions import db
        db.engine.dispose()
    return folder / "template.db"


@pytest.fixture(scope="session")
def _pg_database(worker_id):
    if not PG_UP:
        yield None
        return
    import sqlalchemy as sa
    # A database of this run's own: parallel runs (two checkouts, xdist workers) never meet.
    name = f"idp_test_{os.getpid()}_{worker_id}"
    admin = sa.create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    uri = f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}"
    from idp import create_app
    app = create_app(_base_config(Path("/tmp"), uri))
    with app.app_context():
        from flask_migrate import upgrade
        upgrade(directory=app.extensions["migrate"].directory, revision="heads")
        from idp.extensions import db
        db.engine.dispose()
    yield uri
    admin = sa.create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def database_uri(request, tmp_path, _sqlite_template):
    if request.param == "sqlite":
        target = tmp_path / "idp.db"
        shutil.copy(_sqlite_template, target)
        return f"sqlite:///{target}"
    uri = request.getfixturevalue("_pg_database")
    if uri is None:
        pytest.skip("PostgreSQL does not answer on 127.0.0.1:5432")
    import sqlalchemy as sa
    engine = sa.create_engine(uri)
    with engine.begin() as conn:
        tables = [r[0] for r in conn.execute(sa.text(
            "SELECT tablename FROM pg_tables WHERE schemaname='public' AND tablename <> 'alembic_version'"))]
        conn.execute(sa.text("TRUNCATE " + ", ".join(f'"{t}"' for t in tables) + " RESTART IDENTITY CASCADE"))
    engine.dispose()
    return uri


@pytest.fixture(scope="session")
def worker_id(request):
    return getattr(request.config, "workerinput", {}).get("workerid", "main")


def _base_config(folder: Path, uri: str, **extra) -> dict:
    return {
        "TESTING": True, "SQLALCHEMY_DATABASE_URI": uri, "SECRET_KEY": "t" * 40,
        "KEY_ENCRYPTION_KEY": "k" * 40, "POLICY": dict(CHEAP_POLICY),
        "MAIL_OUTBOX": str(folder / "outbox"), "RATELIMIT_ENABLED": False,
        "BACKCHANNEL_SYNC": True, "MAIL_SUPPRESS_SEND": False,
        # The registration and reset mails are sent in the request, so that a test reads them
        # at once; tests/account/test_mail_queue.py runs the mail worker (issue 11.11).
        "MAIL_QUEUE": False, **extra,
    }


# -- mail ----------------------------------------------------------------------------------

class Smtp:
    def __init__(self):
        from aiosmtpd.controller import Controller
        self.messages: list = []
        self.port = free_port()
        outer = self

        class Handler:
            async def handle_DATA(self, server, session, envelope):
                outer.messages.append(message_from_bytes(envelope.content))
                return "250 OK"

        self.controller = Controller(Handler(), hostname="127.0.0.1", port=self.port)
        self.controller.start()

    def stop(self):
        self.controller.stop()

    def to(self, address: str) -> list:
        return [m for m in self.messages if address in m["To"]]

    def last_text(self, address: str) -> str:
        mails = self.to(address)
        assert mails, f"no mail to {address}"
        part = mails[-1]
        if part.is_multipart():
            part = next(p for p in part.walk() if p.get_content_type() == "text/plain")
        return part.get_payload(decode=True).decode()

    def code_for(self, address: str, digits: int = 6) -> str:
        """The code as the person reads it: a group of digits alone on its line."""
        found = re.findall(rf"^\s*(\d{{{digits}}})\s*$", self.last_text(address), re.M)
        assert found, f"no {digits}-digit code in the mail to {address}"
        return found[-1]


@pytest.fixture
def smtp():
    server = Smtp()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def module_smtp():
    """One SMTP server for processes that live as long as a module (clear ``messages``)."""
    server = Smtp()
    yield server
    server.stop()


# -- clock ---------------------------------------------------------------------------------

class Clock:
    def __init__(self, traveller):
        self.traveller = traveller

    def shift(self, delta: timedelta):
        self.traveller.shift(delta)

    def now(self) -> datetime:
        return datetime.now(UTC)


@pytest.fixture
def clock():
    import time_machine
    with time_machine.travel(datetime(2023, 1, 4, 14, 30, tzinfo=UTC), tick=False) as t:
        yield Clock(t)


# -- the app and its server ----------------------------------------------------------------

@pytest.fixture
def app_config(tmp_path, database_uri, smtp):
    port = free_port()
    return _base_config(tmp_path, database_uri, ISSUER=f"http://127.0.0.1:{port}",
                        MAIL_SERVER="127.0.0.1", MAIL_PORT=smtp.port, _PORT=port)


@pytest.fixture
def app(app_config):
    from idp import create_app
    from idp.oidc import keys
    application = create_app(app_config)
    with application.app_context():
        keys.ensure_keys()
    yield application
    with application.app_context():
        from idp.extensions import db
        db.session.remove()
        db.engine.dispose()


class LiveServer:
    def __init__(self, app, port):
        from werkzeug.serving import make_server
        self.app = app
        self.url = f"http://127.0.0.1:{port}"
        self.server = make_server("127.0.0.1", port, app, threaded=True)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def stop(self):
        self.server.shutdown()


@pytest.fixture
def server(app, app_config):
    live = LiveServer(app, app_config["_PORT"])
    yield live
    live.stop()


@pytest.fixture
def person(app):
    """A demo account, created through the domain."""
    from idp import accounts
    from idp.extensions import db

    class Person:
        nir = "2690299341732"
        password = PASSWORD
        email = "valerie.martin@example.fr"

    with app.app_context():
        accounts.create(nir=Person.nir, password=PASSWORD, email=Person.email, given_name="Valérie",
                        family_name="MARTIN", birthdate="1969-02-15", gender="female",
                        birthplace="99341", fund="CPAM de Paris")
        db.session.commit()
    return Person


# -- the provider as production runs it: gunicorn processes ---------------------------------

@pytest.fixture
def start_gunicorn(app_config, smtp, tmp_path):
    """``start_gunicorn(workers=2, port=0, issuer=None, wait=True, **env)``: a provider
    process (``gunicorn_support.Gunicorn``) on the test's database, secrets and SMTP server,
    its issuer its own URL unless given, ``env`` adding ``IDP_*`` variables; started, and
    answering unless ``wait=False``. Every process started is stopped when the test ends."""
    from gunicorn_support import Gunicorn, provider_env, stop_all
    started: list[Gunicorn] = []

    def start(*, workers: int = 2, port: int = 0, issuer: str | None = None, wait: bool = True,
              **env: str) -> Gunicorn:
        process = Gunicorn(tmp_path / f"gunicorn-{len(started) + 1}.log", port)
        started.append(process)
        process.start(provider_env(
            database_uri=app_config["SQLALCHEMY_DATABASE_URI"], secret_key=app_config["SECRET_KEY"],
            key_encryption_key=app_config["KEY_ENCRYPTION_KEY"], smtp_port=smtp.port,
            outbox=tmp_path / "outbox", IDP_ISSUER=issuer or process.url, **env), workers)
        if wait:
            process.wait_until_it_answers()
        return process

    try:
        yield start
    finally:
        stop_all(started)


# -- a person's browser ---------------------------------------------------------------------

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


class Browser:
    """A person at the login pages, over real HTTP (requests keeps the cookies)."""

    def __init__(self, base_url: str):
        self.base = base_url
        self.http = requests.Session()
        self.page = None

    def get(self, url, **kw):
        self.page = self.http.get(url if url.startswith("http") else self.base + url, **kw)
        return self.page

    def post_form(self, action: str, data: dict, **kw):
        token = CSRF.search(self.page.text).group(1)
        self.page = self.http.post(self.base + action, data={"csrf_token": token, **data}, **kw)
        return self.page

    def submit_credentials(self, nir, password):
        return self.post_form("/login", {"nir": nir, "password": password})

    def ask_code(self):
        return self.post_form("/login/code/send", {})

    def submit_code(self, code, remember=False):
        data = {"code": code}
        if remember:
            data["remember_device"] = "1"
        return self.post_form("/login/code", data, allow_redirects=False)


@pytest.fixture
def browser(server):
    return Browser(server.url)


def wait_for(predicate, timeout=5.0):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if predicate():
            return True
        time.sleep(0.02)
    return False
