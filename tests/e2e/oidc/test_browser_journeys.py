"""A relying party's journeys in a real browser (Chromium), on plain HTTP and over TLS
(issue 10): the login with the e-mailed code and consent, the answer by redirect and by
form_post, then the relying party's logout. The relying party is Authlib's client
(tests/helpers/rp.py) with a site of its own on a loopback port, where the browser lands."""

from __future__ import annotations

from urllib.parse import urlencode

import pytest

from idp import messages
from tests.helpers.browser import (
    ClientSite,
    assert_cookies_fit_the_scheme,
    log_in,
    press,
    says,
    shown,
)
from tests.helpers.parties import SECRET, register
from tests.helpers.rp import Answer, RelyingParty

pytestmark = pytest.mark.browser


@pytest.fixture
def site():
    s = ClientSite()
    yield s
    s.stop()


@pytest.fixture
def app_config(app_config, site):
    """tests/oidc's clients, plus a confidential client asking consent, at the site's port."""
    return register(app_config, f"""
  - client_id: desktop
    client_name: Application de bureau
    client_secret: ${{IDP_TEST_RP_SECRET}}
    redirect_uris: [http://127.0.0.1/callback]
    post_logout_redirect_uris: [{site.base}/bye]
    scope: openid profile email
""")


@pytest.fixture
def desktop(server, site):
    return RelyingParty(server, "desktop", site.base + "/callback", secret=SECRET)


def _landed(site, path: str) -> dict:
    found = [params for _, p, params in site.arrivals if p == path]
    assert found, site.arrivals
    return found[-1]


def test_consent_then_a_valid_id_token_then_logout_in_a_browser(
        page, server, site, desktop, person, smtp):
    """issue 10: the login with the e-mailed code, consent, the RP's logout (http and https)."""
    pending = desktop.authorization()
    page.goto(pending.url)
    assert page.url == pending.url and page.locator("#nir").is_visible()    # issue 15: no hop
    log_in(page, server, person, smtp, start="")
    assert "Le service « Application de bureau » souhaite recevoir" in shown(page)   # 13.4
    press(page, "Accepter")
    assert page.url.startswith(site.base + "/callback")
    answer = Answer(_landed(site, "/callback"), "query", page.url)
    assert answer["state"] == pending.state and answer["iss"] == server.url
    tokens = desktop.exchange(answer, pending)
    assert desktop.validate_id_token(tokens, pending).claims["iss"] == server.url
    page.goto(server.url + "/compte")
    assert "Mes informations" in shown(page)
    assert_cookies_fit_the_scheme(page, server, "idp_session")

    page.goto(server.url + "/end_session?" + urlencode({
        "id_token_hint": tokens["id_token"], "state": "au-revoir",
        "post_logout_redirect_uri": site.base + "/bye"}))
    assert _landed(site, "/bye")["state"] == "au-revoir"
    page.goto(server.url + "/compte")
    assert page.url.startswith(server.url + "/login") and page.locator("#nir").is_visible()


def test_a_form_post_answer_and_the_logged_out_page_in_a_browser(
        page, server, site, desktop, person, smtp):
    """issue 10: response_mode=form_post (our page posts the answer to the client), and a
    logout with a hint but no redirect shows our "Déconnexion" page."""
    pending = desktop.authorization(response_mode="form_post")
    page.goto(pending.url)
    log_in(page, server, person, smtp, start="")
    press(page, "Accepter")
    page.wait_for_url(site.base + "/callback")
    method, _, form = [a for a in site.arrivals if a[1] == "/callback"][-1]
    assert method == "POST" and form["state"] == pending.state
    tokens = desktop.exchange(Answer(form, "form_post"), pending)

    page.goto(server.url + "/end_session?" + urlencode({"id_token_hint": tokens["id_token"]}))
    assert says(page, messages.text("logged_out"))
    page.goto(server.url + "/compte")
    assert page.url.startswith(server.url + "/login")


def test_the_back_button_from_the_code_step_shows_a_new_login_page_that_still_logs_in(
        page, server, site, desktop, person, smtp):
    """issue 15: the login page is the answer of GET /authorize, so the back button from the
    code step asks the authorization request again (no-store): a new pending request at
    the first step, whose login reaches the client."""
    pending = desktop.authorization()
    page.goto(pending.url)
    page.fill("#nir", person.nir)
    page.fill("#password", person.password)
    press(page, "Me connecter")
    assert page.url == server.url + "/login" and page.locator("#nir").get_attribute("readonly") is not None
    page.go_back()
    assert page.url == pending.url and page.locator("#password").is_visible()
    log_in(page, server, person, smtp, start="")
    press(page, "Accepter")
    assert page.url.startswith(site.base + "/callback")
    assert _landed(site, "/callback")["state"] == pending.state
