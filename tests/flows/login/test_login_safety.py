"""What keeps the login safe and never blocks anybody by our fault: SMTP down, codes hashed and
never logged, the session renewed at login, CSRF on every form, bad cookies discarded, and
Flask-Limiter's outer shield with its French 429 page."""

from __future__ import annotations

import logging
import socket
from datetime import timedelta

import pytest

from tests.helpers.accounts import logged_in, login_until_code_sent, rows
from tests.helpers.pages import says, text_of

WRONG = "Pas-le-bon-1"
MAIL_DOWN = ("Le mail contenant votre code de sécurité n'a pas pu être envoyé. Aucune demande n'a "
             "été décomptée : merci de réessayer dans quelques instants.")


# -- SMTP down ----------------------------------------------------------------------------------

def _restart_smtp(smtp):
    from aiosmtpd.controller import Controller
    smtp.controller = Controller(smtp.controller.handler, hostname="127.0.0.1", port=smtp.port)
    smtp.controller.start()


def test_with_smtp_down_the_person_is_told_nothing_is_counted_and_can_try_again(
        app, browser, person, smtp):
    from idp.models import QuotaEvent, Throttle
    browser.get("/login")
    browser.submit_credentials(person.nir, person.password)
    smtp.stop()
    for _ in range(7):                                  # more than the quota of 5
        page = browser.ask_code()
        assert says(page, MAIL_DOWN), text_of(page)[:500]
        assert "Cliquez pour recevoir un code de sécurité</button>" in page.text
    assert rows(app, QuotaEvent) == []
    assert all(t.locked_until is None for t in rows(app, Throttle))
    _restart_smtp(smtp)
    for _ in range(5):                                  # the whole quota is still there
        page = browser.post_form("/login/code/send", {})
        assert not says(page, "Le nombre maximum"), text_of(page)[:500]
    assert len(smtp.to(person.email)) == 5
    assert browser.submit_code(smtp.code_for(person.email)).status_code == 303
    assert logged_in(browser)


def test_a_resend_that_fails_keeps_the_code_already_received(browser, person, smtp):
    code = login_until_code_sent(browser, person, smtp)
    smtp.stop()
    page = browser.post_form("/login/code/send", {})
    assert says(page, MAIL_DOWN) and 'name="code"' in page.text
    _restart_smtp(smtp)
    assert browser.submit_code(code).status_code == 303
    assert logged_in(browser)


