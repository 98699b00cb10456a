"""Every edge of the password change's diagram (idp/flows/password/machine.py), walked on the
stored flow with the real domain, database and SMTP server; and issue 12's rule that a fault
of ours during the code check consumes no attempt."""

from __future__ import annotations

from datetime import timedelta

import pytest
from flask import session
from sqlalchemy.exc import OperationalError

from idp.errors import (
    ChangeCodeExpired,
    ChangeCodeLocked,
    EmailRecentlyChanged,
    FlowOutOfStep,
    FormInvalid,
    MailNotSent,
    PasswordLocked,
    WrongChangeCode,
)
from idp.flows.password import machine
from tests.helpers.accounts import NEW_PASSWORD

SID = "sid-of-this-browser"


@pytest.fixture
def walk(app, smtp, clock, person):
    with app.test_request_context("/compte/mot-de-passe", method="POST"):
        from idp.domain import accounts
        yield accounts.by_nir(person.nir), smtp, person


def sent(walk):
    account, smtp, person = walk
    flow = machine.send_code(SID, account)
    return flow, smtp.code_for(person.email, digits=4)


def wrong(code: str) -> str:
    return f"{(int(code) + 1) % 10000:04d}"


def confirmed(walk):
    flow, code = sent(walk)
    machine.check_code(flow, walk[0], code)
    return flow


def test_no_flow_to_new_to_code_sent_and_the_session_holds_only_its_id(walk):
    assert machine.load(SID) is None and machine.step(None) is None
    flow, _ = sent(walk)
    assert flow.step == machine.CODE_SENT and flow.subject == SID
    assert dict(session) == {"password_change_flow": flow.id}


def test_new_stays_new_when_the_mail_is_not_sent(walk, app):
    app.config["MAIL_PORT"] = 1                  # nothing listens: our relay is down
    with pytest.raises(MailNotSent):
        machine.send_code(SID, walk[0])
    assert machine.load(SID).step == machine.NEW


def test_code_sent_and_confirmed_go_to_code_sent_on_a_new_code(walk):
    account, smtp, person = walk
    flow, _ = sent(walk)
    machine.send_code(SID, account)                          # the quota's 2nd of 3
    assert machine.load(SID).step == machine.CODE_SENT
    machine.check_code(flow, account, smtp.code_for(person.email, digits=4))
    assert flow.step == machine.CONFIRMED
    machine.send_code(SID, account)                          # the 3rd
    assert machine.load(SID).step == machine.CODE_SENT


def test_code_sent_to_confirmed_on_the_right_code(walk):
    flow = confirmed(walk)
    assert flow.step == machine.CONFIRMED and machine.step(flow) == machine.CONFIRMED


def test_code_sent_stays_on_a_wrong_or_expired_code(walk, clock, app):
    flow, code = sent(walk)
    with pytest.raises(WrongChangeCode):
        machine.check_code(flow, walk[0], wrong(code))
    assert flow.step == machine.CODE_SENT
    clock.shift(app.extensions["idp.policy"].change_code_ttl + timedelta(seconds=1))
    with pytest.raises(ChangeCodeExpired):
        machine.check_code(flow, walk[0], code)
    assert machine.load(SID).step == machine.CODE_SENT


def test_code_sent_to_new_on_the_third_wrong_code(walk):
    flow, code = sent(walk)
    for _ in range(2):
        with pytest.raises(WrongChangeCode):
            machine.check_code(flow, walk[0], wrong(code))
    with pytest.raises(ChangeCodeLocked):
        machine.check_code(flow, walk[0], wrong(code))
    assert machine.load(SID).step == machine.NEW
    with pytest.raises(FlowOutOfStep):           # new accepts no code
        machine.check_code(machine.load(SID), walk[0], code)


def test_code_sent_to_new_when_blocked_by_a_new_address(walk, clock):
    from idp.extensions import db
    flow, code = sent(walk)
    walk[0].email_changed_at = clock.now()
    db.session.commit()
    with pytest.raises(EmailRecentlyChanged):
        machine.check_code(flow, walk[0], code)
    assert machine.load(SID).step == machine.NEW


def test_confirmed_reads_as_code_sent_once_change_code_ttl_passed(walk, clock, app):
    flow = confirmed(walk)
    clock.shift(app.extensions["idp.policy"].change_code_ttl)
    assert machine.step(flow) == machine.CODE_SENT and flow.step == machine.CONFIRMED
    with pytest.raises(FlowOutOfStep):
        machine.change(flow, walk[0], current=walk[2].password, new=NEW_PASSWORD,
                       confirmation=NEW_PASSWORD, keep_sid=SID)


def test_confirmed_stays_on_a_wrong_password_and_goes_to_code_sent_on_the_lock(walk):
    flow = confirmed(walk)
    for _ in range(2):
        with pytest.raises(FormInvalid):
            machine.change(flow, walk[0], current="Pas-le-bon1", new=NEW_PASSWORD,
                           confirmation=NEW_PASSWORD, keep_sid=SID)
        assert machine.load(SID).step == machine.CONFIRMED
    with pytest.raises(PasswordLocked):
        machine.change(flow, walk[0], current="Pas-le-bon1", new=NEW_PASSWORD,
                       confirmation=NEW_PASSWORD, keep_sid=SID)
    assert machine.load(SID).step == machine.CODE_SENT


def test_confirmed_to_done_when_the_password_is_changed(walk):
    flow = confirmed(walk)
    machine.change(flow, walk[0], current=walk[2].password, new=NEW_PASSWORD,
                   confirmation=NEW_PASSWORD, keep_sid=SID)
    assert flow.step == machine.DONE
    assert "password_change_flow" not in session and machine.load(SID) is None


def test_another_provider_session_sees_no_flow(walk):
    sent(walk)
    assert machine.load("another-sid") is None


def test_a_fault_of_ours_in_the_code_check_consumes_no_attempt(walk, monkeypatch):
    """issue 12: the database failing inside the check (our infrastructure) is no wrong
    code: after it, three wrong codes are still needed to lock."""
    from idp.domain import codes
    flow, code = sent(walk)
    real_check = codes.check

    def database_down(*args, **kwargs):
        raise OperationalError("SELECT", {}, Exception("database is down"))

    monkeypatch.setattr(codes, "check", database_down)
    with pytest.raises(OperationalError):
        machine.check_code(flow, walk[0], wrong(code))
    monkeypatch.setattr(codes, "check", real_check)
    from idp.extensions import db
    db.session.rollback()
    for _ in range(2):
        with pytest.raises(WrongChangeCode):
            machine.check_code(flow, walk[0], wrong(code))
    with pytest.raises(ChangeCodeLocked):
        machine.check_code(flow, walk[0], wrong(code))
