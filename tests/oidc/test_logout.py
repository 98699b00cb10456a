"""RP-Initiated Logout 1.0 and Back-Channel Logout 1.0: the session and its tokens end, the
browser goes back only to a registered URI with the ``state``, and every client of the session
with a back-channel URI receives a logout token naming the ``sid`` it knows."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests.helpers.rp import logged_in, sends_to_login, url_with

BACKCHANNEL_EVENT = "http://schemas.openid.net/event/backchannel-logout"


def end_session(rp, browser, **params):
    return browser.get(url_with(rp.discovery["end_session_endpoint"], **params),
                       allow_redirects=False)


@pytest.mark.parametrize(("target", "back_to"), [
    ("http://127.0.0.1:5001/", "http://127.0.0.1:5001/?state=a%20b%26c"),
    ("http://127.0.0.1:5001/bye?x=1", "http://127.0.0.1:5001/bye?x=1&state=a%20b%26c"),
])
def test_logout_with_an_expired_hint_ends_the_session_and_its_tokens_and_returns_the_state(
        target, back_to, rps, browser, person, smtp, clock):
    tokens, _ = logged_in(rps.portal, browser, person, smtp)
    clock.shift(timedelta(hours=2))             # the hint has expired, the session has not
    answer = end_session(rps.portal, browser, id_token_hint=tokens["id_token"],
                         post_logout_redirect_uri=target, state="a b&c")
    assert answer.status_code == 303 and answer.headers["Location"] == back_to
    assert sends_to_login(rps.portal.start(browser)[1])
    assert rps.portal.refresh(tokens["refresh_token"]).json()["error"] == "invalid_grant"


@pytest.mark.parametrize("target", [
    "https://evil.example/",
    "https://agency.example/",              # registered, but by another client
    "http://127.0.0.1:5001/bye",            # registered only with its query
])
def test_logout_never_redirects_to_a_uri_the_client_did_not_register(target, rps, browser, person,
                                                                      smtp):
    tokens, _ = logged_in(rps.portal, browser, person, smtp)
    answer = end_session(rps.portal, browser, id_token_hint=tokens["id_token"],
                         post_logout_redirect_uri=target)
    assert answer.status_code == 400 and "Location" not in answer.headers


def test_logout_sends_a_logout_token_to_the_back_channel_of_each_client_of_the_session(
        rps, browser, person, smtp, receiver):
    tokens, claims = logged_in(rps.agency, browser, person, smtp)
    logged_in(rps.portal, browser, person, smtp)          # a client without back channel
    answer = end_session(rps.agency, browser, id_token_hint=tokens["id_token"])
    assert answer.status_code == 200
    assert len(receiver.tokens) == 1
    logout = rps.agency.verify_jws(receiver.tokens[0])
    assert logout.header["typ"] == "logout+jwt" and logout.header["alg"] == "ES256"
    sent = logout.claims
    assert sent["iss"] == rps.agency.issuer and sent["aud"] == "agency" and sent["jti"]
    assert sent["sub"] == claims["sub"] and sent["sid"] == claims["sid"]
    assert sent["events"] == {BACKCHANNEL_EVENT: {}} and "nonce" not in sent


def test_a_client_logged_in_from_the_live_session_is_told_of_its_logout(
        rps, browser, person, smtp, receiver):
    """The second client, answered at GET /authorize from the session (no login), is named
    among the session's clients with its code: the logout reaches its back channel."""
    portal_tokens, first = logged_in(rps.portal, browser, person, smtp)
    pending, answer = rps.agency.start(browser)
    assert answer.headers["Location"].startswith(rps.agency.redirect_uri)     # no login page
    claims = rps.agency.validate_id_token(
        rps.agency.exchange(rps.agency.walk(browser, answer), pending), pending).claims
    assert claims["sid"] == first["sid"]
    assert end_session(rps.portal, browser, id_token_hint=portal_tokens["id_token"]).status_code == 200
    assert len(receiver.tokens) == 1
    sent = rps.agency.verify_jws(receiver.tokens[0]).claims
    assert sent["aud"] == "agency" and sent["sid"] == claims["sid"]


def test_a_failed_back_channel_delivery_is_sent_again_after_its_delay(
        app, rps, browser, person, smtp, receiver, clock):
    from idp.oidc import logout
    receiver.fail_first = 1
    logged_in(rps.agency, browser, person, smtp)
    browser.logout()
    assert receiver.attempts == 1 and receiver.tokens == []
    with app.app_context():
        assert logout.deliver_due() == 0                  # not before its delay
    clock.shift(timedelta(seconds=31))
    # The purge from cron retries what is due, even when no other logout comes.
    result = app.test_cli_runner().invoke(args=["idp", "purge"])
    assert result.exit_code == 0 and "backchannel logouts delivered: 1" in result.output
    assert receiver.attempts == 2 and len(receiver.tokens) == 1


