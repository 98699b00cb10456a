"""Issue 11.2: every link in a mail is built from ``IDP_ISSUER``, never from the request's
Host (or ``X-Forwarded-Host`` behind a proxy), and a request naming another host is refused
(Flask's ``TRUSTED_HOSTS``) before anything is sent. The mails are read from aiosmtpd."""

from __future__ import annotations

import pytest

from idp import messages
from tests.helpers.accounts import add_person, link_in
from tests.helpers.pages import says

UNTRUSTED = messages.text("untrusted_host")


def _forgot(browser, person_nir, **kw):
    browser.get("/mot-de-passe-oublie")
    return browser.post_form("/mot-de-passe-oublie", {"nir": person_nir, "birthdate": "15/02/1969"}, **kw)


def test_a_forged_host_is_refused_and_no_mail_leaves(server, browser, smtp, app, person):
    """issue 11.2: Host: attacker's domain on the reset and registration forms."""
    page = _forgot(browser, person.nir, headers={"Host": "ameli.attacker.example"})
    assert page.status_code == 400 and says(page, UNTRUSTED)
    registered = add_person(app)
    browser.get("/creer-un-compte")
    page = browser.post_form("/creer-un-compte", {
        "family_name": registered["family_name"], "given_name": registered["given_name"],
        "nir": registered["nir"], "birthdate": "11/02/1986",
        "postal_code": registered["postal_code"]}, headers={"Host": "ameli.attacker.example"})
    assert page.status_code == 400 and says(page, UNTRUSTED)
    assert smtp.messages == []


def test_a_protocol_endpoint_answers_an_rfc_error_to_a_forged_host(server):
    """issue 11.2: the token endpoint behind a forged Host: JSON, not a page."""
    import requests
    answer = requests.post(server.url + "/token", data={"grant_type": "authorization_code"},
                           headers={"Host": "ameli.attacker.example"})
    assert answer.status_code == 400 and answer.json()["error"] == "invalid_request"


def test_mail_links_come_from_the_issuer_whatever_port_or_scheme_the_request_names(
        server, browser, smtp, app, person):
    """issue 11.2: the same host on another port (which a host check lets by) still gets
    links on the issuer, for the reset, the activation and the e-mail validation mails."""
    other_port = {"Host": "127.0.0.1:1"}
    _forgot(browser, person.nir, headers=other_port)
    assert link_in(smtp.last_text(person.email)).startswith(server.url + "/mot-de-passe-oublie/")

    registered = add_person(app)
    browser.get("/creer-un-compte")
    browser.post_form("/creer-un-compte", {
        "family_name": registered["family_name"], "given_name": registered["given_name"],
        "nir": registered["nir"], "birthdate": "11/02/1986",
        "postal_code": registered["postal_code"]}, headers=other_port)
    assert server.url + "/activer-mon-compte" in smtp.last_text(registered["email"])
    code = smtp.code_for(registered["email"], digits=8)
    browser.get("/activer-mon-compte")
    browser.post_form("/activer-mon-compte", {"nir": registered["nir"], "code": code})
    browser.post_form("/activer-mon-compte/finaliser", {
        "new_password": "Nouveau-Mdp42", "confirmation": "Nouveau-Mdp42",
        "email": "louis.perso@example.fr", "mobile": "", "terms": "1"}, headers=other_port)
    assert link_in(smtp.last_text("louis.perso@example.fr")).startswith(server.url + "/")


@pytest.mark.config(PROXY_FIX={"x_for": 1, "x_proto": 1, "x_host": 1})
def test_behind_the_proxy_a_forged_forwarded_host_is_refused(server, browser, smtp, app, person):
    """issue 11.2: under IDP_PROXY_FIX, X-Forwarded-Host is the Host the app sees."""
    page = _forgot(browser, person.nir, headers={"X-Forwarded-Host": "ameli.attacker.example"})
    assert page.status_code == 400 and says(page, UNTRUSTED)
    assert smtp.messages == []
    _forgot(browser, person.nir, headers={"X-Forwarded-Host": "127.0.0.1:8443"})
    assert link_in(smtp.last_text(person.email)).startswith(server.url + "/mot-de-passe-oublie/")
