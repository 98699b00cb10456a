"""Seed 004, web, steps 1 and 3 and cases 4 and 5: the sentences and links the login pages
were missing (issue 13.2), word for word, with the help links of ``IDP_HELP_*``."""

from __future__ import annotations

import html
import re

import pytest

from idp.config import HELP_ARTICLE_URL, HELP_VIDEO_URL
from tests.helpers.accounts import login_until_code_sent
from tests.helpers.pages import text_of

STEP_1 = ("Pour accéder à votre compte ameli, la saisie d'un code de sécurité est nécessaire. "
          "Besoin d'aide ? Consultez notre tuto YouTube ou notre article sur ameli.fr.")
STEP_3 = ("Vous n'avez pas reçu ce code, vérifiez : la saisie de votre n° de sécurité sociale, "
          "votre dossier Spam ou Indésirable. Vous n'arrivez toujours pas à vous connecter ? "
          "Consultez notre tuto YouTube ou notre article sur ameli.fr.")
CASES_4_5_LIST = ("Vous n'avez pas reçu ce code, vérifiez : la saisie de votre n° de sécurité "
                  "sociale, l'exactitude de votre mot de passe, votre dossier Spam ou "
                  "Indésirable.")
CLICK_HERE = "Vous n'arrivez toujours pas à vous connecter ? Cliquez ici."


def says(page, sentence: str) -> bool:
    """Whether the page reads the sentence, its links being words of it (an ``<a>`` inside
    a sentence adds no space, unlike the block tags ``text_of`` turns into spaces)."""
    body = page.text if hasattr(page, "text") else str(page)
    return sentence in text_of(re.sub(r"</?a\b[^>]*>", "", body))


def links(page) -> dict[str, str]:
    """Each link's text → its href, as a person (or a screen reader) finds them."""
    return {text_of(html.unescape(text)): html.unescape(href) for href, text in re.findall(
        r'<a\b[^>]*\bhref="([^"]*)"[^>]*>(.*?)</a>', page.text, re.S)}


def button_texts(page) -> list[str]:
    return [text_of(b) for b in re.findall(r"<button\b[^>]*>(.*?)</button>", page.text, re.S)]


def wrong(code: str) -> str:
    return f"{(int(code) + 1) % 1000000:06d}"


def test_step_1_says_the_seeds_sentence_with_its_help_links_and_button(browser, person):
    """issue 13.2: step 1's "Besoin d'aide ? …" with links to ameli.fr's help by default,
    and the seed's button "Cliquez pour recevoir un code de sécurité", in which the
    contract's label "recevoir un code de sécurité" is still found."""
    browser.get("/login")
    page = browser.submit_credentials(person.nir, person.password)
    assert says(page, STEP_1), text_of(page)[:800]
    found = links(page)
    assert found["YouTube"] == HELP_VIDEO_URL and found["ameli.fr"] == HELP_ARTICLE_URL
    assert HELP_VIDEO_URL.startswith("https://www.ameli.fr/")
    assert HELP_ARTICLE_URL.startswith("https://www.ameli.fr/")
    assert "Cliquez pour recevoir un code de sécurité" in button_texts(page)
    assert "Recevoir un code de sécurité".lower() in page.text.lower()


@pytest.mark.config(HELP_VIDEO_URL="https://www.youtube.com/watch?v=tuto-ameli&t=1",
                    HELP_ARTICLE_URL="https://www.ameli.fr/assure/aide-connexion")
def test_the_help_links_follow_the_configuration(browser, person, smtp):
    """issue 13.2: IDP_HELP_VIDEO_URL and IDP_HELP_ARTICLE_URL, on steps 1 and 3 and in
    cases 4 and 5's "Cliquez ici."."""
    browser.get("/login")
    page = browser.submit_credentials(person.nir, person.password)
    assert links(page)["YouTube"] == "https://www.youtube.com/watch?v=tuto-ameli&t=1"
    assert links(page)["ameli.fr"] == "https://www.ameli.fr/assure/aide-connexion"
    page = browser.ask_code()
    assert links(page)["YouTube"] == "https://www.youtube.com/watch?v=tuto-ameli&t=1"
    code = smtp.code_for(person.email)
    assert links(browser.submit_code(wrong(code)))["Cliquez ici."] == \
        "https://www.ameli.fr/assure/aide-connexion"


