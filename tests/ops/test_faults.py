"""Faults of the services the provider leans on, made real by cutting the wire to them
(``Gate``): the database gone gives a calm French 503 page and ``temporarily_unavailable`` on
the protocol endpoints, and the provider recovers without a restart; Redis gone makes the
limits fail closed on the login and code endpoints, evaluating and counting nothing."""

from __future__ import annotations

import html
import re
import uuid
from contextlib import contextmanager

import pytest
import requests
import sqlalchemy as sa

from tests.helpers.gate import Gate
from tests.helpers.parties import PORTAL_SECRET
from tests.helpers.services import REDIS_PORT, answers

WRONG = "Pas-le-bon-1"
UNAVAILABLE = "Le service est momentanément indisponible. Merci de réessayer dans quelques instants."
LIMITS_DOWN = ("Pour des raisons de sécurité, le service est momentanément indisponible. Merci de "
               "réessayer dans quelques instants.")


def says(page, sentence: str) -> bool:
    text = re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", page.text)))
    return sentence in text


def _password_attempts(app) -> int:
    from idp.extensions import db
    from idp.models import Throttle
    with app.app_context():
        value = db.session.scalar(sa.select(sa.func.coalesce(sa.func.sum(Throttle.attempts), 0))
                                  .where(Throttle.kind == "password"))
        db.session.rollback()
        return value


# -- Redis ----------------------------------------------------------------------------------

@pytest.fixture
def redis_gate():
    if not answers(REDIS_PORT):
        pytest.skip("Redis does not answer on 127.0.0.1:6379")
    gate = Gate(6379)
    yield gate
    gate.stop()


@pytest.fixture
def db_gate(database_uri):
    """The wire to PostgreSQL (SQLite is a file: it cannot go away)."""
    if not database_uri.startswith("postgresql"):
        pytest.skip("a database that goes down is a server: PostgreSQL only")
    gate = Gate(5432)
    yield gate
    gate.stop()


@pytest.fixture
def app_config(app_config, request):
    """The provider reaches Redis, or PostgreSQL, through the test's gate."""
    if "db_gate" in request.fixturenames:
        gate = request.getfixturevalue("db_gate")
        uri = app_config["SQLALCHEMY_DATABASE_URI"].replace("@127.0.0.1:5432/", f"@127.0.0.1:{gate.port}/")
        return {**app_config, "SQLALCHEMY_DATABASE_URI": uri}
    if "redis_gate" not in request.fixturenames:
        return app_config
    from idp.extensions import limiter
    limiter._key_prefix = ""      # the process-wide limiter keeps the first app's prefix
    gate = request.getfixturevalue("redis_gate")
    return {**app_config, "RATELIMIT_ENABLED": True,
            "RATELIMIT_STORAGE_URI": f"redis://127.0.0.1:{gate.port}/0",
            "RATELIMIT_KEY_PREFIX": "idp-test-" + uuid.uuid4().hex}


def test_redis_down_refuses_the_password_before_evaluating_it_then_recovers(
        redis_gate, app, browser, person):
    browser.get("/login")
    redis_gate.close()
    page = browser.submit_credentials(person.nir, WRONG)
    assert page.status_code == 503 and page.headers["Retry-After"]
    assert says(page, LIMITS_DOWN)
    assert "Traceback" not in page.text
    assert _password_attempts(app) == 0             # nothing evaluated, nothing counted

    redis_gate.open()
    browser.get("/login")
    page = browser.submit_credentials(person.nir, WRONG)
    assert page.status_code == 200
    assert says(page, "Le mot de passe saisi est incorrect.")
    assert _password_attempts(app) == 1


def test_redis_down_refuses_the_code_request_and_sends_no_mail(redis_gate, browser, person, smtp):
    browser.get("/login")
    browser.submit_credentials(person.nir, person.password)
    redis_gate.close()
    page = browser.ask_code()
    assert page.status_code == 503 and says(page, LIMITS_DOWN)
    assert smtp.to(person.email) == []


def test_redis_down_leaves_the_pages_that_limit_nothing_alone(redis_gate, server):
    redis_gate.close()
    assert requests.get(server.url + "/login").status_code == 200
    assert requests.get(server.url + "/.well-known/openid-configuration").status_code == 200


