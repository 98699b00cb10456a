"""Creating and activating an account through the pages (seeds 002, 003), over real HTTP
with a real SMTP server and a moved clock."""

from __future__ import annotations

import base64
import hashlib
import re
import secrets
from datetime import timedelta
from urllib.parse import parse_qs, urlparse

import requests

from idp import messages
from tests.helpers.accounts import (
    NEW_PASSWORD,
    PASSWORD,
    SAME_ANSWER,
    activate_with,
    add_person,
    ask_code,
    finish,
    link_in,
)
from tests.helpers.pages import field_error, says, text_of
from tests.helpers.parties import PORTAL_SECRET


def test_a_person_on_file_creates_an_account_and_logs_in_through_openid_connect(
        server, browser, smtp, app):
    person = add_person(app)
    page = ask_code(browser, person, family_name="Bernard ", given_name="louis")
    assert says(page, SAME_ANSWER)
    mail = smtp.last_text(person["email"])
    assert "Voici votre code provisoire de connexion à votre compte ameli" in mail
    assert "Attention ! Ce code est valable 30 jours." in mail
    code = smtp.code_for(person["email"], digits=8)

    page = activate_with(browser, person["nir"], code=code)
    assert "Personnaliser mon compte ameli" in page.text, text_of(page)[:500]
    page = finish(browser, email="louis.perso@example.fr", password="Louis1986-02")
    assert page.status_code == 400
    # seed 000: the birth date (in any of its forms) may not be part of the password
    assert "ne pas contenir votre n° de sécurité sociale, votre date de naissance" in \
        field_error(page, "new_password")
    page = finish(browser, email="louis.perso@example.fr", terms=False)
    assert field_error(page, "terms") == messages.text("terms_required")
    page = finish(browser, email="louis.perso@example.fr", mobile="06 11 22 33 44")
    assert says(page, messages.text("account_created")) and "louis.perso@example.fr" in page.text
    validation = smtp.last_text("louis.perso@example.fr")
    assert "Pour valider l'adresse mail de votre compte ameli" in validation
    assert "Attention ! Ce lien est valable 7 jours uniquement." in validation

    # Before the address is validated the account does not log in (case 1).
    browser.get("/login")
    page = browser.submit_credentials(person["nir"], NEW_PASSWORD)
    assert says(page, messages.text("no_email"))
    page = browser.get(link_in(validation))
    assert says(page, messages.text("email_validated"))
    assert says(browser.get(link_in(validation)), messages.text("link_invalid"))   # single use

    # Then the relying party's login, with the e-mailed security code.
    redirect_uri = "http://127.0.0.1:5001/callback"
    verifier = secrets.token_urlsafe(40)
    challenge = base64.urlsafe_b64encode(
        hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    page = browser.get("/authorize", params={
        "client_id": "portal", "response_type": "code", "scope": "openid profile email",
        "redirect_uri": redirect_uri, "state": "s1", "nonce": "n1",
        "code_challenge": challenge, "code_challenge_method": "S256"})
    page = browser.submit_credentials(person["nir"], NEW_PASSWORD)
    assert "recevoir un code de sécurité" in page.text, text_of(page)[:800]
    browser.ask_code()
    response = browser.submit_code(smtp.code_for("louis.perso@example.fr"))
    query = parse_qs(urlparse(response.headers["Location"]).query)
    token = requests.post(server.url + "/token", data={
        "grant_type": "authorization_code", "code": query["code"][0],
        "redirect_uri": redirect_uri, "code_verifier": verifier},
        auth=("portal", PORTAL_SECRET))
    assert token.status_code == 200, token.text
    info = requests.get(server.url + "/userinfo",
                        headers={"Authorization": "Bearer " + token.json()["access_token"]})
    assert info.json()["given_name"] == "Louis"
    assert info.json()["email"] == "louis.perso@example.fr"


def test_the_answer_is_the_same_whether_or_not_the_registry_matches_or_an_account_exists(
        server, browser, smtp, app, person):
    known = add_person(app)
    add_person(app, nir=person.nir, family_name="MARTIN", given_name="Valérie",
               birthdate="1969-02-15", email="valerie.registry@example.fr")
    answers = [
        ask_code(browser, known, nir="1991299123456"),                   # not in the registry
        ask_code(browser, known, postal_code="75012"),                  # wrong postal code
        ask_code(browser, known, birthdate="12/02/1986"),               # wrong birth date
        ask_code(browser, {"family_name": "MARTIN", "given_name": "Valérie", "nir": person.nir,
                           "birthdate": "1969-02-15", "postal_code": "75011"}),  # has an account
    ]
    bodies = {re.sub(r'name="csrf_token" value="[^"]+"', "", a.text) for a in answers}
    assert len(bodies) == 1 and all(a.status_code == 200 for a in answers)
    assert says(answers[0], SAME_ANSWER)
    assert smtp.messages == []
    page = ask_code(browser, known)
    assert re.sub(r'name="csrf_token" value="[^"]+"', "", page.text) in bodies
    assert len(smtp.to(known["email"])) == 1


def test_the_form_names_each_wrong_field(server, browser, app):
    browser.get("/creer-un-compte")
    page = browser.post_form("/creer-un-compte", {"family_name": "", "given_name": "Louis",
                                                  "nir": "12", "birthdate": "31/02/1986",
                                                  "postal_code": "7501"})
    assert page.status_code == 400
    assert field_error(page, "family_name") == messages.text("field_required")
    assert field_error(page, "nir") == messages.text("nir_invalid", reason="format")
    assert field_error(page, "birthdate") == messages.text("birthdate_invalid")
    assert field_error(page, "postal_code") == messages.text("postal_code_invalid")
    assert field_error(page, "given_name") is None


def test_without_an_email_on_file_a_letter_is_queued_and_its_exported_code_activates(
        server, browser, smtp, app):
    person = add_person(app, email="")
    assert says(ask_code(browser, person), SAME_ANSWER)
    assert smtp.messages == []
    runner = app.test_cli_runner()
    result = runner.invoke(args=["idp", "letters", "export"])
    assert result.exit_code == 0, result.output
    assert "letters exported: 1" in result.output
    line = next(row for row in result.output.splitlines() if row.startswith(person["nir"]))
    code = line.split(",")[4]
    assert re.fullmatch(r"\d{8}", code)
    again = runner.invoke(args=["idp", "letters", "export"])
    assert "letters exported: 0" in again.output
    page = activate_with(browser, person["nir"], code=code)
    assert "Personnaliser mon compte ameli" in page.text


def test_a_provisional_code_is_single_use_expires_and_locks_after_three_wrong_tries(
        server, browser, smtp, app, clock):
    person = add_person(app)
    ask_code(browser, person)
    code = smtp.code_for(person["email"], digits=8)
    refused = messages.text("activation_refused")
    wrong = "00000000" if code != "00000000" else "11111111"
    assert says(activate_with(browser, person["nir"], code=wrong), refused)
    assert says(activate_with(browser, person["nir"], code=wrong), refused)
    page = activate_with(browser, person["nir"], code=wrong)
    until = clock.now() + timedelta(minutes=15)
    assert says(page, messages.text("code_locked", until=until))
    assert says(activate_with(browser, person["nir"], code=code),
                messages.text("code_locked", until=until))          # even the right one
    clock.shift(timedelta(minutes=15))
    assert "Personnaliser" in activate_with(browser, person["nir"], code=code).text
    assert says(activate_with(browser, person["nir"], code=code), refused)   # used once

    ask_code(browser, person)
    late = smtp.code_for(person["email"], digits=8)
    clock.shift(timedelta(days=30))
    assert says(activate_with(browser, person["nir"], code=late), refused)


def _counter_code(app, nir, *extra):
    result = app.test_cli_runner().invoke(
        args=["idp", "user", "provisional-code", nir, "--channel", "counter", *extra])
    assert result.exit_code == 0, result.output
    return result.output.strip().rsplit(" ", 1)[1]


def test_a_four_digit_counter_code_lasts_one_hour(server, browser, app, clock):
    """issue 11.6: the counter's 4-digit code (Policy.counter_code_ttl) activates within the
    hour, not after."""
    person = add_person(app)
    code = _counter_code(app, person["nir"], "--digits", "4")
    assert re.fullmatch(r"\d{4}", code)
    clock.shift(timedelta(minutes=59))
    assert "Personnaliser" in activate_with(browser, person["nir"], code=code).text
    code = _counter_code(app, person["nir"], "--digits", "4")
    clock.shift(timedelta(hours=1))
    assert says(activate_with(browser, person["nir"], code=code),
                messages.text("activation_refused"))


def test_a_provisional_code_is_void_after_five_wrong_tries_whatever_the_locks(
        server, browser, app, clock):
    """issue 11.6: beyond the 15-minute locks, a code tried wrong 5 times in all
    (Policy.provisional_code_max_wrong) no longer activates, even when right."""
    person = add_person(app)
    code = _counter_code(app, person["nir"])
    wrong = "00000000" if code != "00000000" else "11111111"
    for _ in range(3):
        activate_with(browser, person["nir"], code=wrong)
    clock.shift(timedelta(minutes=15))
    for _ in range(2):
        assert says(activate_with(browser, person["nir"], code=wrong),
                    messages.text("activation_refused"))
    page = activate_with(browser, person["nir"], code=code)    # right, but void
    assert page.status_code != 200 and "Personnaliser" not in page.text
    clock.shift(timedelta(minutes=15))
    fresh = _counter_code(app, person["nir"])           # a new code counts from zero
    assert "Personnaliser" in activate_with(browser, person["nir"], code=fresh).text


def test_an_unknown_nir_is_refused_like_a_wrong_code(server, browser, app):
    page = activate_with(browser, "1991299123456", code="12345678")
    assert says(page, messages.text("activation_refused"))
    page = activate_with(browser, "1991299123456")
    assert field_error(page, "code") == messages.text("activation_proof_needed")


def test_the_validation_link_lasts_seven_days(server, browser, smtp, app, clock):
    person = add_person(app)
    ask_code(browser, person)
    activate_with(browser, person["nir"], code=smtp.code_for(person["email"], digits=8))
    finish(browser, email="louis.tard@example.fr")
    link = link_in(smtp.last_text("louis.tard@example.fr"))
    clock.shift(timedelta(days=7))
    assert says(browser.get(link), messages.text("link_invalid"))
    browser.get("/login")
    assert says(browser.submit_credentials(person["nir"], NEW_PASSWORD), messages.text("no_email"))


def test_the_email_address_must_be_unique(server, browser, smtp, app, person):
    known = add_person(app)
    ask_code(browser, known)
    activate_with(browser, known["nir"], code=smtp.code_for(known["email"], digits=8))
    page = finish(browser, email=person.email.upper())
    assert field_error(page, "email") == messages.text("email_taken")
    invalid = finish(browser, email="pas-une-adresse")
    assert field_error(invalid, "email") == messages.text("email_invalid")
    # Mail relays take ASCII addresses (no SMTPUTF8): refused on the form, not a server error.
    for address in ("assuré@example.fr", "louis@exemple-café.fr"):
        page = finish(browser, email=address)
        assert (page.status_code, field_error(page, "email")) == \
            (invalid.status_code, messages.text("email_invalid"))


def test_a_closed_account_is_reactivated_with_the_carte_vitale_and_the_iban(
        server, browser, smtp, app, person, clock):
    add_person(app, nir=person.nir, family_name="MARTIN", given_name="Valérie",
               birthdate="1969-02-15", email=person.email, vitale_serial="111222333",
               iban="FR7630006000011234567890189")
    from idp.domain import accounts
    from idp.extensions import db
    with app.app_context():
        account = accounts.by_nir(person.nir)
        account.status, account.closed_on = "resigned", clock.now().date()
        db.session.commit()
    browser.get("/login")
    assert says(browser.submit_credentials(person.nir, PASSWORD),
                messages.text("account_closed", on=clock.now().date()))
    refused = messages.text("activation_refused")
    assert says(activate_with(browser, person.nir, vitale_serial="111222334",
                              iban="FR7630006000011234567890189"), refused)
    page = activate_with(browser, person.nir, vitale_serial="111 222 333",
                         iban="fr76 3000 6000 0112 3456 7890 189")
    assert "Personnaliser mon compte ameli" in page.text, text_of(page)[:500]
    finish(browser, email=person.email)
    browser.get(link_in(smtp.last_text(person.email)))
    browser.get("/login")
    page = browser.submit_credentials(person.nir, NEW_PASSWORD)
    assert "recevoir un code de sécurité" in page.text, text_of(page)[:500]


def test_code_requests_are_counted_on_the_nir_whether_or_not_it_is_on_file(
        server, browser, smtp, app, clock):
    known = add_person(app)
    unknown = dict(known, nir="1991299123456")
    for person in (known, unknown):
        for _ in range(5):
            assert says(ask_code(browser, person), SAME_ANSWER)
        page = ask_code(browser, person)
        assert says(page, messages.text("code_quota", until=clock.now() + timedelta(hours=1)))
    assert len(smtp.to(known["email"])) == 5
    clock.shift(timedelta(hours=1))
    assert says(ask_code(browser, known), SAME_ANSWER)
    assert len(smtp.to(known["email"])) == 6


def test_with_the_mail_server_down_the_answer_is_still_the_same(server, browser, smtp, app):
    person = add_person(app)
    smtp.stop()
    page = ask_code(browser, person)
    assert page.status_code == 200 and says(page, SAME_ANSWER)
    from aiosmtpd.controller import Controller
    smtp.controller = Controller(smtp.controller.handler, hostname="127.0.0.1", port=smtp.port)
    smtp.controller.start()
    for _ in range(5):            # the failed request was not counted: the whole quota is there
        assert says(ask_code(browser, person), SAME_ANSWER)
    assert len(smtp.to(person["email"])) == 5
    assert re.fullmatch(r"\d{8}", smtp.code_for(person["email"], digits=8))
