"""Every edge of the login's diagram (idp/flows/login/machine.py), walked on the stored flow
with the real domain, database and SMTP server: the outcome waiting for consent (or for the
journey that started the login) sits on the flow row, never in the Flask session."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa
from flask import session

from idp import interaction, sessions
from idp.domain import devices
from idp.errors import CodeExpired, CodeLocked, CodeQuotaReached, FlowOutOfStep, WrongCode
from idp.extensions import db
from idp.flows.login import machine
from idp.models import Consent, Interaction, LoginFlow, ProviderSession
from idp.policy import policy

EMAIL = "jean.dupont@example.fr"
NIR = "1840117123456"
Next = machine.Next


def pending(**changes) -> str:
    """A stored authorization request, as ``idp.oidc`` stores one."""
    request = interaction.PendingRequest(**{
        "client_id": "portal", "client_name": "Mon compte ameli", "login_hint": None,
        "require_security_code": True, "franceconnect_branding": False,
        "scope": "openid profile", "consent_claims": [], "consent": False,
        "prompt_consent": False, "reuse_session": False, "session_account_id": None,
        **changes})
    return interaction.start(request, {}, "browser-nonce-of-this-test")


@pytest.fixture
def walk(app, smtp, clock, make_account):
    """A request context of the app, and an account to log in."""
    account_id = make_account(NIR, email=EMAIL)
    with app.test_request_context("/login", method="POST"):
        yield account_id


def credentials(flow, cookie=None):
    from tests.helpers.accounts import PASSWORD
    return machine.submit_credentials(flow, NIR, PASSWORD, cookie)


def at_code_sent(flow):
    assert credentials(flow).kind == Next.PAGE
    machine.send_code(flow)
    assert flow.step == machine.CODE_SENT
    return flow


def right_code(flow, smtp):
    return machine.submit_code(flow, smtp.code_for(EMAIL))


def stored(flow) -> LoginFlow:
    db.session.expire_all()
    return db.session.get(LoginFlow, flow.id)


def test_credentials_to_code_offered_when_the_code_is_asked(walk):
    flow = machine.start(None)
    assert credentials(flow) == Next(Next.PAGE)
    assert stored(flow).step == machine.CODE_OFFERED and flow.account_id == walk
    assert stored(flow).result is None


def test_credentials_to_done_when_a_trusted_device_spares_the_code(walk):
    cookie, _ = devices.trust(walk, "Firefox")
    db.session.commit()
    flow = machine.start(None)
    then = credentials(flow, cookie)
    assert then.kind == Next.ACCOUNT and then.result.account_id == walk
    assert then.result.amr == ["pwd"] and then.result.remembered_device
    assert stored(flow).step == machine.DONE and stored(flow).result["amr"] == ["pwd"]


def test_credentials_to_done_when_the_client_asks_no_code(walk):
    iid = pending(require_security_code=False)
    flow = machine.start(iid)
    then = credentials(flow)
    assert then.kind == Next.RESUME and then.url == interaction.resume_url(iid)
    assert db.session.get(Interaction, iid).result["account_id"] == walk


def test_code_offered_to_code_sent_to_done_with_the_right_code(walk, smtp):
    flow = at_code_sent(machine.start(None))
    then = right_code(flow, smtp)
    assert then.kind == Next.ACCOUNT and then.result.amr == ["pwd", "otp", "mfa"]
    assert not then.result.remembered_device
    assert stored(flow).step == machine.DONE
    assert "pending_result" not in session and set(session) <= {"_fresh"}


def test_code_sent_resend_stays_at_code_sent_with_the_notice(walk):
    flow = at_code_sent(machine.start(None))
    assert not flow.new_code_notice
    machine.send_code(flow)
    assert flow.step == machine.CODE_SENT and flow.new_code_notice


def test_code_sent_to_code_offered_when_the_code_expired(walk, smtp, clock):
    flow = at_code_sent(machine.start(None))
    code = smtp.code_for(EMAIL)
    clock.shift(policy().code_ttl + timedelta(seconds=1))
    with pytest.raises(CodeExpired):
        machine.submit_code(flow, code)
    assert stored(flow).step == machine.CODE_OFFERED


def test_code_sent_to_credentials_at_the_third_wrong_code(walk):
    flow = at_code_sent(machine.start(None))
    for _ in range(policy().wrong_codes_before_lock - 1):
        with pytest.raises(WrongCode):
            machine.submit_code(flow, "000000")
        assert stored(flow).step == machine.CODE_SENT
    with pytest.raises(CodeLocked):
        machine.submit_code(flow, "000000")
    assert stored(flow).step == machine.CREDENTIALS


def test_a_code_step_is_shown_as_credentials_during_the_quota_block(walk):
    flow = at_code_sent(machine.start(None))
    for _ in range(policy().code_quota - 1):
        machine.send_code(flow)
    with pytest.raises(CodeQuotaReached):
        machine.send_code(flow)
    step, error = machine.page_step(stored(flow), None)
    assert step == machine.CREDENTIALS and isinstance(error, CodeQuotaReached)
    assert stored(flow).step == machine.CODE_SENT        # the stored step is kept for later


def test_credentials_to_consent_when_a_live_session_misses_only_consent(walk):
    result = interaction.AuthResult(account_id=walk, amr=["pwd", "otp", "mfa"], acr="eidas1",
                                    auth_time=machine.clock.now().replace(microsecond=0))
    live = sessions.open_session(result)
    flow = machine.start(pending(consent=True, reuse_session=True, session_account_id=walk))
    then = machine.answer_from_session(flow, live)
    assert then.kind == Next.PAGE and stored(flow).step == machine.CONSENT
    assert stored(flow).result["amr"] == ["pwd", "otp", "mfa"]


def test_a_live_session_of_another_account_answers_nothing(walk, make_account):
    other = make_account("2690299341732", email="autre@example.fr")
    live = sessions.open_session(interaction.AuthResult(
        account_id=other, amr=["pwd"], acr=None, auth_time=machine.clock.now()))
    flow = machine.start(pending(consent=True, reuse_session=True, session_account_id=walk))
    assert machine.answer_from_session(flow, live) is None
    assert stored(flow).step == machine.CREDENTIALS


def test_credentials_to_code_offered_for_a_step_up(walk):
    live = sessions.open_session(interaction.AuthResult(
        account_id=walk, amr=["pwd"], acr="eidas1", auth_time=machine.clock.now()))
    flow = machine.start(pending(step_up_account_id=walk))
    assert machine.answer_from_session(flow, live) == Next(Next.PAGE)
    assert stored(flow).step == machine.CODE_OFFERED and stored(flow).account_id == walk


def test_logged_in_to_consent_then_accepted_to_done(walk, smtp):
    iid = pending(consent=True)
    flow = at_code_sent(machine.start(iid))
    then = right_code(flow, smtp)
    assert then.kind == Next.PAGE and stored(flow).step == machine.CONSENT
    assert stored(flow).result["account_id"] == walk
    assert db.session.get(Interaction, iid).result is None     # nothing handed on yet
    then = machine.decide_consent(flow, accepted=True)
    assert then.kind == Next.RESUME and stored(flow).step == machine.DONE
    assert db.session.get(Interaction, iid).result["account_id"] == walk
    assert db.session.get(Consent, (walk, "portal")) is not None


def test_consent_refused_to_done_with_access_denied(walk, smtp):
    iid = pending(prompt_consent=True)
    flow = at_code_sent(machine.start(iid))
    right_code(flow, smtp)
    then = machine.decide_consent(flow, accepted=False)
    assert then == Next(Next.REFUSED, url=f"/authorize/refuse/{iid}")
    assert stored(flow).step == machine.DONE
    assert db.session.get(Interaction, iid).result is None
    assert db.session.get(Consent, (walk, "portal")) is None


def test_consent_is_decided_once(walk, smtp):
    flow = at_code_sent(machine.start(pending(consent=True)))
    right_code(flow, smtp)
    machine.decide_consent(flow, accepted=True)
    with pytest.raises(FlowOutOfStep):
        machine.decide_consent(flow, accepted=True)


def test_logged_in_to_done_when_consent_was_given_before(walk, smtp):
    sessions.grant_consent(walk, "portal", "openid profile")
    iid = pending(consent=True)
    flow = at_code_sent(machine.start(iid))
    assert right_code(flow, smtp).kind == Next.RESUME
    assert stored(flow).step == machine.DONE


def test_a_login_of_a_journey_hands_its_result_to_that_journey(walk, smtp):
    flow = at_code_sent(machine.start(None, then_endpoint="franceconnect.link_done"))
    then = right_code(flow, smtp)
    assert then.kind == Next.THEN and then.url == "franceconnect.link_done"
    assert machine.result_for(flow.id, "franceconnect.link_done").account_id == walk
    assert machine.result_for(flow.id, "account.home") is None


def test_a_done_flow_takes_no_step(walk, smtp):
    flow = at_code_sent(machine.start(None))
    right_code(flow, smtp)
    with pytest.raises(FlowOutOfStep):
        credentials(flow)
    with pytest.raises(FlowOutOfStep):
        machine.send_code(flow)


def test_any_step_expired_is_gone_and_a_new_flow_starts_at_credentials(walk, clock):
    flow = at_code_sent(machine.start(None))
    clock.shift(policy().interaction_ttl + timedelta(seconds=1))
    assert machine.load(flow.id) is None
    assert machine.start(None).step == machine.CREDENTIALS


def test_every_state_of_the_diagram_is_a_step_of_the_machine():
    doc = machine.__doc__
    for step in machine.STEPS:
        assert f"{step} " in doc or f" {step}" in doc


# -- load: the row in hand, or read (issue 15: a prebuilt select instead of session.get) ----

def test_load_gives_the_row_in_hand_then_reads_it_again_after_a_rollback(walk, clock):
    flow = machine.start(None)
    flow_id = flow.id
    assert machine.load(flow.id) is flow
    db.session.execute(LoginFlow.__table__.update().where(LoginFlow.id == flow.id)
                       .values(step=machine.CODE_OFFERED))
    db.session.rollback()                 # expires the row in hand: read again, as it is now
    assert machine.load(flow.id) is flow and flow.step == machine.CREDENTIALS
    db.session.rollback()
    with db.engine.begin() as elsewhere:  # another request deletes it (the purge)
        elsewhere.execute(LoginFlow.__table__.delete().where(LoginFlow.id == flow_id))
    db.session.execute(LoginFlow.__table__.select())
    db.session.rollback()
    assert machine.load(flow_id) is None  # gone: None, as session.get said
    assert machine.load("no-such-flow") is None
    other = machine.start(None)
    clock.shift(policy().interaction_ttl)
    assert machine.load(other.id) is None  # expired


def _stored_session(sid):
    row = db.session.execute(sa.select(ProviderSession.__table__).where(
        ProviderSession.__table__.c.id == sid)).one()._asdict()
    row.pop("id")
    return row


def test_the_resume_opens_the_session_the_unit_of_work_opened(walk):
    """``open_for_browser`` with ``client_id`` (the resume's prebuilt INSERT, in the caller's
    transaction) stores the row the ORM path and ``add_client`` stored, and names it in the
    cookie; a rollback of the caller's transaction leaves no row."""
    result = interaction.AuthResult(account_id=walk, amr=["pwd", "otp", "mfa"], acr="eidas1",
                                    auth_time=machine.clock.now().replace(microsecond=0))
    by_orm = sessions.open_for_browser(session, result, commit=False)
    sessions.add_client(by_orm, "portal")
    db.session.commit()
    by_core = sessions.open_for_browser(session, result, client_id="portal")
    sessions.add_client(by_core, "portal")             # already named: nothing to write
    assert session["sid"] == by_core.id and by_core.clients == ["portal"]
    db.session.commit()
    assert _stored_session(by_core.id) == _stored_session(by_orm.id)
    dropped = sessions.open_for_browser(session, result, client_id="portal")
    db.session.rollback()
    assert db.session.get(ProviderSession, dropped.id) is None