# -- the database ---------------------------------------------------------------------------

def test_database_down_is_a_french_503_page_then_the_login_works_again(db_gate, server):
    gate = db_gate
    login = server.url + "/authorize?client_id=portal&response_type=code&scope=openid" \
        "&redirect_uri=http://127.0.0.1:5001/callback&code_challenge=" + "a" * 43 + \
        "&code_challenge_method=S256&state=s"
    assert requests.get(login).status_code == 200          # the login page

    gate.close()
    page = requests.get(login)
    assert page.status_code == 503 and page.headers["Retry-After"]
    assert says(page, UNAVAILABLE) and "Traceback" not in page.text
    assert requests.get(server.url + "/status").status_code == 503
    readiness = requests.get(server.url + "/readyz")
    assert readiness.status_code == 503 and readiness.json()["database"] is False

    gate.open()                                             # no restart
    assert requests.get(login).status_code == 200
    assert requests.get(server.url + "/status").json() == {"status": "ok"}


@pytest.mark.parametrize("path", ["/token", "/introspect", "/revoke"])
def test_database_down_is_temporarily_unavailable_on_the_protocol_endpoints(db_gate, server, path):
    gate = db_gate
    gate.close()
    answer = requests.post(server.url + path, auth=("portal", PORTAL_SECRET),
                           data={"grant_type": "authorization_code", "code": "x", "token": "x",
                                 "redirect_uri": "http://127.0.0.1:5001/callback"})
    assert answer.status_code == 503
    assert answer.json() == {"error": "temporarily_unavailable"}
    gate.open()
    again = requests.post(server.url + path, auth=("portal", PORTAL_SECRET),
                          data={"grant_type": "authorization_code", "code": "x", "token": "x",
                                "redirect_uri": "http://127.0.0.1:5001/callback"})
    assert again.status_code in (200, 400)                  # answered by the protocol again


def test_with_the_database_down_the_jwks_is_served_from_memory_until_its_copy_is_stale(
        db_gate, server, clock):
    from idp.policy import Policy
    assert requests.get(server.url + "/jwks").status_code == 200       # this process's copy
    db_gate.close()
    assert requests.get(server.url + "/jwks").status_code == 200
    assert requests.get(server.url + "/.well-known/openid-configuration").status_code == 200

    clock.shift(Policy().signing_key_cache)                            # the copy is stale
    stale = requests.get(server.url + "/jwks")
    assert stale.status_code == 503 and stale.json() == {"error": "temporarily_unavailable"}
    assert stale.headers["Retry-After"] and stale.headers["Cache-Control"] == "no-store"

    db_gate.open()
    assert requests.get(server.url + "/jwks").json()["keys"]


# -- /status: what FranceConnect polls to route people (issue 10.4) -------------------------

def _statuses(url: str, calls: int = 12) -> set[int]:
    return {requests.get(url + "/status", timeout=10).status_code for _ in range(calls)}


def test_status_is_503_on_every_call_of_every_worker_when_the_sqlite_file_is_garbage(
        database_uri, start_gunicorn):
    """issue 10.4: the SQLite file's header overwritten while gunicorn serves: /status runs a
    real query on a real table on every call, so every call of both workers says 503, at
    once; the header back, 200 again without a restart."""
    if not database_uri.startswith("sqlite"):
        pytest.skip("the file of a SQLite database")
    provider = start_gunicorn(workers=2)
    assert _statuses(provider.url) == {200}
    path = database_uri.removeprefix("sqlite:///")
    with open(path, "r+b") as f:
        header = f.read(100)
        f.seek(0)
        f.write(b"\xa5" * 100)
    try:
        answers = [requests.get(provider.url + "/status", timeout=10) for _ in range(12)]
        assert {a.status_code for a in answers} == {503}
        assert all(a.json() == {"status": "unavailable"} for a in answers)
        assert all(a.headers["Cache-Control"] == "no-store" for a in answers)
    finally:
        with open(path, "r+b") as f:
            f.write(header)
    assert _statuses(provider.url) == {200}


