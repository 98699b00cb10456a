"""Real parts: a migrated SQLite file (and PostgreSQL on 127.0.0.1:5432 when it answers), an
aiosmtpd server catching the mails, the app on real HTTP, and a moved clock."""

from __future__ import annotations

import html
import os
import re
import shutil
import time
from datetime import UTC, date, datetime, timedelta
from email import message_from_bytes
from pathlib import Path

import pytest
import requests

from idp.config import load_demo_env
from tests.helpers.live import LiveServer, free_port, release_port, reserve_port
from tests.helpers.services import POSTGRES_PORT, answers

# The demo secrets of the shipped clients.yaml, from demo.env, their one place (issue 13.9);
# tests/helpers/parties.py names them for the tests.
os.environ.pop("IDP_ISSUER", None)
load_demo_env()

PG_ADMIN = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
CHEAP_POLICY = {"ARGON2_MEMORY_KIB": 1024, "ARGON2_TIME_COST": 1, "ARGON2_PARALLELISM": 1}
PASSWORD = "Ameli2024!"


PG_UP = answers(POSTGRES_PORT)


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
        # at once; tests/flows/account/test_mail_queue.py runs the mail worker (issue 11.11).
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

SCHEMES = ("http", "https")


def pytest_generate_tests(metafunc):
    """Every browser test runs twice (issue 10): on plain HTTP and over TLS."""
    if metafunc.definition.get_closest_marker("browser") and "scheme" in metafunc.fixturenames:
        metafunc.parametrize("scheme", SCHEMES)


@pytest.fixture
def scheme() -> str:
    """How ``server`` serves the provider: "http" (in-process) unless a test asks "https"
    (gunicorn with a certificate); browser tests get both (``pytest_generate_tests``)."""
    return "http"


@pytest.fixture(scope="session")
def tls(tmp_path_factory):
    """A certificate for 127.0.0.1 and localhost, and the authority a client trusts."""
    from tests.helpers.tls import make_certificate
    return make_certificate(tmp_path_factory.mktemp("tls"))


@pytest.fixture
def app_config(tmp_path, database_uri, smtp, scheme, request):
    """The shared configuration (an SMS outbox of the test's own), plus what a test's
    ``@pytest.mark.config(...)`` adds (its ``POLICY`` merged into the cheap one)."""
    port = reserve_port()
    config = _base_config(tmp_path, database_uri, ISSUER=f"{scheme}://127.0.0.1:{port}",
                          MAIL_SERVER="127.0.0.1", MAIL_PORT=smtp.port, _PORT=port,
                          SMS_OUTBOX=str(tmp_path / "sms-outbox"))
    marker = request.node.get_closest_marker("config")
    if marker is not None:
        extra = dict(marker.kwargs)
        if "POLICY" in extra:
            extra["POLICY"] = {**config["POLICY"], **extra["POLICY"]}
        config.update(extra)
    yield config
    release_port(port)


@pytest.fixture
def app(app_config):
    from idp import create_app, keys
    application = create_app(app_config)
    with application.app_context():
        keys.ensure_keys()
    yield application
    with application.app_context():
        from idp.extensions import db
        db.session.remove()
        db.engine.dispose()


class TlsServer:
    """The provider as production serves it over TLS: gunicorn with ``--certfile/--keyfile``
    on the test's configuration (``app_config`` as ``IDP_*`` variables), its issuer
    ``https://127.0.0.1:PORT``; ``app`` is the in-process app on the same database."""

    def __init__(self, app, config: dict, tls, log):
        from tests.helpers.gunicorn import Gunicorn, config_env
        self.app = app
        self.tls = tls
        self.process = Gunicorn(log, config["_PORT"], tls=tls)
        self.url = self.process.url
        self.process.start({**os.environ, **config_env(config)}, workers=2)
        self.process.wait_until_it_answers()

    def stop(self):
        from tests.helpers.gunicorn import stop_all
        stop_all([self.process])


@pytest.fixture
def server(app, app_config, scheme, request, tmp_path):
    """The provider on real HTTP: in-process on http, gunicorn over TLS on https."""
    if scheme == "https":
        live = TlsServer(app, app_config, request.getfixturevalue("tls"),
                         tmp_path / "gunicorn-tls.log")
    else:
        live = LiveServer(app, app_config["_PORT"])
    yield live
    live.stop()


@pytest.fixture
def make_account(app):
    """Accounts in the states of seed 004 (cases 1, 1 bis, 8, 9), made through the domain."""
    from idp.domain import accounts
    from idp.extensions import db

    def make(nir, *, email="someone@example.fr", status="active", email_verified=True,
             closed_on: date | None = None):
        with app.app_context():
            account = accounts.create(
                nir=nir, password=PASSWORD, email=email, given_name="Jean",
                family_name="DUPONT", birthdate="1984-01-17", gender="male",
                email_verified=email_verified, status=status)
            if closed_on is not None:
                account.closed_on = closed_on
            db.session.commit()
            return account.id
    return make


