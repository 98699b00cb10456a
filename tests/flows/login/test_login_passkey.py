"""Biometric sign-in over real HTTP (issue 14): the login page's JSON pair (options bound to
the browser's login flow, then the assertion), driven by the software authenticator of
tests/helpers/authenticator.py as passkey.js drives the browser's. Attacker paths first:
nothing here reaches an account without the key of one of its passkeys."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from idp import messages
from tests.helpers.accounts import logged_in
from tests.helpers.authenticator import Authenticator
from tests.helpers.pages import text_of

OTHER_NIR = "1840175056123"
WRONG = "Pas-le-bon-1"
TOKEN = re.compile(r'(?:data-csrf|name="csrf_token" value)="([^"]+)"')


# -- the person's phone and the page's script ------------------------------------------------

def device_for(app) -> Authenticator:
    return Authenticator(origin=app.config["PASSKEY_ORIGINS"][0],
                         rp_id=app.config["PASSKEY_RP_ID"])


def register(app, nir, device, *, label="iPhone"):
    """"Activer" done through the domain: a passkey of the account held by ``device``."""
    from idp.domain import accounts, passkeys
    with app.app_context():
        account = accounts.by_nir(nir)
        options = passkeys.registration_options(account)
        passkey = passkeys.verify_registration(
            account.id, device.register(options.public_key), label=label,
            challenge_id=options.challenge_id)
        return passkey.id


class Script:
    """What passkey.js does on the login page: ask the options, hand them to the device,
    post what it answers, with the page's CSRF token."""

    def __init__(self, browser):
        self.browser = browser

    def headers(self) -> dict:
        token = TOKEN.search(self.browser.page.text).group(1)
        return {"X-CSRFToken": token, "Origin": self.browser.base,
                "Referer": self.browser.page.url}

    def options(self):
        return self.browser.http.post(self.browser.base + "/login/passkey/options", json={},
                                      headers=self.headers())

    def send(self, credential, *, headers=None):
        return self.browser.http.post(self.browser.base + "/login/passkey",
                                      json={"credential": credential},
                                      headers=self.headers() if headers is None else headers)

    def sign_in(self, device, **spoil):
        answer = self.options()
        assert answer.status_code == 200, answer.text
        return self.send(device.assertion(answer.json()["publicKey"], **spoil))


def on_localhost(server):
    """The person's browser on ``localhost``: the passkeys' origin (a WebAuthn RP ID is
    never an IP address; the provider answers every loopback name)."""
    from tests.conftest import Browser
    tls = getattr(server, "tls", None)
    return Browser(server.url.replace("127.0.0.1", "localhost"),
                   verify=str(tls.ca) if tls else True)


@pytest.fixture
def browser(server):
    return on_localhost(server)


@pytest.fixture
def phone(app, person, clock):
    """The person's phone, its passkey registered ("Activer" done at an earlier login)."""
    device = device_for(app)
    device.passkey_id = register(app, person.nir, device)
    return device


@pytest.fixture
def script(clock, browser):
    browser.get("/login")
    return Script(browser)


def refused_with(answer, message_id, **params):
    assert answer.status_code == 400, answer.text
    assert answer.json()["message"] == messages.text(message_id, **params)
    assert "location" not in answer.json()


def account_of_session(browser) -> str:
    page = browser.get("/compte")
    assert page.status_code == 200, text_of(page)[:300]
    return text_of(page)


# -- what an attacker tries --------------------------------------------------------------------

def test_a_passkey_of_account_a_never_logs_in_account_b(app, script, phone, person,
                                                        make_account):
    from idp.domain import accounts
    from idp.models import ProviderSession
    from tests.helpers.accounts import rows
    b_id = make_account(OTHER_NIR, email="jean.dupont@example.fr")
    phone_b = device_for(app)
    register(app, OTHER_NIR, phone_b)
    # A's key with B's user handle: refused (the handle must be the credential's own).
    refused_with(script.sign_in(phone, user_handle=phone_b.user_handle), "passkey_refused")
    # B's password typed first (the flow now holds B), then A's passkey: A, never B.
    script.browser.submit_credentials(OTHER_NIR, "Ameli2024!")
    answer = script.sign_in(phone)
    assert answer.status_code == 200, answer.text
    script.browser.get(answer.json()["location"])
    with app.app_context():
        a_id = accounts.by_nir(person.nir).id
    assert a_id != b_id
    assert [s.account_id for s in rows(app, ProviderSession)] == [a_id]


def test_a_replayed_assertion_is_refused_even_with_a_fresh_challenge(script, phone):
    answer = script.options()
    assertion = phone.assertion(answer.json()["publicKey"])
    assert script.send(assertion).status_code == 200
    script.browser.get("/login/restart")
    script.browser.get("/login")
    script.options()                       # a new challenge in the session, not the old one's
    refused_with(script.send(assertion), "passkey_refused")


