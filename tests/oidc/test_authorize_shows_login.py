"""Issue 15: GET /authorize answers a request that needs a login with the login page itself,
not a redirect to /login?interaction=<id> (one request fewer per login). What it must keep:
the request bound to the browser that sent it (issue 11.3), ``prompt=none`` never shown a
page, an invalid request its error, the request and its flow stored together, the login
page's headers, and a language switch that does not start a new request. A request sent by
POST is still redirected (its page would be posted again by a reload)."""

from __future__ import annotations

import html
import re

from tests.helpers.rp import interaction_of, logged_in, query_of

HTML_LANG = re.compile(r'<html lang="([a-z]+)"')
OTHER_BROWSER = "commencée dans un autre navigateur"


def _stored(app) -> tuple[int, int]:
    """How many pending requests and login flows the database holds."""
    from idp.extensions import db
    from idp.models import Interaction, LoginFlow
    with app.app_context():
        return db.session.query(Interaction).count(), db.session.query(LoginFlow).count()


def test_the_authorization_request_answers_with_its_login_page(app, rps, browser, person, smtp):
    pending, page = rps.portal.start(browser)
    assert page.status_code == 200 and "Location" not in page.headers
    assert 'action="/login"' in page.text and 'name="password"' in page.text
    iid = interaction_of(page)
    from idp.extensions import db
    from idp.models import LoginFlow
    with app.app_context():
        flow = db.session.query(LoginFlow).one()
        assert (flow.interaction_id, flow.step) == (iid, "credentials")
    assert _stored(app) == (1, 1)
    # The login goes on from it, and its last step answers the client.
    answer = rps.portal.walk(browser, page, person, smtp)
    assert answer.url.startswith(rps.portal.redirect_uri) and answer["state"] == pending.state
    rps.portal.validate_id_token(rps.portal.exchange(answer, pending), pending)


def test_the_page_binds_the_request_to_this_browser(rps, browser, other_browser):
    """issue 11.3: the id of a request shown at /authorize in one browser opens nothing in
    another: not its login page (so no flow there to finish a login with), not its resume,
    not its cancel; the browser that sent it goes on, and cancels it."""
    _, page = rps.portal.start(browser)
    iid = interaction_of(page)
    rps.portal.start(other_browser)                 # a browser with a nonce of its own
    for url in (f"/login?interaction={iid}", f"/authorize/resume/{iid}", f"/authorize/cancel/{iid}"):
        refused = other_browser.get(url, allow_redirects=False)
        assert refused.status_code == 403 and "Location" not in refused.headers, url
        assert OTHER_BROWSER in html.unescape(refused.text) and 'name="password"' not in refused.text
    assert interaction_of(browser.get(f"/login?interaction={iid}")) == iid
    cancelled = browser.get(f"/authorize/cancel/{iid}", allow_redirects=False)
    assert query_of(cancelled)["error"] == "access_denied"


def test_a_login_finished_in_another_browser_does_not_resume_there(
        rps, browser, other_browser, person, other_person, smtp, two_hops):
    """issue 11.3: the attacker logs in on the page their own /authorize showed, stops before
    the resume and sends its URL to the victim, whose browser gets no code."""
    _, page = rps.portal.start(other_browser)
    other_browser.submit_credentials(other_person.nir, other_person.password)
    other_browser.ask_code()
    resume = other_browser.submit_code(smtp.code_for(other_person.email)).headers["Location"]
    assert resume == f"/authorize/resume/{interaction_of(page)}"
    rps.portal.start(browser)
    refused = browser.get(resume, allow_redirects=False)
    assert refused.status_code == 403 and "code=" not in refused.text
    assert "code=" in other_browser.get(resume, allow_redirects=False).headers["Location"]


def test_prompt_none_never_shows_a_page(app, rps, browser, person, smtp):
    _, answer = rps.portal.start(browser, prompt="none")
    assert query_of(answer)["error"] == "login_required"
    logged_in(rps.portal, browser, person, smtp)
    before = _stored(app)
    _, answer = rps.thirdparty.start(browser, prompt="none")        # consent needed
    assert query_of(answer)["error"] == "consent_required"
    assert _stored(app) == before and before[0] == 1                # the login's only


