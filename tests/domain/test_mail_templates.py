"""The mail bodies in idp/templates/mail: seed 004's security-code and password-changed texts,
the confirmation, provisional-code, validation, address-change and reset mails."""

from __future__ import annotations

import re
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, StrictUndefined

import idp
from idp import messages
from idp.messages import MAIL_SUBJECTS

MAIL_DIR = Path(idp.__file__).parent / "templates" / "mail"
env = Environment(loader=FileSystemLoader(MAIL_DIR), undefined=StrictUndefined)
# The mails' words come from idp.messages through ``msg``, a global of the app's templates.
env.globals["msg"] = messages.text


def render(name: str, **context) -> str:
    return env.get_template(f"{name}.txt").render(**context)


def lines(body: str) -> list[str]:
    return body.splitlines()


def test_security_code_mail_is_seed_004_step_2_with_the_code_alone_on_its_line():
    body = render("security_code", code="042719", ttl_minutes=15)
    assert "042719" in lines(body)
    assert re.findall(r"\b\d{6}\b", body) == ["042719"]
    for sentence in [
        "Bonjour,",
        "Nous vous adressons votre code de sécurité pour vous connecter à votre compte ameli :",
        ("Attention ! Ce code est valable seulement 15 minutes. Au-delà de ce délai, vous devrez"
         " demander un nouveau code."),
        "Ce code est strictement personnel et ne doit jamais être communiqué.",
        "Nous ne demandons jamais de code par téléphone.",
        ("Si vous n'êtes pas à l'origine de cette demande, contactez votre caisse d'assurance"
         " maladie qui vous donnera les consignes à suivre. Sachez néanmoins que votre compte"
         " ameli reste sécurisé."),
        "Ce message est généré par un automate. Ne pas utiliser la fonctionnalité « répondre à ».",
        "Merci de votre confiance.",
        "Votre caisse d'assurance maladie",
    ]:
        assert sentence in lines(body)


def test_security_code_mail_follows_the_policy_delay():
    assert "valable seulement 10 minutes" in render("security_code", code="123456",
                                                    ttl_minutes=10)


def test_change_code_mail_carries_the_4_digit_code_alone_and_15_minutes():
    body = render("change_code", code="0917", ttl_minutes=15)
    assert "0917" in lines(body)
    assert re.findall(r"\b\d{4,}\b", body) == ["0917"]
    assert "valable seulement 15 minutes" in body
    assert "« Renvoyer le code par mail »" in body
    assert "Nous ne demandons jamais de code par téléphone." in lines(body)


def test_password_changed_mail_is_the_seeds():
    body = render("password_changed", changed_at="vendredi 06 juin 2025 à 14:27")
    for sentence in [
        ("Le mot de passe de votre compte ameli a été modifié le vendredi 06 juin 2025 à 14:27"
         " (heure de Paris)."),
        ("Si vous n'êtes pas à l'origine de cette modification, veuillez en informer rapidement"
         " votre Caisse d'Assurance Maladie."),
        ("Attention, cet email est généré par un automate. Ne pas utiliser la fonctionnalité"
         " 'répondre à'."),
        "Votre Caisse d'Assurance Maladie",
    ]:
        assert sentence in lines(body)


def test_provisional_code_mail_gives_the_code_alone_and_how_to_activate():
    body = render("provisional_code", code="4821", ttl_text="30 jours",
                  link="https://idp.example/activation")
    assert "4821" in lines(body)
    assert "https://idp.example/activation" in lines(body)
    assert "« Je n'ai pas de code ou j'ai perdu mon code »" in body
    assert "valable 30 jours" in body


def test_provisional_code_mail_reads_well_without_a_link():
    body = render("provisional_code", code="4821", ttl_text="30 jours")
    assert "\n\n\n" not in body
    assert not any("http" in line for line in lines(body))


def test_email_validation_mail_gives_the_link_and_7_days():
    body = render("email_validation", link="https://idp.example/v/abc", ttl_text="7 jours")
    assert "https://idp.example/v/abc" in lines(body)
    assert "valable 7 jours uniquement" in body


def test_email_changed_notice_tells_the_old_address_to_contact_the_fund():
    body = render("email_changed_notice", changed_at="lundi 02 juin 2025 à 09:00")
    assert ("L'adresse mail associée à votre compte ameli a été modifiée le lundi 02 juin 2025 à"
            " 09:00 (heure de Paris).") in lines(body)
    assert "contactez rapidement votre caisse d'assurance maladie" in body
    bare = render("email_changed_notice")
    assert "L'adresse mail associée à votre compte ameli a été modifiée." in lines(bare)


def test_password_reset_mail_gives_a_single_use_link_and_its_validity():
    body = render("password_reset", link="https://idp.example/r/xyz", ttl_text="1 heure")
    assert "https://idp.example/r/xyz" in lines(body)
    assert "valable 1 heure et ne peut être utilisé qu'une seule fois" in body


def test_franceconnect_linked_mail_says_when_and_how_to_undo_it():
    """issue 11.1: the owner learns of every link, and where to remove it."""
    body = render("franceconnect_linked", linked_at="04/01/2023 à 15:30")
    assert "Votre compte ameli a été relié à FranceConnect le 04/01/2023 à 15:30 (heure de" \
           " Paris)." in body
    assert "supprimez ce lien depuis la rubrique « Mes informations »" in body


def test_every_template_has_a_french_subject_and_every_subject_a_template():
    assert {p.stem for p in MAIL_DIR.glob("*.txt")} == set(MAIL_SUBJECTS)
    assert all("ameli" in subject for subject in MAIL_SUBJECTS.values())


def test_bodies_start_with_bonjour_and_end_with_one_newline_at_most():
    context = {"code": "123456", "ttl_minutes": 15, "ttl_text": "7 jours",
               "changed_at": "x", "link": "https://idp.example/l", "linked_at": "x"}
    for path in MAIL_DIR.glob("*.txt"):
        body = render(path.stem, **context)
        assert body.startswith("Bonjour,\n"), path.name
        assert not body.endswith("\n\n"), path.name
