"""The login diagram's biometrics edges (idp/flows/login/machine.py, issue 14), walked on the
stored flow with the real domain and database, as tests/flows/login/test_login_machine.py
walks the others: credentials ──passkey──► logged in; logged in by password and code ──►
offer ──"Activer" / "Plus tard" / "Ne plus me le rappeler"──► consent or done."""

# ruff: noqa: F811  (``walk``, the fixture imported from test_login_machine, is each test's argument)
from __future__ import annotations

import pytest
import sqlalchemy as sa

from idp import interaction
from idp.domain import devices, passkeys
from idp.errors import FlowOutOfStep, PasskeyNotRegistered, PasskeyRefused, PasswordLocked
from idp.extensions import db
from idp.flows.login import machine
from idp.models import Account, AuditEvent, Interaction, Passkey
from tests.flows.login.test_login_machine import (
    EMAIL,
    NIR,
    at_code_sent,
    credentials,
    pending,
    stored,
    walk,  # noqa: F401  (the fixture)
)
from tests.helpers.authenticator import Authenticator

Next = machine.Next
CHROME_ANDROID = ("Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like"
                  " Gecko) Chrome/126.0 Mobile Safari/537.36")


@pytest.fixture
def phone(app, walk):
    return Authenticator(origin=app.config["PASSKEY_ORIGINS"][0],
                         rp_id=app.config["PASSKEY_RP_ID"])


def coded(flow, smtp, biometrics="platform"):
    at_code_sent(flow)
    return machine.submit_code(flow, smtp.code_for(EMAIL), biometrics=biometrics)


def activated(flow, phone):
    options = machine.offer_options(flow)
    return machine.activate(flow, phone.register(options.public_key), options.challenge_id,
                            CHROME_ANDROID)


def sign_in(flow, phone, **spoil):
    options = machine.passkey_options(flow)
    return machine.submit_passkey(flow, phone.assertion(options.public_key, **spoil),
                                  options.challenge_id)


def events(name):
    """The audit rows of ``name``: written ones, and those this request context queued
    (idp.ops.audit writes them at the end of the request)."""
    from flask import g
    written = list(db.session.scalars(sa.select(AuditEvent).where(AuditEvent.event == name)))
    return written + [r for r in g.get("_audit_rows", []) if r.event == name]


# -- logged in by password and code ──► offer ---------------------------------------------------

def test_password_and_code_on_a_device_with_biometrics_to_offer(walk, smtp):
    flow = machine.start(None)
    then = coded(flow, smtp)
    assert then.kind == Next.PAGE and stored(flow).step == machine.OFFER
    assert stored(flow).result["amr"] == ["pwd", "otp", "mfa"]
    assert events("passkey_offer")[0].outcome == "shown"


@pytest.mark.parametrize("said", [None, "", "something"])
def test_no_offer_when_the_page_found_nothing_to_say_on_the_device(walk, smtp, said):
    flow = machine.start(None)
    assert coded(flow, smtp, biometrics=said).kind == Next.ACCOUNT
    assert stored(flow).step == machine.DONE


def test_no_offer_after_a_trusted_device_spared_the_code(walk):
    cookie, _ = devices.trust(walk, "Firefox")
    db.session.commit()
    flow = machine.start(None)
    assert credentials(flow, cookie).kind == Next.ACCOUNT


def test_no_offer_once_the_account_said_never(walk, smtp):
    passkeys.set_offer(db.session.get(Account, walk), "never")
    flow = machine.start(None)
    assert coded(flow, smtp).kind == Next.ACCOUNT


def test_no_offer_for_a_client_that_says_biometric_offer_false(walk, smtp):
    iid = pending(biometric_offer=False)
    flow = machine.start(iid)
    assert coded(flow, smtp).kind == Next.RESUME


def test_no_offer_in_a_journey_waiting_for_the_result(walk, smtp):
    flow = machine.start(None, then_endpoint="franceconnect.link_done")
    assert coded(flow, smtp).kind == Next.THEN


# -- offer ──► consent or done ----------------------------------------------------------------

def test_offer_later_to_done_and_offered_again_at_the_next_login(walk, smtp):
    iid = pending()
    flow = machine.start(iid)
    coded(flow, smtp)
    assert db.session.get(Interaction, iid).result is None      # nothing handed on yet
    then = machine.decide_offer(flow, "later")
    assert then.kind == Next.RESUME and stored(flow).step == machine.DONE
    assert db.session.get(Interaction, iid).result["account_id"] == walk
    assert db.session.get(Account, walk).passkey_offer == "ask"
    again = machine.start(None)
    assert coded(again, smtp).kind == Next.PAGE and stored(again).step == machine.OFFER