@pytest.mark.parametrize("value", ["javascript:alert(1)", "ameli.fr/aide", "ftp://ameli.fr/"])
def test_a_help_link_that_is_not_a_web_address_stops_the_start(app_config, value):
    """issue 13.2: a wrong IDP_HELP_* is named in one line at start."""
    from idp import create_app
    with pytest.raises(SystemExit) as stopped:
        create_app({**app_config, "HELP_ARTICLE_URL": value})
    assert "IDP_HELP_ARTICLE_URL: expected an absolute https URL" in str(stopped.value)


def test_step_3_lists_two_checks_and_the_help_links(browser, person, smtp):
    """issue 13.2: step 3's "Vous n'arrivez toujours pas à vous connecter ? Consultez notre
    tuto YouTube ou notre article sur ameli.fr."."""
    login_until_code_sent(browser, person, smtp)
    page = browser.page
    assert says(page, STEP_3), text_of(page)[:1200]
    assert "l'exactitude de votre mot de passe" not in text_of(page)
    assert links(page)["YouTube"] == HELP_VIDEO_URL


def test_case_5_adds_the_password_check_and_cliquez_ici(browser, person, smtp):
    """issue 13.2: a wrong code (case 5): the third check "l'exactitude de votre mot de
    passe," and "Vous n'arrivez toujours pas à vous connecter ? Cliquez ici."."""
    code = login_until_code_sent(browser, person, smtp)
    page = browser.submit_code(wrong(code))
    assert says(page, "Le code de sécurité saisi est erroné.")
    assert says(page, CASES_4_5_LIST + " " + CLICK_HERE), text_of(page)[:1200]
    assert links(page)["Cliquez ici."] == HELP_ARTICLE_URL
    assert "Consultez notre tuto" not in text_of(page)


def test_case_4_offers_cliquez_ici_and_an_unknown_nir_gets_the_same_page(browser, person):
    """issue 13.2: a wrong password (case 4) is told on the NIR and password form (our
    password is checked before any code is offered): "Cliquez ici." is there, and the page
    is the one an unknown NIR gets."""
    browser.get("/login")
    known = browser.submit_credentials(person.nir, "Pas-le-bon-1")
    assert says(known, "Le mot de passe saisi est incorrect. Merci de le vérifier.")
    assert says(known, CLICK_HERE) and links(known)["Cliquez ici."] == HELP_ARTICLE_URL
    unknown = browser.submit_credentials("1840175056123", "Pas-le-bon-1")
    assert text_of(known) == text_of(unknown)


def test_the_login_page_has_the_activation_link_of_the_provisional_code_mail(browser):
    """issue 13.2 (seed 003, step 5): "Je n'ai pas de code ou j'ai perdu mon code" on the
    login page leads to the activation form (NIR and provisional code)."""
    page = browser.get("/login")
    href = links(page)["Je n'ai pas de code ou j'ai perdu mon code"]
    page = browser.get(href)
    assert page.status_code == 200 and page.url.endswith("/activer-mon-compte")
    assert 'name="nir"' in page.text and 'name="code"' in page.text


@pytest.mark.browser
def test_in_a_browser_the_seeds_button_and_links_are_shown(page, server, person):
    """issue 13.2, in Chromium: the button reads as the seed draws it, the help links and
    the activation link are visible."""
    page.goto(server.url + "/login")
    assert page.get_by_role("link", name="Je n'ai pas de code ou j'ai perdu mon code",
                            exact=True).is_visible()
    page.fill("#nir", person.nir)
    page.fill("#password", person.password)
    with page.expect_navigation():
        page.get_by_role("button", name="Me connecter").click()
    button = page.get_by_role("button", name="Cliquez pour recevoir un code de sécurité",
                              exact=True)
    assert button.inner_text().strip() == "CLIQUEZ POUR RECEVOIR UN CODE DE SÉCURITÉ"
    assert page.get_by_role("button", name="recevoir un code de sécurité").count() == 1
    for name in ("YouTube", "ameli.fr"):
        assert page.get_by_role("link", name=name, exact=True).is_visible()