@pytest.fixture
def pg_admin(database_uri):
    if not database_uri.startswith("postgresql"):
        pytest.skip("a PostgreSQL table")
    engine = sa.create_engine(database_uri, isolation_level="AUTOCOMMIT")
    yield engine
    engine.dispose()


def test_status_is_503_on_every_call_when_a_postgresql_table_is_unusable(
        pg_admin, start_gunicorn):
    """issue 10.4: the accounts' table gone (renamed under the provider): 503 on every call of
    every worker, 200 once it is back."""
    provider = start_gunicorn(workers=2)
    assert _statuses(provider.url) == {200}
    with pg_admin.connect() as conn:
        conn.execute(sa.text("ALTER TABLE account RENAME TO account_away"))
    try:
        assert _statuses(provider.url) == {503}
    finally:
        with pg_admin.connect() as conn:
            conn.execute(sa.text("ALTER TABLE account_away RENAME TO account"))
    assert _statuses(provider.url) == {200}


def test_status_is_503_within_its_timeout_when_a_postgresql_table_is_locked(
        pg_admin, start_gunicorn):
    """issue 10.4: a table locked by another session does not hang the poll: the status
    query gives up after ``Policy.status_query_timeout`` and says 503."""
    provider = start_gunicorn(workers=2, IDP_POLICY__STATUS_QUERY_TIMEOUT="0.3")
    assert _statuses(provider.url, 2) == {200}
    with pg_admin.connect() as conn:
        conn.execute(sa.text("BEGIN"))
        conn.execute(sa.text("LOCK TABLE account IN ACCESS EXCLUSIVE MODE"))
        answers = [requests.get(provider.url + "/status", timeout=10) for _ in range(4)]
        conn.execute(sa.text("ROLLBACK"))
    assert {a.status_code for a in answers} == {503}
    assert all(a.elapsed.total_seconds() < 3 for a in answers)
    assert _statuses(provider.url, 2) == {200}


def test_status_is_503_on_every_call_while_the_database_wire_is_cut(db_gate, start_gunicorn,
                                                                    app_config):
    """issue 10.4: the connection cut: every call of every worker says 503, then 200."""
    provider = start_gunicorn(workers=2, IDP_SQLALCHEMY_DATABASE_URI=app_config[
        "SQLALCHEMY_DATABASE_URI"])
    assert _statuses(provider.url) == {200}
    db_gate.close()
    assert _statuses(provider.url) == {503}
    db_gate.open()
    assert _statuses(provider.url) == {200}


# -- a fault in the middle of a login step ---------------------------------------------------

AUTHORIZE = {"client_id": "portal", "response_type": "code", "scope": "openid",
             "redirect_uri": "http://127.0.0.1:5001/callback", "state": "s1", "nonce": "n1",
             "code_challenge": "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
             "code_challenge_method": "S256"}


@contextmanager
def _refusing(pg_admin, operation: str, table: str, *, at_commit: bool = False):
    """A fault at one write: a PostgreSQL trigger raising on every ``operation`` of ``table``
    while the block runs (``at_commit``: a deferred constraint trigger, raising at the commit
    of a transaction that made it)."""
    when = ("CONSTRAINT TRIGGER idp_test_refuse AFTER {} ON {} DEFERRABLE INITIALLY DEFERRED"
            if at_commit else "TRIGGER idp_test_refuse BEFORE {} ON {}")
    with pg_admin.connect() as conn:
        conn.execute(sa.text("CREATE FUNCTION idp_test_refuse() RETURNS trigger AS $$ "
                             "BEGIN RAISE EXCEPTION 'refused by the test'; END $$ LANGUAGE plpgsql"))
        conn.execute(sa.text(f"CREATE {when.format(operation, table)} "
                             "FOR EACH ROW EXECUTE FUNCTION idp_test_refuse()"))
    try:
        yield
    finally:
        with pg_admin.connect() as conn:
            conn.execute(sa.text(f"DROP TRIGGER idp_test_refuse ON {table}"))
            conn.execute(sa.text("DROP FUNCTION idp_test_refuse()"))