def test_offer_never_to_done_and_never_offered_again(walk, smtp):
    flow = machine.start(None)
    coded(flow, smtp)
    assert machine.decide_offer(flow, "never").kind == Next.ACCOUNT
    assert db.session.get(Account, walk).passkey_offer == "never"
    assert [e.outcome for e in events("passkey_offer")] == ["shown", "never"]
    assert coded(machine.start(None), smtp).kind == Next.ACCOUNT


def test_offer_to_consent_when_the_client_needs_it(walk, smtp):
    flow = machine.start(pending(consent=True))
    coded(flow, smtp)
    assert machine.decide_offer(flow, "later") == Next(Next.PAGE, result=machine.interaction
                                                       .AuthResult.from_json(stored(flow).result))
    assert stored(flow).step == machine.CONSENT


def test_offer_activated_registers_the_passkey_with_the_devices_label(walk, smtp, phone):
    flow = machine.start(None)
    coded(flow, smtp)
    assert activated(flow, phone).kind == Next.ACCOUNT
    assert stored(flow).step == machine.DONE
    passkey = db.session.scalars(sa.select(Passkey)).one()
    assert passkey.account_id == walk and passkey.label == "Chrome sur Android"
    assert [e.outcome for e in events("passkey_offer")] == ["shown", "activated"]


def test_a_refused_attestation_keeps_the_offer(walk, smtp, phone):
    flow = machine.start(None)
    coded(flow, smtp)
    options = machine.offer_options(flow)
    with pytest.raises(PasskeyNotRegistered):
        machine.activate(flow, phone.register(options.public_key, uv=False),
                         options.challenge_id, CHROME_ANDROID)
    assert stored(flow).step == machine.OFFER
    with pytest.raises(PasskeyNotRegistered):       # no challenge of this flow: nothing done
        machine.activate(flow, phone.register(options.public_key), None, CHROME_ANDROID)


def test_the_offer_is_answered_once(walk, smtp, phone):
    flow = machine.start(None)
    coded(flow, smtp)
    machine.decide_offer(flow, "later")
    with pytest.raises(FlowOutOfStep):
        machine.decide_offer(flow, "never")
    with pytest.raises(FlowOutOfStep):
        machine.offer_options(flow)


def test_no_registration_outside_the_offer(walk, phone):
    flow = machine.start(None)
    with pytest.raises(FlowOutOfStep):
        machine.offer_options(flow)
    credentials(flow)                               # the password alone: code_offered
    with pytest.raises(FlowOutOfStep):
        machine.offer_options(flow)


# -- credentials ──passkey──► logged in ------------------------------------------------------

@pytest.fixture
def registered(walk, smtp, phone):
    flow = machine.start(None)
    coded(flow, smtp)
    activated(flow, phone)
    return phone


def test_credentials_to_done_with_a_valid_passkey_and_no_offer(walk, registered):
    flow = machine.start(pending())
    then = sign_in(flow, registered)
    assert then.kind == Next.RESUME and then.result.account_id == walk
    assert then.result.amr == ["pop", "mfa"] and then.result.acr == "eidas1"
    assert not then.result.remembered_device
    assert stored(flow).step == machine.DONE and stored(flow).nir == NIR


def test_a_code_step_to_done_with_a_passkey_voids_the_code(walk, registered):
    from idp.domain import codes
    flow = at_code_sent(machine.start(None))
    assert sign_in(flow, registered).kind == Next.ACCOUNT
    assert codes.current(machine.CODE_PURPOSE, flow.id) is None


def test_a_refused_passkey_keeps_the_step(walk, registered):
    flow = machine.start(None)
    with pytest.raises(PasskeyRefused):
        sign_in(flow, registered, uv=False)
    assert stored(flow).step == machine.CREDENTIALS and stored(flow).result is None


def test_a_passkey_needs_a_challenge_of_this_flow(walk, registered):
    flow = machine.start(None)
    options = passkeys.authentication_options()
    with pytest.raises(PasskeyRefused):
        machine.submit_passkey(flow, registered.assertion(options.public_key), None)


def test_a_done_flow_takes_no_passkey(walk, registered):
    flow = machine.start(None)
    sign_in(flow, registered)
    with pytest.raises(FlowOutOfStep):
        sign_in(flow, registered)


def test_the_password_lock_leaves_the_passkey_open(walk, registered):
    from tests.helpers.accounts import PASSWORD
    flow = machine.start(None)
    for _ in range(3):
        try:
            machine.submit_credentials(flow, NIR, "Pas-le-bon-1", None)
        except Exception:  # noqa: BLE001  (wrong password, then the lock)
            pass
    with pytest.raises(PasswordLocked):
        machine.submit_credentials(flow, NIR, PASSWORD, None)
    assert sign_in(flow, registered).kind == Next.ACCOUNT


def test_every_passkey_state_is_in_the_diagram():
    assert "offer " in machine.__doc__ and machine.OFFER in machine.STEPS
    assert interaction.PendingRequest.__dataclass_fields__["biometric_offer"].default is True