# -- without id_token_hint: the person confirms (issue 11.10) --------------------------------

CONFIRM = "Souhaitez-vous vous déconnecter de votre compte ameli ?"


def _visible(page) -> str:
    import html
    import re
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", page.text)).split())


def test_a_logout_without_hint_asks_for_confirmation_then_logs_out(rps, browser, person, smtp):
    """issue 11.10: ``GET /end_session`` with no ``id_token_hint`` (any page can send the
    browser there) does not log out: a French page asks, with a POST form and its CSRF
    token; its button logs out and goes back to the client with the ``state``."""
    tokens, _ = logged_in(rps.portal, browser, person, smtp)
    page = end_session(rps.portal, browser, client_id="portal", state="s 1",
                       post_logout_redirect_uri="http://127.0.0.1:5001/")
    assert page.status_code == 200 and CONFIRM in _visible(page)
    assert 'method="post"' in page.text and 'name="csrf_token"' in page.text
    assert page.headers["Cache-Control"] == "no-store"
    assert not sends_to_login(rps.portal.start(browser)[1])        # still logged in
    assert rps.portal.userinfo(tokens["access_token"]).status_code == 200
    done = browser.logout(client_id="portal", state="s 1",
                          post_logout_redirect_uri="http://127.0.0.1:5001/")
    assert done.status_code == 303 and done.headers["Location"] == "http://127.0.0.1:5001/?state=s%201"
    assert sends_to_login(rps.portal.start(browser)[1])
    assert rps.portal.userinfo(tokens["access_token"]).status_code == 401


def test_a_cross_site_logout_post_without_the_csrf_token_logs_nobody_out(
        rps, browser, person, smtp):
    """issue 11.10: a page elsewhere posting the confirmation (no CSRF token, or a wrong one)
    is shown the question again; the session lives on."""
    logged_in(rps.portal, browser, person, smtp)
    for token in (None, "forged"):
        data = {"decision": "logout", **({"csrf_token": token} if token else {})}
        answer = browser.http.post(browser.base + "/end_session", data=data,
                                   allow_redirects=False)
        assert answer.status_code == 200 and CONFIRM in _visible(answer)
    assert not sends_to_login(rps.portal.start(browser)[1])


def test_staying_logged_in_keeps_the_session(rps, browser, person, smtp):
    """issue 11.10: "Rester connecté" ends nothing."""
    logged_in(rps.portal, browser, person, smtp)
    end_session(rps.portal, browser)
    stay = browser.post_form("/end_session", {"decision": "stay"}, allow_redirects=False)
    assert stay.status_code == 303
    assert not sends_to_login(rps.portal.start(browser)[1])


def test_a_logout_without_hint_and_without_a_session_needs_no_confirmation(rps, browser):
    """issue 11.10: nobody to log out: straight back to the client."""
    answer = end_session(rps.portal, browser, client_id="portal",
                         post_logout_redirect_uri="http://127.0.0.1:5001/")
    assert answer.status_code == 303 and answer.headers["Location"] == "http://127.0.0.1:5001/"


def test_the_account_page_logs_out_in_one_click_with_its_form(rps, browser, person, smtp):
    """issue 11.10: the account page's "Me déconnecter" is that confirmed POST already."""
    logged_in(rps.portal, browser, person, smtp)
    page = browser.get("/compte")
    assert page.status_code == 200 and 'value="logout"' in page.text
    done = browser.post_form("/end_session", {"decision": "logout"}, allow_redirects=False)
    assert done.status_code == 200 and "Vous êtes déconnecté" in done.text
    assert browser.get("/compte", allow_redirects=False).status_code == 303


@pytest.mark.parametrize("half", ["access_token", "refresh_token"])
def test_introspection_says_a_token_of_an_ended_session_is_not_active(
        half, rps, browser, person, smtp):
    """A resource server that introspects must see what userinfo and the refresh grant see:
    after the logout, neither half of the grant is active (RFC 7662 §2.2), so a token copied
    before the logout opens nothing anywhere."""
    portal = rps.portal
    tokens, _ = logged_in(portal, browser, person, smtp)
    assert portal.post("/introspect", {"token": tokens[half]}).json()["active"] is True
    assert end_session(portal, browser, id_token_hint=tokens["id_token"]).status_code == 200
    assert portal.userinfo(tokens["access_token"]).status_code == 401
    assert portal.post("/introspect", {"token": tokens[half]}).json() == {"active": False}