def _step_left(app, account_nir: str) -> dict:
    from idp.extensions import db
    from idp.models import Account, AuditEvent, LoginFlow
    with app.app_context():
        account = db.session.scalars(sa.select(Account).where(Account.nir == account_nir)).one()
        left = {"steps": sorted(db.session.scalars(sa.select(LoginFlow.step))),
                "last_login_at": account.last_login_at,
                "events": list(db.session.scalars(sa.select(AuditEvent.event)
                                                  .order_by(AuditEvent.id)))}
        db.session.rollback()
        return left


def test_a_fault_at_the_last_write_of_the_code_step_leaves_nothing_of_that_step(
        pg_admin, app, server, browser, person, smtp):
    """The right code's step is one transaction (issue 15): the login's time on the account,
    the flow's move to done, its audit row and the result handed to the pending request. A
    fault at the last of them (a trigger refusing the interaction's update) leaves none of
    them behind: the flow still waits at the code, the account has no new login, the audit
    says no login succeeded; the page is the server error, not a login."""
    browser.get("/authorize", params=AUTHORIZE)
    browser.submit_credentials(person.nir, person.password)
    browser.ask_code()
    before = _step_left(app, person.nir)
    assert before["steps"] == ["code_sent"] and "code_sent" in before["events"]
    with _refusing(pg_admin, "UPDATE", "interaction"):
        response = browser.submit_code(smtp.code_for(person.email))
    assert response.status_code in (500, 503), response.status_code
    assert "Location" not in response.headers
    assert _step_left(app, person.nir) == before


def test_a_fault_at_the_code_of_the_resume_leaves_no_session_and_the_request_to_resume(
        pg_admin, app, server, browser, person, smtp, two_hops):
    """The resume is one transaction (issue 15): the interaction spent, the provider session
    opened and the code stored commit together. A fault at the code (a trigger refusing its
    insert) leaves no provider session and the request not spent: once the fault is gone, the
    same resume gives the client its code."""
    from idp.extensions import db
    from idp.models import ProviderSession
    browser.get("/authorize", params=AUTHORIZE)
    browser.submit_credentials(person.nir, person.password)
    browser.ask_code()
    resume = browser.submit_code(smtp.code_for(person.email)).headers["Location"]
    assert "/authorize/resume/" in resume
    with _refusing(pg_admin, "INSERT", "authorization_code"):
        refused = browser.get(resume, allow_redirects=False)
    assert refused.status_code in (500, 503), refused.status_code
    assert "Location" not in refused.headers
    with app.app_context():
        assert db.session.scalars(sa.select(ProviderSession)).all() == []
        db.session.rollback()
    again = browser.get(resume, allow_redirects=False)
    assert again.status_code == 303, again.status_code
    assert "code=" in again.headers["Location"] and "state=s1" in again.headers["Location"]


def test_a_fault_at_the_code_of_the_steps_answer_sends_the_browser_to_the_resume(
        pg_admin, app, server, browser, person, smtp):
    """The code step answers the request itself (issue 15) in one transaction after its own:
    a fault at the code rolls that one back (no provider session, the request not spent, the
    browser's Flask session as it was: no ``sid`` of a session that is not) and the step's
    answer is the resume URL, not a server error: the login is done, and once the fault is
    gone the resume gives the client its code."""
    from idp.extensions import db
    from idp.models import Interaction, LoginFlow, ProviderSession
    browser.get("/authorize", params=AUTHORIZE)
    browser.submit_credentials(person.nir, person.password)
    browser.ask_code()
    with _refusing(pg_admin, "INSERT", "authorization_code"):
        answer = browser.submit_code(smtp.code_for(person.email))
    assert answer.status_code == 303, answer.status_code
    resume = answer.headers["Location"]
    assert resume.startswith("/authorize/resume/")
    with app.app_context():
        assert db.session.scalars(sa.select(ProviderSession)).all() == []
        assert db.session.get(Interaction, resume.rsplit("/", 1)[1]).consumed_at is None
        assert db.session.scalars(sa.select(LoginFlow.step)).all() == ["done"]
        db.session.rollback()
    serializer = app.session_interface.get_signing_serializer(app)
    assert "sid" not in serializer.loads(browser.http.cookies[app.config["SESSION_COOKIE_NAME"]])
    again = browser.get(resume, allow_redirects=False)
    assert again.status_code == 303, again.status_code
    assert "code=" in again.headers["Location"] and "state=s1" in again.headers["Location"]


