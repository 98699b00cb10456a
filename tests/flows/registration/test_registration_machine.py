"""Every edge of the activation's diagram (idp/flows/registration/machine.py), walked on the
stored flow with the real domain and database; the Flask session holds only the flow id."""

from __future__ import annotations

from datetime import timedelta

import pytest
from flask import session

from idp.errors import ActivationExpired, ActivationRefused, CodeLocked, FlowOutOfStep, FormInvalid
from idp.flows import journeys
from idp.flows.registration import machine
from tests.helpers.accounts import NEW_PASSWORD, add_person

VALID = dict(password=NEW_PASSWORD, confirmation=NEW_PASSWORD, terms=True,
             email="louis.perso@example.fr")


@pytest.fixture
def walk(app, smtp, clock):
    """A request context of the app (its Flask session) with a person on file."""
    person = add_person(app)
    with app.test_request_context("/activer-mon-compte", method="POST"):
        yield person


def counter_code(nir: str) -> str:
    from idp.domain import registration, registry
    return registration.deliver(registry.by_nir(nir), "counter")


def finish(flow, **changes):
    return machine.finish(flow, make_link=lambda t: f"https://idp.test/v/{t}",
                          **{**VALID, **changes})


def at_details(person):
    flow = machine.current_or_new()
    machine.prove(flow, person["nir"], code=counter_code(person["nir"]))
    return flow


def test_no_flow_starts_at_proof_and_the_session_holds_only_its_id(walk):
    assert machine.current() is None
    flow = machine.current_or_new()
    assert flow.step == machine.PROOF and flow.journey == "registration"
    assert dict(session) == {"registration_flow": flow.id}
    assert machine.current_or_new().id == flow.id


def test_proof_to_details_by_the_provisional_code(walk):
    flow = at_details(walk)
    assert flow.step == machine.DETAILS and machine.at_details(flow)
    assert dict(session) == {"registration_flow": flow.id}


def test_proof_to_details_by_carte_vitale_and_iban(walk):
    flow = machine.current_or_new()
    machine.prove(flow, walk["nir"], vitale_serial=walk["vitale_serial"], iban=walk["iban"])
    assert flow.step == machine.DETAILS


def test_proof_stays_at_proof_on_a_wrong_proof_a_form_error_and_the_lock(walk):
    flow = machine.current_or_new()
    with pytest.raises(FormInvalid):
        machine.prove(flow, walk["nir"])                      # no proof at all
    for _ in range(2):
        with pytest.raises(ActivationRefused):
            machine.prove(flow, walk["nir"], code="00000000")
    with pytest.raises(CodeLocked):
        machine.prove(flow, walk["nir"], code="00000000")
    assert machine.current().step == machine.PROOF


def test_details_proved_again_stays_at_details_on_a_new_record(walk):
    flow = at_details(walk)
    first = flow.subject
    machine.prove(flow, walk["nir"], code=counter_code(walk["nir"]))
    assert flow.step == machine.DETAILS and flow.subject != first


def test_details_stays_at_details_on_a_form_error(walk):
    flow = at_details(walk)
    with pytest.raises(FormInvalid):
        finish(flow, terms=False)
    assert machine.current().step == machine.DETAILS and machine.at_details(flow)


def test_details_to_done_makes_the_account_and_ends_the_flow(walk):
    flow = at_details(walk)
    account = finish(flow)
    assert account.email == VALID["email"]
    assert flow.step == machine.DONE
    assert "registration_flow" not in session and machine.current() is None


def test_done_is_never_walked_again_a_new_flow_starts_at_proof(walk):
    flow = at_details(walk)
    finish(flow)
    with pytest.raises(ActivationExpired):                    # a double submit
        finish(flow)
    with pytest.raises(FlowOutOfStep):                        # the compare-and-set
        journeys.advance(flow, allowed={machine.DETAILS}, to=machine.DONE)
    again = machine.current_or_new()
    assert again.id != flow.id and again.step == machine.PROOF


def test_details_with_its_record_gone_is_a_new_flow_at_proof(walk, clock, app):
    flow = at_details(walk)
    clock.shift(app.extensions["idp.policy"].interaction_ttl + timedelta(seconds=1))
    assert not machine.at_details(flow) and machine.current() is None
    with pytest.raises(ActivationExpired):
        finish(flow)
    fresh = machine.current_or_new()
    assert fresh.id != flow.id and fresh.step == machine.PROOF
