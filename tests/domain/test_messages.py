"""idp.messages: the seeds' sentences (seed 004, web cases 1-9 and password change), the
Paris-time formats, and the masked address."""

from __future__ import annotations

import dataclasses
import inspect
import string
from datetime import UTC, date, datetime, timedelta

import flask
import pytest

from idp import errors, messages
from idp.messages import (
    fmt_changed,
    fmt_comma,
    fmt_dash,
    fmt_date,
    fmt_last_login,
    fmt_long,
    for_error,
    mask_email,
    text,
)
from idp.policy import Policy


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)


# -- the seeds' sentences, against the seeds' own examples ----------------------------------

def test_case_1_no_email_sentence_is_the_seeds():
    assert text("no_email") == (
        "Un code de sécurité envoyé par mail est nécessaire pour vous connecter. Or, vous n'avez"
        " pas d'adresse mail renseignée dans votre compte. Merci de contacter votre caisse"
        " d'assurance maladie.")


def test_case_1_bis_account_closed_gives_the_date_and_how_to_reactivate():
    assert for_error(errors.AccountClosed(on=date(2024, 4, 12))) == (
        "Votre compte a été désactivé le 12/04/2024.\n"
        "Si vous souhaitez le réactiver, cliquez sur le lien \"Créer un compte\" situé en bas de"
        " cet écran.\n"
        "Munissez-vous de votre carte vitale et de votre RIB.")


def test_case_2_code_expired_says_15_minutes():
    assert for_error(errors.CodeExpired()) == (
        "Le code de sécurité n'a pas été saisi dans les 15 minutes. Merci d'en demander un"
        " nouveau.")


def test_case_3_code_quota_gives_the_end_of_the_block_in_paris_winter_time():
    sentence = for_error(errors.CodeQuotaReached(until=utc(2023, 1, 5, 14, 5)))
    assert sentence == (
        "Le nombre maximum de demandes de code a été atteint. L'accès au service est bloqué"
        " jusqu'au 05/01/2023 - 15h05 (heure de Paris). À la fin du blocage, pensez à vérifier"
        " le dossier Spam ou Indésirable de votre boîte mail.")


def test_case_4_wrong_password_warns_of_the_lock_after_3_attempts():
    assert for_error(errors.WrongPassword()) == (
        "Le mot de passe saisi est incorrect. Merci de le vérifier.\n"
        "Attention: votre compte sera bloqué après 3 tentatives infructueuses.")


def test_case_5_wrong_code_warns_of_the_lock_after_3_attempts():
    assert for_error(errors.WrongCode()) == (
        "Le code de sécurité saisi est erroné. Merci de le vérifier.\n"
        "Attention: votre compte sera bloqué après 3 tentatives infructueuses.")


def test_case_6_code_locked_gives_the_end_of_the_lock():
    assert for_error(errors.CodeLocked(until=utc(2023, 1, 5, 13, 45))) == (
        "Les informations saisies sont erronées. L'accès au service est bloqué jusqu'au"
        " 05/01/2023 - 14h45 (heure de Paris).")


def test_case_7_password_locked_gives_the_long_date_and_points_to_forgotten_password():
    assert for_error(errors.PasswordLocked(until=utc(2023, 1, 4, 14, 47))) == (
        "Pour des raisons de sécurité, l'accès à votre compte ameli est bloqué jusqu'au mercredi"
        " 4 janvier 2023 15:47 (heure de Paris). Si vous n'êtes pas sûr de votre mot de passe,"
        " cliquez sur le lien « Mot de passe oublié ? » ci-dessous.")


def test_case_8_and_9_unattached_and_pending_sentences_are_the_seeds():
    assert for_error(errors.AccountUnattached()) == (
        "Une mise à jour de votre dossier est nécessaire pour accéder à votre compte. Merci de"
        " prendre contact avec votre caisse.")
    assert for_error(errors.AttachmentPending()) == (
        "Votre rattachement à votre caisse d'assurance maladie est en cours, vous pourrez bientôt"
        " bénéficier de votre compte ameli.")


