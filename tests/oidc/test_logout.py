"""RP-Initiated Logout 1.0 and Back-Channel Logout 1.0: the session and its tokens end, the
browser goes back only to a registered URI with the ``state``, and every client of the session
with a back-channel URI receives a logout token naming the ``sid`` it knows."""

from __future__ import annotations

from datetime import timedelta

import pytest
from rp import logged_in, sends_to_login, url_with

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


def test_a_failed_back_channel_delivery_is_sent_again_after_its_delay(
        app, rps, browser, person, smtp, receiver, clock):
    from idp.oidc import logout
    receiver.fail_first = 1
    logged_in(rps.agency, browser, person, smtp)
    end_session(rps.agency, browser)
    assert receiver.attempts == 1 and receiver.tokens == []
    with app.app_context():
        assert logout.deliver_due() == 0                  # not before its delay
    clock.shift(timedelta(seconds=31))
    # The purge from cron retries what is due, even when no other logout comes.
    result = app.test_cli_runner().invoke(args=["idp", "purge"])
    assert result.exit_code == 0 and "backchannel logouts delivered: 1" in result.output
    assert receiver.attempts == 2 and len(receiver.tokens) == 1
