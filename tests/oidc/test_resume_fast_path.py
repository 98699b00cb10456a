"""The resume's plain success in one statement (``interaction.take_started_here``, issue 15):
it gives the answer the full path gives, and every other case (another browser, a request
spent, expired or unknown) gets the full path's answer, nothing written by the attempt. The
login's last step, which answers the plain case itself since (``test_resume_from_the_step.py``),
redirects to the resume URL here (``two_hops``)."""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest

from idp import interaction
from idp.extensions import db
from idp.models import Interaction

pytestmark = pytest.mark.usefixtures("two_hops")


@pytest.fixture
def full_path_only():
    """The resume as it was: the one-statement success never taken (a patch of its own, which
    switching off does not undo ``two_hops`` with)."""
    patch = pytest.MonkeyPatch()

    def switch(on: bool):
        if on:
            patch.setattr(interaction, "take_started_here", lambda *_a, **_k: None)
        else:
            patch.undo()
    yield switch
    patch.undo()


def _at_resume(rp, browser, person, smtp) -> str:
    """A login done, its last redirect not followed: the resume URL."""
    rp.start(browser)                   # its login page
    browser.submit_credentials(person.nir, person.password)
    browser.ask_code()
    resume = browser.submit_code(smtp.code_for(person.email)).headers["Location"]
    assert resume.startswith("/authorize/resume/")
    return resume


def _answer(page, resume: str) -> tuple:
    """What a resume answers, but for the code and the request's id (random)."""
    location = page.headers.get("Location")
    if location is None:
        text = " ".join(page.text.split()).replace(resume.rsplit("/", 1)[1], "IID")
        return page.status_code, text.replace(page.headers.get("X-Request-Id", "?"), "")
    parts = urlsplit(location)
    query = parse_qs(parts.query)
    return page.status_code, parts.scheme, parts.netloc, parts.path, sorted(query), query.get("iss")


def _consumed(app, resume: str):
    with app.app_context():
        return db.session.get(Interaction, resume.rsplit("/", 1)[1]).consumed_at


def _new_browser(browser, server):
    """A browser with no cookie yet (a login there finds no live session)."""
    return type(browser)(server.url)


def test_the_plain_success_is_the_full_paths(app, server, rps, browser, person, smtp,
                                            full_path_only):
    answers = []
    for full in (False, True):
        full_path_only(full)
        fresh = _new_browser(browser, server)
        resume = _at_resume(rps.portal, fresh, person, smtp)
        page = fresh.get(resume, allow_redirects=False)
        answers.append(_answer(page, resume))
        assert "code" in answers[-1][4] and _consumed(app, resume) is not None
    assert answers[0] == answers[1]


@pytest.mark.parametrize("case", ["another_browser", "spent", "unknown", "too_long"])
def test_every_other_case_gets_the_full_paths_answer(app, server, rps, browser, other_browser,
                                                     person, smtp, full_path_only, case):
    answers = []
    for full in (True, False):
        full_path_only(full)
        fresh = _new_browser(browser, server)
        resume = _at_resume(rps.portal, fresh, person, smtp)
        asking = fresh
        if case == "another_browser":
            asking = other_browser
        elif case == "spent":
            assert fresh.get(resume, allow_redirects=False).status_code == 303
        elif case == "unknown":
            resume = "/authorize/resume/" + "x" * 32
        else:
            resume = "/authorize/resume/" + "x" * 65
        before = _consumed(app, resume) if case in ("another_browser", "spent") else None
        answers.append(_answer(asking.get(resume, allow_redirects=False), resume))
        if case in ("another_browser", "spent"):
            assert _consumed(app, resume) == before          # nothing written by the attempt
    assert answers[0] == answers[1]
    assert answers[0][0] == (403 if case == "another_browser" else 400)


def test_an_expired_request_is_not_taken_and_stays_as_it_was(app, clock):
    request = interaction.PendingRequest(
        client_id="portal", client_name="Mon compte ameli", login_hint=None,
        require_security_code=True, franceconnect_branding=False, scope="openid",
        consent_claims=[], consent=False, prompt_consent=False, reuse_session=False,
        session_account_id=None)
    nonce = "n" * 32
    with app.test_request_context("/authorize/resume/x"):
        iid = interaction.start(request, {"client_id": "portal"}, nonce)
        other = interaction.start(request, {"client_id": "portal"}, nonce)
        clock.shift(timedelta(hours=3))
        assert interaction.take_started_here(iid, {"browser": nonce}) is None
        assert interaction.take(iid) is None                  # the full path: expired too
        clock.shift(timedelta(hours=-3))
        assert interaction.take_started_here(iid, {}) is None           # no nonce
        assert interaction.take_started_here(iid, {"browser": "m" * 32}) is None
        db.session.rollback()
        assert db.session.get(Interaction, iid).consumed_at is None
        assert interaction.take_started_here(other, {"browser": nonce}) == interaction.take(iid)
