"""``prompt``, ``max_age``, ``id_token_hint``, ``acr_values`` and the ``claims`` parameter
against the provider's own login session (``sid``), which lets a second client in without
asking again."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from tests.helpers.rp import logged_in, login_page, query_of, sends_to_login

ESSENTIAL_ACR = {"id_token": {"acr": {"essential": True, "values": ["eidas3"]}}}


# -- prompt=none --------------------------------------------------------------------------

def test_prompt_none_without_a_session_is_login_required(rps, browser):
    pending, answer = rps.portal.start(browser, prompt="none")
    query = query_of(answer)
    assert query["error"] == "login_required"
    assert query["state"] == pending.state and query["iss"] == rps.portal.issuer


def test_prompt_none_with_a_session_answers_at_once_with_the_same_session(rps, browser, person, smtp):
    _, first = logged_in(rps.portal, browser, person, smtp)
    pending, answer = rps.portal.start(browser, prompt="none")
    result = rps.portal.walk(browser, answer)       # straight to the client, no page
    assert result["state"] == pending.state
    claims = rps.portal.validate_id_token(rps.portal.exchange(result, pending), pending).claims
    assert claims["sid"] == first["sid"] and claims["auth_time"] == first["auth_time"]


def test_prompt_none_for_a_client_needing_consent_is_consent_required(rps, browser, person, smtp):
    logged_in(rps.portal, browser, person, smtp)
    pending, answer = rps.thirdparty.start(browser, prompt="none")
    query = query_of(answer)
    assert query["error"] == "consent_required" and query["state"] == pending.state
    assert query["iss"] == rps.thirdparty.issuer


def test_prompt_none_needing_a_stronger_login_is_interaction_required(rps, browser, person, smtp):
    # A login spared the code by a trusted device is eidas1; eidas2 needs the code again.
    logged_in(rps.portal, browser, person, smtp, remember=True)
    browser.logout()
    _, claims = logged_in(rps.portal, browser, person, smtp)
    assert claims["acr"] == "eidas1" and claims["amr"] == ["pwd"]
    pending, answer = rps.portal.start(browser, prompt="none", acr_values="eidas2")
    query = query_of(answer)
    assert query["error"] == "interaction_required" and query["state"] == pending.state


def test_prompt_none_past_max_age_is_login_required(rps, browser, person, smtp, clock):
    logged_in(rps.portal, browser, person, smtp)
    clock.shift(timedelta(minutes=10))
    query = query_of(rps.portal.start(browser, prompt="none", max_age="300")[1])
    assert query["error"] == "login_required"


# -- prompt=login, consent, max_age ------------------------------------------------------------

@pytest.mark.parametrize("prompt", ["login", "select_account"])
def test_prompt_login_forces_a_new_authentication_with_a_new_auth_time(
        prompt, rps, browser, person, smtp, clock):
    _, first = logged_in(rps.portal, browser, person, smtp)
    clock.shift(timedelta(minutes=5))
    _, answer = rps.portal.start(browser, prompt=prompt)
    assert sends_to_login(answer)
    _, second = logged_in(rps.portal, browser, person, smtp, prompt=prompt)
    assert second["auth_time"] == first["auth_time"] + 300
    assert second["sid"] == first["sid"]              # the same person: the same session


def test_prompt_consent_asks_consent_even_of_a_first_party_client(rps, browser, person, smtp):
    logged_in(rps.portal, browser, person, smtp)
    _, answer = rps.portal.start(browser, prompt="consent")
    assert sends_to_login(answer)
    page = login_page(browser, answer)
    assert "/login/consent" in page.text and 'name="password"' not in page.text


def test_consent_is_asked_once_of_a_third_party_and_a_refusal_is_access_denied(
        rps, browser, person, smtp):
    pending, answer = rps.thirdparty.login(browser, person, smtp, decision="deny")
    assert answer["error"] == "access_denied" and answer["state"] == pending.state
    assert answer["iss"] == rps.thirdparty.issuer
    logged_in(rps.thirdparty, browser, person, smtp)            # accepted this time
    pending, answer = rps.thirdparty.start(browser, prompt="none")
    assert "code" in query_of(answer)                           # remembered


def test_max_age_within_the_session_answers_and_past_it_asks_a_new_login(
        rps, browser, person, smtp, clock):
    _, first = logged_in(rps.portal, browser, person, smtp)
    clock.shift(timedelta(seconds=100))
    pending, answer = rps.portal.start(browser, max_age="300")
    assert answer.headers["Location"].startswith(rps.portal.redirect_uri)
    clock.shift(timedelta(seconds=300))
    _, answer = rps.portal.start(browser, max_age="300")
    assert sends_to_login(answer)
    _, second = logged_in(rps.portal, browser, person, smtp, max_age="300")
    assert second["auth_time"] == first["auth_time"] + 400
    _, answer = rps.portal.start(browser, max_age="300")     # measured from the new login
    assert answer.headers["Location"].startswith(rps.portal.redirect_uri)


def test_max_age_zero_always_asks_a_new_login(rps, browser, person, smtp):
    logged_in(rps.portal, browser, person, smtp)
    assert sends_to_login(rps.portal.start(browser, max_age="0")[1])


# -- id_token_hint -------------------------------------------------------------------------

def test_an_id_token_hint_naming_the_session_person_answers_at_once(rps, browser, person, smtp, clock):
    tokens, _ = logged_in(rps.portal, browser, person, smtp)
    clock.shift(timedelta(hours=1))                 # an expired hint is still a hint
    query = query_of(rps.portal.start(browser, prompt="none", id_token_hint=tokens["id_token"])[1])
    assert "code" in query


def test_an_id_token_hint_naming_another_person_asks_a_login(
        rps, browser, person, smtp, other_browser, other_person):
    tokens, _ = logged_in(rps.portal, browser, person, smtp)
    logged_in(rps.portal, other_browser, other_person, smtp)
    query = query_of(rps.portal.start(other_browser, prompt="none",
                                      id_token_hint=tokens["id_token"])[1])
    assert query["error"] == "login_required"
    assert sends_to_login(rps.portal.start(other_browser, id_token_hint=tokens["id_token"])[1])


def test_a_login_as_someone_else_than_the_id_token_hint_names_is_login_required(
        rps, browser, person, smtp, other_browser, other_person):
    tokens, claims = logged_in(rps.portal, browser, person, smtp)
    _, other_claims = logged_in(rps.portal, other_browser, other_person, smtp)
    # The session's person logs in again, but the hint named the first one: no code for them.
    pending, answer = rps.portal.login(other_browser, other_person, smtp,
                                       id_token_hint=tokens["id_token"])
    assert answer["error"] == "login_required" and "code" not in answer.params
    assert answer["state"] == pending.state and answer["iss"] == rps.portal.issuer
    # The person the hint names logs in on that browser: the answer is for them.
    _, named = logged_in(rps.portal, other_browser, person, smtp, id_token_hint=tokens["id_token"])
    assert named["sub"] == claims["sub"] != other_claims["sub"]


def test_an_id_token_hint_issued_to_another_client_is_refused(rps, browser, person, smtp):
    tokens, _ = logged_in(rps.portal, browser, person, smtp)
    pending, answer = rps.mobile.start(browser, id_token_hint=tokens["id_token"])
    query = query_of(answer)
    assert query["error"] == "invalid_request" and query["state"] == pending.state


# -- acr_values and the claims parameter ---------------------------------------------------

def test_acr_values_met_by_the_login_are_announced(rps, browser, person, smtp):
    _, claims = logged_in(rps.portal, browser, person, smtp, acr_values="eidas2")
    assert claims["acr"] == "eidas2" and claims["amr"] == ["pwd", "otp", "mfa"]


@pytest.mark.parametrize("params", [
    {"claims": json.dumps(ESSENTIAL_ACR)},
    {"acr_values": "eidas3"},
])
def test_an_acr_that_cannot_be_met_is_unmet_authentication_requirements(params, rps, browser):
    pending, answer = rps.portal.start(browser, **params)
    query = query_of(answer)
    assert query["error"] == "unmet_authentication_requirements"
    assert query["state"] == pending.state and query["iss"] == rps.portal.issuer


def test_an_essential_acr_not_reached_by_the_login_is_unmet_after_it(rps, browser, person, smtp):
    logged_in(rps.portal, browser, person, smtp, remember=True)
    browser.logout()
    claims = {"id_token": {"acr": {"essential": True, "values": ["eidas2"]}}}
    # The trusted device spares the code: the login reaches eidas1 only.
    pending, answer = rps.portal.login(browser, person, smtp, claims=json.dumps(claims))
    assert answer["error"] == "unmet_authentication_requirements"
    assert answer["state"] == pending.state and answer["iss"] == rps.portal.issuer


def test_an_essential_acr_that_is_met_is_in_the_id_token(rps, browser, person, smtp):
    claims = {"id_token": {"acr": {"essential": True, "values": ["eidas2"]}}}
    _, id_claims = logged_in(rps.portal, browser, person, smtp, claims=json.dumps(claims))
    assert id_claims["acr"] == "eidas2"


# -- one provider session for every client ------------------------------------------------

@pytest.mark.parametrize("next_client", ["portal", "agency"])
def test_the_same_or_a_second_client_logs_in_without_asking_again_in_the_same_session(
        next_client, rps, browser, person, smtp):
    _, first = logged_in(rps.portal, browser, person, smtp)
    mails = len(smtp.messages)
    rp = getattr(rps, next_client)
    pending, answer = rp.start(browser)
    assert answer.headers["Location"].startswith(rp.redirect_uri)
    second = rp.validate_id_token(rp.exchange(rp.walk(browser, answer), pending), pending).claims
    assert second["sid"] == first["sid"] and second["auth_time"] == first["auth_time"]
    assert len(smtp.messages) == mails                          # no new code asked


def test_a_new_login_of_the_same_person_keeps_the_session_of_the_other_clients(
        rps, browser, person, smtp, receiver, clock):
    agency_tokens, agency_claims = logged_in(rps.agency, browser, person, smtp)
    clock.shift(timedelta(minutes=5))
    _, portal_claims = logged_in(rps.portal, browser, person, smtp, prompt="login")
    assert portal_claims["sid"] == agency_claims["sid"]
    assert portal_claims["auth_time"] == agency_claims["auth_time"] + 300
    # Re-authenticating for one client is not a logout of the others.
    assert rps.agency.userinfo(agency_tokens["access_token"]).status_code == 200
    assert rps.agency.refresh(agency_tokens["refresh_token"]).status_code == 200
    assert receiver.tokens == []
    # and the session's logout still reaches the agency, under the sid it knows.
    browser.logout()
    assert len(receiver.tokens) == 1
    logout_token = rps.agency.verify_jws(receiver.tokens[0])
    assert logout_token.claims["sid"] == agency_claims["sid"]


def test_a_new_login_of_the_same_person_lasts_the_whole_session_lifetime_from_it(
        rps, browser, person, smtp, clock):
    logged_in(rps.portal, browser, person, smtp)
    clock.shift(timedelta(hours=11))
    _, again = logged_in(rps.portal, browser, person, smtp, prompt="login")
    clock.shift(timedelta(hours=2))              # 13 h after the first login, 2 h after this one
    pending, answer = rps.portal.start(browser, prompt="none")
    claims = rps.portal.validate_id_token(
        rps.portal.exchange(rps.portal.walk(browser, answer), pending), pending).claims
    assert claims["auth_time"] == again["auth_time"] and claims["sid"] == again["sid"]


# -- single sign-on remembers how the session was opened (issue 11.7) ------------------------

def test_a_session_opened_without_the_code_gets_a_step_up_for_a_client_that_requires_it(
        rps, browser, person, smtp):
    """issue 11.7: a session opened by a client with ``require_security_code: false`` does
    not let a client that requires the code in: the portal's request goes to the code page of
    that same account (no password asked again), and its ID token then says the code."""
    _, quick = logged_in(rps.quick, browser, person, smtp)
    assert quick["amr"] == ["pwd"] and smtp.to(person.email) == []
    pending, answer = rps.portal.start(browser)
    assert sends_to_login(answer)
    page = login_page(browser, answer)
    assert 'action="/login/code/send"' in page.text and 'name="password"' not in page.text
    assert "v***@e***.fr" in page.text                    # the code goes to that account
    result = rps.portal.walk(browser, page, person, smtp)
    claims = rps.portal.validate_id_token(rps.portal.exchange(result, pending), pending).claims
    assert claims["amr"] == ["pwd", "otp", "mfa"] and claims["acr"] == "eidas2"
    assert claims["sid"] == quick["sid"]                  # the same session, stepped up
    assert len(smtp.to(person.email)) == 1
    again, answer = rps.portal.start(browser)             # now the session carries the code
    assert not sends_to_login(answer) and query_of(answer)["state"] == again.state


def test_prompt_none_on_a_session_opened_without_the_code_is_interaction_required(
        rps, browser, person, smtp):
    """issue 11.7: with ``prompt=none`` the step-up cannot be shown: an error, no code."""
    logged_in(rps.quick, browser, person, smtp)
    pending, answer = rps.portal.start(browser, prompt="none")
    query = query_of(answer)
    assert query["error"] == "interaction_required" and query["state"] == pending.state
    assert "code" not in query