@pytest.mark.parametrize("wrong_before", [1, 2])
def test_a_fault_in_the_move_after_the_right_code_leaves_nobody_locked_and_the_code_working(
        walk, smtp, monkeypatch, wrong_before):
    """The right code is used and its count cleared in the transaction of the move (issue 15):
    a fault there rolls back both, and the code still works. At the last attempt allowed,
    whose reservation set the lock, they are committed at once instead (the code is spent, as
    before issue 15): the person is not locked and logs in with a new code (fails when the
    clearing waits for the move there too)."""
    from idp.domain import accounts
    flow = at_code_sent(machine.start(None))
    for _ in range(wrong_before):
        with pytest.raises(WrongCode):
            machine.submit_code(flow, "000000")

    def fault(_account_id):
        raise OSError("the database went away")
    with monkeypatch.context() as patched:
        patched.setattr(accounts, "note_login", fault)
        with pytest.raises(OSError):
            right_code(flow, smtp)
    db.session.rollback()
    assert stored(flow).step == machine.CODE_SENT
    if wrong_before == policy().wrong_codes_before_lock - 1:
        with pytest.raises(FlowOutOfStep):          # spent, not a wrong code: no lock
            right_code(flow, smtp)
        machine.send_code(flow)
    assert right_code(flow, smtp).kind == Next.ACCOUNT


def test_the_refusal_of_a_right_password_still_clears_its_count(walk, make_account):
    """A right password refused for the account's state (case 1 bis) clears the count of
    wrong ones like a login does: its clearing, left to the step's commit, is committed
    with the refusal (fails when the refusal rolls it back: the next two wrong passwords
    then lock the NIR)."""
    from datetime import date

    from idp.errors import AccountClosed, WrongPassword
    from tests.helpers.accounts import PASSWORD
    closed = "1850575123456"
    make_account(closed, status="resigned", closed_on=date(2024, 4, 12))
    flow = machine.start(None)
    with pytest.raises(WrongPassword):
        machine.submit_credentials(flow, closed, "not the password 1!", None)
    with pytest.raises(AccountClosed):
        machine.submit_credentials(flow, closed, PASSWORD, None)
    db.session.rollback()               # the request's end: what it left uncommitted is lost
    for _ in range(policy().wrong_passwords_before_lock - 1):
        with pytest.raises(WrongPassword):
            machine.submit_credentials(flow, closed, "not the password 1!", None)
