"""issue 13.3: "Mes informations" as seed 000 (steps 0 and 1) draws it: the portal's tabs,
"Mes informations" the current one, and the rows of what the account and the registry hold
for the person — rights, complementary insurer, doctor, CEAM, IBAN (its last digits only),
postal address, phones, contact authorizations. What the file lacks is said in words (the
seed's "Aucune carte CEAM en cours de validité.", "Ajouter"), never left blank."""

from __future__ import annotations

import html
import re
from datetime import date, timedelta

import pytest

from idp import create_app, messages
from idp.config import DEMO_PORTAL_URL
from tests.helpers.accounts import add_person, login_direct
from tests.helpers.pages import rows_of, text_of

IBAN = "FR7630004000031234567890143"
# Seed 000, step 1, and the rows, in the page's order.
LABELS = ["Nom", "Numéro de sécurité sociale", "Caisse d'assurance maladie",
          "Droits à l'assurance maladie", "Organisme complémentaire", "Médecin traitant",
          "Carte Européenne d'Assurance Maladie", "Coordonnées bancaires", "Adresse postale",
          "Email", "Téléphone portable", "Téléphone fixe", "Autorisations de contact"]


def _in_registry(app, person, **details):
    """The demo person in the registry, with ``details`` (``registry.DETAILS``)."""
    from idp.domain import registry
    from idp.extensions import db
    add_person(app, nir=person.nir, family_name="MARTIN", given_name="Valérie",
               birthdate="1969-02-15", gender="female", birthplace="99341",
               postal_code="75011", email=person.email, iban=details.pop("iban", ""),
               vitale_serial="", mobile="")
    with app.app_context():
        registry.set_details(person.nir, **details)
        db.session.commit()


def _log_in(browser, smtp, person):
    return login_direct(browser, smtp, person.nir, person.password, person.email)


def test_every_row_shows_what_the_registry_holds_for_the_person(app, browser, smtp, person,
                                                               clock):
    _in_registry(app, person, iban=IBAN, rights_until="2027-12-31", ceam_until="2027-06-30",
                 complementary="MGEN", doctor="Dr Sophie LEFEBVRE",
                 address="5 ALLÉE DES TILLEULS", city="PARIS", landline="01 42 34 56 78")
    page = _log_in(browser, smtp, person)
    rows = rows_of(page)
    assert list(rows) == LABELS
    assert rows == {
        "Nom": "Valérie MARTIN",
        "Numéro de sécurité sociale": "2 ** ** ** *** *** 85",
        "Caisse d'assurance maladie": "CPAM de Paris",
        "Droits à l'assurance maladie": "Vos droits sont ouverts jusqu'au 31/12/2027.",
        "Organisme complémentaire": "MGEN",
        "Médecin traitant": "Dr Sophie LEFEBVRE",
        "Carte Européenne d'Assurance Maladie": "Carte valable jusqu'au 30/06/2027.",
        "Coordonnées bancaires": "IBAN se terminant par 0143",
        "Adresse postale": "5 ALLÉE DES TILLEULS 75011 PARIS",
        "Email": "v***@e***.fr",
        "Téléphone portable": "Ajouter",
        "Téléphone fixe": "01 42 34 56 78",
        "Autorisations de contact": "Aucune",
    }
    # the address keeps its two lines (the page renders "\n" as a line break)
    assert "5 ALLÉE DES TILLEULS\n75011 PARIS" in html.unescape(page.text)


def test_the_iban_shows_only_its_last_four_digits(app, browser, smtp, person, clock):
    _in_registry(app, person, iban=IBAN)
    page = _log_in(browser, smtp, person)
    assert rows_of(page)["Coordonnées bancaires"] == "IBAN se terminant par 0143"
    body = re.sub(r"\s+", "", html.unescape(page.text))
    # no longer part of it than the last four: not the country and key, not the bank code
    for start in range(len(IBAN) - 4):
        assert IBAN[start:start + 5] not in body, IBAN[start:start + 5]


def test_what_the_file_lacks_is_said_in_words(app, browser, smtp, person, clock):
    """A person without complementary insurer, doctor, CEAM, IBAN, address or landline: each
    row stays, with its sentence (the seed's for the CEAM), and "Ajouter" leads to the
    mobile's field below."""
    _in_registry(app, person)
    page = _log_in(browser, smtp, person)
    rows = rows_of(page)
    assert list(rows) == LABELS
    assert rows["Droits à l'assurance maladie"] == messages.text("info_rights_unknown")
    assert rows["Organisme complémentaire"] == "Aucun organisme complémentaire déclaré."
    assert rows["Médecin traitant"] == "Aucun médecin traitant déclaré."
    assert rows["Carte Européenne d'Assurance Maladie"] == (
        "Aucune carte CEAM en cours de validité.")
    assert rows["Coordonnées bancaires"] == "Aucun RIB enregistré."
    assert rows["Adresse postale"] == "Aucune adresse postale enregistrée."
    assert rows["Téléphone fixe"] == "Aucun numéro enregistré."
    add = re.search(r'<dd><a href="([^"]+)" aria-label="([^"]+)">Ajouter</a></dd>', page.text)
    assert add and add.group(1) == "/compte#mobile"
    assert html.unescape(add.group(2)).startswith("Ajouter")     # its name holds its words
    assert 'id="mobile"' in page.text


