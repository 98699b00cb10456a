"""Issue 11.3: an authorization request's login belongs to the browser that started it. The
resume, cancel and login URLs of an interaction replayed into another browser (login CSRF:
the attacker logs in, stops before the last redirect and sends the victim there) show a
French error page and issue nothing; the victim's own session stays theirs."""

from __future__ import annotations

from tests.helpers.rp import interaction_of, logged_in

OTHER_BROWSER = ("Cette demande de connexion a été commencée dans un autre navigateur. Pour"
                 " votre sécurité, elle ne peut pas continuer ici : merci de revenir sur le site"
                 " du service et de recommencer.")


def _stopped_before_resume(rp, browser, person, smtp) -> str:
    """The attacker's login, complete, but the last redirect not followed: the resume URL."""
    rp.start(browser)                               # its login page
    browser.submit_credentials(person.nir, person.password)
    browser.ask_code()
    done = browser.submit_code(smtp.code_for(person.email))
    resume = done.headers["Location"]
    assert resume.startswith("/authorize/resume/")
    return resume


def _says(page, sentence):
    from html import unescape
    return sentence in " ".join(unescape(page.text).split())


def test_a_resume_url_replayed_into_another_browser_issues_nothing_there(
        rps, browser, person, smtp, other_browser, other_person, two_hops):
    """issue 11.3: the victim (logged in as themselves) opens the attacker's resume URL (still
    the answer of a login's last step for ``form_post`` and the other cases the step does not
    answer itself: ``tests/oidc/test_resume_from_the_step.py``)."""
    _, victim_claims = logged_in(rps.portal, browser, person, smtp)
    resume = _stopped_before_resume(rps.portal, other_browser, other_person, smtp)

    page = browser.get(resume, allow_redirects=False)
    assert page.status_code == 403 and "Location" not in page.headers
    assert _says(page, OTHER_BROWSER)
    assert "code=" not in page.text

    # The victim's session is still theirs: a new request answers at once, for them.
    pending, answer = rps.portal.start(browser, prompt="none")
    result = rps.portal.walk(browser, answer)
    claims = rps.portal.validate_id_token(rps.portal.exchange(result, pending), pending).claims
    assert claims["sub"] == victim_claims["sub"] and claims["sid"] == victim_claims["sid"]

    # The browser that started it still finishes its own login.
    finished = other_browser.get(resume, allow_redirects=False)
    assert finished.headers["Location"].startswith(rps.portal.redirect_uri)
    assert "code=" in finished.headers["Location"]


def test_a_login_url_opened_in_another_browser_is_refused(rps, browser, other_browser, login_hop):
    """issue 11.3: the interaction's login page, sent to another browser (its URL as GET
    /authorize redirected to it before issue 15, and still does for a POST)."""
    _, answer = rps.portal.start(other_browser)
    login_url = answer.headers["Location"]
    assert login_url.startswith("/login?interaction=")
    page = browser.get(login_url)
    assert page.status_code == 403 and _says(page, OTHER_BROWSER)
    assert 'name="password"' not in page.text
    assert other_browser.get(login_url).status_code == 200       # its own browser goes on


def test_a_cancel_url_opened_in_another_browser_sends_nothing_to_the_client(
        rps, browser, other_browser):
    """issue 11.3: "Revenir sur …" of someone else's request does not answer the client."""
    _, page = rps.portal.start(other_browser)
    iid = interaction_of(page)
    page = browser.get(f"/authorize/cancel/{iid}", allow_redirects=False)
    assert page.status_code == 403 and "Location" not in page.headers
    assert _says(page, OTHER_BROWSER)
    cancelled = other_browser.get(f"/authorize/cancel/{iid}", allow_redirects=False)
    assert "error=access_denied" in cancelled.headers["Location"]