def test_an_invalid_request_gets_its_error_not_a_login_page(app, rps, browser):
    unknown_uri = rps.portal.authorization(redirect_uri="https://evil.example/cb")
    page = browser.get(unknown_uri.url, allow_redirects=False)
    assert page.status_code == 400 and "Location" not in page.headers
    _, answer = rps.portal.start(browser, prompt="none login")     # OIDC Core 3.1.2.1
    assert query_of(answer)["error"] == "invalid_request"
    for shown in (page, answer):
        assert 'name="password"' not in shown.text
    assert _stored(app) == (0, 0)


def test_a_request_sent_by_post_is_still_redirected_to_its_login_page(rps, browser, person, smtp):
    pending, answer = rps.portal.start(browser, method="POST")
    assert answer.status_code == 303 and answer.headers["Location"].startswith("/login?interaction=")
    page = browser.get(answer.headers["Location"])
    assert 'name="password"' in page.text
    result = rps.portal.walk(browser, page, person, smtp)
    rps.portal.validate_id_token(rps.portal.exchange(result, pending), pending)


def test_the_page_has_the_login_pages_headers(rps, browser):
    _, page = rps.portal.start(browser)
    _, hop = rps.portal.start(browser, method="POST")
    by_its_url = browser.get(hop.headers["Location"])
    for name in ("Content-Type", "Content-Security-Policy", "X-Frame-Options", "Cache-Control",
                 "Referrer-Policy", "X-Content-Type-Options", "Strict-Transport-Security"):
        assert page.headers.get(name) == by_its_url.headers.get(name), name
    assert page.headers["Cache-Control"] == "no-store" and page.headers["X-Frame-Options"] == "DENY"
    assert "frame-ancestors 'none'" in page.headers["Content-Security-Policy"]


def test_the_request_and_its_flow_are_stored_together(app, rps, browser, monkeypatch):
    """A fault storing the flow leaves no pending request without it (nor the reverse)."""
    from idp.flows.login import machine

    def refused(*_args, **_kwargs):
        raise RuntimeError("the flow could not be stored")

    monkeypatch.setattr(machine, "commit_one", refused)
    _, answer = rps.portal.start(browser)
    assert answer.status_code == 500 and 'name="password"' not in answer.text
    assert _stored(app) == (0, 0)


def test_the_request_just_stored_is_not_read_back(rps, browser, statements):
    _, page = rps.portal.start(browser)
    assert page.status_code == 200
    assert [s for s in statements if s.startswith("SELECT") and "interaction" in s] == []
    assert len([s for s in statements if s.startswith("INSERT")]) == 2     # request, flow


def test_the_language_switch_comes_back_to_the_same_request(app, rps, browser):
    """The switch of the page at /authorize goes to /login?interaction=<id>, not to the
    authorization request again (a new request, whose ``ui_locales`` would choose again)."""
    _, page = rps.portal.start(browser, ui_locales="fr")
    assert HTML_LANG.search(page.text).group(1) == "fr"
    iid = interaction_of(page)
    link = re.search(r'<a href="(/langue/en[^"]+)"', page.text).group(1)
    answer = browser.get(html.unescape(link), allow_redirects=False)
    assert answer.headers["Location"] == f"/login?interaction={iid}"
    page = browser.get(answer.headers["Location"])
    assert HTML_LANG.search(page.text).group(1) == "en" and 'name="password"' in page.text
    assert _stored(app) == (1, 1)


def test_the_login_hint_fills_the_nir_field(rps, browser):
    _, page = rps.portal.start(browser, login_hint="2690299341732")
    assert re.search(r'name="nir"[^>]*value="2690299341732"', page.text, re.S)


def test_without_the_login_pages_the_request_is_redirected_as_before(app, rps, browser, login_hop):
    _, answer = rps.portal.start(browser)
    assert answer.status_code == 303 and answer.headers["Location"].startswith("/login?interaction=")
    assert interaction_of(browser.get(answer.headers["Location"])) == \
        answer.headers["Location"].split("interaction=")[1]
