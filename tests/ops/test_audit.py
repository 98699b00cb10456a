"""The audit trail: security events as rows keyed by the NIR's keyed hash, read by the CLI."""

import pytest
import sqlalchemy as sa

from idp import keyed

AUTHORIZE = {"client_id": "portal", "response_type": "code", "scope": "openid",
             "redirect_uri": "http://127.0.0.1:5001/callback", "state": "s1", "nonce": "n1",
             "code_challenge": "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
             "code_challenge_method": "S256"}


def _rows(app):
    from idp.extensions import db
    from idp.models import AuditEvent
    with app.app_context():
        return [(r.event, r.nir_key, r.account_id, r.outcome, r.request_id)
                for r in db.session.scalars(sa.select(AuditEvent).order_by(AuditEvent.id))]


def test_a_failed_then_successful_login_leaves_rows_read_back_by_nir_without_the_nir_in_clear(
        app, server, browser, person, smtp):
    browser.get("/authorize", params=AUTHORIZE)
    page = browser.submit_credentials(person.nir, "not the password 1!")
    assert page.status_code == 200
    browser.submit_credentials(person.nir, person.password)
    browser.ask_code()
    response = browser.submit_code(smtp.code_for(person.email))
    assert response.status_code == 303

    rows = _rows(app)
    events = [r[0] for r in rows]
    assert events[:1] == ["login_failed"] and "code_sent" in events and "login_succeeded" in events
    failed = rows[0]
    with app.app_context():
        assert failed[1] == keyed.nir_key(person.nir)[:16]
    assert failed[3] == "password" and failed[4]
    assert all(person.nir not in repr(r) for r in rows)

    result = app.test_cli_runner().invoke(args=["idp", "audit", "show", person.nir])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert [line.split('"event": "')[1].split('"')[0] for line in lines] == events
    assert person.nir not in result.output


def test_the_audit_of_another_person_is_empty(app, person):
    result = app.test_cli_runner().invoke(args=["idp", "audit", "show", "1850575123456"])
    assert result.exit_code == 0 and result.output == ""


def test_a_login_goes_on_when_the_audit_table_cannot_be_written(app, server, browser, person, smtp):
    from idp.extensions import db
    from idp.models import AuditEvent
    with app.app_context():
        with db.engine.begin() as conn:
            conn.execute(sa.text("DROP TABLE audit_event"))
    try:
        browser.get("/authorize", params=AUTHORIZE)
        page = browser.submit_credentials(person.nir, person.password)
        assert "recevoir un code de sécurité" in page.text
        browser.ask_code()
        response = browser.submit_code(smtp.code_for(person.email))
        assert response.status_code == 303
    finally:
        with app.app_context():
            AuditEvent.__table__.create(db.engine)


def _refuse_audit_rows(conn) -> None:
    """Every insert into ``audit_event`` refused by a trigger: a statement that fails in the
    middle of the step's transaction, not before it starts (as a missing table does)."""
    if conn.dialect.name == "sqlite":
        conn.execute(sa.text("CREATE TRIGGER idp_test_refuse BEFORE INSERT ON audit_event "
                             "BEGIN SELECT RAISE(ABORT, 'refused by the test'); END"))
        return
    conn.execute(sa.text("CREATE FUNCTION idp_test_refuse() RETURNS trigger AS $$ "
                         "BEGIN RAISE EXCEPTION 'refused by the test'; END $$ LANGUAGE plpgsql"))
    conn.execute(sa.text("CREATE TRIGGER idp_test_refuse BEFORE INSERT ON audit_event "
                         "FOR EACH ROW EXECUTE FUNCTION idp_test_refuse()"))


def test_a_refused_audit_row_loses_itself_only_and_the_step_commits_its_writes(
        app, server, browser, person, smtp):
    """``audit.into_step`` (a savepoint on PostgreSQL; none for one row on SQLite, where a
    failed statement is undone alone): the audit rows of the code's steps refused, the steps
    still commit what they wrote, the flow's moves and the login's time on the account."""
    from idp.extensions import db
    from idp.models import Account, LoginFlow
    with app.app_context():
        with db.engine.begin() as conn:
            _refuse_audit_rows(conn)
    try:
        browser.get("/authorize", params=AUTHORIZE)
        browser.submit_credentials(person.nir, person.password)
        browser.ask_code()
        response = browser.submit_code(smtp.code_for(person.email))
        # the step answered the request itself: the client gets its code (the answer's own
        # audit rows, written after it, are refused too and only logged)
        assert response.status_code == 303 and "code=" in response.headers["Location"]
    finally:
        with app.app_context():
            with db.engine.begin() as conn:
                conn.execute(sa.text("DROP TRIGGER idp_test_refuse"
                                     + ("" if conn.dialect.name == "sqlite" else " ON audit_event")))
                if conn.dialect.name != "sqlite":
                    conn.execute(sa.text("DROP FUNCTION idp_test_refuse()"))
    with app.app_context():
        assert db.session.scalars(sa.select(LoginFlow.step)).all() == ["done"]
        account = db.session.scalars(sa.select(Account).where(Account.nir == person.nir)).one()
        assert account.last_login_at is not None
        db.session.rollback()
    assert _rows(app) == []


def test_on_sqlite_an_audit_failure_that_ends_the_transaction_fails_the_step(
        app, server, browser, person, smtp):
    """Without a savepoint (SQLite, one row), an error that ends the whole transaction (a
    full disk; here a trigger's RAISE(ROLLBACK)) is not taken for a lost audit row: the
    step's writes are gone with it, so the step fails instead of answering as if it had
    moved (fails when the error is only logged: the code step then redirects)."""
    from idp.extensions import db
    with app.app_context():
        if db.engine.dialect.name != "sqlite":
            pytest.skip("SQLite: PostgreSQL's audit rows always have their savepoint")
    browser.get("/authorize", params=AUTHORIZE)
    browser.submit_credentials(person.nir, person.password)
    browser.ask_code()
    with app.app_context():
        with db.engine.begin() as conn:
            conn.execute(sa.text("CREATE TRIGGER idp_test_refuse BEFORE INSERT ON audit_event "
                                 "BEGIN SELECT RAISE(ROLLBACK, 'the disk is full'); END"))
    try:
        response = browser.submit_code(smtp.code_for(person.email))
    finally:
        with app.app_context():
            with db.engine.begin() as conn:
                conn.execute(sa.text("DROP TRIGGER idp_test_refuse"))
    assert response.status_code == 500 and "Location" not in response.headers
