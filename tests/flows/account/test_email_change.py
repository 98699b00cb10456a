"""Issue 11.4: changing the account's e-mail address asks the password again, counted through
the login's own lock, and a new address blocks the password reset for 48 hours, as it blocks
the password change (seed 004, password change, cas 3)."""

from __future__ import annotations

from datetime import timedelta

from idp import messages
from tests.helpers.accounts import NEW_PASSWORD, link_in, login_direct
from tests.helpers.pages import field_error, says, text_of

NEW = "valerie.neuve@example.fr"


def ask_change(browser, password, email=NEW):
    browser.get("/compte")
    return browser.post_form("/compte/adresse-mail", {"email": email, "current_password": password})


def test_a_stolen_session_cannot_move_the_address_without_the_password(
        server, browser, smtp, app, person, clock):
    """issue 11.4"""
    login_direct(browser, smtp, person.nir, person.password, person.email)
    before = len(smtp.messages)
    page = ask_change(browser, "")
    assert page.status_code == 400
    assert field_error(page, "current_password") == messages.text("field_required")
    page = ask_change(browser, "Mauvais1!")
    assert page.status_code == 400
    assert field_error(page, "current_password").startswith("Le mot de passe saisi est incorrect")
    assert len(smtp.messages) == before and smtp.to(NEW) == []
    assert "en attente de validation" not in text_of(browser.get("/compte"))
    page = ask_change(browser, person.password)
    assert says(page, messages.text("email_change_sent"))
    assert len(smtp.to(NEW)) == 1
    assert "a été modifiée le 04/01/2023 à 15:30" in smtp.last_text(person.email)   # the old one


def test_wrong_passwords_on_the_address_change_lock_the_login_too(
        server, browser, smtp, app, person, clock):
    """issue 11.4: the same lock as the login (seed 004, case 7), not a counter of its own."""
    login_direct(browser, smtp, person.nir, person.password, person.email)
    for _ in range(2):
        ask_change(browser, "Mauvais1!")
    page = ask_change(browser, "Mauvais1!")
    assert page.status_code == 403
    assert "l'accès à votre compte ameli est bloqué jusqu'au mercredi 4 janvier 2023 15:45" \
           in text_of(page)
    page = ask_change(browser, person.password)                  # locked: not even checked
    assert page.status_code == 403 and smtp.to(NEW) == []
    other = type(browser)(server.url)
    other.get("/login")
    assert "bloqué jusqu'au mercredi 4 janvier 2023 15:45" in text_of(
        other.submit_credentials(person.nir, person.password))
    clock.shift(timedelta(minutes=15))
    assert says(ask_change(browser, person.password), messages.text("email_change_sent"))


def test_a_right_password_on_the_address_change_clears_the_count(
        server, browser, smtp, app, person, clock):
    """issue 11.4"""
    login_direct(browser, smtp, person.nir, person.password, person.email)
    ask_change(browser, "Mauvais1!")
    ask_change(browser, "Mauvais1!")
    ask_change(browser, person.password, email="valerie.autre@example.fr")
    page = ask_change(browser, "Mauvais1!")
    assert page.status_code == 400                               # a fresh count: not locked


def test_a_new_address_blocks_the_password_reset_for_48_hours(
        server, browser, smtp, app, person, clock):
    """issue 11.4: whoever moved the address cannot reset the password through it at once."""
    login_direct(browser, smtp, person.nir, person.password, person.email)
    ask_change(browser, person.password)
    assert says(browser.get(link_in(smtp.last_text(NEW))), messages.text("email_validated"))
    stranger = type(browser)(server.url)
    stranger.get("/mot-de-passe-oublie")
    stranger.post_form("/mot-de-passe-oublie", {"nir": person.nir, "birthdate": "15/02/1969"})
    link = link_in(smtp.last_text(NEW))
    page = stranger.get(link)
    assert page.status_code == 403
    assert says(page, messages.text("email_recently_changed_reset"))
    assert "depuis moins de 48 heures" in text_of(page)
    path = link.split(server.url, 1)[1]
    stranger.get("/mot-de-passe-oublie")                        # a page with a CSRF token
    page = stranger.post_form(path, {"new_password": NEW_PASSWORD, "confirmation": NEW_PASSWORD})
    assert page.status_code == 403
    clock.shift(timedelta(hours=47, minutes=59))
    stranger = type(browser)(server.url)
    stranger.get("/mot-de-passe-oublie")
    stranger.post_form("/mot-de-passe-oublie", {"nir": person.nir, "birthdate": "15/02/1969"})
    link = link_in(smtp.last_text(NEW))
    assert stranger.get(link).status_code == 403
    clock.shift(timedelta(minutes=1))                    # the 48th hour: the same link works
    assert stranger.get(link).status_code == 200
    page = stranger.post_form(link.split(server.url, 1)[1],
                              {"new_password": NEW_PASSWORD, "confirmation": NEW_PASSWORD})
    assert says(page, messages.text("password_reset_done"))
