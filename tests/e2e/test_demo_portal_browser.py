"""The demo account portal (issue 13.8) in Chromium: a real relying party of the provider that
greets the person by name, shows what /userinfo gave it, offers the portal's tabs and the
account page, logs out through the provider, and passes axe at 360 and 1280 px. The tabs of
the provider's "Mes informations" lead to its tab pages, each a small page (issue 13.3)."""

from __future__ import annotations

from pathlib import Path

import pytest

from idp import messages
from tests.helpers.browser import AXE, WIDTHS, axe_violations, log_in, press
from tests.helpers.live import LiveServer, reserve_port

pytestmark = pytest.mark.browser

SHIPPED = Path(__file__).resolve().parents[2] / "clients.yaml"


@pytest.fixture
def portal_port():
    return reserve_port()


@pytest.fixture
def app_config(app_config, tmp_path, portal_port):
    """The shipped clients file, with the portal at this test's port, which the account
    page's tabs lead to (PORTAL_URL)."""
    clients = tmp_path / "clients.yaml"
    clients.write_text(SHIPPED.read_text().replace("http://127.0.0.1:5001",
                                                   f"http://127.0.0.1:{portal_port}"))
    return {**app_config, "CLIENTS_FILE": str(clients),
            "PORTAL_URL": f"http://127.0.0.1:{portal_port}"}


@pytest.fixture
def portal(server, portal_port, monkeypatch):
    from idp.demo.portal import create_portal
    tls = getattr(server, "tls", None)
    if tls is not None:              # the portal's back channel trusts the tests' authority
        monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(tls.ca))
    live = LiveServer(create_portal(issuer=server.url,
                                    base_url=f"http://127.0.0.1:{portal_port}"), portal_port)
    yield live
    live.stop()


def _log_in_through_the_portal(page, portal, person, smtp):
    page.goto(portal.url + "/")
    page.get_by_role("link", name=messages.text("portal_login")).click()
    page.fill("#nir", person.nir)
    page.fill("#password", person.password)
    press(page, "Me connecter")
    press(page, "Cliquez pour recevoir un code de sécurité")
    page.fill("#code", smtp.code_for(person.email))
    press(page, "Me connecter")
    page.wait_for_url(portal.url + "/")


def test_the_portal_greets_the_person_and_shows_what_userinfo_gave_it(page, server, portal,
                                                                        person, smtp):
    _log_in_through_the_portal(page, portal, person, smtp)
    heading = page.get_by_role("heading", level=1).inner_text()
    assert heading == messages.text("portal_hello", name="Valérie MARTIN")
    rows = dict(zip(page.locator("dt").all_inner_texts(), page.locator("dd").all_inner_texts()))
    assert rows[messages.text("portal_family_name")] == "MARTIN"
    assert rows[messages.text("portal_email")] == person.email
    assert rows[messages.text("portal_birthdate")].count("/") == 2      # dd/mm/yyyy, not ISO
    assert "sub" not in page.inner_text("main")                        # no raw claims
    nav = page.get_by_role("navigation")
    account = nav.get_by_role("link", name=messages.text("portal_tab_information"))
    assert account.get_attribute("href") == server.url + "/compte"
    assert nav.get_by_role("link", name=messages.text("portal_tab_home")).get_attribute(
        "aria-current") == "page"
    nav.get_by_role("link", name=messages.text("portal_tab_payments")).click()
    assert page.get_by_role("heading", level=1).inner_text() == messages.text(
        "portal_tab_payments")
    # at 360 px nothing is wider than the screen
    assert page.evaluate("document.documentElement.scrollWidth") <= 360


def test_the_portal_logs_out_through_the_provider(page, server, portal, person, smtp):
    _log_in_through_the_portal(page, portal, person, smtp)
    page.get_by_role("link", name=messages.text("portal_logout")).click()
    page.wait_for_url(portal.url + "/")           # a valid id_token_hint: no confirmation asked
    assert page.get_by_role("link", name=messages.text("portal_login")).count() == 1
    page.goto(server.url + "/compte")
    assert "/login" in page.url                   # the provider's session ended too


