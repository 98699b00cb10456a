"""The login page's own read (GET /login, issue 15): ``machine.load_page`` reads in one
statement what the page shows, the same values as the steps' ``load``, and the sentences,
links and URLs the templates ask are the very ones made each time before."""

from __future__ import annotations

from datetime import timedelta

import pytest
from flask import render_template_string

from idp import i18n, interaction, keyed, messages
from idp.errors import CodeQuotaReached
from idp.extensions import db
from idp.flows.login import machine
from idp.models import LoginFlow

NIR = "1840117123456"
EMAIL = "jean.dupont@example.fr"


def pending() -> str:
    request = interaction.PendingRequest(
        client_id="portal", client_name="Mon compte ameli", login_hint=None,
        require_security_code=True, franceconnect_branding=False, scope="openid profile",
        consent_claims=[], consent=False, prompt_consent=False, reuse_session=False,
        session_account_id=None)
    return interaction.start(request, {}, "browser-nonce-of-this-test")


@pytest.fixture
def at_code_offered(app, smtp, clock, make_account):
    """A flow past the password (its account known), in a request context of its own."""
    from tests.helpers.accounts import PASSWORD
    account_id = make_account(NIR, email=EMAIL)
    with app.test_request_context("/login"):
        flow = machine.start(pending())
        assert machine.submit_credentials(flow, NIR, PASSWORD, None).kind == machine.Next.PAGE
        yield flow.id, account_id


def test_the_page_read_gives_the_flow_as_load_does_with_its_account(app, at_code_offered):
    flow_id, account_id = at_code_offered
    with app.test_request_context("/login"):
        shown = machine.load_page(flow_id)
        loaded = machine.load(flow_id)
        for column in LoginFlow.__table__.c:
            assert getattr(shown, column.name) == getattr(loaded, column.name), column.name
        assert shown.step == machine.CODE_OFFERED and shown.account_id == account_id
        assert (shown.account_nir, shown.account_email) == (NIR, EMAIL)


def test_the_page_read_holds_the_pending_request(app, at_code_offered, statements):
    flow_id, _ = at_code_offered
    with app.test_request_context("/login"):
        shown = machine.load_page(flow_id)
        assert len(statements) == 1
        details = interaction.details(shown.interaction_id)
        assert interaction.started_here(shown.interaction_id, {}) is False
        assert len(statements) == 1                 # answered from the row read with the flow
    with app.test_request_context("/login"):
        assert interaction.details(shown.interaction_id) == details    # read alone: the same


def test_the_page_read_finds_no_flow_where_load_finds_none(app, at_code_offered, clock):
    flow_id, _ = at_code_offered
    with app.test_request_context("/login"):
        for gone in (None, "", "x" * 65, "no-such-flow", 42):
            assert machine.load_page(gone) is None and machine.load(gone) is None
        clock.shift(timedelta(hours=2))
        assert machine.load_page(flow_id) is None and machine.load(flow_id) is None


def test_a_flow_without_account_or_request_reads_as_none(app, clock):
    with app.test_request_context("/login"):
        flow = machine.start(None)
        shown = machine.load_page(flow.id)
        assert shown.interaction_id is None and shown.account_id is None
        assert (shown.account_nir, shown.account_email) == (None, None)


@pytest.mark.parametrize("lang", i18n.SUPPORTED)
def test_a_sentence_without_parameters_is_what_the_formatter_made(app, lang):
    with app.test_request_context("/login"), i18n.forced(lang):
        text_in = messages.texts_in(lang)
        for message_id in messages.MESSAGES:
            try:
                formatted = messages._formatter.format(messages._plain(lang, message_id))
            except (KeyError, IndexError, ValueError):
                continue                            # it takes parameters
            if message_id in messages._POLICY_DEFAULTS or "." in message_id:
                continue
            assert messages.text(message_id) == formatted, message_id
            assert text_in(message_id) == formatted, message_id
            assert text_in(message_id) == formatted, message_id        # ready-made (issue 15)


@pytest.mark.parametrize("lang", i18n.SUPPORTED)
def test_a_sentence_with_links_is_made_once_the_same(app, lang):
    with app.test_request_context("/login"), i18n.forced(lang):
        urls = {"video": "https://example.org/v?a=1&b=2", "article": "https://example.org/a"}
        fresh = messages._linked("help_click_here", urls)
        assert messages.with_links("help_click_here", **urls) == fresh
        assert messages.with_links("help_click_here", **urls) == fresh        # from the cache
        other = {**urls, "article": "https://example.org/other"}
        assert messages.with_links("help_click_here", **other) == messages._linked("help_click_here", other)


def test_the_templates_url_for_builds_what_flask_builds(app):
    template = "{{ url_for('static', filename='idp.css') }} {{ url_for('public.legal') }} " \
               "{{ url_for('login.show', interaction='abc') }}"
    for script_root in ("", "/idp", ""):           # each twice: built, then from the cache
        for _ in range(2):
            with app.test_request_context("/login", base_url="http://localhost" + script_root):
                expected = " ".join([app.url_for("static", filename="idp.css"),
                                     app.url_for("public.legal"),
                                     app.url_for("login.show", interaction="abc")])
                assert expected.startswith(script_root + "/static/")
                assert render_template_string(template) == expected


