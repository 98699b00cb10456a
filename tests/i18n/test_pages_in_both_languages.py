"""Issue 13.7: every page of the provider, walked as a person walks it, in French and in
English. An English page (its text and the attributes a person sees, hears or a script
shows) holding a French sentence of the catalogue is an untranslated string; every page's
``<html lang>`` is its language; the mails sent during the English walk are English too.

The walk: login (empty form, wrong password, code offer, code, wrong code), "Mes
informations" (without passkeys, with two, one revoked), password change, closing, consent,
the form_post page, logout (confirmation and done), account creation, activation with the
provisional code, its password form and the account created, the address validated,
forgotten password and its reset form, a spent link, the public pages, a 404, the
protocol's error page, the 429 of the login's limit and the 503 of a database gone."""

from __future__ import annotations

import re
from functools import cache
from urllib.parse import urlencode

import pytest

from tests.flows.login.test_login_passkey import Script, device_for, on_localhost, register
from tests.helpers.accounts import add_person, finish, link_in
from tests.helpers.pages import text_of
from tests.helpers.services import database_down
from tests.i18n.catalogue import translations

FORM = re.compile(r'<form method="post" action="([^"]+)"')
SHOWN_ATTRIBUTES = re.compile(
    r'\s(?:title|aria-label|placeholder|alt|data-(?:met|unmet|low|medium|high))="([^"]*)"')
HTML_LANG = re.compile(r'<html lang="([a-z]+)"')
_LINK = re.compile(r"\[([^\]]+)\]\(\w+\)")
_FIELD = re.compile(r"\{[^}]*\}")
_SENTENCE_END = re.compile(r"(?<=[.!?:])\s+")


def _pieces(sentence: str) -> list[str]:
    """The parts of a catalogue sentence that a page prints word for word: each sentence of
    its text between placeholders and line breaks, links as their words; two words or more,
    or the whole entry when it is one word (a button, a tab, a heading)."""
    plain = _LINK.sub(r"\1", sentence)
    if len(plain.split()) == 1 and not _FIELD.search(plain):
        return [plain.strip()]
    return [p.strip() for line in plain.split("\n") for part in _FIELD.split(line)
            for p in _SENTENCE_END.split(part) if len(p.strip().split()) >= 2]


@cache
def sentences(lang: str) -> tuple[str, ...]:
    """What a page in the *other* language than ``lang`` would show: for an English page,
    the French sentences (where the English differs); for a French one, the English."""
    catalog = translations.read(translations.po_path("en"))
    english = {entry.context: entry.string for entry in catalog if entry.id}
    found, own = set(), set()
    # The French from idp.messages itself: a sentence missing from the catalogue counts too.
    for context, french in translations.entries().items():
        theirs, ours = (french, english.get(context) or "")[::1 if lang == "en" else -1]
        own.update(_pieces(ours))
        if theirs != ours:
            found.update(_pieces(theirs))
    # A word both languages print ("Email": the French of one entry, the English of another).
    return tuple(sorted(found - own, key=len, reverse=True))


def shown(page) -> str:
    """A page's text and the attribute values a person (or password.js) is given."""
    body = page.text if hasattr(page, "text") else str(page)
    return text_of(body) + " " + " ".join(SHOWN_ATTRIBUTES.findall(body))


def foreign(text: str, lang: str) -> list[str]:
    """The other language's pieces found in ``text``; a one-word piece as a whole word."""
    return [s for s in sentences(lang)
            if (s in text if " " in s else re.search(rf"(?<!\w){re.escape(s)}(?!\w)", text))]


def submit(browser, data: dict, action: str | None = None, **kw):
    """Post the page's form (the first, or the one with ``action``) with its CSRF token."""
    actions = FORM.findall(browser.page.text)
    assert actions, text_of(browser.page)[:400]
    return browser.post_form(action or actions[0], data, **kw)


# The walk's limit on the login per NIR: above the person's own six posts (credentials
# twice, the code asked, a wrong code, the right one, the credentials while the database is
# down), so that only the walk's last NIR, typed until refused, meets it.
PER_NIR = 8
OTHER_NIR = "1840175056123"


