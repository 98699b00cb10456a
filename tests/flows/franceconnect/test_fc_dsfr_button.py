"""Issue 10.6: the "S'identifier avec FranceConnect" button is FranceConnect's official markup
(the DSFR ``fr-connect`` component: a ``fr-connect-group`` holding the ``fr-connect`` button
with its ``fr-connect__login`` and ``fr-connect__brand`` spans, then the "Qu'est-ce que
FranceConnect ?" link in a ``<p>``, opening a new window), styled and drawn from our own
static files; the FranceConnect-branded login page shows FranceConnect's logo."""

from __future__ import annotations

import html
import re
import secrets
from urllib.parse import urlencode

import pytest
import requests

from tests.helpers.fc import open_portal_login

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync"]
LOGO = "/static/franceconnect-logo.svg"


def squeeze(page: str) -> str:
    """The markup with whitespace folded and character references decoded: the words come
    from idp.messages, printed escaped as any value ("S&#39;identifier")."""
    return html.unescape(re.sub(r">\s+<", "><", re.sub(r"\s+", " ", page)))


def test_the_button_is_the_dsfr_fr_connect_component(server, browser, upstream):
    """issue 10.6"""
    page = squeeze(open_portal_login(browser).text)
    group = re.search(r'<div class="fr-connect-group">(.*?)</div>', page)
    assert group, page[:2000]
    inside = group.group(1)
    assert re.search(
        r'<form method="post" action="/franceconnect/login">'
        r'<input type="hidden" name="csrf_token" value="[^"]+">'
        r'<button type="submit" class="fr-connect">'
        r'<span class="fr-connect__login">S\'identifier avec</span> ?'
        r'<span class="fr-connect__brand">FranceConnect</span></button></form>', inside), inside
    link = re.search(r'</form><p><a ([^>]+)>Qu\'est-ce que FranceConnect \?</a></p>$', inside)
    assert link, inside
    attributes = dict(re.findall(r'(\w+)="([^"]*)"', link.group(1)))
    assert attributes == {"href": "https://franceconnect.gouv.fr/", "target": "_blank",
                          "rel": "noopener",
                          "title": "Qu'est-ce que FranceConnect ? - nouvelle fenêtre"}


def test_the_button_s_style_and_logo_are_our_own_static_files(server, browser, upstream):
    """issue 10.6: the DSFR classes are styled by idp.css, the logo is an SVG of ours."""
    css = requests.get(server.url + "/static/idp.css").text
    for rule in (".fr-connect-group", ".fr-connect ", ".fr-connect::before", ".fr-connect__login",
                 ".fr-connect__brand"):
        assert rule in css, rule
    assert "franceconnect-logo.svg" in css.split(".fr-connect::before", 1)[1].split("}", 1)[0]
    assert "http" not in css
    logo = requests.get(server.url + LOGO)
    assert logo.status_code == 200 and logo.headers["Content-Type"].startswith("image/svg+xml")
    assert "<svg" in logo.text and "http://www.w3.org/2000/svg" in logo.text
    assert not re.search(r'(href|src)="https?:', logo.text)


@pytest.mark.fcconfig(FRANCECONNECT_DISCOVERY_URL="http://127.0.0.1:9/.well-known/x",
                      FRANCECONNECT_CLIENT_ID="ameli-fs", FRANCECONNECT_CLIENT_SECRET="x" * 40)
def test_the_franceconnect_branded_page_shows_franceconnect_s_logo(server, browser,
                                                                    fc_callback_port):
    """issue 10.6"""
    page = browser.get(_branded_url(server, fc_callback_port))
    assert 'class="fc-branding"' in page.text
    assert re.search(rf'<img[^>]+src="{LOGO}"[^>]+alt="FranceConnect"', page.text), page.text[:1500]


def _branded_url(server, fc_callback_port) -> str:
    return server.url + "/authorize?" + urlencode({
        "client_id": "franceconnect", "response_type": "code", "scope": "openid profile",
        "redirect_uri": f"http://127.0.0.1:{fc_callback_port}/api/v2/oidc-callback",
        "state": secrets.token_hex(32), "nonce": secrets.token_hex(32), "acr_values": "eidas1"})


@pytest.mark.browser
def test_in_chromium_the_button_and_the_logo_load_nothing_from_outside(
        server, upstream, fc_callback_port, page):
    """issue 10.6: the button is drawn (its logo painted) and the branded page's logo shown,
    every request going to our own origin."""
    portal = server.url + "/authorize?" + urlencode({
        "client_id": "portal", "response_type": "code", "scope": "openid profile email",
        "redirect_uri": "http://127.0.0.1:5001/callback", "state": "s", "nonce": "n",
        "prompt": "login"})
    requested = page.requested
    page.goto(portal)
    page.wait_for_load_state("networkidle")
    button = page.locator("button.fr-connect")
    assert button.inner_text().split() == ["S'identifier", "avec", "FranceConnect"]
    before = page.evaluate("getComputedStyle(document.querySelector('.fr-connect'),"
                           " '::before').backgroundImage")
    assert "franceconnect-logo.svg" in before
    assert any(u.endswith(LOGO) for u in requested), requested
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    page.goto(_branded_url(server, fc_callback_port))
    page.wait_for_load_state("networkidle")
    assert page.evaluate(f"document.querySelector('img[src=\"{LOGO}\"]').naturalWidth") > 0
    assert all(u.startswith(server.url) or u.startswith("data:") for u in requested), requested
