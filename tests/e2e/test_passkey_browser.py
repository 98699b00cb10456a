"""Biometrics in Chromium (issue 14): a virtual platform authenticator through the DevTools
protocol (``WebAuthn.addVirtualAuthenticator``: CTAP2, internal transport, resident keys,
user verification), on ``localhost`` (a WebAuthn RP ID is never an IP address), over http
and https, on a 360 px phone screen and a 1280 px desktop one: the offer after a full login,
"Activer", then a login with no password and no code, then a failed fingerprint
(``WebAuthn.setUserVerified`` false) that says why in French and leaves the password form.
axe-core finds no WCAG 2.1 AA violation on the new pages."""

from __future__ import annotations

import pytest

from idp import messages
from tests.helpers.browser import AXE, axe_violations, log_in, press, shown

pytestmark = pytest.mark.browser


@pytest.fixture
def app_config(app_config):
    """The provider on ``localhost``: its issuer, so the passkey's RP ID and origin."""
    scheme = app_config["ISSUER"].split("://")[0]
    issuer = f"{scheme}://localhost:{app_config['_PORT']}"
    return {**app_config, "ISSUER": issuer, "TRUSTED_HOSTS": ["localhost", "127.0.0.1"]}


@pytest.fixture
def authenticator(page):
    """A platform authenticator with a fingerprint enrolled, in this tab."""
    cdp = page.context.new_cdp_session(page)
    cdp.send("WebAuthn.enable")
    found = cdp.send("WebAuthn.addVirtualAuthenticator", {"options": {
        "protocol": "ctap2", "transport": "internal", "hasResidentKey": True,
        "hasUserVerification": True, "isUserVerified": True,
        "automaticPresenceSimulation": True}})
    cdp.authenticator_id = found["authenticatorId"]
    return cdp


def full_login(page, base, person, smtp):
    # passkey.js tells the server what the device can do before the code is sent
    log_in(page, None, person, smtp, start=base + "/login",
           ready="document.getElementById('biometrics').value !== ''")


@pytest.mark.parametrize("width", [360, 1280])
def test_activation_then_biometric_login_then_a_failed_fingerprint(
        app, page, server, person, smtp, authenticator, width):
    base = app.config["ISSUER"]
    page.set_viewport_size({"width": width, "height": 800})
    violations = {}

    # 1. A full login: password and code; then the offer, "Activer".
    full_login(page, base, person, smtp)
    assert messages.text("passkey_offer_title") in shown(page), shown(page)[:400]
    page.locator("#passkey-activate").wait_for(state="visible")
    assert page.locator("#passkey-unavailable").is_hidden()
    if AXE.exists():
        violations["offer"] = axe_violations(page)
        page.set_viewport_size({"width": width, "height": 800})
    with page.expect_navigation(url="**/compte"):
        page.click("#passkey-activate")
    assert "Mes informations" in shown(page)
    assert messages.text("passkeys_title") in shown(page)
    assert "Chrome sur Linux" in shown(page) or "Chrome" in shown(page)
    assert messages.text("passkey_never_used") in shown(page)
    if AXE.exists():
        violations["account"] = axe_violations(page)
        page.set_viewport_size({"width": width, "height": 800})
    credentials = authenticator.send("WebAuthn.getCredentials",
                                     {"authenticatorId": authenticator.authenticator_id})
    assert len(credentials["credentials"]) == 1
    assert credentials["credentials"][0]["isResidentCredential"]

    # 2. Another day: biometrics only, no password, no code. First as the NIR field's
    # suggestion (conditional mediation: the virtual authenticator picks it at once) ...
    page.context.clear_cookies()
    smtp.messages.clear()
    with page.expect_navigation(url="**/compte"):
        page.goto(base + "/login")
    assert "Mes informations" in shown(page)
    # ... then with the button, on a browser without conditional mediation.
    page.add_init_script("PublicKeyCredential.isConditionalMediationAvailable ="
                         " () => Promise.resolve(false);")
    page.context.clear_cookies()
    page.goto(base + "/login")
    button = page.get_by_role("button", name=messages.text("passkey_button"))
    button.wait_for(state="visible")
    assert page.get_attribute("#nir", "autocomplete") == "username webauthn"
    if AXE.exists():
        violations["login with biometrics"] = axe_violations(page)
        page.set_viewport_size({"width": width, "height": 800})
    with page.expect_navigation(url="**/compte"):
        button.click()
    assert "Mes informations" in shown(page)
    assert smtp.messages == []
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")

    # 3. A failed fingerprint: the French sentence, and the password form is there.
    page.context.clear_cookies()
    authenticator.send("WebAuthn.setUserVerified", {
        "authenticatorId": authenticator.authenticator_id, "isUserVerified": False})
    page.goto(base + "/login")
    button = page.get_by_role("button", name=messages.text("passkey_button"))
    button.wait_for(state="visible")
    button.click()
    alert = page.locator("#passkey-error")
    alert.wait_for(state="visible")
    assert alert.inner_text().strip() in (messages.text("passkey_failed"),
                                          messages.text("passkey_refused"))
    assert page.locator("#password").is_visible() and page.url.endswith("/login")
    if AXE.exists():
        violations["failed fingerprint"] = axe_violations(page)
    assert {name: v for name, v in violations.items() if v} == {}


def test_a_browser_without_a_platform_authenticator_gets_no_button_and_no_offer(
        app, page, server, person, smtp):
    base = app.config["ISSUER"]
    page.goto(base + "/login")
    page.wait_for_load_state("networkidle")
    assert page.locator("#passkey-login").is_hidden()
    log_in(page, server, person, smtp, start=None)
    assert "Mes informations" in shown(page)          # a computer without: nothing at all


def test_a_phone_without_an_enrolled_fingerprint_gets_the_seeds_alert_and_no_offer(
        app, page, server, person, smtp):
    """Seed 004: "Si ce n'est pas le cas, le téléservice l'alerte, et le renvoie vers les
    paramètres du téléphone": a phone (userAgentData.mobile) whose platform authenticator is
    not available gets the alert and "Continuer", never "Activer"."""
    page.add_init_script(
        "PublicKeyCredential.isUserVerifyingPlatformAuthenticatorAvailable ="
        " () => Promise.resolve(false);"
        "Object.defineProperty(navigator, 'userAgentData', {value: {mobile: true}});")
    full_login(page, app.config["ISSUER"], person, smtp)
    page.locator("#passkey-unavailable").wait_for(state="visible")
    assert messages.text("passkey_no_biometrics") in shown(page)
    assert page.locator("#passkey-activate").is_hidden()
    assert page.locator("#passkey-offer-choices").is_hidden()
    if AXE.exists():
        assert axe_violations(page) == []
    press(page, messages.text("passkey_offer_continue"))
    assert "Mes informations" in shown(page)
