"""Every French sentence a person sees, by id, and the Paris-time formats they print; their
English is in the catalogue of ``idp.i18n`` (issue 13.7), chosen by the page's language.

Source: seed 004 (web login, cases 1 to 9; password change, "Cas d'échecs"; step pages and
mails), seed 003 ("Dernière connexion le …"), seed 002 (validation link "7 jours"). Sentences
the seeds do not give are worded here in their tone (short, formal "vous").

Each template is a whole sentence (or the seed's whole block) with named placeholders, ready
for gettext: nothing is assembled from fragments. A placeholder may carry a format spec that
names one of the formats below, e.g. ``{until:dash}``; ``{labels:list}`` joins a list.
Where the seed breaks a notice into lines (cases 1 bis, 4, 5) the template keeps a ``\\n``;
pages render it as a line break (CSS ``white-space: pre-line``) or as a space.

Numbers that come from the policy (3 attempts, 15 minutes, 48 hours) are parameters; when
the caller does not pass them they are read from the running app's policy, else from the
``Policy`` defaults (which are the seeds' values).

Times are stored in UTC (``idp.clock``); Paris time is for display only, here.
"""

from __future__ import annotations

import dataclasses
import re
import string
from collections.abc import Iterable
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from flask import current_app, has_app_context
from markupsafe import Markup, escape

from idp import i18n
from idp.errors import IdpError
from idp.policy import Policy

PARIS = ZoneInfo("Europe/Paris")

DAYS = ("lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi", "dimanche")
MONTHS = ("janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août",
          "septembre", "octobre", "novembre", "décembre")
# English (issue 13.7): the same instants on the same Paris clock, in British order.
DAYS_EN = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
MONTHS_EN = ("January", "February", "March", "April", "May", "June", "July", "August",
             "September", "October", "November", "December")


def _english() -> bool:
    return i18n.language() == "en"


# -- Paris time ------------------------------------------------------------------------------

def to_paris(dt: datetime) -> datetime:
    """The same instant on a Paris wall clock. A naive datetime is taken as UTC."""
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return dt.astimezone(PARIS)


def fmt_dash(dt: datetime) -> str:
    """"05/01/2023 - 15h05" (seed 004, cases 3 and 6)."""
    p = to_paris(dt)
    if _english():
        return f"{p:%d/%m/%Y} at {p:%H:%M}"                    # "05/01/2023 at 15:05"
    return f"{p:%d/%m/%Y} - {p:%H}h{p:%M}"


def fmt_long(dt: datetime) -> str:
    """"mercredi 4 janvier 2023 15:47" (seed 004, case 7: day of month without zero)."""
    p = to_paris(dt)
    if _english():                                  # "Wednesday 4 January 2023 15:47"
        return f"{DAYS_EN[p.weekday()]} {p.day} {MONTHS_EN[p.month - 1]} {p.year} {p:%H:%M}"
    return f"{DAYS[p.weekday()]} {p.day} {MONTHS[p.month - 1]} {p.year} {p:%H:%M}"


def fmt_comma(dt: datetime) -> str:
    """"16/09/2023, 14h32" (seed 004, password change, cas 1 and 2)."""
    p = to_paris(dt)
    if _english():
        return f"{p:%d/%m/%Y}, {p:%H:%M}"                      # "16/09/2023, 14:32"
    return f"{p:%d/%m/%Y}, {p:%H}h{p:%M}"


def fmt_changed(dt: datetime) -> str:
    """"vendredi 06 juin 2025 à 14:27" (seed 004, password-changed mail: day with zero)."""
    p = to_paris(dt)
    if _english():                                  # "Friday 06 June 2025 at 14:27"
        return f"{DAYS_EN[p.weekday()]} {p:%d} {MONTHS_EN[p.month - 1]} {p.year} at {p:%H:%M}"
    return f"{DAYS[p.weekday()]} {p:%d} {MONTHS[p.month - 1]} {p.year} à {p:%H:%M}"


def fmt_date(d: date | datetime) -> str:
    """"12/04/2024" (seed 004, case 1 bis). A datetime is first put on Paris time."""
    if isinstance(d, datetime):
        d = to_paris(d)
    return f"{d:%d/%m/%Y}"


def fmt_last_login(dt: datetime) -> str:
    """"29/06/2021 à 14:16" (seed 003, "Dernière connexion le …")."""
    p = to_paris(dt)
    return f"{p:%d/%m/%Y} {'at' if _english() else 'à'} {p:%H:%M}"   # "29/06/2021 at 14:16"


def duration_text(delta: timedelta) -> str:
    """A policy delay in words for a mail ("15 minutes", "1 heure", "7 jours"): the largest
    unit that divides it exactly."""
    seconds = int(delta.total_seconds())
    units = _UNITS_EN if _english() else _UNITS
    for size, one, many in units[:3]:
        if seconds >= size and seconds % size == 0:
            n = seconds // size
            return f"{n} {one if n == 1 else many}"
    return f"{seconds} {units[3]}"


_UNITS = ((86400, "jour", "jours"), (3600, "heure", "heures"), (60, "minute", "minutes"),
          "secondes")
_UNITS_EN = ((86400, "day", "days"), (3600, "hour", "hours"), (60, "minute", "minutes"),
             "seconds")


def months_text(delta: timedelta) -> str:
    """A long policy delay in the seeds' months ("6 mois" for the 183 days of
    ``Policy.biometric_validity``) when it is within three days of whole months of 30.44
    days (the Gregorian mean), else in ``duration_text``'s words."""
    days = delta.total_seconds() / 86400
    months = round(days / 30.44)
    if months >= 1 and abs(days - months * 30.44) <= 3:
        if _english():
            return f"{months} month{'s' if months > 1 else ''}"
        return f"{months} mois"
    return duration_text(delta)


FORMATS = {"dash": fmt_dash, "long": fmt_long, "comma": fmt_comma, "changed": fmt_changed,
           "date": fmt_date, "last_login": fmt_last_login}


# -- the sentences --------------------------------------------------------------------------

