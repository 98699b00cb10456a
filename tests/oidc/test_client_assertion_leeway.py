"""A private_key_jwt assertion's times are checked with ``Policy.client_assertion_leeway``
(RFC 7523 §3: "a reasonably small leeway"), one decision of ours rather than a library's
default, and its jti is remembered for its whole accepted life, the leeway included."""

from __future__ import annotations

from datetime import timedelta

import pytest
import requests

from idp.policy import Policy
from tests.helpers.rp import logged_in
from tests.oidc.test_client_authentication import assertion, by_assertion

LEEWAY = int(Policy().client_assertion_leeway.total_seconds())     # the default, 60 s


def _introspected(agency, value: str, token: str) -> requests.Response:
    return requests.post(agency.issuer + "/introspect",
                         data=by_assertion(agency, value, token=token))


@pytest.mark.parametrize(("late", "accepted"), [(LEEWAY - 10, True), (LEEWAY + 10, False)])
def test_an_assertion_past_its_exp_is_accepted_only_within_the_default_leeway(
        late, accepted, app, rps, browser, person, smtp, clock):
    """Within the policy's leeway after its exp an assertion still authenticates, past it not."""
    agency = rps.agency
    tokens, _ = logged_in(agency, browser, person, smtp)
    value = assertion(agency, lifetime=30)
    clock.shift(timedelta(seconds=30 + late))
    answer = _introspected(agency, value, tokens["access_token"])
    if accepted:
        assert answer.status_code == 200 and "active" in answer.json()
    else:
        assert answer.status_code in (400, 401) and answer.json()["error"] == "invalid_client"


@pytest.mark.config(POLICY={"CLIENT_ASSERTION_LEEWAY": 5})
def test_the_leeway_is_the_policys(app, rps, browser, person, smtp, clock):
    """Set to 5 s, an assertion past its exp by less than the default leeway is refused:
    the leeway applied is the policy's, not Authlib's built-in 60 s."""
    agency = rps.agency
    tokens, _ = logged_in(agency, browser, person, smtp)
    value = assertion(agency, lifetime=30)
    clock.shift(timedelta(seconds=30 + LEEWAY - 10))
    answer = _introspected(agency, value, tokens["access_token"])
    assert answer.status_code in (400, 401) and answer.json()["error"] == "invalid_client"


def test_an_assertion_replayed_within_the_leeway_after_a_purge_is_refused(
        app, rps, browser, person, smtp, clock):
    """Its jti is forgotten only once the assertion can no longer be accepted (exp plus the
    leeway): replayed within the leeway after its exp, after the purge ran, it is still a replay."""
    agency = rps.agency
    tokens, _ = logged_in(agency, browser, person, smtp)
    value = assertion(agency, lifetime=30)
    assert _introspected(agency, value, tokens["access_token"]).json()["active"] is True
    clock.shift(timedelta(seconds=30 + LEEWAY - 10))
    assert app.test_cli_runner().invoke(args=["idp", "purge"]).exit_code == 0
    replay = _introspected(agency, value, tokens["access_token"])
    assert replay.status_code in (400, 401) and replay.json()["error"] == "invalid_client"