def test_an_account_missing_from_the_registry_shows_the_same_words(browser, smtp, person,
                                                                  clock):
    page = _log_in(browser, smtp, person)
    rows = rows_of(page)
    assert list(rows) == LABELS
    assert rows["Médecin traitant"] == "Aucun médecin traitant déclaré."
    assert rows["Organisme complémentaire"] == "Aucun organisme complémentaire déclaré."
    assert rows["Caisse d'assurance maladie"] == "CPAM de Paris"        # the account's own


def test_end_dates_are_read_as_paris_days(app, browser, smtp, person, clock):
    """Rights and a CEAM "until" the 4th of January hold through that day in Paris: open at
    23:30 Paris time (22:30 UTC), ended at 00:30 on the 5th (23:30 UTC on the 4th)."""
    _in_registry(app, person, rights_until=date(2023, 1, 4), ceam_until=date(2023, 1, 4))
    clock.shift(timedelta(hours=8))                                     # 22:30 UTC
    page = _log_in(browser, smtp, person)
    rows = rows_of(page)
    assert rows["Droits à l'assurance maladie"] == "Vos droits sont ouverts jusqu'au 04/01/2023."
    assert rows["Carte Européenne d'Assurance Maladie"] == "Carte valable jusqu'au 04/01/2023."
    clock.shift(timedelta(hours=1))                                     # 23:30 UTC
    rows = rows_of(browser.get("/compte"))
    assert rows["Droits à l'assurance maladie"] == (
        "Vos droits ont pris fin le 04/01/2023. Merci de contacter votre caisse d'assurance"
        " maladie.")
    assert rows["Carte Européenne d'Assurance Maladie"] == (
        "Aucune carte CEAM en cours de validité.")


def test_contact_authorizations_list_the_channels_as_the_seed_does(browser, smtp, person,
                                                                  clock):
    _log_in(browser, smtp, person)
    page = browser.post_form("/compte/coordonnees", {
        "mobile": "0612345678", "contact_email": "1", "contact_mobile": "1", "contact_sms": "1"})
    rows = rows_of(page)
    assert rows["Autorisations de contact"] == "Email - Téléphone portable - SMS"
    assert rows["Téléphone portable"] == "06 12 34 56 78"


# -- the portal's tabs ----------------------------------------------------------------------

def _nav(page) -> str:
    found = re.search(r'<nav\b[^>]*aria-label="([^"]+)"[^>]*>(.*?)</nav>', page.text, re.S)
    assert found, text_of(page)[:400]
    assert html.unescape(found.group(1)) == messages.text("portal_nav")
    return found.group(2)


def _links(nav: str) -> list[tuple[str, str, bool]]:
    return [(html.unescape(href), text_of(words), "aria-current" in attrs)
            for href, attrs, words in re.findall(r'<a href="([^"]+)"([^>]*)>(.*?)</a>', nav)]


@pytest.mark.config(PORTAL_URL="https://portail.example/")
def test_the_tabs_lead_to_the_configured_portal_and_mes_informations_is_current(
        browser, smtp, person, clock):
    page = _log_in(browser, smtp, person)
    assert _links(_nav(page)) == [
        ("https://portail.example/", "Accueil", False),
        ("https://portail.example/paiements", "Mes paiements", False),
        ("https://portail.example/demarches", "Mes démarches", False),
        ("https://portail.example/prevention", "Mon espace prévention", False),
        ("/compte", "Mes informations", True),
    ]
    assert 'aria-current="page"' in _nav(page)
    # the navigation comes before the page's one H1, and every heading after it is an H2
    headings = re.findall(r"<h([1-6])\b", page.text)
    assert headings[0] == "1" and set(headings[1:]) == {"2"}
    assert page.text.index("<nav") < page.text.index("<h1")


def test_on_a_development_issuer_the_tabs_lead_to_the_demo_portal(browser, smtp, person,
                                                                  clock):
    page = _log_in(browser, smtp, person)
    hrefs = [href for href, _, _ in _links(_nav(page))]
    assert hrefs[:2] == [DEMO_PORTAL_URL + "/", DEMO_PORTAL_URL + "/paiements"]


def test_portal_url_default_and_checks(app_config):
    https = {**app_config, "ISSUER": "https://connexion.example.fr"}
    assert create_app(https).config["PORTAL_URL"] is None          # no tabs to a guess
    assert create_app({**https, "PORTAL_URL": "https://assure.example.fr/"}).config[
        "PORTAL_URL"] == "https://assure.example.fr"
    assert create_app(app_config).config["PORTAL_URL"] == DEMO_PORTAL_URL
    for wrong in ("assure.example.fr", "http://assure.example.fr", "ftp://x.example",
                  "https://assure.example.fr/?a=1"):
        with pytest.raises(SystemExit) as stopped:           # one line naming the setting
            create_app({**https, "PORTAL_URL": wrong})
        assert "IDP_PORTAL_URL" in str(stopped.value), wrong


def test_without_a_portal_the_page_shows_no_tabs(app, browser, smtp, person, clock):
    """An https issuer with no PORTAL_URL (the setting's value is then none): no tab leads
    to a guessed address, and no navigation of one link is left."""
    app.config["PORTAL_URL"] = None
    page = _log_in(browser, smtp, person)
    assert "<nav" not in page.text
    assert "Mes paiements" not in text_of(page)
    assert rows_of(page)["Nom"] == "Valérie MARTIN"
