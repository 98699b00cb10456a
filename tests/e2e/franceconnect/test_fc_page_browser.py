"""The login page FranceConnect's users see, in a real browser (Debian's chromium) on a 360 px
phone: the branding and links FranceConnect requires, no horizontal scroll, nothing loaded
from outside, and "Revenir sur FranceConnect" reachable with the keyboard."""

from __future__ import annotations

import secrets
from urllib.parse import parse_qs, urlencode, urlparse

import pytest

from tests.helpers.browser import ClientSite, assert_cookies_fit_the_scheme, log_in, shown

pytestmark = pytest.mark.browser

def test_the_franceconnect_login_page_works_on_a_phone(page, server, fc_callback_port):
    callback = f"http://127.0.0.1:{fc_callback_port}/api/v2/oidc-callback"
    state = secrets.token_hex(32)
    url = server.url + "/authorize?" + urlencode({
        "client_id": "franceconnect", "redirect_uri": callback, "response_type": "code",
        "scope": "openid profile email birth", "acr_values": "eidas1", "state": state,
        "nonce": secrets.token_hex(32), "prompt": "login"})
    page.goto(url)
    text = page.inner_text("body")
    assert "S'identifier avec FranceConnect" not in text       # no loop through FC
    for link in ("Mot de passe oublié ?", "Créer un compte", "Revenir sur FranceConnect"):
        assert link in text
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    # the grey background with the white Marianne that FranceConnect asks of its providers
    assert page.evaluate("getComputedStyle(document.body).backgroundColor") == "rgb(238, 238, 238)"
    assert "fc-marianne.svg" in page.evaluate("getComputedStyle(document.body).backgroundImage")
    assert all(u.startswith(server.url) or u.startswith("data:") for u in page.requested), page.requested

    assert_cookies_fit_the_scheme(page, server, "idp_session")

    with page.expect_request(lambda r: r.url.startswith(callback)) as leaving:
        page.focus("text=Revenir sur FranceConnect")
        page.keyboard.press("Enter")
    query = parse_qs(urlparse(leaving.value.url).query)
    assert query["error"] == ["access_denied"] and query["state"] == [state]


def test_a_person_logs_in_on_the_franceconnect_page_and_franceconnect_gets_a_code(
        page, server, person, smtp, fc_callback_port):
    """issue 10: the branded page's login (password and e-mailed code) over http and https,
    and FranceConnect's callback receives the code and its state."""
    franceconnect = ClientSite(fc_callback_port)
    try:
        state = secrets.token_hex(32)
        page.goto(server.url + "/authorize?" + urlencode({
            "client_id": "franceconnect", "response_type": "code", "state": state,
            "redirect_uri": franceconnect.base + "/api/v2/oidc-callback", "acr_values": "eidas1",
            "scope": "openid profile email birth", "nonce": secrets.token_hex(32)}))
        assert "Revenir sur FranceConnect" in shown(page)
        log_in(page, server, person, smtp, start="")
        method, _, params = [a for a in franceconnect.arrivals
                             if a[1] == "/api/v2/oidc-callback"][-1]
        assert method == "GET"
        assert params["state"] == state and params["code"] and params["iss"] == server.url
        assert_cookies_fit_the_scheme(page, server, "idp_session")
    finally:
        franceconnect.stop()