@pytest.mark.parametrize("then_endpoint", [None, "franceconnect.link_done"])
def test_a_new_flow_is_what_a_read_of_its_row_gives(app, clock, then_endpoint):
    """``start`` stores by one INSERT and hands back a flow as the database holds it: every
    column as read again (``result`` SQL NULL, not JSON null), and a step moves it."""
    with app.test_request_context("/login"):
        iid = pending() if then_endpoint is None else None
        flow = machine.start(iid, then_endpoint=then_endpoint)
        assert db.session.execute(db.select(LoginFlow.id).where(
            LoginFlow.id == flow.id, LoginFlow.result.is_(None))).scalar() == flow.id
    with app.test_request_context("/login"):
        read = machine.load(flow.id)
        assert read is not flow
        for column in LoginFlow.__table__.c:
            assert getattr(read, column.name) == getattr(flow, column.name), column.name
        assert (read.step, read.interaction_id, read.then_endpoint) == (
            machine.CREDENTIALS, iid, then_endpoint)
        assert read.new_code_notice is False and read.nir is None and read.result is None


def test_a_new_flow_moves_in_its_own_request(app, clock, make_account, smtp):
    from tests.helpers.accounts import PASSWORD
    make_account(NIR, email=EMAIL)
    with app.test_request_context("/login"):
        flow = machine.start(pending())
        assert machine.load(flow.id) is flow             # the one in hand, no read
        assert machine.submit_credentials(flow, NIR, PASSWORD, None).kind == machine.Next.PAGE
        assert flow.step == machine.CODE_OFFERED and not db.session.dirty
    with app.test_request_context("/login"):
        assert machine.load(flow.id).step == machine.CODE_OFFERED


def test_a_steps_load_holds_the_pending_request_and_the_address(app, at_code_offered, statements):
    """``load`` reads with the flow what its steps read besides: ``interaction.details`` and
    ``accounts.email_of`` then answer from it, the very values read alone."""
    from idp.domain import accounts
    flow_id, account_id = at_code_offered
    with app.test_request_context("/login"):
        flow = machine.load(flow_id)
        assert len(statements) == 1
        details = interaction.details(flow.interaction_id)
        assert accounts.email_of(account_id) == EMAIL
        assert len(statements) == 1
    with app.app_context(), app.test_request_context("/login"):     # read alone: the same
        assert interaction.details(flow.interaction_id) == details
        assert len(statements) == 2


# -- the code-quota lock read with the flow (issue 15) --------------------------------------

def _request(app):
    """A request of its own: its app context (``g``, the session's identity map) too."""
    from contextlib import ExitStack
    stack = ExitStack()
    stack.enter_context(app.app_context())
    stack.enter_context(app.test_request_context("/login"))
    return stack


def _block(app, flow_id):
    """Case 3 on the flow's NIR, as the 6th code asked sets it: the end of the block."""
    from idp.domain import limits
    from idp.policy import policy
    with _request(app):
        key = keyed.nir_key(NIR)
        with pytest.raises(limits.QuotaReached) as reached:
            limits.take_quota(key, "code_quota", quota=0, window=policy().code_quota_window,
                              block=policy().code_quota_block)
        return reached.value.until


def test_a_flow_knows_its_nirs_keyed_hash_and_its_reads_bring_the_lock(app, at_code_offered,
                                                                        statements):
    """The password step stores the NIR's keyed hash on the flow; the page's read and the
    step's read bring the NIR's code-quota lock with the flow (no read of its own), each
    request its own: a block set between two requests is what the next one shows."""
    flow_id, _ = at_code_offered
    with _request(app):
        shown = machine.load_page(flow_id)
        assert shown.nir_key == keyed.nir_key(NIR)
        assert machine.page_step(shown, None) == (machine.CODE_OFFERED, None)
        assert len(statements) == 1
    until = _block(app, flow_id)
    del statements[:]
    with _request(app):
        step, error = machine.page_step(machine.load_page(flow_id), None)
        assert step == machine.CREDENTIALS and isinstance(error, CodeQuotaReached)
        assert error.until == until and len(statements) == 1
    with _request(app):
        assert machine.code_quota_block(machine.load(flow_id)) == until
        assert len(statements) == 2


def test_a_write_to_the_throttle_row_drops_the_lock_held_for_the_request(app, at_code_offered):
    """A request that counts or locks after its flow's read answers from what it wrote, not
    from the lock read with the flow: the block set by this very request is seen, and so is
    the lock lifted by ``user unlock``."""
    from idp.domain import limits
    flow_id, _ = at_code_offered
    with _request(app):
        flow = machine.load(flow_id)
        assert machine.code_quota_block(flow) is None           # held: no lock
        with pytest.raises(limits.QuotaReached) as reached:
            limits.take_quota(flow.nir_key, "code_quota", quota=0, window=timedelta(hours=1),
                              block=timedelta(hours=1))
        assert machine.code_quota_block(flow) == reached.value.until
    with _request(app):
        flow = machine.load(flow_id)
        assert machine.code_quota_block(flow) == reached.value.until
        limits.clear(flow.nir_key)
        assert machine.code_quota_block(flow) is None


def test_a_flow_made_before_the_stored_key_reads_the_lock_alone(app, at_code_offered,
                                                                statements):
    """A flow row without the keyed hash (made before its column, alive at most
    ``interaction_ttl``) meets the block all the same, by a read of its own."""
    flow_id, _ = at_code_offered
    with _request(app):
        machine.send_code(machine.load(flow_id))                 # at code_sent
    with app.app_context():
        db.session.execute(db.update(LoginFlow).where(LoginFlow.id == flow_id)
                           .values(nir_key=None))
        db.session.commit()
    until = _block(app, flow_id)
    del statements[:]
    with _request(app):
        step, error = machine.page_step(machine.load_page(flow_id), None)
        assert step == machine.CREDENTIALS and error.until == until
        assert len(statements) == 2
    with _request(app):
        flow = machine.load(flow_id)
        assert flow.nir_key is None and machine.code_quota_block(flow) == until
        with pytest.raises(CodeQuotaReached):
            machine.submit_code(flow, "000000")