def test_the_account_pages_tabs_lead_to_the_portals_tab_pages(page, server, portal, person,
                                                              smtp):
    """issue 13.3: logged in on the provider only, "Mes paiements" of "Mes informations"
    opens the portal's page (the portal logs in through the provider's open session, then
    shows the tab); each tab page is a small page of its own, and "Mes informations" leads
    back to the provider's page, the current tab there."""
    log_in(page, server, person, smtp)
    nav = page.get_by_role("navigation", name=messages.text("portal_nav"))
    current = nav.locator("[aria-current=page]")
    assert current.inner_text() == messages.text("portal_tab_information")
    with page.expect_navigation():
        nav.get_by_role("link", name=messages.text("portal_tab_payments")).click()
    page.wait_for_url(portal.url + "/paiements")
    assert page.get_by_role("heading", level=1).inner_text() == messages.text(
        "portal_tab_payments")
    table = page.get_by_role("table", name=messages.text("portal_payments_title"))
    assert table.locator("tbody tr").count() == 4
    assert messages.text("portal_payment_care") in table.inner_text()
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    tabs = page.get_by_role("navigation")
    assert tabs.locator("[aria-current=page]").inner_text() == messages.text(
        "portal_tab_payments")
    for name, says_it in (("portal_tab_procedures", "portal_procedure_daily"),
                          ("portal_tab_prevention", "portal_prevention_text")):
        with page.expect_navigation():
            tabs.get_by_role("link", name=messages.text(name)).click()
        assert page.get_by_role("heading", level=1).inner_text() == messages.text(name)
        assert messages.text(says_it) in page.inner_text("main")
        assert page.evaluate("document.documentElement.scrollWidth") <= 360
    with page.expect_navigation():
        tabs.get_by_role("link", name=messages.text("portal_tab_information")).click()
    assert page.url == server.url + "/compte"
    assert page.get_by_role("heading", level=1).inner_text() == "Mes informations"


def test_axe_finds_no_violation_on_the_portal(page, server, portal, person, smtp):
    if not AXE.exists():
        pytest.skip("axe-core is not installed (make test runs `npm install axe-core`; npm missing?)")
    page.goto(portal.url + "/")
    found = {"home, logged out": axe_violations(page)}
    _log_in_through_the_portal(page, portal, person, smtp)
    found["home"] = axe_violations(page)
    for tab in ("paiements", "demarches", "prevention"):
        page.goto(portal.url + "/" + tab)
        found[tab] = axe_violations(page)
    assert {name: v for name, v in found.items() if v} == {}


def test_the_portals_biometrics_page_explains_passkeys_and_how_to_try_them(page, server, portal):
    """Issue 14: linked from the portal's home; says where passkeys work with make run (the
    provider on localhost, never 127.0.0.1) and how (Chromium's platform or virtual
    authenticator), and leads to the provider's login and account page on localhost."""
    page.goto(portal.url + "/")
    page.get_by_role("link", name=messages.text("portal_biometrics_link")).click()
    page.wait_for_url(portal.url + "/connexion-biometrique")
    assert page.get_by_role("heading", level=1).inner_text() == messages.text(
        "portal_biometrics_title")
    assert page.locator("html").get_attribute("lang") == "fr"
    assert "width=device-width" in page.locator("meta[name=viewport]").get_attribute("content")
    on_localhost = server.url.replace("127.0.0.1", "localhost")
    main = page.inner_text("main")
    assert messages.text("portal_biometrics_where", url=on_localhost, ip_url=server.url) in main
    assert "DevTools" not in main and "WebAuthn" in main and "Chromium" in main
    assert "6 mois" in main
    steps = page.get_by_role("list", name=messages.text("portal_biometrics_steps_title"))
    assert steps.get_by_role("link", name="Mes informations").get_attribute("href") == \
        on_localhost + "/compte"
    assert steps.get_by_role("link", name="Connectez-vous au compte ameli").get_attribute(
        "href") == on_localhost + "/login"
    assert page.evaluate("document.documentElement.scrollWidth") <= 360


@pytest.mark.parametrize("width", WIDTHS)
def test_axe_finds_no_violation_on_the_portals_biometrics_page(page, portal, width):
    if not AXE.exists():
        pytest.skip("axe-core is not installed (make test runs `npm install axe-core`; npm missing?)")
    page.set_viewport_size({"width": width, "height": 800})
    page.goto(portal.url + "/connexion-biometrique")
    assert axe_violations(page) == []
