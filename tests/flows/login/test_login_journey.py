"""The ameli login without error (seed 004, web, ETAPES 0 to 3), over real HTTP with a real
SMTP server: the pages, the mail, the code, and the trusted device ("Se souvenir de cet
appareil") with every way its cookie is refused."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest

from idp.domain.nir import nir_key
from tests.helpers.accounts import logged_in, login_until_code_sent, rows
from tests.helpers.pages import field_error, says, text_of


def _input(page, name) -> str:
    tag = re.search(rf'<input[^>]*\bname="{name}"[^>]*>', page.text, re.S)
    assert tag, f"no input named {name}"
    return tag.group(0)


def asks_code(page) -> bool:
    return "recevoir un code de sécurité" in page.text


# -- ETAPE 0: the login page --------------------------------------------------------------

def test_the_login_page_shows_the_seeds_title_fields_and_links(browser):
    page = browser.get("/login")
    assert page.status_code == 200
    for sentence in ("J'accède à mon compte ameli", "Tous les champs sont obligatoires.",
                     "Mon numéro de sécurité sociale", "Où trouver mon numéro de sécurité sociale ?",
                     "Mon mot de passe (ou code provisoire)", "Mot de passe oublié ?",
                     "Me connecter", "Première visite ? Créer un compte"):
        assert says(page, sentence), sentence
    nir, password = _input(page, "nir"), _input(page, "password")
    assert 'autocomplete="username"' in nir and 'inputmode="numeric"' in nir
    assert 'autocomplete="current-password"' in password and 'type="password"' in password
    assert '<label for="nir">' in page.text and '<label for="password">' in page.text
    assert 'name="csrf_token"' in page.text
    assert 'href="/creer-un-compte"' in page.text and 'href="/mot-de-passe-oublie"' in page.text


@pytest.mark.parametrize("typed", [
    "2690299341732",                       # 13 digits
    "2 69 02 99 341 732",                  # with spaces, as printed on the carte Vitale
    "2690299341732" + nir_key("2690299341732"),          # 15, with the key
    "2 69 02 99 341 732 " + nir_key("2690299341732"),    # 15, with spaces
])
def test_the_nir_is_accepted_with_or_without_spaces_and_with_its_key(browser, person, typed):
    browser.get("/login")
    page = browser.submit_credentials(typed, person.password)
    assert asks_code(page), text_of(page)[:500]


@pytest.mark.parametrize("typed", ["184022A012345", "1 84 02 2a 012 345 {key}"])
def test_a_corsican_nir_is_checked_with_the_2a_rule(browser, make_account, typed):
    make_account("184022A012345", email="corse@example.fr")
    key = nir_key("184022A012345")
    assert key == f"{97 - 1840219012345 % 97:02d}"
    browser.get("/login")
    page = browser.submit_credentials(typed.format(key=key), "Ameli2024!")
    assert asks_code(page), text_of(page)[:500]


@pytest.mark.parametrize("typed, sentence", [
    ("", "Veuillez saisir votre numéro de sécurité sociale."),
    ("269029934", "Le numéro de sécurité sociale doit comporter 13 chiffres, ou 15 avec la clé."),
    ("26902993417ab", "Le numéro de sécurité sociale doit comporter 13 chiffres, ou 15 avec la clé."),
    ("269029934173200", "La clé saisie ne correspond pas à votre numéro de sécurité sociale."),
])
def test_a_malformed_nir_gets_a_clear_message_on_its_field_and_counts_nothing(
        app, browser, person, typed, sentence):
    from idp.models import Throttle
    browser.get("/login")
    page = browser.submit_credentials(typed, person.password)
    error = field_error(page, "nir")
    assert error is not None and error.startswith(sentence), page.text
    assert 'id="nir-error"' in page.text
    assert rows(app, Throttle) == []


# -- ETAPES 1 and 2: the code offered, the mail --------------------------------------------

def test_the_right_password_offers_a_code_to_the_masked_address(browser, make_account):
    make_account("1840175056123", email="valerie@yahoo.fr")
    browser.get("/login")
    page = browser.submit_credentials("1840175056123", "Ameli2024!")
    assert says(page, "Pour accéder à votre compte ameli, la saisie d'un code de sécurité est nécessaire.")
    assert says(page, "Ce code sera envoyé à l'adresse mail associée à votre compte : v***@y***.fr")
    assert says(page, "Si vous n'avez plus accès à cette adresse mail, merci de contacter votre "
                      "caisse d'assurance maladie.")
    assert "valerie@yahoo.fr" not in page.text
    assert re.search(r"<button[^>]*>Cliquez pour recevoir un code de sécurité</button>", page.text)


def test_the_mail_carries_the_code_alone_on_its_line_and_the_seeds_text(browser, person, smtp):
    code = login_until_code_sent(browser, person, smtp)
    body = smtp.last_text(person.email)
    assert re.search(rf"^{code}\r?$", body, re.M)
    flat = " ".join(body.split())
    for sentence in (
            "Nous vous adressons votre code de sécurité pour vous connecter à votre compte ameli :",
            "Attention ! Ce code est valable seulement 15 minutes. Au-delà de ce délai, vous devrez "
            "demander un nouveau code.",
            "Ce code est strictement personnel et ne doit jamais être communiqué.",
            "Nous ne demandons jamais de code par téléphone.",
            "Si vous n'êtes pas à l'origine de cette demande, contactez votre caisse d'assurance "
            "maladie qui vous donnera les consignes à suivre. Sachez néanmoins que votre compte "
            "ameli reste sécurisé."):
        assert sentence in flat, sentence
    assert len(smtp.to(person.email)) == 1


# -- ETAPE 3: the code page ---------------------------------------------------------------

def test_the_code_page_has_the_six_digit_field_the_remember_box_and_the_hints(browser, person, smtp):
    login_until_code_sent(browser, person, smtp)
    page = browser.page
    code = _input(page, "code")
    assert 'autocomplete="one-time-code"' in code and 'inputmode="numeric"' in code
    assert 'maxlength="6"' in code
    assert 'type="checkbox"' in _input(page, "remember_device")
    for sentence in ("Saisissez le code de sécurité reçu par mail :", "Se souvenir de cet appareil",
                     "Vous vous connectez avec votre appareil personnel (ordinateur, smartphone ou "
                     "tablette) ? Cochez cette case pour ne plus saisir de code de sécurité pendant 6 mois.",
                     "Vous n'avez pas reçu ce code, vérifiez :",
                     "la saisie de votre n° de sécurité sociale,", "votre dossier Spam ou Indésirable.",
                     "Recevoir un nouveau code de sécurité"):
        assert says(page, sentence), sentence
    # The main action comes first, so that Enter logs in rather than asking a new code.
    assert page.text.index("Me connecter</button>") < page.text.index("Recevoir un nouveau code")


def test_a_new_code_replaces_the_old_one_with_the_seeds_notice(browser, person, smtp):
    first = login_until_code_sent(browser, person, smtp)
    page = browser.post_form("/login/code/send", {})
    assert says(page, "Un nouveau code vient de vous être envoyé, merci de vérifier votre boîte "
                      "e-mail, y compris dans le dossier SPAM ou indésirable avant de renouveler "
                      "votre demande.")
    second = smtp.code_for(person.email)
    assert len(smtp.to(person.email)) == 2
    if first != second:
        page = browser.submit_code(first)
        assert says(page, "Le code de sécurité saisi est erroné. Merci de le vérifier.")
        assert not logged_in(browser)
    response = browser.submit_code(second)
    assert response.status_code == 303
    assert logged_in(browser)


def test_the_right_code_logs_in_and_cannot_be_used_twice(app, browser, person, smtp):
    code = login_until_code_sent(browser, person, smtp)
    response = browser.submit_code(code)
    assert response.status_code == 303 and response.headers["Location"].endswith("/compte")
    assert logged_in(browser)
    from idp.models import OneTimeCode
    assert rows(app, OneTimeCode) == []          # consumed: nothing left to replay


# -- the trusted device ---------------------------------------------------------------------

def _set_cookie(response, name) -> str:
    for header in response.raw.headers.getlist("Set-Cookie"):
        if header.startswith(name + "="):
            return header
    raise AssertionError(f"no Set-Cookie for {name}")


def _remembered_login(browser, person, smtp):
    code = login_until_code_sent(browser, person, smtp)
    response = browser.submit_code(code, remember=True)
    assert response.status_code == 303
    return response


def test_remember_device_sets_a_signed_httponly_lax_cookie_bound_to_a_record(app, browser, person, smtp):
    from idp.models import Account, TrustedDevice
    response = _remembered_login(browser, person, smtp)
    header = _set_cookie(response, "idp_device")
    assert "HttpOnly" in header and "SameSite=Lax" in header
    assert "Secure" not in header                # the issuer is http://127.0.0.1 here
    value = browser.http.cookies.get("idp_device")
    account = rows(app, Account, nir=person.nir)[0]
    devices = rows(app, TrustedDevice, account_id=account.id)
    assert len(devices) == 1 and devices[0].revoked_at is None
    assert devices[0].expires_at - devices[0].created_at == timedelta(days=183)
    assert value != devices[0].id                    # a signed token, not the bare id ...
    from idp.domain import devices as trust
    with app.app_context():                           # ... that names this record, for this account
        assert trust.trusted_device(value, account.id).id == devices[0].id
        assert trust.trusted_device(value, account.id + 1) is None


class CookieCarrier:
    """A client that returns every cookie, Secure ones included, to the http test server (a
    browser would speak https to an https issuer; requests would drop Secure cookies here)."""

    def __init__(self, base, host=None):
        import requests
        self.base, self.jar, self.http, self.headers = base, {}, requests.Session(), []
        self.host = host          # the issuer's host, as a proxy in front would pass it on

    def go(self, method, path, data=None):
        from http.cookies import SimpleCookie
        response = self.http.request(method, self.base + path, data=data, allow_redirects=False,
                                     headers={"Cookie": "; ".join(f"{k}={v}" for k, v in self.jar.items()),
                                              **({"Host": self.host} if self.host else {})})
        for header in response.raw.headers.getlist("Set-Cookie"):
            self.headers.append(header)
            for name, morsel in SimpleCookie(header).items():
                self.jar[name] = morsel.value
        return response

    def form(self, path, data):
        token = re.search(r'name="csrf_token" value="([^"]+)"', self.go("GET", "/login").text).group(1)
        return self.go("POST", path, {"csrf_token": token, **data})


@pytest.mark.config(ISSUER="https://login.ameli.test")
def test_the_trust_cookie_is_secure_when_the_issuer_is_https(server, person, smtp):
    carrier = CookieCarrier(server.url, host="login.ameli.test")   # issue 11.2: its own host
    carrier.form("/login", {"nir": person.nir, "password": person.password})
    carrier.form("/login/code/send", {})
    response = carrier.form("/login/code", {"code": smtp.code_for(person.email), "remember_device": "1"})
    assert response.status_code == 303, response.text[:300]
    header = _set_cookie(response, "__Host-idp_device")     # issue 11.15: __Host- over https
    assert "Secure" in header and "HttpOnly" in header and "SameSite=Lax" in header
    assert all("Secure" in h for h in carrier.headers)   # the session cookie too


def test_a_trusted_browser_logs_in_without_code_for_183_days_then_asks_again(
        browser, person, smtp, clock):
    _remembered_login(browser, person, smtp)
    clock.shift(timedelta(days=183) - timedelta(seconds=1))
    browser.get("/login")
    page = browser.submit_credentials(person.nir, person.password)
    assert not asks_code(page) and "Mes informations" in page.text, text_of(page)[:300]
    assert len(smtp.to(person.email)) == 1
    clock.shift(timedelta(seconds=1))             # 183 days after the box was ticked
    browser.get("/login")
    page = browser.submit_credentials(person.nir, person.password)
    assert asks_code(page)


def test_a_trusted_browser_still_needs_the_right_password(browser, person, smtp):
    _remembered_login(browser, person, smtp)
    browser.get("/login")
    page = browser.submit_credentials(person.nir, "Pas-le-bon-1")
    assert says(page, "Le mot de passe saisi est incorrect. Merci de le vérifier.")


def _tampered(value: str) -> str:
    i = len(value) // 2
    return value[:i] + ("A" if value[i] != "A" else "B") + value[i + 1:]


@pytest.mark.parametrize("how", ["tampered", "garbage", "oversized", "revoked", "private window"])
def test_a_refused_trust_cookie_means_the_code_is_asked(app, browser, person, smtp, how):
    from idp.domain import devices
    from idp.extensions import db
    from idp.models import Account
    _remembered_login(browser, person, smtp)
    value = browser.http.cookies.get("idp_device")
    browser.http.cookies.clear()                  # a fresh session; the trust cookie is re-set below
    if how == "tampered":
        browser.http.cookies.set("idp_device", _tampered(value))
    elif how == "garbage":
        browser.http.cookies.set("idp_device", "%%not-a-cookie%%")
    elif how == "oversized":
        browser.http.cookies.set("idp_device", value + "x" * 3500)
    elif how == "revoked":
        browser.http.cookies.set("idp_device", value)
        with app.app_context():
            account = db.session.execute(db.select(Account).filter_by(nir=person.nir)).scalar_one()
            assert devices.revoke(account.id) == 1
            db.session.commit()
    browser.get("/login")
    page = browser.submit_credentials(person.nir, person.password)
    assert page.status_code == 200 and asks_code(page), text_of(page)[:300]


def test_a_trust_cookie_of_another_account_does_not_spare_the_code(browser, person, smtp, make_account):
    _remembered_login(browser, person, smtp)
    make_account("1840175056123", email="jean@example.fr")
    browser.get("/login")
    page = browser.submit_credentials("1840175056123", "Ameli2024!")
    assert asks_code(page)


def test_the_change_of_nir_link_starts_a_clean_journey(browser, person):
    browser.get("/login")
    page = browser.submit_credentials(person.nir, person.password)
    assert asks_code(page)
    page = browser.get("/login/restart")
    assert 'name="password"' in page.text and not asks_code(page)
