"""The login page FranceConnect's users see, in a real browser (Debian's chromium) on a 360 px
phone: the branding and links FranceConnect requires, no horizontal scroll, nothing loaded
from outside, and "Revenir sur FranceConnect" reachable with the keyboard."""

from __future__ import annotations

import secrets
from urllib.parse import parse_qs, urlencode, urlparse

import pytest
from browser_support import assert_cookies_fit_the_scheme

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