def test_an_assertion_of_a_challenge_given_to_another_browser_is_refused(server, script, phone):
    from tests.conftest import Browser
    thief = Browser(server.url.replace("127.0.0.1", "localhost"))
    thief.get("/login")
    stolen = Script(thief).options().json()["publicKey"]
    script.options()
    refused_with(script.send(phone.assertion(stolen)), "passkey_refused")
    assert not logged_in(script.browser)


def test_an_assertion_without_options_asked_is_refused(script, phone):
    refused_with(script.send(phone.assertion({"challenge": "AAAA"})), "passkey_refused")


@pytest.mark.parametrize("spoil", [
    {"uv": False}, {"up": False}, {"origin": "https://evil.example"},
    {"rp_id": "evil.example"}, {"kind": "webauthn.create"},
], ids=["uv-unset", "up-unset", "wrong-origin", "wrong-rp-id", "wrong-type"])
def test_a_spoiled_assertion_is_refused_and_the_password_form_stays(script, phone, spoil):
    refused_with(script.sign_in(phone, **spoil), "passkey_refused")
    assert not logged_in(script.browser)
    page = script.browser.get("/login")
    assert 'id="password"' in page.text


def test_an_assertion_signed_by_another_key_is_refused(script, phone):
    refused_with(script.sign_in(phone, signing_key=ec.generate_private_key(ec.SECP256R1())),
                 "passkey_refused")


def test_an_unknown_credential_is_refused(app, script):
    stranger = device_for(app)
    stranger.user_handle = b"x" * 32
    refused_with(script.sign_in(stranger), "passkey_refused")


def test_a_counter_going_back_revokes_the_cloned_passkey(app, script, phone):
    assert script.sign_in(phone).status_code == 200
    script.browser.get("/login/restart")
    script.browser.get("/login")
    refused_with(script.sign_in(phone, counter=1), "passkey_cloned")
    from idp.models import Passkey
    from tests.helpers.accounts import rows
    assert rows(app, Passkey)[0].revoked_reason == "cloned"


def test_the_json_answer_needs_the_csrf_token(script, phone):
    options = script.options().json()["publicKey"]
    answer = script.send(phone.assertion(options), headers={"Origin": script.browser.base})
    assert answer.status_code == 400 and "location" not in answer.text
    assert not logged_in(script.browser)


@pytest.mark.parametrize("status", ["resigned", "unattached", "pending"])
def test_a_valid_passkey_of_an_account_that_can_no_longer_log_in_is_refused(
        app, script, phone, person, status):
    from idp.domain import accounts
    from idp.extensions import db
    with app.app_context():
        account = accounts.by_nir(person.nir)
        account.status = status
        db.session.commit()
    answer = script.sign_in(phone)
    assert answer.status_code == 400 and "location" not in answer.json()
    assert answer.json()["error"] in ("account_closed", "account_unattached",
                                      "attachment_pending")
    assert not logged_in(script.browser)


def test_an_expired_passkey_says_so_in_french_with_the_policys_months(script, phone, clock):
    from idp.policy import Policy
    clock.shift(Policy().biometric_validity + timedelta(seconds=1))
    script.browser.get("/login")            # the person comes back months later
    answer = script.sign_in(phone)
    refused_with(answer, "passkey_expired")
    assert "6 mois" in answer.json()["message"]


def test_a_revoked_passkey_is_refused(app, script, phone, person):
    from idp.domain import accounts, passkeys
    with app.app_context():
        passkeys.revoke(accounts.by_nir(person.nir).id, phone.passkey_id)
    refused_with(script.sign_in(phone), "passkey_refused")


# -- the lock decision ---------------------------------------------------------------------------

def test_the_password_lock_does_not_stop_a_valid_passkey(script, phone, person):
    """Three wrong passwords lock the NIR's password (case 7): anyone knowing the NIR can do
    that; the passkey guesses neither the password nor the code, so it still logs in."""
    for _ in range(3):
        script.browser.submit_credentials(person.nir, WRONG)
    page = script.browser.submit_credentials(person.nir, person.password)
    assert "bloqué" in text_of(page)
    answer = script.sign_in(phone)
    assert answer.status_code == 200, answer.text


# -- what logs in --------------------------------------------------------------------------------