MESSAGES: dict[str, str] = {
    # input
    "nir_invalid.empty": "Veuillez saisir votre numéro de sécurité sociale.",
    "nir_invalid.format": "Le numéro de sécurité sociale doit comporter 13 chiffres, ou 15 avec"
                          " la clé. Merci de vérifier votre saisie.",
    "nir_invalid.key": "La clé saisie ne correspond pas à votre numéro de sécurité sociale."
                       " Merci de vérifier votre saisie.",
    "field_required": "Ce champ est obligatoire.",
    "password_rules": "Votre nouveau mot de passe ne respecte pas les règles suivantes :"
                      " {labels:list}.",

    # login, seed 004 web, cases 1 to 9
    "no_email": "Un code de sécurité envoyé par mail est nécessaire pour vous connecter. Or,"
                " vous n'avez pas d'adresse mail renseignée dans votre compte. Merci de"
                " contacter votre caisse d'assurance maladie.",
    "account_closed": "Votre compte a été désactivé le {on:date}.\n"
                      "Si vous souhaitez le réactiver, cliquez sur le lien \"Créer un compte\""
                      " situé en bas de cet écran.\n"
                      "Munissez-vous de votre carte vitale et de votre RIB.",
    "code_expired": "Le code de sécurité n'a pas été saisi dans les {minutes} minutes. Merci"
                    " d'en demander un nouveau.",
    "code_quota": "Le nombre maximum de demandes de code a été atteint. L'accès au service est"
                  " bloqué jusqu'au {until:dash} (heure de Paris). À la fin du blocage, pensez"
                  " à vérifier le dossier Spam ou Indésirable de votre boîte mail.",
    "wrong_password": "Le mot de passe saisi est incorrect. Merci de le vérifier.\n"
                      "Attention: votre compte sera bloqué après {attempts} tentatives"
                      " infructueuses.",
    "wrong_code": "Le code de sécurité saisi est erroné. Merci de le vérifier.\n"
                  "Attention: votre compte sera bloqué après {attempts} tentatives"
                  " infructueuses.",
    "code_locked": "Les informations saisies sont erronées. L'accès au service est bloqué"
                   " jusqu'au {until:dash} (heure de Paris).",
    "password_locked": "Pour des raisons de sécurité, l'accès à votre compte ameli est bloqué"
                       " jusqu'au {until:long} (heure de Paris). Si vous n'êtes pas sûr de"
                       " votre mot de passe, cliquez sur le lien « Mot de passe oublié ? »"
                       " ci-dessous.",
    "account_unattached": "Une mise à jour de votre dossier est nécessaire pour accéder à votre"
                          " compte. Merci de prendre contact avec votre caisse.",
    "attachment_pending": "Votre rattachement à votre caisse d'assurance maladie est en cours,"
                          " vous pourrez bientôt bénéficier de votre compte ameli.",
    "mail_not_sent": "Le mail contenant votre code de sécurité n'a pas pu être envoyé. Aucune"
                     " demande n'a été décomptée : merci de réessayer dans quelques instants.",
    "flow_out_of_step": "Cette étape de votre demande a déjà été traitée. Merci de poursuivre"
                        " à partir de cette page.",
    "flow_expired": "Votre demande de connexion a expiré. Merci de recommencer.",

    # login, seed 004 web, steps 1 to 3 and the app's notice after a resend
    "code_needed": "Pour accéder à votre compte ameli, la saisie d'un code de sécurité est"
                   " nécessaire.",
    "code_will_go_to": "Ce code sera envoyé à l'adresse mail associée à votre compte :",
    "no_access_to_mail": "Si vous n'avez plus accès à cette adresse mail, merci de contacter"
                         " votre caisse d'assurance maladie.",
    "new_code_sent": "Un nouveau code vient de vous être envoyé, merci de vérifier votre boîte"
                     " e-mail, y compris dans le dossier SPAM ou indésirable avant de renouveler"
                     " votre demande.",
    "remember_device_help": "Vous vous connectez avec votre appareil personnel (ordinateur,"
                            " smartphone ou tablette) ? Cochez cette case pour ne plus saisir"
                            " de code de sécurité pendant 6 mois.",
    # ... and their help (issue 13.2): ``[words](name)`` is a link, see ``with_links``
    "help_needed": "Besoin d'aide ? Consultez notre tuto [YouTube](video) ou notre article"
                   " sur [ameli.fr](article).",
    "code_not_received": "Vous n'avez pas reçu ce code, vérifiez :",
    "check_nir": "la saisie de votre n° de sécurité sociale,",
    "check_password": "l'exactitude de votre mot de passe,",          # cases 4 and 5
    "check_spam": "votre dossier Spam ou Indésirable.",
    "help_still_stuck": "Vous n'arrivez toujours pas à vous connecter ? Consultez notre tuto"
                        " [YouTube](video) ou notre article sur [ameli.fr](article).",
    "help_click_here": "Vous n'arrivez toujours pas à vous connecter ?"           # cases 4, 5
                       " [Cliquez ici.](article)",
    "send_code_button": "Cliquez pour recevoir un code de sécurité",
    "send_new_code_button": "Recevoir un nouveau code de sécurité",
    "no_code_link": "Je n'ai pas de code ou j'ai perdu mon code",     # seed 003, step 5

    # password change, seed 004 "Changement de mot de passe", cas d'échecs
    "change_blocked_title": "Impossible de modifier le mot de passe de votre compte ameli",
    "change_code_needed": "La saisie d'un code de confirmation est nécessaire pour sécuriser le"
                          " changement de mot de passe de votre compte ameli.",
    "change_code_quota": "Selon nos informations, vous avez déjà demandé {count} codes de"
                         " confirmation et l'accès au service est bloqué jusqu'au"
                         " {until:comma} - heure de Paris.",
    "change_code_locked": "Suite à un trop grand nombre d'actions infructueuses, l'accès au"
                          " service est bloqué jusqu'au {until:comma} - heure de Paris.",
    "email_recently_changed": "Une nouvelle adresse mail a été enregistrée dans votre compte"
                              " ameli depuis moins de {hours} heures. Pour des raisons de"
                              " sécurité, l'accès au changement de mot de passe de votre compte"
                              " ameli est donc impossible pendant ce délai.",
    "email_recently_changed_reset": "Une nouvelle adresse mail a été enregistrée dans votre"
                                    " compte ameli depuis moins de {hours} heures. Pour des"
                                    " raisons de sécurité, la réinitialisation du mot de passe"
                                    " de votre compte ameli est donc impossible pendant ce"
                                    " délai.",
    "wrong_change_code": "Le code de confirmation saisi est erroné. Merci de le vérifier.\n"
                         "Attention: l'accès au service sera bloqué après {attempts} tentatives"
                         " infructueuses.",
    "change_code_expired": "Le code de confirmation n'a pas été saisi dans les {minutes}"
                           " minutes. Merci de cliquer sur « Renvoyer le code par mail » pour"
                           " en obtenir un nouveau.",

    # pages of our own (sessions, CSRF, rate limits, faults)
    "session_cookie_reset": "Votre session a été réinitialisée. Merci de vous reconnecter.",
    "csrf_failed": "La page a expiré. Merci de recommencer.",
    "too_many_requests": "Vous avez effectué trop de demandes en peu de temps. Merci de"
                         " patienter quelques instants avant de réessayer.",
    "rate_limit_unavailable": "Pour des raisons de sécurité, le service est momentanément"
                              " indisponible. Merci de réessayer dans quelques instants.",
    "service_unavailable": "Le service est momentanément indisponible. Merci de réessayer dans"
                           " quelques instants.",
    "generic": "Une erreur est survenue. Merci de réessayer dans quelques instants.",
    # -- pages of the protocol and the site
    "unknown_client": "Le service qui vous a dirigé ici n'est pas reconnu. Merci de revenir sur"
                      " le site de ce service et de recommencer.",
    "bad_redirect_uri": "L'adresse de retour demandée par le service n'est pas enregistrée."
                        " Pour votre sécurité, la connexion ne peut pas continuer.",
    "invalid_request": "La demande de connexion est incomplète ou incorrecte. Merci de revenir"
                       " sur le site du service et de recommencer.",
    "interaction_expired": "Votre demande de connexion a expiré ou a déjà été utilisée. Merci"
                           " de revenir sur le site du service et de recommencer.",
    "untrusted_host": "L'adresse utilisée pour joindre le service n'est pas la sienne. Merci"
                      " d'utiliser l'adresse officielle de votre compte ameli.",
    "interaction_other_browser": "Cette demande de connexion a été commencée dans un autre"
                                 " navigateur. Pour votre sécurité, elle ne peut pas continuer"
                                 " ici : merci de revenir sur le site du service et de"
                                 " recommencer.",
    "logout_bad_hint": "La demande de déconnexion n'a pas pu être vérifiée.",
    "logout_bad_redirect": "L'adresse de retour après déconnexion n'est pas enregistrée pour"
                           " ce service.",
    "logged_out": "Vous êtes déconnecté de votre compte ameli.",
    "logout_confirm": "Souhaitez-vous vous déconnecter de votre compte ameli ?",   # issue 11.10
    # the consent page: what the service will receive, claim by claim (issue 11.8)
    "consent_claim_name": "Vos prénoms et nom",
    "consent_claim_given_name": "Vos prénoms",
    "consent_claim_family_name": "Votre nom de famille",
    "consent_claim_preferred_username": "Votre nom d'usage",
    "consent_claim_birthdate": "Votre date de naissance",
    "consent_claim_gender": "Votre sexe",
    "consent_claim_birthplace": "Votre lieu de naissance",
    "consent_claim_birthcountry": "Votre pays de naissance",
    "consent_claim_email": "Votre adresse mail",
    # ... the page around them (issue 13.4)
    "consent_title": "Autoriser le partage de vos informations",
    "consent_intro": "Le service « {client} » souhaite recevoir les informations suivantes de"
                     " votre compte ameli :",
    "consent_claim_sub": "Un identifiant qui vous désigne auprès de ce service (ce n'est pas"
                         " votre numéro de sécurité sociale)",
    "consent_note": "Si vous refusez, vous revenez sur ce service sans qu'aucune de ces"
                    " informations ne lui soit transmise.",
    "not_found": "La page demandée n'existe pas.",
    # the rules of a new password, seed 000 word for word ("Votre mot de passe doit : …")
    "rule_length": "comporter entre {min_length} et {max_length} caractères",
    "rule_case": "contenir des caractères latins minuscules et majuscules",
    "rule_digit_or_special": "contenir un chiffre ou un caractère spécial",
    "rule_allowed": "ne contenir que des caractères autorisés",
    "rule_no_personal": "ne pas contenir votre n° de sécurité sociale, votre date de"
                                 " naissance ou une partie de celle-ci",
    # Seed 000 says "code personnel", the old name; the pages and seed 004 say "mot de passe".
    "rule_different": "être différent de votre mot de passe actuel",
    "rule_confirmation": "être saisi deux fois à l'identique",
    "server_error": "Une erreur est survenue de notre côté. Merci de réessayer dans quelques"
                    " instants.",
}

