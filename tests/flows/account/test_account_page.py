"""The account page ("Mes informations"): what it shows, trusted devices, contacts, closing."""

from __future__ import annotations

from datetime import timedelta

from idp import messages
from tests.helpers.accounts import PASSWORD, login_direct
from tests.helpers.pages import field_error, rows_of, says, text_of


def test_the_page_shows_the_identity_masked_nir_last_login_and_trusted_devices(
        server, browser, smtp, app, person, clock):
    browser.get("/login")
    browser.post_form("/login", {"nir": person.nir, "password": person.password})
    browser.post_form("/login/code/send", {})
    browser.post_form("/login/code", {"code": smtp.code_for(person.email), "remember_device": "1"})
    clock.shift(timedelta(days=2))
    browser.get("/login")
    page = browser.post_form("/login", {"nir": person.nir, "password": person.password})
    assert "Mes informations" in page.text, text_of(page)[:300]   # the device is trusted
    text = text_of(page)
    assert "Valérie MARTIN" in text and "2 ** ** ** *** *** 85" in text
    assert "2690299341732" not in page.text
    assert "CPAM de Paris" in text and "v***@e***.fr" in text
    assert "Dernière connexion le 04/01/2023 à 15:30" in text
    assert rows_of(page)["Autorisations de contact"] == "Aucune"
    assert "Mon mot de passe" in text and "Résilier mon compte ameli" in text

    page = browser.post_form("/compte/coordonnees", {"mobile": "06 12", "contact_sms": "1"})
    assert field_error(page, "mobile") == messages.text("mobile_invalid")
    page = browser.post_form("/compte/coordonnees", {"mobile": "06 12 34 56 78", "contact_sms": "1"})
    assert says(page, messages.text("contact_saved"))
    assert rows_of(page)["Téléphone portable"] == "06 12 34 56 78"
    assert rows_of(page)["Autorisations de contact"] == "SMS"

    assert "Ne plus reconnaître cet appareil" in page.text
    action = page.text.split('action="/compte/appareils/', 1)[1].split('"', 1)[0]
    page = browser.post_form("/compte/appareils/" + action, {})
    assert says(page, messages.text("device_revoked"))
    assert "Aucun appareil." in page.text
    browser.http.cookies.pop("session", None)
    browser.get("/login")
    page = browser.post_form("/login", {"nir": person.nir, "password": person.password})
    assert "recevoir un code de sécurité" in page.text      # the device is no longer trusted


def test_the_page_is_behind_the_login(server, browser):
    response = browser.http.get(server.url + "/compte", allow_redirects=False)
    assert response.status_code == 303 and response.headers["Location"].endswith("/login")
    response = browser.http.get(server.url + "/compte/mot-de-passe", allow_redirects=False)
    assert response.status_code == 303


def test_closing_the_account_records_the_date_the_login_then_shows(
        server, browser, smtp, app, person, clock):
    login_direct(browser, smtp, person.nir, person.password, person.email)
    browser.get("/compte/resilier")
    page = browser.post_form("/compte/resilier", {})
    assert field_error(page, "confirm") == messages.text("close_confirm_required")
    page = browser.post_form("/compte/resilier", {"confirm": "1"})
    assert says(page, "Votre compte ameli a été résilié le 04/01/2023.")
    assert browser.http.get(server.url + "/compte", allow_redirects=False).status_code == 303
    clock.shift(timedelta(days=3))
    browser.get("/login")
    page = browser.submit_credentials(person.nir, PASSWORD)
    assert "Votre compte a été désactivé le 04/01/2023." in text_of(page)
