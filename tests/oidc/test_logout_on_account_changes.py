"""Issue 11.9: a password change, a password reset and an account closure end provider
sessions; the relying parties of those sessions are told over the back channel, as a logout
tells them (OpenID Connect Back-Channel Logout 1.0), through the same queue."""

from __future__ import annotations

import re

from tests.helpers.rp import logged_in

BACKCHANNEL_EVENT = "http://schemas.openid.net/event/backchannel-logout"
NEW_PASSWORD = "Nouveau-Mdp42"


def logout_sids(rps, receiver) -> list[str]:
    sent = [rps.agency.verify_jws(t) for t in receiver.tokens]
    assert all(t.header["typ"] == "logout+jwt" for t in sent)
    assert all(t.claims["events"] == {BACKCHANNEL_EVENT: {}} for t in sent)
    return [t.claims["sid"] for t in sent]


def test_a_password_change_tells_the_relying_parties_of_the_other_sessions(
        rps, browser, other_browser, person, smtp, receiver):
    """issue 11.9: the session that changes the password stays; every other one ends, and
    its back-channel clients hear of it."""
    _, elsewhere = logged_in(rps.agency, other_browser, person, smtp)
    _, here = logged_in(rps.agency, browser, person, smtp)
    browser.get("/compte/mot-de-passe")
    browser.post_form("/compte/mot-de-passe/code/envoyer", {})
    code = smtp.code_for(person.email, digits=4)
    browser.post_form("/compte/mot-de-passe/code", {"code": code})
    page = browser.post_form("/compte/mot-de-passe", {
        "current_password": person.password, "new_password": NEW_PASSWORD,
        "confirmation": NEW_PASSWORD})
    assert "Votre mot de passe a été modifié" in page.text
    assert logout_sids(rps, receiver) == [elsewhere["sid"]]
    assert rps.agency.verify_jws(receiver.tokens[0]).claims["sub"] == elsewhere["sub"]


def test_a_password_reset_tells_the_relying_parties_of_every_session(
        server, rps, browser, other_browser, person, smtp, receiver):
    """issue 11.9"""
    _, first = logged_in(rps.agency, browser, person, smtp)
    _, second = logged_in(rps.agency, other_browser, person, smtp)
    stranger = type(browser)(server.url)
    stranger.get("/mot-de-passe-oublie")
    stranger.post_form("/mot-de-passe-oublie", {"nir": person.nir, "birthdate": "15/02/1969"})
    link = re.findall(r"^(https?://\S+)\s*$", smtp.last_text(person.email), re.M)[-1]
    stranger.get(link)
    page = stranger.post_form(link.split(server.url, 1)[1], {
        "new_password": NEW_PASSWORD, "confirmation": NEW_PASSWORD})
    assert "Votre mot de passe a été modifié" in page.text
    assert sorted(logout_sids(rps, receiver)) == sorted([first["sid"], second["sid"]])


def test_closing_the_account_tells_the_relying_parties_of_its_sessions(
        rps, browser, person, smtp, receiver):
    """issue 11.9"""
    _, claims = logged_in(rps.agency, browser, person, smtp)
    browser.get("/compte/resilier")
    page = browser.post_form("/compte/resilier", {"confirm": "1"})
    assert "a été résilié" in page.text
    assert logout_sids(rps, receiver) == [claims["sid"]]


def test_a_session_without_a_back_channel_client_sends_nothing(
        rps, browser, person, smtp, receiver):
    """issue 11.9: only clients that registered a back-channel URI are told."""
    logged_in(rps.portal, browser, person, smtp)
    browser.get("/compte/resilier")
    browser.post_form("/compte/resilier", {"confirm": "1"})
    assert receiver.attempts == 0
