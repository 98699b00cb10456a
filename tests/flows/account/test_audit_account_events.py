"""Issue 11.17: the account's life leaves its events in the audit trail, read back as an
operator does (``idp audit show NIR``): password change and reset, e-mail change, activation,
closure."""

from __future__ import annotations

import json

from tests.helpers.accounts import (
    NEW_PASSWORD,
    activate_with,
    add_person,
    ask_code,
    finish,
    link_in,
    login_direct,
)


def trail(app, nir) -> list[dict]:
    result = app.test_cli_runner().invoke(args=["idp", "audit", "show", nir])
    assert result.exit_code == 0, result.output
    assert nir not in result.output
    return [json.loads(line) for line in result.output.splitlines()]


def events(app, nir) -> list[str]:
    return [row["event"] for row in trail(app, nir)]


def test_a_password_change_is_in_the_trail(server, browser, smtp, app, person):
    """issue 11.17"""
    login_direct(browser, smtp, person.nir, person.password, person.email)
    browser.get("/compte/mot-de-passe")
    browser.post_form("/compte/mot-de-passe/code/envoyer", {})
    browser.post_form("/compte/mot-de-passe/code", {"code": smtp.code_for(person.email, digits=4)})
    browser.post_form("/compte/mot-de-passe", {"current_password": person.password,
                                               "new_password": NEW_PASSWORD,
                                               "confirmation": NEW_PASSWORD})
    assert events(app, person.nir)[-1] == "password_changed"


def test_a_password_reset_is_in_the_trail(server, browser, smtp, app, person):
    """issue 11.17"""
    browser.get("/mot-de-passe-oublie")
    browser.post_form("/mot-de-passe-oublie", {"nir": person.nir, "birthdate": "15/02/1969"})
    link = link_in(smtp.last_text(person.email))
    browser.get(link)
    browser.post_form(link.split(server.url, 1)[1], {"new_password": NEW_PASSWORD,
                                                     "confirmation": NEW_PASSWORD})
    assert events(app, person.nir) == ["password_reset_requested", "password_reset"]


def test_a_reset_request_is_in_the_trail_under_the_nir_key_only(server, browser, smtp, app,
                                                                person):
    """issue 12: the request is recorded, keyed by the NIR, the same with or without an
    account: the row does not tell whether the NIR has one."""
    unknown = "1860275056042"      # a valid NIR with no account (add_person's, not added)
    for nir in (person.nir, unknown):
        browser.get("/mot-de-passe-oublie")
        browser.post_form("/mot-de-passe-oublie", {"nir": nir, "birthdate": "15/02/1969"})
    known_rows, unknown_rows = trail(app, person.nir), trail(app, unknown)
    assert [r["event"] for r in known_rows] == ["password_reset_requested"]
    assert [r["event"] for r in unknown_rows] == ["password_reset_requested"]
    for row in (known_rows[0], unknown_rows[0]):
        assert row.get("account_id") is None
        assert set(row) == set(unknown_rows[0])


def test_an_e_mail_change_and_its_validation_are_in_the_trail_without_the_addresses(
        server, browser, smtp, app, person):
    """issue 11.17"""
    login_direct(browser, smtp, person.nir, person.password, person.email)
    browser.get("/compte")
    browser.post_form("/compte/adresse-mail", {"email": "valerie.neuve@example.fr",
                                               "current_password": person.password})
    browser.get(link_in(smtp.last_text("valerie.neuve@example.fr")))
    rows = trail(app, person.nir)
    assert [r["event"] for r in rows][-2:] == ["email_change_requested", "email_validated"]
    assert "valerie" not in json.dumps(rows)


def test_an_activation_is_in_the_trail(server, browser, smtp, app):
    """issue 11.17"""
    person = add_person(app)
    ask_code(browser, person)
    activate_with(browser, person["nir"], code=smtp.code_for(person["email"], digits=8))
    finish(browser, email="louis.perso@example.fr")
    assert "account_activated" in events(app, person["nir"])


def test_a_closure_is_in_the_trail(server, browser, smtp, app, person):
    """issue 11.17"""
    login_direct(browser, smtp, person.nir, person.password, person.email)
    browser.get("/compte/resilier")
    browser.post_form("/compte/resilier", {"confirm": "1"})
    assert events(app, person.nir)[-1] == "account_closed"
