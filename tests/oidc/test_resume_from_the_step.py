"""The login's last step answers the pending request itself (issue 15, ``interaction.complete_here``):
the redirect to the client comes with the step's answer, one request fewer. It is the resume's
answer, given under the resume's rules: for the browser that started the request only, once,
in one transaction with the provider session and the code; every case it does not answer (an
error, ``form_post``, another person's session, the request spent or cancelled, a fault) goes
to the resume URL as before, nothing spent by the attempt."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest
import sqlalchemy as sa

from idp.extensions import db
from idp.models import Account, AuditEvent, AuthorizationCode, Interaction
from tests.helpers.rp import interaction_of, logged_in, to_consent

RESUME = "/authorize/resume/"


def _at_code(rp, browser, person, **params) -> str:
    """A login at the code step, the code sent: the interaction's id."""
    _, page = rp.start(browser, **params)          # its login page
    iid = interaction_of(page)
    browser.submit_credentials(person.nir, person.password)
    browser.ask_code()
    return iid


def _final(page) -> tuple:
    """A redirect to the client, but for the code, the state and the request's id (random)."""
    parts = urlsplit(page.headers["Location"])
    query = parse_qs(parts.query)
    return page.status_code, parts.scheme, parts.netloc, parts.path, sorted(query), query.get("iss")


def _codes(app) -> int:
    with app.app_context():
        count = db.session.scalar(sa.select(sa.func.count()).select_from(AuthorizationCode))
        db.session.rollback()
        return count


def _consumed(app, iid):
    with app.app_context():
        at = db.session.get(Interaction, iid).consumed_at
        db.session.rollback()
        return at


def _fresh(browser, server):
    return type(browser)(server.url)


def test_the_code_step_answers_with_the_redirect_the_resume_gave(
        app, server, rps, browser, person, smtp, monkeypatch):
    """The relying party sees the same final redirect, one request earlier; the request is
    spent, and the ID token is the login's."""
    from idp import interaction
    answers = []
    for shortcut in (True, False):
        if not shortcut:
            monkeypatch.delitem(app.extensions, interaction.ANSWER_HERE)
        fresh = _fresh(browser, server)
        iid = _at_code(rps.portal, fresh, person)
        page = fresh.submit_code(smtp.code_for(person.email))
        if not shortcut:
            assert page.headers["Location"] == RESUME + iid
            page = fresh.get(page.headers["Location"], allow_redirects=False)
        answers.append(_final(page))
        assert page.headers["Cache-Control"] == "no-store"
        assert page.headers["X-Content-Type-Options"] == "nosniff"
        assert _consumed(app, iid) is not None
    assert answers[0] == answers[1] and "code" in answers[0][4]


def test_the_login_reaches_the_client_and_its_tokens(rps, browser, person, smtp):
    pending, _ = rps.portal.start(browser)          # its login page
    browser.submit_credentials(person.nir, person.password)
    browser.ask_code()
    page = browser.submit_code(smtp.code_for(person.email))
    assert page.status_code == 303 and page.headers["Location"].startswith(rps.portal.redirect_uri)
    done = rps.portal.walk(browser, page)
    claims = rps.portal.validate_id_token(rps.portal.exchange(done, pending), pending).claims
    # The provider session the answer opened is this browser's: the next request is answered
    # at once, by the same session.
    again_pending, again = rps.portal.start(browser, prompt="none")
    second = rps.portal.walk(browser, again)
    assert rps.portal.validate_id_token(rps.portal.exchange(second, again_pending),
                                        again_pending).claims["sid"] == claims["sid"]


@pytest.mark.parametrize("decision", ["accept", "refuse"])
def test_consent_accepted_answers_with_the_redirect_and_a_refusal_as_before(
        app, rps, browser, person, smtp, decision):
    """"Accepter" is the login's last step: its answer is the redirect with the code;
    "Refuser" still goes through its own URL (``access_denied``)."""
    rp = rps.thirdparty
    _, page = to_consent(rp, browser, person, smtp, scope="openid profile")
    answer = browser.post_form("/login/consent", {"decision": decision}, allow_redirects=False)
    assert answer.status_code == 303
    if decision == "accept":
        assert answer.headers["Location"].startswith(rp.redirect_uri + "?code=")
        assert _codes(app) == 1
    else:
        assert answer.headers["Location"].startswith("/authorize/refuse/")
        assert rp.walk(browser, answer)["error"] == "access_denied" and _codes(app) == 0


