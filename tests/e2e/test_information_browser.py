"""issue 13.3 in Chromium, on http and https: "Mes informations" with every row the registry
can hold and the portal's tabs fits a 360 px screen, keeps its headings in order (H1 above
H2 in size too, issue 13.6), marks the current tab, and axe finds no WCAG 2.1 AA violation
at 360 and 1280 px."""

from __future__ import annotations

import pytest

from idp import messages
from tests.helpers.accounts import add_person
from tests.helpers.browser import AXE, axe_violations, log_in

pytestmark = pytest.mark.browser


@pytest.fixture
def app_config(app_config):
    return {**app_config, "PORTAL_URL": "https://portail.example"}


@pytest.fixture
def registered(app, person):
    """The demo person's file with everything "Mes informations" shows, long values too."""
    from idp.domain import registry
    from idp.extensions import db
    add_person(app, nir=person.nir, family_name="MARTIN", given_name="Valérie",
               birthdate="1969-02-15", gender="female", birthplace="99341",
               postal_code="75011", email=person.email, iban="FR7630004000031234567890143",
               vitale_serial="", mobile="")
    with app.app_context():
        registry.set_details(
            person.nir, rights_until="2027-12-31", ceam_until="2027-06-30",
            complementary="Mutuelle Générale de l'Éducation Nationale (MGEN)",
            doctor="Dr Marie-Christine LEFEBVRE-DUVALLON", city="SAINT-REMY-EN-BOUZEMONT",
            address="5 ALLÉE DES TILLEULS\nRÉSIDENCE LES JARDINS DE LA VALLÉE", landline="0142345678")
        db.session.commit()
    return person


def test_the_full_page_fits_360_px_and_passes_axe(page, server, registered, smtp):
    log_in(page, server, registered, smtp)
    assert page.get_by_role("heading", level=1).inner_text() == "Mes informations"
    nav = page.get_by_role("navigation", name=messages.text("portal_nav"))
    assert nav.get_by_role("link").count() == 5
    assert nav.locator("[aria-current=page]").inner_text() == "Mes informations"
    assert nav.get_by_role("link", name="Mes paiements").get_attribute("href") == (
        "https://portail.example/paiements")
    rows = dict(zip(page.locator("dt").all_inner_texts(), page.locator("dd").all_inner_texts()))
    assert rows["Adresse postale"] == ("5 ALLÉE DES TILLEULS\nRÉSIDENCE LES JARDINS DE LA VALLÉE"
                                       "\n75011 SAINT-REMY-EN-BOUZEMONT")
    assert rows["Coordonnées bancaires"] == "IBAN se terminant par 0143"
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    sizes = page.evaluate("""() => ({h1: parseFloat(getComputedStyle(document.querySelector('h1')).fontSize),
        h2: Math.max(...[...document.querySelectorAll('h2')].map(h => parseFloat(getComputedStyle(h).fontSize)))})""")
    assert sizes["h1"] > sizes["h2"], sizes
    if not AXE.exists():
        pytest.skip("axe-core is not installed (make test runs `npm install axe-core`; npm missing?)")
    assert axe_violations(page) == []
