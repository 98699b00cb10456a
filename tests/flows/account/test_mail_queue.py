"""Issue 11.11: the registration and forgotten-password mails leave the request (the
process's mail worker, ``MAIL_QUEUE``), so that the page answers at once whether or not a
mail is sent and however slow the relay is; a relay that fails gives the quota back there.
The tests wait for the worker with its queue's ``join()``, never with a sleep."""

from __future__ import annotations

import time

import pytest

from idp import messages
from idp.models import QuotaEvent
from tests.helpers.accounts import add_person, link_in
from tests.helpers.live import SilentRelay
from tests.helpers.pages import says


@pytest.fixture(scope="module")
def silent():
    relay = SilentRelay()
    yield relay
    relay.stop()


def _quota_kinds(app) -> list[str]:
    from sqlalchemy import select

    from idp.extensions import db
    with app.app_context():
        found = sorted(db.session.execute(select(QuotaEvent.kind)).scalars())
        db.session.rollback()
        return found


def _forgot(browser, nir):
    browser.get("/mot-de-passe-oublie")
    started = time.monotonic()
    page = browser.post_form("/mot-de-passe-oublie", {"nir": nir, "birthdate": "15/02/1969"})
    return page, time.monotonic() - started


def _drain(app):
    app.extensions["idp.mail_queue"].join()


@pytest.mark.config(MAIL_QUEUE=True)
def test_the_reset_mail_is_sent_by_the_worker(server, browser, smtp, app, person):
    """issue 11.11: the page answers, then the worker delivers the same mail."""
    page, _ = _forgot(browser, person.nir)
    assert says(page, messages.text("reset_requested"))
    _drain(app)
    assert link_in(smtp.last_text(person.email)).startswith(server.url + "/mot-de-passe-oublie/")


def test_a_relay_that_never_answers_does_not_hold_the_page_and_the_quota_is_given_back(
        server, browser, app, person, silent):
    """issue 11.11: with a 5-second MAIL_TIMEOUT and a silent relay, the reset and the
    registration pages answer well within it, as for an unknown NIR; the worker gives up
    and cancels the counted requests."""
    app.config.update(MAIL_QUEUE=True, MAIL_PORT=silent.port, MAIL_TIMEOUT=5)
    known, known_took = _forgot(browser, person.nir)
    unknown, unknown_took = _forgot(browser, "1840175056123")
    assert says(known, messages.text("reset_requested")) and says(unknown, messages.text("reset_requested"))
    assert known_took < 2.5 and unknown_took < 2.5
    registered = add_person(app)
    browser.get("/creer-un-compte")
    started = time.monotonic()
    page = browser.post_form("/creer-un-compte", {
        "family_name": registered["family_name"], "given_name": registered["given_name"],
        "nir": registered["nir"], "birthdate": "11/02/1986",
        "postal_code": registered["postal_code"]})
    assert time.monotonic() - started < 2.5
    assert says(page, messages.text("registration_requested"))
    assert _quota_kinds(app) == ["provisional_quota", "reset_quota", "reset_quota"]
    _drain(app)
    # The unknown NIR's request stays counted (as it always was); the two mails not sent are not.
    assert _quota_kinds(app) == ["reset_quota"]
