"""The login page FranceConnect's users see, in a real browser (Debian's chromium) on a 360 px
phone: the branding and links FranceConnect requires, no horizontal scroll, nothing loaded
from outside, and "Revenir sur FranceConnect" reachable with the keyboard."""

from __future__ import annotations

import os
import secrets
from urllib.parse import parse_qs, urlencode, urlparse

import pytest

pytestmark = pytest.mark.browser

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync"]


def test_the_franceconnect_login_page_works_on_a_phone(server, fc_callback_port):
    if not os.path.exists(CHROMIUM):
        pytest.skip(f"{CHROMIUM} is missing (Debian's chromium package drives the browser tests)")
    from playwright.sync_api import sync_playwright
    callback = f"http://127.0.0.1:{fc_callback_port}/api/v2/oidc-callback"
    state = secrets.token_hex(32)
    url = server.url + "/authorize?" + urlencode({
        "client_id": "franceconnect", "redirect_uri": callback, "response_type": "code",
        "scope": "openid profile email birth", "acr_values": "eidas1", "state": state,
        "nonce": secrets.token_hex(32), "prompt": "login"})
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = browser.new_context(viewport={"width": 360, "height": 740}).new_page()
        requested = []
        page.on("request", lambda request: requested.append(request.url))
        page.goto(url)
        text = page.inner_text("body")
        assert "S'identifier avec FranceConnect" not in text       # no loop through FC
        for link in ("Mot de passe oublié ?", "Créer un compte", "Revenir sur FranceConnect"):
            assert link in text
        assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
        # the grey background with the white Marianne that FranceConnect asks of its providers
        assert page.evaluate("getComputedStyle(document.body).backgroundColor") == "rgb(238, 238, 238)"
        assert "fc-marianne.svg" in page.evaluate("getComputedStyle(document.body).backgroundImage")
        assert all(u.startswith(server.url) or u.startswith("data:") for u in requested), requested

        with page.expect_request(lambda r: r.url.startswith(callback)) as leaving:
            page.focus("text=Revenir sur FranceConnect")
            page.keyboard.press("Enter")
        query = parse_qs(urlparse(leaving.value.url).query)
        assert query["error"] == ["access_denied"] and query["state"] == [state]
        browser.close()
