"""The account's journeys in a real browser (Chromium), on plain HTTP and over TLS (issue 10):
the account page's forms (contacts, e-mail change, device revocation, closing), the password
change and the forgotten password. Every form is the provider's own, filled and submitted
as a person does; over HTTPS every cookie is __Host- and Secure (issue 11.15)."""

from __future__ import annotations

import pytest

from idp import messages
from tests.helpers.accounts import NEW_PASSWORD, link_in
from tests.helpers.browser import assert_cookies_fit_the_scheme, log_in, press, says, shown

pytestmark = pytest.mark.browser
NEW_ADDRESS = "valerie.neuve@example.fr"


def _fill_password_if_asked(form, password: str) -> None:
    """A form that asks the password again gets it (the e-mail change may, issue 11.4)."""
    asked = form.locator("input[type=password]")
    for i in range(asked.count()):
        asked.nth(i).fill(password)


def test_the_account_page_forms_work_in_a_browser(page, server, person, smtp):
    """issue 10: contacts, e-mail change, device revocation and closing, over http and https."""
    log_in(page, server, person, smtp, remember=True)
    assert "Mes informations" in shown(page)
    assert_cookies_fit_the_scheme(page, server, "idp_session", "idp_device")

    contacts = page.locator("form[action='/compte/coordonnees']")
    contacts.locator("#mobile").fill("06 12 34 56 78")
    contacts.locator("#contact_sms").check()
    press(page, "Enregistrer", within="form[action='/compte/coordonnees']")
    assert says(page, messages.text("contact_saved"))
    rows = dict(zip(page.locator("dt").all_inner_texts(), page.locator("dd").all_inner_texts()))
    assert rows["Téléphone portable"] == "06 12 34 56 78"      # issue 13.3: as seed 000 lists
    assert rows["Autorisations de contact"] == "SMS"          # the channels allowed

    change = page.locator("form[action='/compte/adresse-mail']")
    change.locator("#email").fill(NEW_ADDRESS)
    _fill_password_if_asked(change, person.password)
    press(page, "Enregistrer", within="form[action='/compte/adresse-mail']")
    assert says(page, messages.text("email_change_sent"))
    link = link_in(smtp.last_text(NEW_ADDRESS))
    assert link.startswith(server.url + "/")
    page.goto(link)
    assert says(page, messages.text("email_validated"))

    page.goto(server.url + "/compte")
    press(page, "Ne plus reconnaître cet appareil")
    assert says(page, messages.text("device_revoked"))
    assert "Aucun appareil." in shown(page)

    with page.expect_navigation():
        page.get_by_role("link", name="Résilier mon compte ameli").click()
    page.check("#confirm")
    press(page, "Résilier mon compte ameli")
    assert "Votre compte ameli a été résilié le" in shown(page)
    page.goto(server.url + "/compte")
    assert page.url.startswith(server.url + "/login")


def test_the_password_change_works_in_a_browser(page, server, person, smtp):
    """issue 10: the 4-digit confirmation code, then the new password, over http and https."""
    log_in(page, server, person, smtp)
    press(page, "Mon mot de passe")             # the code leaves at once (issue 13.2)
    page.fill("#code", smtp.code_for(person.email, digits=4))
    press(page, "Valider")
    page.fill("#current_password", person.password)
    page.fill("#new_password", NEW_PASSWORD)
    page.fill("#confirmation", NEW_PASSWORD)
    press(page, "Valider")
    assert says(page, messages.text("password_changed_done"))
    assert_cookies_fit_the_scheme(page, server, "idp_session")


def test_the_forgotten_password_is_reset_in_a_browser(page, server, person, smtp):
    """issue 10: "Mot de passe oublié ?", the link in the mail, the new password, a login
    with it, over http and https."""
    page.goto(server.url + "/login")
    with page.expect_navigation():
        page.get_by_role("link", name="Mot de passe oublié ?").click()
    page.fill("#nir", person.nir)
    page.fill("#birthdate", "15/02/1969")
    press(page, "Valider")
    assert says(page, messages.text("reset_requested"))
    link = link_in(smtp.last_text(person.email))
    assert link.startswith(server.url + "/mot-de-passe-oublie/")
    page.goto(link)
    page.fill("#new_password", NEW_PASSWORD)
    page.fill("#confirmation", NEW_PASSWORD)
    press(page, "Valider")
    assert says(page, messages.text("password_reset_done"))

    with page.expect_navigation():
        page.get_by_role("link", name="J'accède à mon compte ameli").click()
    log_in(page, server, person, smtp, password=NEW_PASSWORD, start="")
    assert "Mes informations" in shown(page)
    assert_cookies_fit_the_scheme(page, server, "idp_session")