def test_a_valid_passkey_logs_in_with_no_password_and_no_code(app, script, phone, smtp):
    answer = script.sign_in(phone)
    assert answer.status_code == 200, answer.text
    assert answer.json()["location"] == "/compte"
    assert "Mes informations" in account_of_session(script.browser)
    assert smtp.messages == []                  # no code was sent
    from idp.models import AuditEvent
    from tests.helpers.accounts import rows
    events = [e.event for e in rows(app, AuditEvent)]
    assert "login_succeeded" in events and "passkey_registered" in events


def test_the_tokens_say_pop_mfa_and_the_passkeys_acr(app, server, browser, phone, clock):
    from tests.flows.login.test_login_tokens import Portal
    portal = Portal(server, browser)
    page = portal.authorize()
    assert 'id="passkey-login"' in page.text and 'autocomplete="username webauthn"' in page.text
    answer = Script(browser).sign_in(phone)
    assert answer.status_code == 200, answer.text
    code = portal.follow(browser.get(answer.json()["location"], allow_redirects=False))
    claims = portal.id_token(code)
    assert claims["amr"] == ["pop", "mfa"]
    assert claims["acr"] == app.config["ACR_BY_METHOD"]["passkey"] == "eidas1"
    assert claims["auth_time"] == int(clock.now().timestamp())


# -- the client says no, and the per-IP limit -----------------------------------------------------

def test_the_login_hint_prefills_the_nir_field(server, browser):
    from tests.flows.login.test_login_tokens import Portal
    page = Portal(server, browser).authorize(login_hint="2690299341732")
    field = re.search(r'<input id="nir"[^>]*>', page.text, re.S).group(0)
    assert 'value="2690299341732"' in field


@pytest.mark.config(RATELIMIT_ENABLED=True, RATELIMIT_STORAGE_URI="memory://",
                    POLICY={"WRONG_PASSKEY_ASSERTIONS_PER_IP": 3})
def test_invalid_assertions_are_limited_per_ip_and_valid_ones_are_not_counted(script, phone):
    from idp.extensions import limiter
    limiter.reset()
    assert script.sign_in(phone).status_code == 200           # a valid one: not counted
    script.browser.get("/login/restart")
    script.browser.get("/login")
    for _ in range(3):
        refused_with(script.sign_in(phone, uv=False), "passkey_refused")
    answer = script.sign_in(phone)
    assert answer.status_code == 429
    assert answer.json()["message"] == messages.text("too_many_requests")


def test_on_127_0_0_1_no_passkey_is_offered_where_the_browser_would_refuse_it(server):
    from tests.conftest import Browser
    page = Browser(server.url).get("/login")
    assert "passkey" not in page.text and "webauthn" not in page.text


def test_a_passkey_session_answers_a_client_that_requires_the_code(server, browser, phone):
    """The portal asks the e-mailed code (``require_security_code``): a session opened by a
    passkey (``mfa``: the phone's factor) answers it without the login page, as a code
    session does; a password-only session would be sent back to the code (issue 11.7)."""
    from tests.flows.login.test_login_tokens import Portal
    browser.get("/login")
    answer = Script(browser).sign_in(phone)
    assert answer.json()["location"] == "/compte"
    browser.get("/compte")
    portal = Portal(server, browser)
    code = portal.follow(portal.authorize())
    assert code is not None
    assert portal.id_token(code)["amr"] == ["pop", "mfa"]


# -- conditional mediation costs no row per page view ----------------------------------------------

def test_the_conditional_request_of_each_page_view_writes_no_row_and_a_sign_in_still_works(
        app, server, phone, clock):
    """passkey.js asks request options at every load of the login page (conditional mediation:
    the NIR field's suggestions). Ten visitors who never use a passkey cost no login flow and
    no challenge row (issue 11.13's rule for the page); the one who does gets in, and the
    challenge then is single use all the same."""
    from idp.models import LoginFlow, PasskeyChallenge, Throttle
    from tests.helpers.accounts import rows

    def counts():
        return [len(rows(app, model)) for model in (LoginFlow, PasskeyChallenge, Throttle)]

    before = counts()                  # the phone's registration challenge, nothing else
    for _ in range(10):
        visitor = on_localhost(server)
        visitor.get("/login")
        assert Script(visitor).options().status_code == 200
    assert counts() == before == [0, 1, 0]
    person = on_localhost(server)
    person.get("/login")
    script = Script(person)
    options = script.options().json()["publicKey"]
    assertion = phone.assertion(options)
    before, headers = person.http.cookies.copy(), script.headers()
    answer = script.send(assertion)
    assert answer.status_code == 200, answer.text
    assert "Mes informations" in account_of_session(person)
    assert len(rows(app, LoginFlow)) == 1
    # the same request again, with the cookies the browser had before it: the challenge is spent
    person.http.cookies = before
    refused_with(script.send(assertion, headers=headers), "passkey_refused")
