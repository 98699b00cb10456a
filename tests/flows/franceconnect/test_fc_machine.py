"""Every edge of the FranceConnect journey's diagram (idp/flows/franceconnect/machine.py),
walked on the stored flow; the exchange with FranceConnect itself is the stand-in's, in
test_fc_link.py and test_fc_identity_provider.py. The Flask session holds only the flow id."""

from __future__ import annotations

from datetime import timedelta

import pytest
from flask import session

from idp.domain import franceconnect as fc_links
from idp.errors import FlowOutOfStep
from idp.extensions import db
from idp.flows.franceconnect import machine
from idp.flows.franceconnect.upstream import Upstream
from idp.flows.login import machine as login
from idp.models import Account
from idp.policy import policy

NIR = "1840117123456"
IDENTITY = {"given_name": "Jean", "family_name": "DUPONT", "birthdate": "1984-01-17",
            "gender": "male", "birthplace": "", "birthcountry": "99100"}


@pytest.fixture
def walk(app, smtp, clock, make_account):
    account_id = make_account(NIR, email="jean.dupont@example.fr")
    with app.test_request_context("/franceconnect/callback"):
        yield db.session.get(Account, account_id)


def upstream(sub="fc-sub-1"):
    return Upstream(sub=sub, acr="eidas1", amr=["pwd"], id_token="header.payload.sig",
                    identity=IDENTITY)


def at_link(why="fc_no_account"):
    flow, state, _ = machine.begin(None)
    flow = machine.returning(state)
    machine.to_link(flow, upstream(), why)
    return flow


def linking_login():
    return login.start(None, then_endpoint=machine.LINK_DONE)


def test_button_to_upstream_keeps_state_hashed_and_only_the_flow_id_in_session(walk):
    flow, state, nonce = machine.begin("some-interaction")
    assert flow.step == machine.UPSTREAM and flow.journey == machine.JOURNEY
    assert dict(session) == {"franceconnect_flow": flow.id}
    assert flow.data["nonce"] == nonce and state not in str(flow.data)


def test_upstream_callback_with_its_state_to_done(walk):
    flow, state, _ = machine.begin(None)
    assert machine.returning(state).id == flow.id
    machine.end(flow, allowed={machine.UPSTREAM})
    assert flow.step == machine.DONE and machine.current() is None
    assert "franceconnect_flow" not in session


def test_upstream_callback_with_another_state_is_no_flow(walk):
    machine.begin(None)
    assert machine.returning("0" * 64) is None
    assert machine.returning(None) is None


def test_upstream_callback_answered_once(walk):
    flow, state, _ = machine.begin(None)
    machine.end(flow, allowed={machine.UPSTREAM})
    with pytest.raises(FlowOutOfStep):
        machine.end(flow, allowed={machine.UPSTREAM})


def test_upstream_to_link_keeps_the_upstream_login_and_a_digest_of_the_identity(walk):
    flow = at_link("fc_no_account")
    assert flow.step == machine.LINK and flow.data["sub"] == "fc-sub-1"
    assert "DUPONT" not in str(flow.data)
    assert flow.data["identity"] == fc_links.identity_digest(IDENTITY)
    assert machine.vet(flow, walk) is None          # this account's person


def test_link_to_linking_and_linking_again(walk):
    flow = at_link()
    machine.to_linking(flow, "login-1")
    assert flow.step == machine.LINKING and flow.subject == "login-1"
    machine.to_linking(flow, "login-2")              # the password typed again
    assert flow.subject == "login-2"


def test_linking_to_done_once_the_login_is_done(walk, smtp):
    from tests.helpers.accounts import PASSWORD
    flow = at_link()
    attempt = linking_login()
    login.submit_credentials(attempt, NIR, PASSWORD, None)
    machine.to_linking(flow, attempt.id)
    assert login.result_for(attempt.id, machine.LINK_DONE) is None       # no code yet
    login.send_code(attempt)
    login.submit_code(attempt, smtp.code_for("jean.dupont@example.fr"))
    result = login.result_for(attempt.id, machine.LINK_DONE)
    assert result.account_id == walk.id
    taken = machine.take_link(flow, result)
    assert taken.sub == "fc-sub-1" and flow.step == machine.DONE
    with pytest.raises(FlowOutOfStep):
        machine.take_link(flow, result)


def test_link_refused_for_another_person_or_an_account_linked_elsewhere(walk, make_account):
    db.session.commit()                 # make_account writes in its own app context
    other = db.session.get(Account, make_account("2690299341732", email="autre@example.fr"))
    flow = at_link()
    other.given_name = "Valérie"
    db.session.commit()
    assert machine.vet(flow, other) == "fc_identity_mismatch"
    walk.fc_sub = "another-sub"
    db.session.commit()
    assert machine.vet(flow, walk) == "fc_already_linked"
    machine.end(flow, allowed={machine.LINK, machine.LINKING})
    assert machine.linking(machine.current()) is None


def test_link_expires_after_the_policy_s_link_time(walk, clock):
    at_link()
    clock.shift(policy().franceconnect_link_ttl - timedelta(seconds=1))
    assert machine.linking(machine.current()) is not None
    clock.shift(timedelta(seconds=2))
    assert machine.current() is None


def test_take_link_without_a_login_result_is_out_of_step(walk):
    flow = at_link()
    with pytest.raises(FlowOutOfStep):
        machine.take_link(flow, None)                 # at link, not linking
    machine.to_linking(flow, "login-1")
    with pytest.raises(FlowOutOfStep):
        machine.take_link(flow, None)
