"""``biometric_offer: false`` in the clients file (issue 14): FranceConnect's entry and shared
kiosks. No button, no conditional mediation, no options, no assertion accepted, no offer
after the login; and the shipped file says it for FranceConnect."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from tests.flows.login.test_login_passkey import (
    Script,
    device_for,
    on_localhost,
    register,
)
from tests.flows.login.test_login_tokens import REDIRECT_URI, Portal

SHIPPED = Path(__file__).resolve().parents[3] / "clients.yaml"


@pytest.fixture
def browser(server):
    """On ``localhost``, the passkeys' origin (test_login_passkey.on_localhost)."""
    return on_localhost(server)


@pytest.fixture
def app_config(app_config, tmp_path):
    data = yaml.safe_load(SHIPPED.read_text())
    for client in data["clients"]:
        if client["client_id"] == "portal":
            client["biometric_offer"] = False
    path = tmp_path / "clients.yaml"
    path.write_text(yaml.safe_dump(data))
    return {**app_config, "CLIENTS_FILE": str(path)}


def test_the_shipped_file_offers_no_biometrics_on_franceconnect_only():
    from idp.oidc.clients.file import read_clients
    clients = {c["client_id"]: c for c in read_clients(SHIPPED, {
        "IDP_PORTAL_SECRET": "p" * 40, "IDP_FRANCECONNECT_SECRET": "f" * 40})}
    assert clients["franceconnect"]["biometric_offer"] is False
    assert all(c.get("biometric_offer", True) for name, c in clients.items()
               if name != "franceconnect")


def test_a_client_that_says_no_gets_no_button_no_options_and_no_passkey_login(
        app, server, browser, person, smtp):
    phone = device_for(app)
    register(app, person.nir, phone)
    portal = Portal(server, browser)
    page = portal.authorize()
    assert 'id="passkey-login"' not in page.text and "webauthn" not in page.text
    assert "passkey.js" not in page.text
    script = Script(browser)
    browser.get("/login")
    assert script.options().status_code == 409
    answer = script.send(phone.assertion({"challenge": "AAAA"}), headers={
        "X-CSRFToken": __import__("re").search(r'name="csrf_token" value="([^"]+)"',
                                               browser.page.text).group(1),
        "Origin": browser.base, "Referer": browser.page.url})
    assert answer.status_code == 400 and "location" not in answer.json()
    # and the full login ends at the client, with no offer, whatever the device said
    browser.submit_credentials(person.nir, person.password)
    browser.ask_code()
    done = browser.post_form("/login/code", {"code": smtp.code_for(person.email),
                                             "biometrics": "platform"}, allow_redirects=False)
    assert done.headers["Location"].startswith(REDIRECT_URI + "?code=")