def test_the_resume_url_replayed_after_the_answer_gives_nothing(app, rps, browser, other_browser,
                                                               person, smtp):
    """The request is spent by the step's answer: its resume URL, replayed by this browser or
    another (stolen), gives no second code."""
    iid = _at_code(rps.portal, browser, person)
    page = browser.submit_code(smtp.code_for(person.email))
    assert "code=" in page.headers["Location"] and _codes(app) == 1
    for anyone in (browser, other_browser):
        replayed = anyone.get(RESUME + iid, allow_redirects=False)
        assert replayed.status_code in (400, 403) and "Location" not in replayed.headers
        assert "code=" not in replayed.text
    assert _codes(app) == 1


def _rebound(app, browser) -> None:
    """This browser's Flask session told another browser's nonce (what a flow carried into
    another browser looks like to the interaction's binding, issue 11.3)."""
    from idp import interaction
    serializer = app.session_interface.get_signing_serializer(app)
    for cookie in browser.http.cookies:
        if cookie.name == app.config["SESSION_COOKIE_NAME"]:
            data = serializer.loads(cookie.value)
            data[interaction.BROWSER_KEY] = "n" * 32
            cookie.value = serializer.dumps(data)
            return
    raise AssertionError("no session cookie")


def test_a_step_in_a_browser_not_bound_to_the_request_issues_nothing(app, rps, browser, person,
                                                                    smtp):
    """The shortcut checks the binding the resume checks: a flow whose browser does not hold
    the request's nonce goes to the resume URL, which refuses it; nothing spent, no code."""
    iid = _at_code(rps.portal, browser, person)
    _rebound(app, browser)
    page = browser.submit_code(smtp.code_for(person.email))
    assert page.status_code == 303 and page.headers["Location"] == RESUME + iid
    assert _consumed(app, iid) is None and _codes(app) == 0
    refused = browser.get(RESUME + iid, allow_redirects=False)
    assert refused.status_code == 403 and _codes(app) == 0


@pytest.mark.parametrize("cookie", ["renewed", "as_before"])
def test_a_double_click_on_the_code_gives_one_code(app, rps, browser, person, smtp, cookie):
    """The same form posted again after the answer, with the session cookie the answer renewed
    (its CSRF token is gone: refused) or the one the browser had before (its flow is done: the
    login page, whose request is spent): no second code either way."""
    _at_code(rps.portal, browser, person)
    code = smtp.code_for(person.email)
    page, before = browser.page, browser.http.cookies.copy()
    first = browser.submit_code(code)
    assert "code=" in first.headers["Location"] and _codes(app) == 1
    browser.page = page
    if cookie == "as_before":
        browser.http.cookies = before
    second = browser.submit_code(code)
    assert not second.headers.get("Location", "").startswith(rps.portal.redirect_uri)
    if second.status_code == 303:
        shown = browser.get(second.headers["Location"], allow_redirects=False)
        assert shown.status_code in (200, 400) and "code=" not in shown.headers.get("Location", "")
    assert _codes(app) == 1


def test_a_request_cancelled_meanwhile_gets_no_code(app, rps, browser, person, smtp):
    """"Revenir sur …" in another tab spent the request: the right code still ends the login,
    whose answer is the resume URL saying the request is over; no code issued."""
    iid = _at_code(rps.portal, browser, person)
    page = browser.page
    cancelled = browser.get(f"/authorize/cancel/{iid}", allow_redirects=False)
    assert "error=access_denied" in cancelled.headers["Location"]
    browser.page = page
    answer = browser.submit_code(smtp.code_for(person.email))
    assert answer.status_code == 303 and answer.headers["Location"] == RESUME + iid
    over = browser.get(RESUME + iid, allow_redirects=False)
    assert over.status_code == 400 and "code=" not in over.text
    assert _codes(app) == 0


def test_form_post_goes_through_the_resume_url(app, rps, browser, person, smtp):
    """A form_post page as the answer of a POST would be posted again by a reload: the step
    redirects to the resume URL, whose GET answers with the form. (With "Se souvenir de cet
    appareil", whose commit comes after: the take the step tried is undone, not committed.)"""
    iid = _at_code(rps.portal, browser, person, response_mode="form_post")
    page = browser.submit_code(smtp.code_for(person.email), remember=True)
    assert page.headers["Location"] == RESUME + iid and _consumed(app, iid) is None
    answer = rps.portal.walk(browser, page)
    assert answer.mode == "form_post" and "code" in answer.params