def test_password_change_cas_1_quota_gives_the_comma_date_in_paris_summer_time():
    assert for_error(errors.ChangeCodeQuotaReached(until=utc(2023, 9, 16, 12, 32))) == (
        "Selon nos informations, vous avez déjà demandé 3 codes de confirmation et l'accès au"
        " service est bloqué jusqu'au 16/09/2023, 14h32 - heure de Paris.")


def test_password_change_cas_2_lock_gives_the_comma_date():
    assert for_error(errors.ChangeCodeLocked(until=utc(2025, 8, 2, 11, 37))) == (
        "Suite à un trop grand nombre d'actions infructueuses, l'accès au service est bloqué"
        " jusqu'au 02/08/2025, 13h37 - heure de Paris.")


def test_password_change_cas_3_recent_email_change_says_48_hours():
    assert for_error(errors.EmailRecentlyChanged()) == (
        "Une nouvelle adresse mail a été enregistrée dans votre compte ameli depuis moins de 48"
        " heures. Pour des raisons de sécurité, l'accès au changement de mot de passe de votre"
        " compte ameli est donc impossible pendant ce délai.")
    assert text("change_blocked_title") == (
        "Impossible de modifier le mot de passe de votre compte ameli")


def test_step_notices_are_the_seeds():
    assert text("code_needed") == (
        "Pour accéder à votre compte ameli, la saisie d'un code de sécurité est nécessaire.")
    assert text("code_will_go_to") == (
        "Ce code sera envoyé à l'adresse mail associée à votre compte :")
    assert text("no_access_to_mail") == (
        "Si vous n'avez plus accès à cette adresse mail, merci de contacter votre caisse"
        " d'assurance maladie.")
    assert text("remember_device_help") == (
        "Vous vous connectez avec votre appareil personnel (ordinateur, smartphone ou tablette)"
        " ? Cochez cette case pour ne plus saisir de code de sécurité pendant 6 mois.")
    assert text("new_code_sent") == (
        "Un nouveau code vient de vous être envoyé, merci de vérifier votre boîte e-mail, y"
        " compris dans le dossier SPAM ou indésirable avant de renouveler votre demande.")


# -- parameters ------------------------------------------------------------------------------

def test_nir_sentence_depends_on_the_reason():
    empty = for_error(errors.InvalidNir(reason="empty"))
    fmt = for_error(errors.InvalidNir(reason="format"))
    key = for_error(errors.InvalidNir(reason="key"))
    assert empty == "Veuillez saisir votre numéro de sécurité sociale."
    assert "13 chiffres, ou 15 avec la clé" in fmt
    assert "clé" in key and key != fmt
    assert text("nir_invalid") == fmt  # "format" when no reason is given


def test_attempts_given_by_the_caller_replace_the_default():
    assert "bloqué après 5 tentatives infructueuses" in text("wrong_password", attempts=5)
    assert "bloqué après 4 tentatives" in for_error(errors.WrongCode(), attempts=4)


def test_defaults_follow_the_running_apps_policy():
    app = flask.Flask(__name__)
    app.extensions["idp.policy"] = Policy(wrong_passwords_before_lock=4,
                                          code_ttl=timedelta(minutes=10))
    with app.app_context():
        assert "bloqué après 4 tentatives" in text("wrong_password")
        assert "dans les 10 minutes" in text("code_expired")


def test_password_rules_lists_each_label_given():
    sentence = text("password_rules", labels=["comporter entre 6 et 50 caractères",
                                              "contenir un chiffre ou un caractère spécial"])
    assert sentence == (
        "Votre nouveau mot de passe ne respecte pas les règles suivantes : comporter entre 6 et"
        " 50 caractères ; contenir un chiffre ou un caractère spécial.")


