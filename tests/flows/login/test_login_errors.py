"""Seed 004, web, "Cas d'erreur" 1 to 9: each case with the seed's exact wording, each limit at
its boundary by moving the clock (which starts on Wednesday 4 January 2023, 14:30 UTC, that is
15:30 in Paris)."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta

import pytest

from tests.helpers.accounts import logged_in, login_until_code_sent, rows
from tests.helpers.pages import says, text_of

WRONG = "Pas-le-bon-1"
CASE_4 = ("Le mot de passe saisi est incorrect. Merci de le vérifier.\n"
          "Attention: votre compte sera bloqué après 3 tentatives infructueuses.")
CASE_5 = ("Le code de sécurité saisi est erroné. Merci de le vérifier.\n"
          "Attention: votre compte sera bloqué après 3 tentatives infructueuses.")


def at(clock, when: datetime):
    """Move the clock forward to a UTC instant."""
    clock.shift(when - clock.now())


def credentials(browser, nir, password):
    browser.get("/login/restart")
    return browser.submit_credentials(nir, password)


def asks_code(page) -> bool:
    return "recevoir un code de sécurité" in page.text


# -- cases 1, 1 bis, 8, 9: the account's state, told only after the password ----------------

STATES = {
    "1 (no address)": (dict(email=None), "Un code de sécurité envoyé par mail est nécessaire pour "
                       "vous connecter. Or, vous n'avez pas d'adresse mail renseignée dans votre "
                       "compte. Merci de contacter votre caisse d'assurance maladie."),
    "1 (address not validated)": (dict(email_verified=False), "Un code de sécurité envoyé par mail "
                                  "est nécessaire pour vous connecter."),
    "1 bis (closed)": (dict(status="resigned", closed_on=date(2024, 4, 12)),
                       "Votre compte a été désactivé le 12/04/2024.\nSi vous souhaitez le "
                       "réactiver, cliquez sur le lien \"Créer un compte\" situé en bas de cet "
                       "écran.\nMunissez-vous de votre carte vitale et de votre RIB."),
    "8 (no scheme)": (dict(status="unattached"), "Une mise à jour de votre dossier est nécessaire "
                      "pour accéder à votre compte. Merci de prendre contact avec votre caisse."),
    "9 (attachment pending)": (dict(status="pending"), "Votre rattachement à votre caisse "
                               "d'assurance maladie est en cours, vous pourrez bientôt bénéficier "
                               "de votre compte ameli."),
}


@pytest.mark.parametrize("case", list(STATES))
def test_an_account_state_is_told_once_the_password_is_right(browser, make_account, smtp, case):
    kwargs, sentence = STATES[case]
    make_account("1840175056123", **kwargs)
    page = credentials(browser, "1840175056123", "Ameli2024!")
    assert says(page, sentence), text_of(page)[:600]
    assert not asks_code(page) and smtp.messages == []
    assert says(page, "Première visite ? Créer un compte")


@pytest.mark.parametrize("case", list(STATES))
def test_an_account_state_is_never_told_to_a_wrong_password(browser, make_account, case):
    kwargs, sentence = STATES[case]
    make_account("1840175056123", **kwargs)
    page = credentials(browser, "1840175056123", WRONG)
    assert says(page, CASE_4) and not says(page, sentence)


# -- case 4 and 7: wrong passwords -----------------------------------------------------------

def test_a_wrong_password_gets_case_4_and_an_unknown_nir_exactly_the_same_page(browser, person):
    known = text_of(credentials(browser, person.nir, WRONG))
    unknown = text_of(credentials(browser, "1840175056123", WRONG))
    assert says(known, CASE_4)
    assert known == unknown


def test_the_third_wrong_password_locks_15_minutes_until_the_seeds_date(browser, person, clock):
    at(clock, datetime(2023, 1, 4, 14, 32, tzinfo=UTC))
    assert says(credentials(browser, person.nir, WRONG), CASE_4)
    assert says(credentials(browser, person.nir, WRONG), CASE_4)
    page = credentials(browser, person.nir, WRONG)
    case_7 = ("Pour des raisons de sécurité, l'accès à votre compte ameli est bloqué jusqu'au "
              "mercredi 4 janvier 2023 15:47 (heure de Paris). Si vous n'êtes pas sûr de votre mot "
              "de passe, cliquez sur le lien « Mot de passe oublié ? » ci-dessous.")
    assert says(page, case_7), text_of(page)[:600]
    assert 'href="/mot-de-passe-oublie"' in page.text
    clock.shift(timedelta(minutes=15) - timedelta(seconds=1))
    assert says(credentials(browser, person.nir, person.password), case_7)   # even the right one
    clock.shift(timedelta(seconds=1))                                       # minute 15: it ends
    assert asks_code(credentials(browser, person.nir, person.password))


def test_an_unknown_nir_is_locked_like_a_known_one(browser, clock):
    for _ in range(2):
        assert says(credentials(browser, "1840175056123", WRONG), CASE_4)
    page = credentials(browser, "1 84 01 75 056 123", WRONG)     # the same NIR, spaced
    assert says(page, "l'accès à votre compte ameli est bloqué jusqu'au mercredi 4 janvier 2023 "
                      "15:45 (heure de Paris)")


def test_a_right_password_starts_the_count_again(browser, person):
    for _ in range(2):
        credentials(browser, person.nir, WRONG)
    assert asks_code(credentials(browser, person.nir, person.password))
    for _ in range(2):
        assert says(credentials(browser, person.nir, WRONG), CASE_4)


# -- case 2: the 15 minutes ------------------------------------------------------------------

def test_the_code_is_accepted_until_its_fifteenth_minute(browser, person, smtp, clock):
    code = login_until_code_sent(browser, person, smtp)
    clock.shift(timedelta(minutes=15) - timedelta(seconds=1))
    assert browser.submit_code(code).status_code == 303
    assert logged_in(browser)


def test_at_the_fifteenth_minute_the_code_has_expired_and_a_new_one_can_be_asked(
        app, browser, person, smtp, clock):
    from idp.models import Throttle
    code = login_until_code_sent(browser, person, smtp)
    clock.shift(timedelta(minutes=15))
    page = browser.submit_code(code)
    assert says(page, "Le code de sécurité n'a pas été saisi dans les 15 minutes. Merci d'en "
                      "demander un nouveau.")
    assert "Recevoir un nouveau code de sécurité</button>" in page.text
    assert not logged_in(browser)
    assert all(t.attempts == 0 for t in rows(app, Throttle, kind="code"))   # not a wrong code
    browser.ask_code()
    assert browser.submit_code(smtp.code_for(person.email)).status_code == 303
    assert logged_in(browser)


# -- case 3: five codes in a sliding hour ------------------------------------------------------

def ask_a_code(browser, person):
    page = credentials(browser, person.nir, person.password)
    assert asks_code(page), text_of(page)[:400]
    return browser.ask_code()


def test_the_sixth_code_within_the_hour_is_refused_for_one_hour(browser, person, smtp, clock):
    case_3 = ("Le nombre maximum de demandes de code a été atteint. L'accès au service est bloqué "
              "jusqu'au 05/01/2023 - 15h05 (heure de Paris). À la fin du blocage, pensez à vérifier "
              "le dossier Spam ou Indésirable de votre boîte mail.")
    at(clock, datetime(2023, 1, 5, 12, 6, tzinfo=UTC))
    for _ in range(5):
        page = ask_a_code(browser, person)
        assert 'name="code"' in page.text and not says(page, "Le nombre maximum")
        clock.shift(timedelta(minutes=10))
    assert len(smtp.to(person.email)) == 5
    at(clock, datetime(2023, 1, 5, 13, 5, tzinfo=UTC))          # within the hour of the first
    page = ask_a_code(browser, person)
    assert says(page, case_3), text_of(page)[:600]
    assert len(smtp.to(person.email)) == 5
    clock.shift(timedelta(hours=1) - timedelta(seconds=1))
    assert says(credentials(browser, person.nir, person.password), case_3)   # issue 13.1
    clock.shift(timedelta(seconds=1))                          # 15h05 in Paris: it ends
    page = ask_a_code(browser, person)
    assert 'name="code"' in page.text and len(smtp.to(person.email)) == 6


def test_the_hour_slides_a_code_asked_an_hour_ago_no_longer_counts(browser, person, smtp, clock):
    for _ in range(5):
        ask_a_code(browser, person)
        clock.shift(timedelta(minutes=1))
    clock.shift(timedelta(minutes=55))                         # the first is exactly 1 h old
    page = ask_a_code(browser, person)
    assert 'name="code"' in page.text and len(smtp.to(person.email)) == 6
    page = ask_a_code(browser, person)                         # the 2nd is still in the hour
    assert says(page, "Le nombre maximum de demandes de code a été atteint.")


def test_resending_counts_against_the_same_quota(browser, person, smtp):
    login_until_code_sent(browser, person, smtp)
    for _ in range(4):
        page = browser.post_form("/login/code/send", {})
        assert says(page, "Un nouveau code vient de vous être envoyé")
    page = browser.post_form("/login/code/send", {})
    assert says(page, "Le nombre maximum de demandes de code a été atteint.")
    assert len(smtp.to(person.email)) == 5


# -- cases 5 and 6: wrong codes ----------------------------------------------------------------

def _wrong(code: str) -> str:
    return f"{(int(code) + 1) % 1000000:06d}"


def test_the_third_wrong_code_locks_15_minutes_until_the_seeds_date(browser, person, smtp, clock):
    case_6 = ("Les informations saisies sont erronées. L'accès au service est bloqué jusqu'au "
              "05/01/2023 - 14h45 (heure de Paris).")
    at(clock, datetime(2023, 1, 5, 13, 29, tzinfo=UTC))
    code = login_until_code_sent(browser, person, smtp)
    assert says(browser.submit_code(_wrong(code)), CASE_5)
    assert says(browser.submit_code(_wrong(code)), CASE_5)
    clock.shift(timedelta(minutes=1))
    page = browser.submit_code(_wrong(code))
    assert says(page, case_6), text_of(page)[:600]
    assert browser.submit_code(code).status_code != 303        # the code was withdrawn
    clock.shift(timedelta(minutes=15) - timedelta(seconds=1))
    assert says(credentials(browser, person.nir, person.password), case_6)
    clock.shift(timedelta(seconds=1))                          # minute 15: it ends
    assert asks_code(credentials(browser, person.nir, person.password))
    browser.ask_code()
    assert browser.submit_code(smtp.code_for(person.email)).status_code == 303


def test_a_code_lock_is_told_only_once_the_password_is_right(browser, person, smtp, clock):
    """issue 11.14: while case 6 runs, a wrong password gets case 4, the very page an unknown
    NIR gets (the lock would tell that the NIR has an account); the right password, case 6."""
    code = login_until_code_sent(browser, person, smtp)
    for _ in range(3):
        page = browser.submit_code(_wrong(code))
    assert says(page, "L'accès au service est bloqué jusqu'au")
    wrong = text_of(credentials(browser, person.nir, WRONG))
    unknown = text_of(credentials(browser, "1840175056123", WRONG))
    assert says(wrong, CASE_4) and "L'accès au service est bloqué" not in wrong
    assert wrong == unknown
    assert says(credentials(browser, person.nir, person.password),
                "Les informations saisies sont erronées. L'accès au service est bloqué jusqu'au")


def test_a_right_code_after_two_wrong_ones_logs_in_and_starts_the_count_again(
        app, browser, person, smtp):
    from idp.models import Throttle
    code = login_until_code_sent(browser, person, smtp)
    for _ in range(2):
        browser.submit_code(_wrong(code))
    assert browser.submit_code(code).status_code == 303
    assert [t.attempts for t in rows(app, Throttle, kind="code")] == [0]


def test_in_summer_the_lock_is_printed_in_paris_summer_time(browser, person, clock):
    at(clock, datetime(2023, 7, 5, 10, 0, tzinfo=UTC))           # 12:00 in Paris (UTC+2)
    for _ in range(3):
        page = credentials(browser, person.nir, WRONG)
    assert says(page, "bloqué jusqu'au mercredi 5 juillet 2023 12:15 (heure de Paris)")


def test_the_wrong_code_message_is_tied_to_the_code_field(browser, person, smtp):
    code = login_until_code_sent(browser, person, smtp)
    page = browser.submit_code(_wrong(code))
    assert 'id="form-error"' in page.text and 'role="alert"' in page.text
    field = re.search(r'<input[^>]*id="code"[^>]*>', page.text, re.S).group(0)
    assert "form-error" in re.search(r'aria-describedby="([^"]+)"', field).group(1)


def test_a_double_click_on_the_right_code_logs_in_once(app, browser, person, smtp):
    import threading

    import requests
    code = login_until_code_sent(browser, person, smtp)
    token = re.search(r'name="csrf_token" value="([^"]+)"', browser.page.text).group(1)
    cookies = browser.http.cookies.get_dict()
    answers = []
    barrier = threading.Barrier(2)

    def click():
        barrier.wait()
        answers.append(requests.post(browser.base + "/login/code", cookies=cookies,
                                     data={"csrf_token": token, "code": code}, allow_redirects=False))
    threads = [threading.Thread(target=click) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    statuses = sorted(a.status_code for a in answers)
    assert statuses in ([303, 409], [200, 303], [303, 303]), statuses
    assert [a.headers.get("Location", "").endswith("/compte") for a in answers].count(True) == 1
    from idp.models import Throttle
    assert all(t.attempts == 0 for t in rows(app, Throttle, kind="code"))   # no wrong code counted
