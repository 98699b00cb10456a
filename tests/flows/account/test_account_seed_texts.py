"""Seed 004's password change and seed 003's activation, as the seeds show them (issue 13.2):
the code leaves as soon as "Mon mot de passe" is chosen, failure 1's two sentences in the
seed's order, and the login page's "Je n'ai pas de code ou j'ai perdu mon code"."""

from __future__ import annotations

import html
import re
from datetime import timedelta

from idp import messages
from tests.helpers.accounts import add_person, login_direct
from tests.helpers.pages import says, text_of

FAILURE_1 = ("Impossible de modifier le mot de passe de votre compte ameli "
             "La saisie d'un code de confirmation est nécessaire pour sécuriser le changement de "
             "mot de passe de votre compte ameli. "
             "Selon nos informations, vous avez déjà demandé 3 codes de confirmation et l'accès au "
             "service est bloqué jusqu'au {until} - heure de Paris. Retour")


def my_password_form(page) -> str:
    """The account page's "Mon mot de passe": a button of a POST form; its action."""
    for action, body in re.findall(r'<form method="post" action="([^"]+)"[^>]*>(.*?)</form>',
                                   page.text, re.S):
        if re.search(r"<button[^>]*>\s*Mon mot de passe\s*</button>", body):
            assert 'name="csrf_token"' in body
            return html.unescape(action)
    raise AssertionError("no form with the button Mon mot de passe: " + text_of(page)[:800])


def test_choosing_mon_mot_de_passe_sends_the_code_at_once(server, browser, smtp, person):
    """issue 13.2 (seed 004, "Changement de mot de passe", step 1): "Mon mot de passe" leads
    straight to the code sent by mail; there is no "Recevoir le code par mail" screen."""
    page = login_direct(browser, smtp, person.nir, person.password, person.email)
    before = len(smtp.to(person.email))
    page = browser.post_form(my_password_form(page), {})
    assert len(smtp.to(person.email)) == before + 1
    assert re.search(r"^\s*\d{4}\s*$", smtp.last_text(person.email), re.M)
    assert says(page, messages.text("change_code_sent_to") + " v***@e***.fr ?")
    assert 'id="code"' in page.text and "Renvoyer le code par mail" in page.text
    assert "Recevoir le code par mail" not in page.text
    # The address typed by hand (no code asked yet) leads to "Mes informations", not to a
    # screen of our own; it sends nothing (a GET never sends a mail).
    other = type(browser)(server.url)
    login_direct(other, smtp, person.nir, person.password, person.email)
    sent = len(smtp.to(person.email))
    answer = other.http.get(server.url + "/compte/mot-de-passe", allow_redirects=False)
    assert answer.status_code == 303 and answer.headers["Location"].endswith("/compte")
    assert len(smtp.to(person.email)) == sent


def test_failure_1_says_its_two_sentences_in_the_seeds_order(browser, smtp, person, clock):
    """issue 13.2 (seed 004, "Cas d'échecs", cas 1): first why a code is needed, then that 3
    were asked and until when the service is blocked."""
    page = login_direct(browser, smtp, person.nir, person.password, person.email)
    action = my_password_form(page)
    browser.post_form(action, {})
    for _ in range(2):
        browser.post_form("/compte/mot-de-passe/code/envoyer", {})
    page = browser.post_form("/compte/mot-de-passe/code/envoyer", {})
    assert page.status_code == 403
    assert FAILURE_1.format(until="04/01/2023, 16h30") in text_of(page), text_of(page)[:800]
    clock.shift(timedelta(minutes=5))
    page = browser.get("/compte")
    page = browser.post_form(my_password_form(page), {})
    assert FAILURE_1.format(until="04/01/2023, 16h30") in text_of(page)


def test_the_provisional_code_mail_names_the_login_pages_link_to_the_activation(
        server, browser, smtp, app):
    """issue 13.2 (seed 003, step 5): the mail says to pick "Je n'ai pas de code ou j'ai perdu
    mon code" on the login page; that link is there and activates the account."""
    person = add_person(app)
    browser.get("/creer-un-compte")
    browser.post_form("/creer-un-compte", {
        "family_name": person["family_name"], "given_name": person["given_name"],
        "nir": person["nir"], "birthdate": "11/02/1986", "postal_code": person["postal_code"]})
    mail = smtp.last_text(person["email"])
    assert ("rendez-vous sur la page de connexion à votre compte ameli et sélectionnez l'option "
            "« Je n'ai pas de code ou j'ai perdu mon code »") in mail
    code = smtp.code_for(person["email"], digits=8)
    page = browser.get("/login")
    found = re.search(r'<a href="([^"]+)">Je n\'ai pas de code ou j\'ai perdu mon code</a>',
                      html.unescape(page.text))
    assert found, text_of(page)
    page = browser.get(found.group(1))
    page = browser.post_form("/activer-mon-compte", {"nir": person["nir"], "code": code})
    assert "Personnaliser mon compte ameli" in page.text, text_of(page)[:600]