def test_an_error_answer_goes_through_the_resume_url(app, rps, browser, person, smtp):
    """An essential acr the trusted-device login does not reach: the resume URL answers the
    error, as before; the take the step tried is undone."""
    import json
    logged_in(rps.portal, browser, person, smtp, remember=True)
    browser.logout()
    claims = {"id_token": {"acr": {"essential": True, "values": ["eidas2"]}}}
    _, page = rps.portal.start(browser, claims=json.dumps(claims))
    iid = interaction_of(page)
    page = browser.post_form("/login", {"nir": person.nir, "password": person.password},
                             allow_redirects=False)
    assert page.headers["Location"] == RESUME + iid and _consumed(app, iid) is None
    assert rps.portal.walk(browser, page)["error"] == "unmet_authentication_requirements"
    assert _codes(app) == 1                 # the first login's only


def test_another_persons_session_goes_through_the_resume_url(app, rps, browser, person,
                                                            other_person, smtp):
    """Logging in as somebody else ends the browser's session of the first person, a commit of
    its own: that case keeps the resume URL (the take tried by the step undone)."""
    logged_in(rps.portal, browser, person, smtp)
    iid = _at_code(rps.portal, browser, other_person, prompt="login")
    page = browser.submit_code(smtp.code_for(other_person.email))
    assert page.headers["Location"] == RESUME + iid and _consumed(app, iid) is None
    answer = rps.portal.walk(browser, page)
    assert "code" in answer.params


def test_the_answer_writes_the_audit_rows_the_two_hops_wrote(app, server, rps, browser, person,
                                                            smtp, monkeypatch):
    from idp import interaction

    def events():
        with app.app_context():
            rows = db.session.scalars(sa.select(AuditEvent.event).order_by(AuditEvent.id)).all()
            db.session.execute(sa.delete(AuditEvent))
            db.session.commit()
            return rows
    trails = []
    for shortcut in (True, False):
        if not shortcut:
            monkeypatch.delitem(app.extensions, interaction.ANSWER_HERE)
        fresh = _fresh(browser, server)
        events()
        pending, answer = rps.portal.login(fresh, person, smtp)
        rps.portal.exchange(answer, pending)
        trails.append(events())
    assert trails[0] == trails[1] and "login_succeeded" in trails[0]


def test_the_trusted_device_cookie_comes_with_the_answer(app, rps, browser, person, smtp):
    """"Se souvenir de cet appareil": the cookie is set on the step's answer, which is now the
    redirect to the client; the next login from this browser skips the code."""
    from idp.domain import devices
    _at_code(rps.portal, browser, person)
    page = browser.submit_code(smtp.code_for(person.email), remember=True)
    assert "code=" in page.headers["Location"]
    with app.app_context():
        assert devices.cookie_name() in page.cookies
    browser.logout()
    mails = len(smtp.messages)
    pending, _ = rps.portal.start(browser)          # its login page
    done = browser.post_form("/login", {"nir": person.nir, "password": person.password},
                             allow_redirects=False)
    assert done.headers["Location"].startswith(rps.portal.redirect_uri)
    assert len(smtp.messages) == mails


def test_the_step_gives_its_result_and_spends_the_request_in_one_write(app, rps, browser,
                                                                       person, smtp):
    """The code step that answers the request writes the interaction once: the login's result
    and the request spent, by the statement that takes it for this browser (issue 15); the
    result stored is the login's, and the same code gives the client the same ID token."""
    from sqlalchemy import event
    iid = _at_code(rps.portal, browser, person)
    seen: list[str] = []

    def _seen(_conn, _cursor, statement, *_args):
        seen.append(statement)
    with app.app_context():
        event.listen(db.engine, "before_cursor_execute", _seen)
        try:
            page = browser.submit_code(smtp.code_for(person.email))
        finally:
            event.remove(db.engine, "before_cursor_execute", _seen)
        assert "code=" in page.headers["Location"]
        writes = [s for s in seen if s.lstrip().upper().startswith("UPDATE INTERACTION")]
        assert len(writes) == 1, writes
        row = db.session.get(Interaction, iid)
        account_id = db.session.scalars(sa.select(Account.id).where(Account.nir == person.nir)).one()
        assert row.consumed_at is not None and row.result["account_id"] == account_id
        assert row.result["amr"] == ["pwd", "otp", "mfa"]
        db.session.rollback()