# Ids whose sentence depends on one parameter: ``text("nir_invalid", reason="key")`` reads
# "nir_invalid.key". The value given names the whole sentence, never a fragment of one.
VARIANTS: dict[str, tuple[str, str]] = {"nir_invalid": ("reason", "format")}

# Parameters taken from the policy when the caller does not give them.
_POLICY_DEFAULTS = {
    "code_expired": {"minutes": lambda p: _minutes(p.code_ttl)},
    "wrong_password": {"attempts": lambda p: p.wrong_passwords_before_lock},
    "wrong_code": {"attempts": lambda p: p.wrong_codes_before_lock},
    "change_code_quota": {"count": lambda p: p.change_code_quota},
    "email_recently_changed": {
        "hours": lambda p: int(p.password_change_after_email_change.total_seconds() // 3600)},
    "email_recently_changed_reset": {
        "hours": lambda p: int(p.password_reset_after_email_change.total_seconds() // 3600)},
    "wrong_change_code": {"attempts": lambda p: p.wrong_change_codes_before_lock},
    "change_code_expired": {"minutes": lambda p: _minutes(p.change_code_ttl)},
    "activation_refused": {"attempts": lambda p: p.provisional_code_attempts},
    "passkey_expired": {"validity": lambda p: months_text(p.biometric_validity)},
    "passkey_offer_text": {"validity": lambda p: months_text(p.biometric_validity)},
    "portal_biometrics_intro": {"validity": lambda p: months_text(p.biometric_validity)},
    "portal_biometrics_end": {"validity": lambda p: months_text(p.biometric_validity)},
}

MESSAGES.update({
    # FranceConnect as our upstream provider (issue 5, idp.flows.franceconnect)
    "fc_unavailable": "FranceConnect n'est pas disponible pour le moment. Vous pouvez vous"
                      " connecter avec votre numéro de sécurité sociale et votre mot de passe.",
    "fc_invalid_token": "La réponse de FranceConnect n'a pas pu être vérifiée. Par sécurité, la"
                        " connexion n'a pas abouti. Vous pouvez réessayer ou vous connecter avec"
                        " votre numéro de sécurité sociale et votre mot de passe.",
    "fc_low_acr": "Le niveau de sécurité de la connexion FranceConnect est insuffisant pour"
                  " accéder à votre compte ameli. Vous pouvez vous connecter avec votre numéro"
                  " de sécurité sociale et votre mot de passe.",
    "fc_state_mismatch": "La connexion avec FranceConnect n'a pas pu être vérifiée (demande"
                         " inconnue ou expirée). Merci de recommencer depuis la page de"
                         " connexion.",
    "fc_cancelled": "La connexion avec FranceConnect a été annulée. Vous pouvez vous connecter"
                    " avec votre numéro de sécurité sociale et votre mot de passe.",
    "fc_no_match": "Nous n'avons pas retrouvé automatiquement votre compte ameli à partir de"
                   " votre identité FranceConnect.",
    "fc_ambiguous": "Votre identité FranceConnect correspond à plusieurs assurés : nous ne"
                    " pouvons pas retrouver votre compte ameli automatiquement.",
    "fc_no_account": "Votre identité FranceConnect ne correspond à aucun compte ameli actif que"
                     " nous puissions relier automatiquement.",
    "fc_link_intro": "Pour relier votre identité FranceConnect à votre compte ameli, connectez-"
                     "vous une seule fois avec votre numéro de sécurité sociale et votre mot de"
                     " passe. Ensuite, FranceConnect suffira.",
    "fc_link_expired": "La connexion avec FranceConnect a expiré. Merci de recommencer depuis"
                       " la page de connexion.",
    "fc_already_linked": "Ce compte ameli est déjà relié à une autre identité FranceConnect."
                         " Merci de contacter votre caisse d'assurance maladie.",
    "fc_logout_state": "Vous êtes déconnecté de votre compte ameli, mais la déconnexion de"
                       " FranceConnect n'a pas pu être vérifiée. Fermez votre navigateur pour"
                       " terminer la déconnexion.",
    # linking by a local login (issue 11.1)
    "fc_identity_mismatch": "L'identité transmise par FranceConnect ne correspond pas à celle"
                            " connue de l'Assurance Maladie pour ce compte ameli. Pour des"
                            " raisons de sécurité, votre identité FranceConnect ne peut pas être"
                            " reliée à ce compte. Merci de contacter votre caisse d'assurance"
                            " maladie.",
    "fc_link_code": "Pour relier votre identité FranceConnect à votre compte ameli, la saisie"
                    " d'un code de sécurité est nécessaire.",
    "fc_linked_info": "Votre compte ameli est relié à une identité FranceConnect : vous pouvez"
                      " vous connecter avec FranceConnect.",
    "fc_not_linked_info": "Votre compte ameli n'est relié à aucune identité FranceConnect.",
    "fc_unlinked": "Votre compte ameli n'est plus relié à FranceConnect. Pour vous connecter"
                   " avec FranceConnect, il faudra à nouveau relier votre compte.",
})


MESSAGES.update({
    # the account's life (issue 4): creation, activation, reset, the account page
    "registration_requested": "Votre demande a bien été prise en compte. Si les informations"
                              " saisies correspondent à celles connues de l'Assurance Maladie,"
                              " vous allez recevoir un code provisoire par mail ou, à défaut,"
                              " par courrier postal.",
    "birthdate_invalid": "La date de naissance doit être saisie au format JJ/MM/AAAA.",
    "postal_code_invalid": "Le code postal doit comporter 5 chiffres.",
    "activation_refused": "Les informations saisies ne permettent pas d'activer un compte ameli."
                          " Merci de les vérifier.\nAttention: l'accès au service sera bloqué"
                          " après {attempts} tentatives infructueuses.",
    "activation_proof_needed": "Merci de saisir votre code provisoire, ou le numéro de série de"
                               " votre carte Vitale et votre IBAN.",
    "activation_expired": "Votre demande d'activation a expiré. Merci de recommencer.",
    "terms_required": "Vous devez accepter les conditions générales d'utilisation pour créer"
                      " votre compte.",
    "email_invalid": "L'adresse mail saisie n'est pas valide. Merci de la vérifier.",
    "email_taken": "Cette adresse mail est déjà utilisée pour un autre compte ameli. L'adresse"
                   " mail doit être unique et personnelle.",
    "mobile_invalid": "Le numéro de téléphone portable doit comporter 10 chiffres et commencer"
                      " par 06 ou 07.",
    "account_created": "Votre compte ameli est créé. Cliquez sur le lien de validation envoyé à"
                       " votre adresse mail (attention, sa validité est limitée), puis"
                       " connectez-vous avec votre nouveau mot de passe.",
    "email_validated": "Votre adresse mail est validée. Vous pouvez vous connecter à votre"
                       " compte ameli.",
    "link_invalid": "Ce lien n'est plus valable : il a expiré ou a déjà été utilisé. Merci de"
                    " renouveler votre demande.",
    "sms_provisional_code": "ameli : votre code provisoire est {code}. Il est valable"
                            " {ttl_text}. Ne le communiquez à personne.",
    # titles and links of the account journeys' pages (issue 12)
    "title_register": "Créer un compte",
    "title_activate": "Activer mon compte ameli",
    "title_account_created": "Votre compte ameli est créé",
    "title_email_validation": "Validation de votre adresse mail",
    "title_forgot": "Mot de passe oublié ?",
    "title_change_password": "Modifier votre mot de passe",
    "title_close_account": "Résilier mon compte ameli",
    "link_to_login": "J'accède à mon compte ameli",
    "link_no_code": "Je n'ai pas de code ou j'ai perdu mon code",
    "link_restart": "Recommencer",
    "link_forgot": "Mot de passe oublié ?",
    "link_back": "Retour",
    "link_my_information": "Mes informations",
    "reset_requested": "Si les informations saisies correspondent à un compte ameli, un mail"
                       " contenant un lien sécurisé vient d'être envoyé à l'adresse mail de ce"
                       " compte.",
    "password_reset_done": "Votre mot de passe a été modifié. Vous pouvez vous connecter à"
                           " votre compte ameli avec votre nouveau mot de passe.",
    "password_changed_done": "Votre mot de passe a été modifié. Un mail de confirmation vous a"
                             " été envoyé.",
    "change_code_sent_to": "Indiquez ci-dessous le code qui vous a été envoyé par mail à"
                           " l'adresse suivante",
    "email_change_sent": "Un lien de validation a été envoyé à votre nouvelle adresse mail."
                         " Elle remplacera l'adresse actuelle une fois ce lien utilisé.",
    "contact_saved": "Vos coordonnées ont été enregistrées.",
    "device_revoked": "Cet appareil n'est plus reconnu : un code de sécurité sera demandé à la"
                      " prochaine connexion depuis cet appareil.",
    # trusted devices in words (issue 13.5)
    "device_label": "{browser} sur {system}",
    "device_unknown": "Appareil",
    "device_since": "{name} — depuis le {since:date}",
    "devices_forgotten": "Les appareils dont vous aviez demandé qu'ils soient reconnus ont été"
                         " oubliés : un code de sécurité sera demandé à la prochaine connexion"
                         " depuis chacun d'eux.",
    "account_closed_done": "Votre compte ameli a été résilié le {on:date}.",
    "close_confirm_required": "Merci de cocher la case pour confirmer la résiliation de votre"
                              " compte ameli.",
})


# -- account page: Mes informations --
MESSAGES.update({
    # seed 000, step 0 and step 1 (issue 13.3): the page's headings, its rows as the seed
    # names them, what the registry holds for the person and the words for what it lacks.
    "info_title": "Mes informations",
    "info_last_login": "Dernière connexion le {at:last_login}",
    "info_rights_title": "Mes droits",
    "info_contact_title": "Mes coordonnées",
    "info_name": "Nom",
    "info_nir": "Numéro de sécurité sociale",
    "info_fund": "Caisse d'assurance maladie",
    "info_no_fund": "Aucune caisse d'assurance maladie.",
    "info_rights": "Droits à l'assurance maladie",
    "info_rights_open": "Vos droits sont ouverts jusqu'au {on:date}.",
    "info_rights_ended": "Vos droits ont pris fin le {on:date}. Merci de contacter votre caisse"
                         " d'assurance maladie.",
    "info_rights_unknown": "Aucune information sur vos droits n'est disponible. Merci de"
                           " contacter votre caisse d'assurance maladie.",
    "info_complementary": "Organisme complémentaire",
    "info_no_complementary": "Aucun organisme complémentaire déclaré.",
    "info_doctor": "Médecin traitant",
    "info_no_doctor": "Aucun médecin traitant déclaré.",
    "info_ceam": "Carte Européenne d'Assurance Maladie",
    "info_ceam_valid": "Carte valable jusqu'au {on:date}.",
    "info_no_ceam": "Aucune carte CEAM en cours de validité.",                  # seed 000
    "info_bank": "Coordonnées bancaires",
    "info_iban_end": "IBAN se terminant par {end}",
    "info_no_iban": "Aucun RIB enregistré.",
    "info_address": "Adresse postale",
    "info_no_address": "Aucune adresse postale enregistrée.",
    "info_email": "Email",
    "info_email_unverified": "{email} (non validée)",
    "info_email_pending": "Nouvelle adresse en attente de validation : {email}",
    "info_no_email": "Aucune adresse mail enregistrée.",
    "info_mobile": "Téléphone portable",
    "info_landline": "Téléphone fixe",
    "info_no_landline": "Aucun numéro enregistré.",
    "info_add": "Ajouter",                                                      # seed 000
    "info_add_mobile": "Ajouter un numéro de téléphone portable",
    "info_contacts": "Autorisations de contact",
    "info_channel_email": "Email",
    "info_channel_mobile": "Téléphone portable",
    "info_channel_sms": "SMS",
    "info_no_contacts": "Aucune",
    # the page's forms and sections
    "info_email_form_title": "Modifier mon adresse mail",
    "info_new_email": "Nouvelle adresse mail",
    "info_current_password": "Mon mot de passe actuel",
    "info_save": "Enregistrer",
    "info_contact_form_title": "Modifier mes coordonnées",
    "info_devices_title": "Appareils de confiance",
    "info_forget_device": "Ne plus reconnaître cet appareil",
    "info_no_devices": "Aucun appareil.",
    "info_fc_title": "FranceConnect",
    "info_fc_unlink": "Supprimer le lien avec FranceConnect",
    "info_settings_title": "Paramètres de compte",
    "info_my_password": "Mon mot de passe",
    "info_close": "Résilier mon compte ameli",
    "info_logout": "Me déconnecter",
    # the demo portal's tab pages (idp.demo.portal), which the tabs above lead to
    "portal_demo_data": "Les informations de cette rubrique sont des exemples du portail de"
                        " démonstration.",
    "portal_payments_title": "Mes derniers paiements",
    "portal_payment_date": "Date",
    "portal_payment_what": "Description",
    "portal_payment_amount": "Montant",
    "portal_payment_third_party": "Paiement à un tiers",
    "portal_payment_care": "Remboursement de soins",
    "portal_procedures_title": "Mes démarches en 2 clics",
    "portal_procedure_rights": "Attestation de droits",
    "portal_procedure_daily": "Attestation de paiement d'indemnités journalières",
    "portal_procedure_ceam": "Carte européenne d'assurance maladie (CEAM)",
    "portal_prevention_title": "Repères Prévention",
    "portal_prevention_text": "Dépistage, vaccination, offre de prévention... À tout âge, un"
                              " conseil santé.",
})


MESSAGES.update({
    # issue 13.6: accessibility beyond axe. The password rules' state in words (read out by
    # screen readers, visually hidden); the footer a public service must have and its pages.
    "password_rule_met": "respectée",
    "password_rule_unmet": "non respectée",
    "footer_accessibility": "Accessibilité : partiellement conforme",
    "footer_legal": "Mentions légales",
    "footer_privacy": "Données personnelles",
    "public_full_text": "Consulter le texte complet sur ameli.fr",
    "public_accessibility_title": "Déclaration d'accessibilité",
    "public_accessibility_body": "L'Assurance Maladie s'engage à rendre ses services en ligne"
                                 " accessibles, conformément à l'article 47 de la loi n° 2005-102"
                                 " du 11 février 2005.\n\nLes pages de connexion au compte ameli"
                                 " sont partiellement conformes au référentiel général"
                                 " d'amélioration de l'accessibilité (RGAA) : elles sont testées"
                                 " au clavier, avec un lecteur d'écran et à 360 pixels de large,"
                                 " sans audit complet à ce jour.\n\nSi vous ne pouvez pas accéder"
                                 " à un contenu ou à un service, contactez votre caisse"
                                 " d'assurance maladie pour être orienté vers une alternative"
                                 " accessible. Si vous n'obtenez pas de réponse, vous pouvez"
                                 " saisir le Défenseur des droits.",
    "public_legal_title": "Mentions légales",
    "public_legal_body": "Le compte ameli est un service de l'Assurance Maladie, Caisse"
                         " nationale de l'Assurance Maladie (Cnam), 50 avenue du Professeur"
                         " André Lemierre, 75986 Paris Cedex 20.\n\nLe directeur de la"
                         " publication est le directeur général de la Cnam.",
    "public_privacy_title": "Données personnelles",
    "public_privacy_body": "Pour vous connecter, l'Assurance Maladie utilise votre numéro de"
                           " sécurité sociale, votre mot de passe et votre adresse mail, à"
                           " laquelle un code de sécurité est envoyé. Ces données servent"
                           " uniquement à vérifier votre identité et à protéger votre"
                           " compte.\n\nVous pouvez exercer vos droits d'accès, de"
                           " rectification et d'opposition auprès du délégué à la protection"
                           " des données de votre caisse d'assurance maladie.",
    "public_cgu_title": "Conditions générales d'utilisation du compte ameli",
    "public_cgu_body": "Le compte ameli est un service gratuit et personnel de l'Assurance"
                       " Maladie. Vous êtes responsable de la confidentialité de votre mot de"
                       " passe et des codes de sécurité qui vous sont envoyés.\n\nL'adresse"
                       " mail de votre compte doit être personnelle : elle reçoit les codes de"
                       " sécurité et les informations sur votre compte. Vous pouvez résilier"
                       " votre compte à tout moment depuis la rubrique \"Mes informations\".",
    "cgu_link": "Lire les conditions générales d'utilisation",
    "cgu_link_title": "Lire les conditions générales d'utilisation - nouvelle fenêtre",
})

MESSAGES.update({
    # the demo account portal (idp.demo.portal, issue 13.8): a relying party of the demo
    "portal_title": "Mon compte ameli (portail de démonstration)",
    "portal_brand": "Portail de démonstration",
    "portal_skip": "Aller au contenu",
    "portal_nav": "Rubriques du compte",
    "portal_intro": "Ce portail de démonstration est un service partenaire : il vous connecte"
                    " avec votre compte ameli, puis affiche ce que le compte lui transmet.",
    "portal_login": "Me connecter",
    "portal_logout": "Me déconnecter",
    "portal_hello": "Bonjour {name}",
    "portal_info_title": "Mes informations",
    "portal_info_source": "Voici les informations que votre compte ameli a transmises à ce"
                          " portail.",
    "portal_manage": "Gérer mes informations sur mon compte ameli",
    "portal_family_name": "Nom",
    "portal_given_name": "Prénom(s)",
    "portal_birthdate": "Date de naissance",
    "portal_gender": "Sexe",
    "portal_gender_female": "Féminin",
    "portal_gender_male": "Masculin",
    "portal_email": "Adresse e-mail",
    "portal_email_unverified": "{email} (non validée)",
    "portal_tab_home": "Accueil",
    "portal_tab_payments": "Mes paiements",
    "portal_tab_procedures": "Mes démarches",
    "portal_tab_prevention": "Mon espace prévention",
    "portal_tab_information": "Mes informations",
    "portal_back": "Revenir à l'accueil",
})

MESSAGES.update({
    # the demo portal's page on biometric sign-in (idp.demo.portal, issue 14): passkeys
    "portal_biometrics_title": "Connexion biométrique",
    "portal_biometrics_link": "Découvrir la connexion biométrique de l'application ameli",
    "portal_biometrics_intro": "Dans l'application ameli, après une connexion avec votre mot"
                               " de passe et le code de sécurité reçu par mail, vous pouvez"
                               " activer la biométrie (empreinte digitale ou reconnaissance"
                               " faciale) : vous n'aurez plus à saisir ni mot de passe ni code"
                               " de sécurité lors de vos prochaines connexions depuis cet"
                               " appareil, et ce pendant {validity}.",
    "portal_biometrics_how_title": "Comment ça marche",
    "portal_biometrics_how": "La biométrie repose sur une clé d'accès (« passkey », norme"
                             " WebAuthn) que votre téléphone ou votre ordinateur crée et garde."
                             " Votre empreinte ou votre visage ne quittent jamais l'appareil :"
                             " il les vérifie lui-même, puis signe la demande de connexion."
                             " Votre compte ameli ne reçoit que cette signature, et la clé"
                             " d'accès ne contient pas votre n° de sécurité sociale.",
    "portal_biometrics_end": "Après {validity}, ou dès que vous changez votre mot de passe, la"
                             " clé d'accès n'est plus acceptée : vous vous connectez de nouveau"
                             " avec votre mot de passe et le code de sécurité, puis la"
                             " biométrie vous est proposée à nouveau.",
    "portal_biometrics_try_title": "L'essayer avec le portail de démonstration",
    "portal_biometrics_where": "Avec « make run », la connexion biométrique fonctionne sur"
                               " {url} et non sur {ip_url} : une clé d'accès ne peut pas être"
                               " liée à une adresse IP.",
    "portal_biometrics_browser": "Utilisez Chromium (ou Chrome) avec l'authentificateur de"
                                 " l'ordinateur (Touch ID, Windows Hello) ou un"
                                 " authentificateur virtuel : outils de développement (F12),"
                                 " ⋮, More tools, WebAuthn, « Enable virtual authenticator"
                                 " environment », puis ajoutez un authentificateur (protocole"
                                 " ctap2, transport internal, « Supports resident keys » et"
                                 " « Supports user verification » cochés).",
    "portal_biometrics_steps_title": "Les étapes",
    "portal_biometrics_step_login": "[Connectez-vous au compte ameli](login) avec votre n° de"
                                    " sécurité sociale, votre mot de passe et le code de"
                                    " sécurité (avec « make run », le code est écrit dans le"
                                    " journal du serveur).",
    "portal_biometrics_step_activate": "Choisissez « Activer » quand la biométrie vous est"
                                       " proposée : l'appareil vous demande votre empreinte ou"
                                       " votre visage.",
    "portal_biometrics_step_again": "Déconnectez-vous, puis revenez à la page de connexion :"
                                    " choisissez la clé d'accès que propose le champ du n° de"
                                    " sécurité sociale, ou « Se connecter avec la biométrie »."
                                    " Ni mot de passe ni code de sécurité ne vous sont"
                                    " demandés.",
    "portal_biometrics_step_list": "Vos clés d'accès sont listées sous « Biométrie » dans"
                                   " [Mes informations](account), avec leur date de fin de"
                                   " validité ; vous pouvez y désactiver chacune d'elles.",
})

MESSAGES.update({
    # Issue 12: the words of the templates themselves, by template. A sentence shared by several
    # templates sits under the first one that prints it; a page's title and the links to that
    # page share one id ("J'accède à mon compte ameli" is ``link_to_login``, above).
    # -- pages: base.html and the error pages --
    "site_title": "Mon compte ameli",
    "skip_to_content": "Aller au contenu",
    "brand_name": "L'Assurance Maladie",
    "footer_help": "Aide et contact",
    "request_reference": "Référence de la demande : {request_id}",
    # -- pages: the forms' shared words (login.html, register.html, password_*.html, ...) --
    "form_all_required": "Tous les champs sont obligatoires.",
    "form_required_star": "* champ obligatoire",
    "label_nir": "Mon numéro de sécurité sociale",
    "label_password": "Mon mot de passe",
    "button_validate": "Valider",
    "button_continue": "Continuer",
    "button_login": "Me connecter",
    # -- pages: login.html --
    "consent_accept": "Accepter",
    "consent_deny": "Refuser",
    "fc_intro": "FranceConnect est la solution proposée par l'État pour sécuriser et simplifier"
                " la connexion à vos services en ligne.",
    # The DSFR button's first line; its second is the brand's name, "FranceConnect".
    "fc_button_login": "S'identifier avec",
    "fc_what": "Qu'est-ce que FranceConnect ?",
    "fc_what_title": "Qu'est-ce que FranceConnect ? - nouvelle fenêtre",
    "separator_or": "OU",
    "nir_where": "Où trouver mon numéro de sécurité sociale ?",
    "label_password_or_code": "Mon mot de passe (ou code provisoire)",
    "label_security_code": "Saisissez le code de sécurité reçu par mail :",
    "remember_device": "Se souvenir de cet appareil",
    "link_change_nir": "Changer de numéro de sécurité sociale",
    "first_visit": "Première visite ? [Créer un compte](register)",
    "fc_help_contact": "Aide et contact : support ameli",
    "fc_back": "Revenir sur FranceConnect",
    # -- pages: franceconnect.html --
    "title_franceconnect": "FranceConnect – Mon compte ameli",
    "fc_title": "Connexion avec FranceConnect",
    "fc_link_button": "Relier mon compte et me connecter",
    "fc_login_with_nir": "Me connecter avec mon numéro de sécurité sociale",
    # -- pages: flows/_fields.html (a new password, seed 000) --
    "password_advice": "Pour maintenir la confidentialité de vos informations, nous vous"
                       " recommandons de ne pas choisir un mot de passe que vous utilisez déjà"
                       " sur un autre site.",
    "password_rules_title": "Votre mot de passe doit :",
    # ``{level}`` is the word below, in the page's <strong> that password.js rewrites.
    "password_strength": "Niveau indicatif de sécurité : {level}",
    "password_strength_low": "faible",
    "password_strength_medium": "moyen",
    "password_strength_high": "fort",
    "label_new_password": "Mon nouveau mot de passe",
    "label_confirm_password": "Confirmer mon nouveau mot de passe",
    # -- pages: register.html --
    "label_family_name": "Nom",
    "label_given_name": "Prénom",
    "label_nir_without_key": "Numéro de sécurité sociale (sans clé)",
    "label_birthdate": "Date de naissance (JJ/MM/AAAA)",
    "label_postal_code": "Code postal",
    # -- pages: activate.html --
    "label_provisional_code": "Mon code provisoire (4 ou 8 chiffres)",
    "provisional_code_help": "Reçu par mail, par courrier, par SMS ou remis à l'accueil de"
                             " votre caisse.",
    "activate_without_code": "Ou, sans code : ma carte Vitale et mon RIB",
    "label_vitale_serial": "Numéro de série de ma carte Vitale",
    "label_iban": "Mon IBAN",
    # -- pages: activate_finish.html --
    "title_personalize": "Personnaliser mon compte ameli",
    "terms_accept": "J'accepte les conditions générales d'utilisation du compte ameli",
    "label_my_email": "Mon adresse mail",
    "email_unique_help": "L'adresse mail doit être unique et personnelle : elle ne peut pas"
                         " être utilisée pour un autre compte ameli.",
    "label_my_mobile": "Mon téléphone portable",
    "contact_consent_legend": "J'accepte d'être contacté par l'Assurance Maladie par :",
    "contact_by_email": "Mail",
    "contact_by_mobile": "Téléphone portable",
    "contact_by_sms": "SMS",
    # -- pages: password_forgot.html --
    "label_my_birthdate": "Ma date de naissance (JJ/MM/AAAA)",
    # -- pages: password_reset.html --
    "title_new_password": "Choisir un nouveau mot de passe",
    # -- pages: password_change.html --
    "change_step_code": "Code de confirmation",
    "change_step_password": "Nouveau mot de passe",
    "label_change_code": "Code à 4 chiffres (obligatoire)",
    "resend_change_code": "Renvoyer le code par mail",
    "label_current_password": "Mon mot de passe actuel",
    # -- pages: account_close.html --
    "close_warning": "Une fois votre compte résilié, vous ne pourrez plus vous y connecter. Pour"
                     " le réactiver, cliquez sur le lien « Créer un compte » de la page de"
                     " connexion, muni de votre carte Vitale et de votre RIB.",
    "close_confirm_label": "Je confirme vouloir résilier mon compte ameli",
    # -- pages: oidc/error.html --
    "oidc_error_title": "Connexion impossible",
    # -- pages: oidc/form_post.html --
    "form_post_title": "Retour vers le service",
    "form_post_help": "Si vous n'êtes pas redirigé automatiquement, cliquez sur le bouton"
                      " ci-dessous.",
    # -- pages: oidc/logged_out.html, oidc/logout_confirm.html --
    "title_logout": "Déconnexion",
    "link_login_again": "Me reconnecter",
    "button_logout": "Me déconnecter",
    "button_stay_logged_in": "Rester connecté",
})

MESSAGES.update({
    # Issue 12: the mails' bodies (idp/templates/mail/*.txt), paragraph by paragraph, in the
    # seeds' words; the code or link a mail carries stands alone on its line in the template.
    # -- mails: shared by several --
    "mail_hello": "Bonjour,",
    "mail_automated": "Ce message est généré par un automate. Ne pas utiliser la fonctionnalité"
                      " « répondre à ».",
    "mail_thanks": "Merci de votre confiance.",
    "mail_signature": "Votre caisse d'assurance maladie",
    "mail_code_personal": "Ce code est strictement personnel et ne doit jamais être communiqué.",
    "mail_no_code_by_phone": "Nous ne demandons jamais de code par téléphone.",
    "mail_code_not_you": "Si vous n'êtes pas à l'origine de cette demande, contactez votre caisse"
                         " d'assurance maladie qui vous donnera les consignes à suivre. Sachez"
                         " néanmoins que votre compte ameli reste sécurisé.",
    "mail_app": "Besoin d'accéder à vos remboursements où que vous soyez ?\nTéléchargez"
                " gratuitement l'appli ameli depuis l'App Store ou Google Play.",
    # -- mails: security_code.txt (seed 004, web, ETAPE 2) --
    "mail_security_code_intro": "Nous vous adressons votre code de sécurité pour vous connecter"
                                " à votre compte ameli :",
    "mail_security_code_ttl": "Attention ! Ce code est valable seulement {minutes} minutes."
                              " Au-delà de ce délai, vous devrez demander un nouveau code.",
    # -- mails: change_code.txt (seed 004, password change, ETAPE 1) --
    "mail_change_code_intro": "Vous avez demandé à modifier le mot de passe de votre compte"
                              " ameli. Voici votre code de confirmation :",
    "mail_change_code_ttl": "Attention ! Ce code est valable seulement {minutes} minutes."
                            " Au-delà de ce délai, cliquez sur « Renvoyer le code par mail »"
                            " pour en obtenir un nouveau.",
    # -- mails: password_changed.txt (seed 004, its own words and capitals) --
    "mail_password_changed": "Le mot de passe de votre compte ameli a été modifié le"
                             " {changed_at} (heure de Paris).",
    "mail_password_changed_not_you": "Si vous n'êtes pas à l'origine de cette modification,"
                                     " veuillez en informer rapidement votre Caisse d'Assurance"
                                     " Maladie.",
    "mail_password_changed_automated": "Attention, cet email est généré par un automate. Ne pas"
                                       " utiliser la fonctionnalité 'répondre à'.",
    "mail_password_changed_signature": "Votre Caisse d'Assurance Maladie",
    # -- mails: email_changed_notice.txt --
    "mail_email_changed_on": "L'adresse mail associée à votre compte ameli a été modifiée le"
                             " {changed_at} (heure de Paris).",
    "mail_email_changed": "L'adresse mail associée à votre compte ameli a été modifiée.",
    "mail_email_changed_next": "Les prochains messages concernant votre compte ameli seront"
                               " envoyés à la nouvelle adresse. La présente adresse ne les"
                               " recevra plus.",
    "mail_email_changed_not_you": "Si vous n'êtes pas à l'origine de cette modification,"
                                  " contactez rapidement votre caisse d'assurance maladie.",
    # -- mails: email_validation.txt (seed 002, 4/4 VALIDATION) --
    "mail_validation_intro": "Pour valider l'adresse mail de votre compte ameli, cliquez sur le"
                             " lien ci-dessous :",
    "mail_validation_ttl": "Attention ! Ce lien est valable {ttl_text} uniquement. Au-delà de ce"
                           " délai, vous devrez renseigner à nouveau votre adresse mail dans"
                           " votre compte ameli.",
    "mail_link_not_you": "Si vous n'êtes pas à l'origine de cette demande, ne cliquez pas sur ce"
                         " lien et contactez votre caisse d'assurance maladie.",
    # -- mails: franceconnect_linked.txt (issue 11.1) --
    "mail_fc_linked": "Votre compte ameli a été relié à FranceConnect le {linked_at} (heure de"
                      " Paris). Vous pouvez désormais vous connecter à votre compte ameli avec"
                      " FranceConnect.",
    "mail_fc_linked_not_you": "Si vous n'êtes pas à l'origine de cette opération, supprimez ce"
                              " lien depuis la rubrique « Mes informations » de votre compte"
                              " ameli et contactez rapidement votre caisse d'assurance maladie.",
    # -- mails: password_reset.txt (seed 004 FAQ, forgotten password) --
    "mail_reset_intro": "Vous avez déclaré avoir oublié le mot de passe de votre compte ameli."
                        " Pour choisir un nouveau mot de passe, cliquez sur le lien sécurisé"
                        " ci-dessous :",
    "mail_reset_ttl": "Attention ! Ce lien est valable {ttl_text} et ne peut être utilisé"
                      " qu'une seule fois.",
    "mail_reset_not_you": "Si vous n'êtes pas à l'origine de cette demande, ne cliquez pas sur"
                          " ce lien : votre mot de passe reste inchangé et votre compte ameli"
                          " reste sécurisé.",
    # -- mails: provisional_code.txt (seed 003, steps 4 and 5) --
    "mail_provisional_intro": "Voici votre code provisoire de connexion à votre compte ameli :",
    "mail_provisional_how": "Pour activer votre compte, rendez-vous sur la page de connexion à"
                            " votre compte ameli et sélectionnez l'option « Je n'ai pas de code"
                            " ou j'ai perdu mon code ».",
    "mail_provisional_then": "Saisissez votre numéro de sécurité sociale et ce code provisoire."
                             " Vous serez ensuite invité à choisir le mot de passe de votre"
                             " compte ameli.",
    "mail_provisional_ttl": "Attention ! Ce code est valable {ttl_text}. Au-delà de ce délai,"
                            " vous devrez demander un nouveau code.",
    "mail_provisional_not_you": "Si vous n'êtes pas à l'origine de cette demande, contactez"
                                " votre caisse d'assurance maladie.",
    # -- passkeys: the ameli app's biometric sign-in (issue 14, idp.domain.passkeys) --
    # The relying party's name the phone shows beside the passkey.
    "passkey_rp_name": "Compte ameli",
    "passkey_refused": "La connexion avec la biométrie n'a pas abouti. Merci de vous connecter"
                       " avec votre mot de passe et le code de sécurité.",
    "passkey_expired": "La biométrie n'est plus active sur cet appareil : elle est valable"
                       " {validity}. Merci de vous connecter avec votre mot de passe et le code"
                       " de sécurité, puis de l'activer à nouveau.",
    "passkey_cloned": "Par sécurité, la biométrie a été désactivée pour cet appareil. Merci de"
                      " vous connecter avec votre mot de passe et le code de sécurité.",
    "passkey_locked": "Suite à un trop grand nombre de tentatives infructueuses, la connexion"
                      " avec la biométrie est bloquée jusqu'au {until:dash} (heure de Paris)."
                      " Vous pouvez vous connecter avec votre mot de passe et le code de"
                      " sécurité.",
    "passkey_not_registered": "La biométrie n'a pas pu être activée. Merci de réessayer.",
    # the login page's button, and what it says when the browser comes back empty-handed
    "passkey_button": "Se connecter avec la biométrie",
    "passkey_failed": "L'authentification biométrique n'a pas fonctionné. Merci de vous"
                      " connecter avec votre mot de passe et le code de sécurité.",
    # the activation offer after a login (seed 004, "APPLI COMPTE AMELI", ETAPE 4)
    "passkey_offer_title": "Activer la biométrie",
    "passkey_offer_text": "Activez la biométrie (empreinte digitale ou reconnaissance faciale) :"
                          " vous n'aurez plus à saisir de code de sécurité lors de vos"
                          " prochaines connexions depuis cet appareil, et ce pendant"
                          " {validity}.",
    "passkey_offer_activate": "Activer",
    "passkey_offer_later": "Plus tard",
    "passkey_offer_never": "Ne plus me le rappeler",
    "passkey_offer_continue": "Continuer",
    # the seed's alert: "le téléservice l'alerte, et le renvoie vers les paramètres du téléphone"
    "passkey_no_biometrics": "Pour activer la biométrie, enregistrez d'abord votre empreinte"
                             " digitale ou votre visage dans les paramètres de votre appareil,"
                             " puis connectez-vous à nouveau.",
    # the account page's list (beside the trusted devices)
    "passkeys_title": "Biométrie",
    "passkeys_none": "La biométrie n'est activée sur aucun appareil.",
    "passkey_created": "Activée le {on:date}",
    "passkey_last_used": "Dernière utilisation le {at:last_login}",
    "passkey_never_used": "Jamais utilisée",
    "passkey_valid_until": "Valable jusqu'au {on:date}",
    "passkey_revoke_button": "Désactiver",
    "passkey_revoked_done": "La biométrie est désactivée sur cet appareil : le mot de passe et"
                            " le code de sécurité seront demandés à la prochaine connexion"
                            " depuis cet appareil.",
})

MAIL_SUBJECTS: dict[str, str] = {
    "security_code": "Votre code de sécurité pour vous connecter à votre compte ameli",
    "change_code": "Votre code de confirmation pour modifier votre mot de passe ameli",
    "password_changed": "Le mot de passe de votre compte ameli a été modifié",
    "provisional_code": "Votre code provisoire pour activer votre compte ameli",
    "email_validation": "Validez votre adresse mail pour votre compte ameli",
    "email_changed_notice": "L'adresse mail de votre compte ameli a été modifiée",
    "password_reset": "Réinitialisation du mot de passe de votre compte ameli",
    "franceconnect_linked": "Votre compte ameli a été relié à FranceConnect",   # issue 11.1
}


def _minutes(delta: timedelta) -> int:
    return int(delta.total_seconds() // 60)


class _Formatter(string.Formatter):
    """``str.format`` plus the named formats: ``{until:dash}``, ``{labels:list}``."""

    def format_field(self, value, format_spec):
        if format_spec in FORMATS:
            return FORMATS[format_spec](value)
        if format_spec == "list":
            return ("; " if _english() else " ; ").join(str(v) for v in value)
        return super().format_field(value, format_spec)


_formatter = _Formatter()


def _policy() -> Policy:
    """The running app's policy when there is one, else the seeds' defaults."""
    if has_app_context() and "idp.policy" in current_app.extensions:
        return current_app.extensions["idp.policy"]
    return Policy()


def sentence(message_id: str) -> str:
    """The template of ``message_id`` in the page's language (``idp.i18n``): the French
    sentence of ``MESSAGES`` or its translation."""
    try:
        french = MESSAGES[message_id]
    except KeyError:
        raise KeyError(f"no French sentence for message id {message_id!r}") from None
    return i18n.translate(message_id, french)


def subject(template: str) -> str:
    """The subject of the mail ``template`` in the page's language (context
    ``subject.<template>`` in the catalogue)."""
    return i18n.translate(f"subject.{template}", MAIL_SUBJECTS[template])


def text(message_id: str, /, **params) -> str:
    """The sentence for ``message_id`` in the page's language, its named parameters
    formatted."""
    return _text(i18n.language(), message_id, params)


def texts_in(lang: str):
    """``text`` for a page being rendered in ``lang``, the page's language asked once for
    all its sentences (a template's ``msg``); most of them are ready-made."""
    def text_in(message_id: str, /, **params) -> str:
        if not params:
            ready = _READY.get((lang, message_id))
            if ready is not None:
                return ready
        return _text(lang, message_id, params)
    return text_in


# The sentences asked with no parameters that need none (no variant, no policy default,
# no placeholder), by (language, message id): the words themselves, the same for every page
# (the catalogue does not change while the process runs).
_READY: dict[tuple[str, str], str] = {}


def _text(lang: str, message_id: str, params: dict) -> str:
    asked = message_id
    if message_id in VARIANTS:
        name, default = VARIANTS[message_id]
        message_id = f"{message_id}.{params.get(name) or default}"
    template = _plain(lang, message_id)
    defaults = _POLICY_DEFAULTS.get(message_id)
    if defaults:
        missing = [k for k in defaults if params.get(k) is None]
        if missing:
            pol = _policy()
            params = {**params, **{k: defaults[k](pol) for k in missing}}
    if not params and "{" not in template and "}" not in template:
        if asked == message_id and not defaults:
            _READY[(lang, message_id)] = template
        return template         # nothing to format: string.Formatter would copy it
    return _formatter.format(template, **params)


_LINK = re.compile(r"\[([^\]]+)\]\((\w+)\)")
_PLAIN: dict[tuple[str, str], str] = {}


def _plain(lang: str, message_id: str) -> str:
    """The sentence with its links (``with_links``) as plain words, made once per language
    (``lang``, the page's): the catalogue does not change while the process runs, and a page
    asks ten or more."""
    key = (lang, message_id)
    try:
        return _PLAIN[key]
    except KeyError:
        return _PLAIN.setdefault(key, _LINK.sub(r"\1", sentence(message_id)))


_LINKED: dict[tuple, Markup] = {}
_LINKED_MOST = 512          # the pages' help sentences and their fixed links fit many times


def with_links(message_id: str, /, **urls: str) -> Markup:
    """The sentence of ``message_id`` as HTML: each ``[words](name)`` becomes a link to
    ``urls[name]``, everything else is escaped. The sentence stays whole for translation;
    ``text()`` gives it as plain words. Made once per language and links (the catalogue and
    the configured links do not change while the process runs)."""
    return _with_links(i18n.language(), message_id, urls)


def links_in(lang: str):
    """``with_links`` for a page being rendered in ``lang`` (a template's ``msg_links``)."""
    def with_links_in(message_id: str, /, **urls: str) -> Markup:
        return _with_links(lang, message_id, urls)
    return with_links_in


def _with_links(lang: str, message_id: str, urls: dict[str, str]) -> Markup:
    key = (lang, message_id, *sorted(urls.items()))
    try:
        return _LINKED[key]
    except KeyError:
        html = _linked(message_id, urls)
    if len(_LINKED) < _LINKED_MOST:
        _LINKED[key] = html
    return html


def _linked(message_id: str, urls: dict[str, str]) -> Markup:
    template = sentence(message_id)
    parts, last = [], 0
    for found in _LINK.finditer(template):
        parts.append(escape(template[last:found.start()]))
        parts.append(Markup('<a href="{}">{}</a>').format(urls[found.group(2)], found.group(1)))
        last = found.end()
    parts.append(escape(template[last:]))
    return Markup("").join(parts)


def as_html(message_id: str, /, **params) -> Markup:
    """The sentence of ``message_id`` as HTML where a parameter is a piece of the template's
    own markup (``{% set %}…{% endset %}``, already Markup): that piece is kept, every other
    parameter and all the sentence's words are escaped. The sentence stays whole."""
    parts = []
    for literal, name, spec, _ in _formatter.parse(sentence(message_id)):
        parts.append(escape(literal))
        if name is not None:
            value = params[name]
            parts.append(value if isinstance(value, Markup)
                         else escape(_formatter.format_field(value, spec or "")))
    return Markup("").join(parts)


def for_error(err: IdpError, **extra) -> str:
    """The sentence for a domain error. Its dataclass fields (``reason``, ``field``) and its
    ``params()`` feed the template; ``extra`` adds what only the caller knows."""
    params: dict = {}
    if dataclasses.is_dataclass(err):
        params.update((f.name, getattr(err, f.name)) for f in dataclasses.fields(err))
    params.update(err.params())
    params.update(extra)
    if err.message_id == "password_rules" and "labels" not in params:
        params["labels"] = _rule_labels(params.get("rules", ()))
    return text(err.message_id, **params)


def password_rule_labels(policy: Policy | None = None) -> list[tuple[str, str]]:
    """(rule id, seed-000 label) of a new password's rules in display order (the order of
    ``idp.domain.passwords.RULES``), the length with the policy's bounds."""
    policy = policy or _policy()
    return [(key.removeprefix("rule_"),
             text(key, min_length=policy.password_min_length,
                  max_length=policy.password_max_length))
            for key in MESSAGES if key.startswith("rule_")]


def _rule_labels(rules: Iterable[str]) -> list[str]:
    """The seed-000 labels of the broken password rules."""
    labels = dict(password_rule_labels())
    return [labels[r] for r in rules]


def device_label(browser: str | None, system: str | None) -> str:
    """"Chrome sur Linux" (``idp.devices.describe``); one of them alone, or "Appareil"."""
    if browser and system:
        return text("device_label", browser=browser, system=system)
    return browser or system or text("device_unknown")


# -- addresses --------------------------------------------------------------------------------

def mask_email(address: str) -> str:
    """"v***@y***.fr" as the seeds show it: first letter of the local part, first letter of
    the domain, then the last dot and the top-level domain."""
    local, at, domain = address.strip().rpartition("@")
    if not at:
        return f"{domain[:1]}***"
    head, dot, tld = domain.rpartition(".")
    if not dot:
        head, tld = domain, ""
    masked = f"{local[:1]}***@{head[:1]}***"
    return f"{masked}.{tld}" if tld else masked