def test_password_rule_error_takes_its_labels_from_idp_passwords():
    sentence = for_error(errors.PasswordRuleBroken(rules=("digit_or_special", "length")))
    assert sentence.endswith(": contenir un chiffre ou un caractère spécial ; comporter entre 6"
                             " et 50 caractères.")


def test_as_html_keeps_the_templates_markup_and_escapes_all_else():
    from markupsafe import Markup
    strong = Markup("<strong data-strength>faible</strong>")
    assert messages.as_html("password_strength", level=strong) == (
        "Niveau indicatif de sécurité : <strong data-strength>faible</strong>")
    assert messages.as_html("password_strength", level="<b>x</b>") == (
        "Niveau indicatif de sécurité : &lt;b&gt;x&lt;/b&gt;")
    assert messages.as_html("brand_name") == "L&#39;Assurance Maladie"


def test_unknown_id_is_an_error_that_names_it():
    with pytest.raises(KeyError, match="no_such_sentence"):
        text("no_such_sentence")


# -- coverage of idp.errors ------------------------------------------------------------------

ERROR_CLASSES = [cls for _, cls in inspect.getmembers(errors, inspect.isclass)
                 if issubclass(cls, errors.IdpError)]
SAMPLES = {"until": utc(2023, 1, 5, 14, 5), "on": date(2024, 4, 12), "rules": ("length",),
           "reason": "key", "field": "nir"}


@pytest.mark.parametrize("cls", ERROR_CLASSES, ids=lambda c: c.__name__)
def test_every_domain_error_has_a_whole_french_sentence(cls):
    kwargs = ({f.name: SAMPLES[f.name] for f in dataclasses.fields(cls)}
              if dataclasses.is_dataclass(cls) else {})
    sentence = for_error(cls(**kwargs))
    assert sentence and "{" not in sentence and "}" not in sentence
    assert sentence.endswith(".")


def test_error_classes_were_found():
    assert len(ERROR_CLASSES) > 20


def test_every_template_formats_with_its_parameters():
    samples = {**SAMPLES, "labels": ["a", "b"], "attempts": 3, "minutes": 15, "hours": 48,
               "count": 3,
               # issues 13.4 and 13.5: the consent page's service, a device's name and date
               "client": "Service partenaire", "browser": "Chrome", "system": "Linux",
               "name": "Chrome sur Linux", "since": utc(2023, 12, 1, 23, 6),
               "min_length": 6, "max_length": 50,
               # issue 12: the provisional code's SMS
               "code": "12345678", "ttl_text": "30 jours",
               # issue 13.8: the demo portal
               "email": "valerie.martin@yopmail.fr",
               # issue 12: the templates' own words (pages and mails)
               "request_id": "3f2a", "level": "faible", "changed_at": "vendredi 06 juin 2025",
               "linked_at": "06/06/2025 à 14:27",
               # issue 13.3: "Mes informations", the last login and an IBAN's last digits
               "at": utc(2021, 6, 29, 12, 16), "end": "0143",
               # issue 14: the passkey's validity, in the seed's months
               "validity": "6 mois",
               # issue 14: the demo portal's biometrics page, the provider's two addresses
               "url": "http://localhost:5000", "ip_url": "http://127.0.0.1:5000"}
    for message_id, template in messages.MESSAGES.items():
        names = {name for _, name, _, _ in string.Formatter().parse(template) if name}
        base = message_id.split(".")[0]
        assert text(base, **{n: samples[n] for n in names}, reason=message_id.partition(".")[2]
                    or None)


# -- Paris time -------------------------------------------------------------------------------

