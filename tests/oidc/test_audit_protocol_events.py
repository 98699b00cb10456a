"""Issue 11.17: logouts and the revocations that a replayed code or a reused refresh token
cause are in the audit trail (``idp audit show NIR``)."""

from __future__ import annotations

import json

from tests.helpers.rp import logged_in


def trail(app, nir) -> list[dict]:
    result = app.test_cli_runner().invoke(args=["idp", "audit", "show", nir])
    assert result.exit_code == 0, result.output
    return [json.loads(line) for line in result.output.splitlines()]


def test_a_logout_is_in_the_trail(app, rps, browser, person, smtp):
    """issue 11.17"""
    tokens, _ = logged_in(rps.portal, browser, person, smtp)
    browser.get("/end_session", params={"id_token_hint": tokens["id_token"]})
    rows = trail(app, person.nir)
    assert rows[-1]["event"] == "logout" and rows[-1]["client_id"] == "portal"


def test_a_replayed_code_and_what_it_revoked_are_in_the_trail(app, rps, browser, person, smtp):
    """issue 11.17"""
    pending, answer = rps.portal.login(browser, person, smtp)
    assert rps.portal.redeem(answer, pending).status_code == 200
    assert rps.portal.redeem(answer, pending).status_code == 400
    last = trail(app, person.nir)[-1]
    assert last["event"] == "code_replay_revoked" and last["client_id"] == "portal"
    assert last["tokens"] == 1


def test_a_reused_refresh_token_and_the_family_it_revoked_are_in_the_trail(
        app, rps, browser, person, smtp):
    """issue 11.17"""
    tokens, _ = logged_in(rps.portal, browser, person, smtp)
    assert rps.portal.refresh(tokens["refresh_token"]).status_code == 200
    assert rps.portal.refresh(tokens["refresh_token"]).status_code == 400
    last = trail(app, person.nir)[-1]
    assert last["event"] == "refresh_reuse_revoked" and last["client_id"] == "portal"
    assert last["tokens"] == 2          # the reused token and the one it was exchanged for