def _closed_port() -> int:
    """A port nobody listens on: bound by the OS, then released."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.config(MAIL_PORT=_closed_port())
def test_a_closed_mail_port_is_a_clear_message_not_a_crash(app, browser, person):
    from idp.models import OneTimeCode, QuotaEvent
    browser.get("/login")
    browser.submit_credentials(person.nir, person.password)
    page = browser.ask_code()
    assert page.status_code == 200 and says(page, MAIL_DOWN)
    assert rows(app, QuotaEvent) == [] and rows(app, OneTimeCode) == []


# -- codes: hashed, never logged -----------------------------------------------------------------

def _database_text(app) -> str:
    from sqlalchemy import text

    from idp.extensions import db
    chunks = []
    with app.app_context():
        for table in db.metadata.sorted_tables:
            for row in db.session.execute(text(f'SELECT * FROM "{table.name}"')):
                chunks.append(" ".join(str(v) for v in row))
        db.session.rollback()
    return "\n".join(chunks)


def test_the_code_is_stored_only_as_a_keyed_hash(app, browser, person, smtp):
    from idp.models import OneTimeCode
    code = login_until_code_sent(browser, person, smtp)
    stored = rows(app, OneTimeCode)
    assert len(stored) == 1 and len(stored[0].code_hash) == 64
    assert code not in _database_text(app)


def test_neither_code_nor_nir_nor_password_reaches_the_logs(app, browser, person, smtp, capfd):
    records = []

    class Keep(logging.Handler):
        def emit(self, record):
            if not record.name.startswith("mail.log"):   # the test mailbox itself reads the mail
                records.append(self.format(record))
    handler = Keep(level=logging.DEBUG)
    watched = [logging.getLogger(), logging.getLogger("idp")]
    levels = [logger.level for logger in watched]
    for logger in watched:
        logger.addHandler(handler)
        logger.setLevel(logging.DEBUG)
    try:
        code = login_until_code_sent(browser, person, smtp)
        browser.submit_code(f"{(int(code) + 1) % 1000000:06d}")       # a wrong one too
        assert browser.submit_code(code).status_code == 303
    finally:
        for logger, level in zip(watched, levels, strict=True):
            logger.removeHandler(handler)
            logger.setLevel(level)
    _out, err = capfd.readouterr()
    logs = "\n".join(records) + "\n".join(
        line for line in err.splitlines() if "mail.log" not in line and "readline" not in line)
    assert "login_succeeded" in logs                   # the events were captured ...
    for secret in (code, person.nir, person.password):
        assert secret not in logs                      # ... and none of the secrets


# -- the session is renewed at login ---------------------------------------------------------------

def test_the_session_cookie_is_renewed_at_login_and_the_old_one_carries_no_login(
        browser, person, smtp):
    import requests
    code = login_until_code_sent(browser, person, smtp)
    before = browser.http.cookies.get("idp_session")
    assert browser.submit_code(code).status_code == 303
    after = browser.http.cookies.get("idp_session")
    assert after and after != before
    assert logged_in(browser)
    old = requests.get(browser.base + "/compte", cookies={"idp_session": before}, allow_redirects=False)
    assert old.status_code == 303 and "/login" in old.headers["Location"]


# -- CSRF on every form ----------------------------------------------------------------------------

@pytest.mark.parametrize("action", ["/login", "/login/code/send", "/login/code", "/login/consent"])
def test_a_post_without_csrf_token_gets_a_french_page_and_counts_nothing(
        app, browser, person, action):
    from idp.models import QuotaEvent, Throttle
    browser.get("/login")
    for _ in range(4):
        page = browser.http.post(browser.base + action,
                                 data={"nir": person.nir, "password": WRONG, "code": "000000"})
        assert page.status_code == 400 and says(page, "La page a expiré. Merci de recommencer.")
    assert rows(app, Throttle) == [] and rows(app, QuotaEvent) == []
    page = browser.submit_credentials(person.nir, WRONG)
    assert says(page, "Le mot de passe saisi est incorrect.")          # the first, not the 4th


# -- bad cookies never block anybody ---------------------------------------------------------------

@pytest.mark.parametrize("value", ["garbage", "eyJsb2dpbl9mbG93IjoieCJ9.bad.signature", "A" * 4000])
def test_a_corrupt_or_oversized_session_cookie_is_discarded(browser, person, smtp, value):
    browser.http.cookies.set("idp_session", value, domain="127.0.0.1", path="/")
    page = browser.get("/login")
    assert page.status_code == 200 and says(page, "J'accède à mon compte ameli")
    page = browser.submit_credentials(person.nir, person.password)
    assert "recevoir un code de sécurité" in page.text
    browser.ask_code()
    assert browser.submit_code(smtp.code_for(person.email)).status_code == 303


def test_a_flow_that_no_longer_exists_starts_a_clean_journey_in_french(app, browser, person, smtp):
    from sqlalchemy import delete

    from idp.extensions import db
    from idp.models import LoginFlow
    browser.get("/login")
    browser.submit_credentials(person.nir, person.password)
    with app.app_context():
        db.session.execute(delete(LoginFlow))
        db.session.commit()
    page = browser.ask_code()
    assert page.status_code == 200
    assert says(page, "Votre demande de connexion a expiré. Merci de recommencer.")
    assert 'name="password"' in page.text and smtp.messages == []
    login_until_code_sent(browser, person, smtp)


def test_an_expired_flow_starts_a_clean_journey(browser, person, smtp, clock):
    browser.get("/login")
    browser.submit_credentials(person.nir, person.password)
    clock.shift(timedelta(minutes=31))
    page = browser.ask_code()
    assert says(page, "Votre demande de connexion a expiré. Merci de recommencer.")
    assert smtp.messages == []


# -- a login page costs no row until it is used (issue 11.13) --------------------------------

def test_a_cookieless_get_of_the_login_page_writes_no_row_and_the_login_still_works(
        app, server, browser, person):
    """issue 11.13: every cookie-less ``GET /login`` inserted a login flow; now the flow is
    made when the form is submitted, and that login goes on as before."""
    import requests

    from idp.models import LoginFlow
    for _ in range(5):
        page = requests.get(server.url + "/login")
        assert page.status_code == 200 and 'name="password"' in page.text
    assert rows(app, LoginFlow) == []
    browser.get("/login")
    page = browser.submit_credentials(person.nir, person.password)
    assert "recevoir un code de sécurité" in page.text, text_of(page)[:400]
    assert len(rows(app, LoginFlow)) == 1