def test_formats_print_exactly_as_the_seeds():
    assert fmt_dash(utc(2023, 1, 5, 14, 5)) == "05/01/2023 - 15h05"
    assert fmt_long(utc(2023, 1, 4, 14, 47)) == "mercredi 4 janvier 2023 15:47"
    assert fmt_comma(utc(2023, 9, 16, 12, 32)) == "16/09/2023, 14h32"
    assert fmt_changed(utc(2025, 6, 6, 12, 27)) == "vendredi 06 juin 2025 à 14:27"
    assert fmt_date(date(2024, 4, 12)) == "12/04/2024"
    assert fmt_last_login(utc(2021, 6, 29, 12, 16)) == "29/06/2021 à 14:16"


def test_winter_is_utc_plus_one_and_summer_utc_plus_two():
    assert fmt_dash(utc(2024, 1, 15, 12, 0)) == "15/01/2024 - 13h00"
    assert fmt_dash(utc(2024, 7, 15, 12, 0)) == "15/07/2024 - 14h00"


def test_the_clock_change_nights_are_followed():
    # last Sunday of March 2024: 01:00 UTC, Paris goes from 02:00 (CET) to 03:00 (CEST)
    assert fmt_last_login(utc(2024, 3, 31, 0, 59)) == "31/03/2024 à 01:59"
    assert fmt_last_login(utc(2024, 3, 31, 1, 0)) == "31/03/2024 à 03:00"
    # last Sunday of October 2024: 01:00 UTC, Paris goes back from 03:00 to 02:00
    assert fmt_last_login(utc(2024, 10, 27, 0, 59)) == "27/10/2024 à 02:59"
    assert fmt_last_login(utc(2024, 10, 27, 1, 0)) == "27/10/2024 à 02:00"


def test_a_late_utc_evening_is_already_the_next_day_in_paris():
    new_year = utc(2023, 12, 31, 23, 30)
    assert fmt_date(new_year) == "01/01/2024"
    assert fmt_long(new_year) == "lundi 1 janvier 2024 00:30"
    assert fmt_changed(utc(2024, 7, 14, 22, 30)) == "lundi 15 juillet 2024 à 00:30"


def test_a_naive_datetime_is_taken_as_utc():
    assert fmt_dash(datetime(2023, 1, 5, 14, 5)) == "05/01/2023 - 15h05"


def test_day_and_month_names_are_french_with_accents():
    assert fmt_long(utc(2023, 2, 12, 10, 0)) == "dimanche 12 février 2023 11:00"
    assert fmt_long(utc(2023, 8, 15, 10, 0)) == "mardi 15 août 2023 12:00"
    assert fmt_changed(utc(2023, 12, 2, 10, 0)) == "samedi 02 décembre 2023 à 11:00"


def test_duration_text_uses_the_largest_exact_unit():
    assert messages.duration_text(timedelta(minutes=15)) == "15 minutes"
    assert messages.duration_text(timedelta(hours=1)) == "1 heure"
    assert messages.duration_text(timedelta(days=7)) == "7 jours"
    assert messages.duration_text(timedelta(minutes=90)) == "90 minutes"


# -- masked address ---------------------------------------------------------------------------

@pytest.mark.parametrize("address, masked", [
    ("victor@yahoo.fr", "v***@y***.fr"),
    ("jean.dupont@gmail.com", "j***@g***.com"),
    ("a@b.co.uk", "a***@b***.uk"),
    ("  Anne@Gmail.com ", "A***@G***.com"),
    ("root@localhost", "r***@l***"),
])
def test_mask_email_keeps_first_letters_and_top_level_domain(address, masked):
    assert mask_email(address) == masked


def test_the_passkeys_validity_is_said_in_the_seeds_months_from_the_policy():
    from datetime import timedelta

    from idp.policy import Policy
    assert messages.months_text(Policy().biometric_validity) == "6 mois"
    assert messages.months_text(timedelta(days=30)) == "1 mois"
    assert messages.months_text(timedelta(days=10)) == "10 jours"
    assert "valable 6 mois" in text("passkey_expired")
    assert "pendant 6 mois" in text("passkey_offer_text")
    assert "valable 3 mois" in text("passkey_expired", validity=messages.months_text(
        timedelta(days=91)))