def walk(browser, app, server, person, smtp) -> dict:
    pages = {}

    def keep(name, page, status=None):
        assert page.status_code == status if status else page.status_code < 500, (
            name, page.status_code)
        pages[name] = page
        return page

    keep("login", browser.get("/login"))
    keep("login, empty", browser.post_form("/login", {"nir": "", "password": ""}))
    keep("login, wrong password", browser.submit_credentials(person.nir, "Mauvais-2024"))
    keep("code offer", browser.submit_credentials(person.nir, person.password))
    keep("code", browser.ask_code())
    keep("code, wrong", browser.post_form("/login/code", {"code": "000000"}))
    keep("account", browser.post_form("/login/code", {"code": smtp.code_for(person.email)}))
    assert 'action="/compte/adresse-mail"' in browser.page.text, text_of(browser.page)[:400]
    phone, laptop = device_for(app), device_for(app)
    register(app, person.nir, phone, label="iPhone")
    register(app, person.nir, laptop, label="Safari sur macOS")
    elsewhere = on_localhost(server)          # the phone used once, at another login
    elsewhere.get("/login")
    assert Script(elsewhere).sign_in(phone).status_code == 200
    keep("account, passkeys", browser.get("/compte"))
    assert "iPhone" in browser.page.text and "Safari sur macOS" in browser.page.text
    revoke = re.search(r'action="(/compte/biometrie/[^"]+/desactiver)"', browser.page.text)
    keep("account, passkey revoked", submit(browser, {}, revoke.group(1)))
    keep("password change", submit(browser, {}, "/compte/mot-de-passe/code/envoyer"))
    keep("password change, wrong code", submit(browser, {"code": "0000"}, "/compte/mot-de-passe/code"))
    keep("password change, new", submit(browser, {"code": smtp.code_for(person.email, digits=4)},
                                        "/compte/mot-de-passe/code"))
    keep("password change, refused", submit(browser, {"current_password": "x", "new_password": "a",
                                                      "confirmation": "b"}))
    keep("close", browser.get("/compte/resilier"))
    keep("close, unconfirmed", submit(browser, {}))

    consent = {"client_id": "mobile-app", "response_type": "code", "scope": "openid profile email",
               "redirect_uri": "http://127.0.0.1/callback", "state": "s1",
               "code_challenge": "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
               "code_challenge_method": "S256"}
    keep("consent", browser.get("/authorize?" + urlencode(consent)))
    assert "/login/consent" in FORM.findall(browser.page.text), text_of(browser.page)[:400]
    keep("form_post", browser.get("/authorize?" + urlencode({
        "client_id": "portal", "response_type": "code", "scope": "openid",
        "redirect_uri": "http://127.0.0.1:5001/callback", "state": "s2", "nonce": "n2",
        "response_mode": "form_post"})))
    assert 'name="code"' in browser.page.text, text_of(browser.page)[:400]
    keep("logout confirmation", browser.get("/end_session"))
    keep("logged out", submit(browser, {"decision": "logout"}))

    row = add_person(app)
    keep("register", browser.get("/creer-un-compte"))
    keep("register, empty", submit(browser, {"family_name": "", "nir": "", "birthdate": "x"}))
    keep("register, sent", submit(browser, {
        "family_name": row["family_name"], "given_name": row["given_name"], "nir": row["nir"],
        "birthdate": "11/02/1986", "postal_code": row["postal_code"]}))
    code = re.search(r"^\s*(\d{8})\s*$", smtp.last_text(row["email"]), re.M).group(1)
    keep("activate", browser.get("/activer-mon-compte"))
    keep("activate, wrong", submit(browser, {"nir": row["nir"], "code": "12345678"}))
    keep("activate, finish", submit(browser, {"nir": row["nir"], "code": code}))
    assert 'id="new_password"' in browser.page.text, text_of(browser.page)[:400]
    keep("activate, weak password", submit(browser, {"new_password": "abc", "confirmation": "abd",
                                                     "email": "bad"}))
    keep("account created", finish(browser, email="louis.perso@example.fr"))
    assert "louis.perso@example.fr" in browser.page.text, text_of(browser.page)[:400]
    keep("address validated", browser.get(link_in(smtp.last_text("louis.perso@example.fr"))))

    keep("forgot", browser.get("/mot-de-passe-oublie"))
    keep("forgot, wrong", submit(browser, {"nir": "abc", "birthdate": "1969"}))
    keep("forgot, sent", submit(browser, {"nir": person.nir, "birthdate": "15/02/1969"}))
    keep("reset", browser.get(link_in(smtp.last_text(person.email))))
    assert 'id="new_password"' in browser.page.text, text_of(browser.page)[:400]
    keep("reset, mismatch", submit(browser, {"new_password": "Abcdef12!", "confirmation": "x"}))
    keep("spent link", browser.get("/mot-de-passe-oublie/not-a-token"))
    keep("spent validation link", browser.get("/valider-mon-adresse/not-a-token"))

    for path in ("/accessibilite", "/mentions-legales", "/donnees-personnelles", "/cgu"):
        keep(path, browser.get(path))
    keep("not found", browser.get("/no-such-page"))
    keep("unknown client", browser.get("/authorize?client_id=nobody&response_type=code"))

    browser.get("/login/restart")             # a clean login (the consent's flow is left)
    with database_down(app.config["SQLALCHEMY_DATABASE_URI"]):
        keep("service unavailable", browser.submit_credentials(person.nir, person.password), 503)
    assert browser.page.headers["Retry-After"]
    browser.get("/login/restart")
    for _ in range(2 * PER_NIR + 1):          # the window may turn once on the way
        if browser.submit_credentials(OTHER_NIR, "Mauvais-2024").status_code == 429:
            break
    keep("too many requests", browser.page, 429)
    return pages