# -- a fault inside an error page -------------------------------------------------------------

@contextmanager
def _database_fails_at(app, nth_flow_read: int):
    """The driver refuses the ``nth_flow_read``-th read of a login flow from now on (and every
    one after it) as a dropped connection does: ``OperationalError`` from the DB-API. A fault
    at the boundary of the real database, for a moment no gate can pick (the middle of a
    request)."""
    from sqlalchemy import event

    from idp.extensions import db
    seen = []

    def _refuse(_conn, _cursor, statement, *_args):
        if statement.lstrip().startswith("SELECT login_flow."):
            seen.append(statement)
            if len(seen) >= nth_flow_read:
                raise db.engine.dialect.loaded_dbapi.OperationalError("the server closed the connection")

    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", _refuse)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", _refuse)


def test_a_database_fault_while_a_step_shows_its_error_is_the_french_503_page(
        app, server, browser, person, scheme, monkeypatch):
    """A step refused (here a code typed before any was sent: out of step), whose error page
    reads the flow again when the database goes away: the person gets the calm 503 page of a
    database that does not answer, with its Retry-After, not the 500 of a fault of ours
    (fails when the error handler's own fault falls through to the 500 page)."""
    if scheme == "https":
        pytest.skip("the fault is injected in this process: the http server runs in it")
    monkeypatch.setitem(app.config, "PROPAGATE_EXCEPTIONS", False)   # as in production
    browser.get("/authorize", params={
        "client_id": "portal", "response_type": "code", "scope": "openid", "state": "s",
        "redirect_uri": "http://127.0.0.1:5001/callback", "code_challenge": "a" * 43,
        "code_challenge_method": "S256"})
    browser.submit_credentials(person.nir, person.password)        # code offered, none sent
    with _database_fails_at(app, nth_flow_read=2) as reads:        # the step's read passes
        page = browser.post_form("/login/code", {"code": "123456"})
    assert len(reads) >= 2                                         # the error page read again
    assert page.status_code == 503 and page.headers["Retry-After"]
    assert says(page, UNAVAILABLE) and "Traceback" not in page.text


def test_a_fault_at_the_commit_of_the_steps_answer_keeps_nothing_and_the_code_works_again(
        pg_admin, app, server, browser, person, smtp, monkeypatch):
    """The code step answers its request in the transaction of its move (issue 15): a fault
    at its commit keeps nothing (no provider session, the request not spent, the flow still
    at the code, no login on the account) and the browser's Flask session is the one it had
    (its flow, no ``sid`` of a session that is not): the same code, typed again once the
    fault is gone, logs in and answers the client."""
    from idp.extensions import db
    from idp.models import Interaction, ProviderSession
    browser.get("/authorize", params=AUTHORIZE)
    browser.submit_credentials(person.nir, person.password)
    browser.ask_code()
    before = _step_left(app, person.nir)
    serializer = app.session_interface.get_signing_serializer(app)
    cookie = app.config["SESSION_COOKIE_NAME"]
    session_before = serializer.loads(browser.http.cookies[cookie])
    code, page = smtp.code_for(person.email), browser.page
    monkeypatch.setitem(app.config, "PROPAGATE_EXCEPTIONS", False)    # production's 500 page
    with _refusing(pg_admin, "UPDATE", "login_flow", at_commit=True):
        refused = browser.submit_code(code)
    assert refused.status_code in (500, 503), refused.status_code
    assert "Location" not in refused.headers
    assert _step_left(app, person.nir) == before
    with app.app_context():
        assert db.session.scalars(sa.select(ProviderSession)).all() == []
        assert db.session.scalars(sa.select(Interaction.consumed_at)).all() == [None]
        db.session.rollback()
    assert serializer.loads(browser.http.cookies[cookie]) == session_before
    browser.page = page                 # the code page, its form as it was
    again = browser.submit_code(code)
    assert again.status_code == 303, again.status_code
    assert "code=" in again.headers["Location"] and "state=s1" in again.headers["Location"]