@pytest.fixture
def person(app):
    """A demo account, created through the domain."""
    from idp.domain import accounts
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
    from tests.helpers.gunicorn import Gunicorn, provider_env, stop_all
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

    def __init__(self, base_url: str, verify=True):
        self.base = base_url
        self.http = requests.Session()
        self.http.verify = verify       # over TLS: the tests' certificate authority ...
        self.http.trust_env = False     # ... which REQUESTS_CA_BUNDLE would otherwise override
        self.page = None

    def get(self, url, **kw):
        self.page = self.http.get(url if url.startswith("http") else self.base + url, **kw)
        return self.page

    def post_form(self, action: str, data: dict, **kw):
        """Submit a form of the current page as a browser does under our Referrer-Policy
        (same-origin): with its token, an ``Origin`` and the page as ``Referer``."""
        token = CSRF.search(self.page.text).group(1)
        headers = {"Origin": self.base, "Referer": self.page.url, **kw.pop("headers", {})}
        self.page = self.http.post(self.base + action, data={"csrf_token": token, **data},
                                   headers=headers, **kw)
        return self.page

    def logout(self, **params):
        """Log out as a person does at ``/end_session`` without an ``id_token_hint``: the
        confirmation page (RP-Initiated Logout §2, issue 11.10), then its button; the answer
        to that POST (not followed)."""
        page = self.get("/end_session", params=params, allow_redirects=False)
        if page.status_code != 200 or 'value="logout"' not in page.text:
            return page
        hidden = {name: html.unescape(value) for name, value in re.findall(
            r'<input type="hidden" name="([^"]+)" value="([^"]*)">', page.text)}
        hidden.pop("csrf_token", None)
        return self.post_form("/end_session", {**hidden, "decision": "logout"},
                              allow_redirects=False)

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
def two_hops(app, monkeypatch):
    """The login's last step redirecting to the resume URL, as before issue 15, for the tests
    of the resume URL itself (replayed, another browser, a fault at it): the protocol's
    ``interaction.complete_here`` not registered (on the app served in this process: plain
    HTTP, not the gunicorn of ``scheme=https``)."""
    from idp import interaction
    monkeypatch.delitem(app.extensions, interaction.ANSWER_HERE)


@pytest.fixture
def statements(app):
    """The SQL statements the app runs while the test looks (a list that grows), BEGIN and
    savepoints left out; in this process (the in-process server of plain HTTP included)."""
    from sqlalchemy import event

    from idp.extensions import db
    seen: list[str] = []

    def _seen(_conn, _cursor, statement, *_args):
        if not statement.startswith(("BEGIN", "SAVEPOINT", "RELEASE")):
            seen.append(statement)

    with app.app_context():
        event.listen(db.engine, "before_cursor_execute", _seen)
        yield seen
        event.remove(db.engine, "before_cursor_execute", _seen)


@pytest.fixture
def login_hop(app, monkeypatch):
    """GET /authorize redirecting to /login?interaction=<id>, as before issue 15, for the
    tests of that URL itself (another browser, an expired request): the login pages'
    ``interaction.LOGIN_PAGE`` not registered (on the app served in this process: plain
    HTTP, not the gunicorn of ``scheme=https``)."""
    from idp import interaction
    monkeypatch.delitem(app.extensions, interaction.LOGIN_PAGE)


@pytest.fixture
def browser(server):
    tls = getattr(server, "tls", None)
    return Browser(server.url, verify=str(tls.ca) if tls else True)


def wait_for(predicate, timeout=5.0):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if predicate():
            return True
        time.sleep(0.02)
    return False


# -- a real browser (issue 10: every journey on http and https) -----------------------------

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]


@pytest.fixture
def page(server):
    """A Chromium tab (Debian's chromium through Playwright) on a 360 px wide phone screen,
    accepting the tests' certificate over TLS; ``page.requested`` lists every URL it asked."""
    if not os.path.exists(CHROMIUM):
        pytest.skip(f"{CHROMIUM} is missing (Debian's chromium package drives the browser tests)")
    from playwright.sync_api import sync_playwright
    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        context = chromium.new_context(viewport={"width": 360, "height": 740}, locale="fr-FR",
                                       ignore_https_errors=True)
        tab = context.new_page()
        tab.requested = []
        tab.on("request", lambda request: tab.requested.append(request.url))
        yield tab
        context.close()
        chromium.close()