@pytest.mark.config(RATELIMIT_ENABLED=True, RATELIMIT_STORAGE_URI="memory://",
                    LOGIN_RATE_LIMIT_PER_NIR=f"{PER_NIR} per minute")
@pytest.mark.parametrize("lang", ["fr", "en"])
def test_every_page_is_in_its_language_and_an_english_one_holds_no_french_sentence(
        lang, app, server, browser, person, smtp):
    from idp.extensions import limiter
    limiter.reset()
    if lang == "en":
        browser.get("/langue/en", params={"next": "/login"})     # the switch, as a person
    pages = walk(browser, app, server, person, smtp)
    assert len(pages) >= 40
    langs = {name: HTML_LANG.search(page.text).group(1) for name, page in pages.items()}
    assert {name: found for name, found in langs.items() if found != lang} == {}
    left = {name: foreign(shown(page), lang) for name, page in pages.items()}
    assert {name: found for name, found in left.items() if found} == {}
    if lang == "en":
        mails = [m for m in smtp.messages]
        assert len(mails) >= 4
        for mail in mails:
            body = mail.get_payload(decode=True).decode() if not mail.is_multipart() else \
                next(p for p in mail.walk() if p.get_content_type() == "text/plain").get_payload(
                    decode=True).decode()
            assert foreign(body + " " + str(mail["Subject"]), "en") == [], mail["Subject"]
            assert body.startswith("Hello,"), body[:200]


def test_the_check_finds_a_french_sentence_on_an_english_page():
    """The scanner can fail: a French sentence of the catalogue, whole or around its
    placeholders, is found; its English is not."""
    assert foreign("Blocked. Le nombre maximum de demandes de code a été atteint.", "en")
    assert foreign("Your rights... Vos droits sont ouverts jusqu'au 01/01/2030.", "en")
    assert foreign("Security level: Niveau indicatif de sécurité : low", "en")
    assert foreign("Passkeys on this account. Désactiver", "en")      # a one-word button
    assert not foreign("Deactivate", "en")
    assert not foreign("The maximum number of code requests has been reached.", "en")
    assert foreign("The maximum number of code requests has been reached.", "fr")
