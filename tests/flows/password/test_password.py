"""Changing the password from the account page (seed 004) and the forgotten password (FAQ),
over real HTTP with a real SMTP server and a moved clock."""

from __future__ import annotations

import re
from datetime import timedelta

from idp import messages
from idp.models import ProviderSession, Token, TrustedDevice
from tests.helpers.accounts import NEW_PASSWORD, PASSWORD, link_in, login_direct
from tests.helpers.pages import field_error, says, text_of

BLOCKED = messages.text("change_blocked_title")


def logged_in(browser, smtp, person):
    return login_direct(browser, smtp, person.nir, person.password, person.email)


def ask_change_code(browser):
    browser.get("/compte/mot-de-passe")
    return browser.post_form("/compte/mot-de-passe/code/envoyer", {})


def change_code(smtp, person):
    return smtp.code_for(person.email, digits=4)


def test_a_person_changes_the_password_and_every_other_way_in_is_revoked(
        server, browser, smtp, app, person, clock):
    other = type(browser)(server.url)
    logged_in(other, smtp, person)
    logged_in(browser, smtp, person)
    from idp.domain import devices
    from idp.extensions import db
    with app.app_context():
        from idp.domain import accounts
        account = accounts.by_nir(person.nir)
        devices.trust(account.id, "Firefox")
        db.session.add(Token(family="f", client_id="portal", account_id=account.id, scope="openid",
                             access_token_hash="a" * 64, refresh_token_hash="r" * 64,
                             issued_at=clock.now(), access_expires_at=clock.now() + timedelta(minutes=10),
                             refresh_expires_at=clock.now() + timedelta(days=30),
                             auth_time=clock.now(), amr=["pwd"]))
        db.session.commit()

    page = browser.get("/compte")
    assert re.search(r'action="/compte/mot-de-passe/code/envoyer">\s*<input[^>]*>\s*'
                     r'<button[^>]*>Mon mot de passe</button>', page.text)   # issue 13.2
    page = browser.post_form("/compte/mot-de-passe/code/envoyer", {})
    assert says(page, messages.text("change_code_sent_to") + " v***@e***.fr ?")
    assert "Renvoyer le code par mail" in page.text
    mail = smtp.last_text(person.email)
    assert "Vous avez demandé à modifier le mot de passe de votre compte ameli" in mail
    code = change_code(smtp, person)
    wrong = "0000" if code != "0000" else "1111"
    page = browser.post_form("/compte/mot-de-passe/code", {"code": wrong})
    assert field_error(page, "code") == messages.text("wrong_change_code").replace("\n", " ")
    page = browser.post_form("/compte/mot-de-passe/code", {"code": code})
    assert 'id="current_password"' in page.text and "Niveau indicatif de sécurité" in page.text

    page = browser.post_form("/compte/mot-de-passe", {
        "current_password": "Mauvais1!", "new_password": NEW_PASSWORD, "confirmation": NEW_PASSWORD})
    assert field_error(page, "current_password") == \
        messages.text("wrong_password").replace("\n", " ")
    page = browser.post_form("/compte/mot-de-passe", {
        "current_password": PASSWORD, "new_password": PASSWORD, "confirmation": PASSWORD})
    assert field_error(page, "new_password") == messages.text(
        "password_rules", labels=["être différent de votre mot de passe actuel"])
    page = browser.post_form("/compte/mot-de-passe", {
        "current_password": PASSWORD, "new_password": "nouveau-mdp", "confirmation": "autre"})
    assert field_error(page, "new_password") == messages.text("password_rules", labels=[
        "contenir des caractères latins minuscules et majuscules",
        "être saisi deux fois à l'identique"])
    page = browser.post_form("/compte/mot-de-passe", {
        "current_password": PASSWORD, "new_password": "Mdp-2690299341732",
        "confirmation": "Mdp-2690299341732"})
    assert "ne pas contenir votre n° de sécurité sociale" in field_error(page, "new_password")

    page = browser.post_form("/compte/mot-de-passe", {
        "current_password": PASSWORD, "new_password": NEW_PASSWORD, "confirmation": NEW_PASSWORD})
    assert says(page, messages.text("password_changed_done")), text_of(page)[:500]
    mail = smtp.last_text(person.email)
    # 2023-01-04 14:30 UTC is 15:30 in Paris, a Wednesday.
    assert "Le mot de passe de votre compte ameli a été modifié le mercredi 04 janvier 2023" \
           " à 15:30 (heure de Paris)." in mail
    assert "veuillez en informer rapidement votre Caisse d'Assurance Maladie" in mail

    assert browser.http.get(server.url + "/compte", allow_redirects=False).status_code == 200
    assert other.http.get(server.url + "/compte", allow_redirects=False).status_code == 303
    with app.app_context():
        from sqlalchemy import select
        assert all(d.revoked_at for d in db.session.execute(select(TrustedDevice)).scalars())
        assert all(t.revoked_at for t in db.session.execute(select(Token)).scalars())
        live = [s for s in db.session.execute(select(ProviderSession)).scalars() if not s.ended_at]
        assert len(live) == 1
    browser.get("/login/restart")
    browser.get("/login")
    assert "recevoir un code" in browser.submit_credentials(person.nir, NEW_PASSWORD).text


def test_the_change_code_lasts_fifteen_minutes_and_can_be_sent_again(
        server, browser, smtp, app, person, clock):
    logged_in(browser, smtp, person)
    ask_change_code(browser)
    code = change_code(smtp, person)
    clock.shift(timedelta(minutes=15))
    page = browser.post_form("/compte/mot-de-passe/code", {"code": code})
    assert field_error(page, "code") == messages.text("change_code_expired")
    page = browser.post_form("/compte/mot-de-passe/code/envoyer", {})
    page = browser.post_form("/compte/mot-de-passe/code", {"code": change_code(smtp, person)})
    assert 'id="current_password"' in page.text


def test_a_fourth_code_request_within_the_sliding_hour_blocks_for_an_hour(
        server, browser, smtp, app, person, clock):
    logged_in(browser, smtp, person)
    ask_change_code(browser)
    clock.shift(timedelta(minutes=20))
    browser.post_form("/compte/mot-de-passe/code/envoyer", {})
    clock.shift(timedelta(minutes=20))
    page = browser.post_form("/compte/mot-de-passe/code/envoyer", {})
    assert len(smtp.to(person.email)) == 4        # the login's code and three change codes
    page = browser.post_form("/compte/mot-de-passe/code/envoyer", {})
    until = clock.now() + timedelta(hours=1)
    assert says(page, BLOCKED) and says(page, messages.text("change_code_needed"))
    assert says(page, messages.text("change_code_quota", until=until))
    assert "Selon nos informations, vous avez déjà demandé 3 codes de confirmation" in text_of(page)
    assert len(smtp.to(person.email)) == 4
    assert says(browser.get("/compte/mot-de-passe"), messages.text("change_code_quota", until=until))
    clock.shift(timedelta(hours=1))
    page = ask_change_code(browser)
    assert "Renvoyer le code par mail" in page.text, text_of(page)[:400]


def test_three_wrong_change_codes_block_for_fifteen_minutes(
        server, browser, smtp, app, person, clock):
    logged_in(browser, smtp, person)
    ask_change_code(browser)
    code = change_code(smtp, person)
    wrong = "0000" if code != "0000" else "1111"
    browser.post_form("/compte/mot-de-passe/code", {"code": wrong})
    browser.post_form("/compte/mot-de-passe/code", {"code": wrong})
    page = browser.post_form("/compte/mot-de-passe/code", {"code": wrong})
    until = clock.now() + timedelta(minutes=15)
    assert says(page, BLOCKED)
    assert says(page, messages.text("change_code_locked", until=until))
    assert "Suite à un trop grand nombre d'actions infructueuses" in text_of(page)
    clock.shift(timedelta(minutes=14))
    assert says(browser.get("/compte/mot-de-passe"), messages.text("change_code_locked", until=until))
    clock.shift(timedelta(minutes=1))
    page = ask_change_code(browser)
    page = browser.post_form("/compte/mot-de-passe/code", {"code": change_code(smtp, person)})
    assert 'id="current_password"' in page.text


def test_a_new_address_blocks_the_password_change_for_48_hours(
        server, browser, smtp, app, person, clock):
    logged_in(browser, smtp, person)
    browser.get("/compte")
    page = browser.post_form("/compte/adresse-mail", {"email": "valerie.neuve@example.fr",
                                                      "current_password": person.password})
    assert says(page, messages.text("email_change_sent"))
    assert "Nouvelle adresse en attente de validation : valerie.neuve@example.fr" in text_of(page)
    notice = smtp.last_text(person.email)
    assert "L'adresse mail associée à votre compte ameli a été modifiée le 04/01/2023 à 15:30" \
           " (heure de Paris)." in notice
    link = link_in(smtp.last_text("valerie.neuve@example.fr"))
    page = browser.get("/compte/mot-de-passe")
    assert page.status_code == 403
    assert says(page, BLOCKED) and says(page, messages.text("email_recently_changed"))
    assert "depuis moins de 48 heures" in text_of(page)
    clock.shift(timedelta(hours=47, minutes=59))
    logged_in(browser, smtp, person)          # the provider session lasts 12 hours
    assert says(browser.get("/compte/mot-de-passe"), messages.text("email_recently_changed"))
    assert says(browser.get(link), messages.text("email_validated"))
    clock.shift(timedelta(minutes=1))
    assert browser.get("/compte/mot-de-passe").status_code == 200
    assert len(smtp.to("valerie.neuve@example.fr")) == 1
    page = browser.post_form("/compte/mot-de-passe/code/envoyer", {})
    assert len(smtp.to("valerie.neuve@example.fr")) == 2      # codes now go to the new address


def test_a_forgotten_password_is_reset_by_a_single_use_link_and_lifts_the_lock(
        server, browser, smtp, app, person, clock):
    browser.get("/login")
    for _ in range(3):
        page = browser.submit_credentials(person.nir, "Mauvais1!")
    assert "bloqué" in text_of(page)
    page = browser.get("/login")
    assert '<a href="/mot-de-passe-oublie">Mot de passe oublié ?</a>' in page.text
    assert '<a href="/creer-un-compte">Créer un compte</a>' in page.text

    answers = []
    for nir, born in ((person.nir, "15/02/1969"), ("1991299123456", "15/02/1969"),
                      (person.nir, "16/02/1969")):
        browser.get("/mot-de-passe-oublie")
        answers.append(browser.post_form("/mot-de-passe-oublie", {"nir": nir, "birthdate": born}))
    bodies = {re.sub(r'name="csrf_token" value="[^"]+"', "", a.text) for a in answers}
    assert len(bodies) == 1 and says(answers[0], messages.text("reset_requested"))
    assert len(smtp.to(person.email)) == 1
    mail = smtp.last_text(person.email)
    assert "Vous avez déclaré avoir oublié le mot de passe de votre compte ameli" in mail
    assert "Attention ! Ce lien est valable 1 heure et ne peut être utilisé qu'une seule fois." in mail
    link = link_in(mail)

    page = browser.get(link)
    assert "Niveau indicatif de sécurité" in page.text
    token_path = link.split(server.url, 1)[1]
    page = browser.post_form(token_path, {"new_password": "court", "confirmation": "court"})
    assert "comporter entre 6 et 50 caractères" in field_error(page, "new_password")
    page = browser.post_form(token_path, {"new_password": NEW_PASSWORD, "confirmation": NEW_PASSWORD})
    assert says(page, messages.text("password_reset_done"))
    assert "a été modifié le mercredi 04 janvier 2023" in smtp.last_text(person.email)
    assert says(browser.get(link), messages.text("link_invalid"))
    browser.get("/login")
    assert "recevoir un code" in browser.submit_credentials(person.nir, NEW_PASSWORD).text


def test_a_reset_link_expires_after_an_hour(server, browser, smtp, app, person, clock):
    browser.get("/mot-de-passe-oublie")
    browser.post_form("/mot-de-passe-oublie", {"nir": person.nir, "birthdate": "1969-02-15"})
    link = link_in(smtp.last_text(person.email))
    clock.shift(timedelta(hours=1))
    assert says(browser.get(link), messages.text("link_invalid"))
    assert says(browser.get(link[:-3] + "abc"), messages.text("link_invalid"))


def _reset_link(server, browser, smtp, person) -> str:
    browser.get("/mot-de-passe-oublie")
    browser.post_form("/mot-de-passe-oublie", {"nir": person.nir, "birthdate": "15/02/1969"})
    path = link_in(smtp.last_text(person.email)).split(server.url, 1)[1]
    browser.get(path)
    return path


DIFFERENT = "être différent de votre mot de passe actuel"


def test_the_reset_page_compares_with_the_current_password_only_when_all_else_passes(
        server, browser, smtp, app, person):
    """issue 11.5: with a confirmation that differs (or another rule broken), the current
    password is not looked at, so the page tells nothing about it."""
    path = _reset_link(server, browser, smtp, person)
    page = browser.post_form(path, {"new_password": PASSWORD, "confirmation": PASSWORD + "x"})
    assert page.status_code == 400
    error = field_error(page, "new_password")
    assert "être saisi deux fois à l'identique" in error and DIFFERENT not in error
    page = browser.post_form(path, {"new_password": "ameli2024!", "confirmation": "ameli2024!"})
    assert DIFFERENT not in field_error(page, "new_password")
    page = browser.post_form(path, {"new_password": PASSWORD, "confirmation": PASSWORD})
    assert DIFFERENT in field_error(page, "new_password")


def test_the_reset_page_locks_after_three_tries_of_the_current_password(
        server, browser, smtp, app, person, clock):
    """issue 11.5: each "same as the current one" is counted (idp.limits); the third locks
    the reset of that account for 15 minutes, whatever is typed, then it works again."""
    path = _reset_link(server, browser, smtp, person)
    for _ in range(2):
        page = browser.post_form(path, {"new_password": PASSWORD, "confirmation": PASSWORD})
        assert DIFFERENT in field_error(page, "new_password")
    page = browser.post_form(path, {"new_password": PASSWORD, "confirmation": PASSWORD})
    locked = ("Suite à un trop grand nombre d'actions infructueuses, l'accès au service est"
              " bloqué jusqu'au")
    assert page.status_code == 403 and says(page, locked)
    browser.get(path)
    page = browser.post_form(path, {"new_password": NEW_PASSWORD, "confirmation": NEW_PASSWORD})
    assert page.status_code == 403 and says(page, locked)       # nothing is evaluated
    clock.shift(timedelta(minutes=15))
    browser.get(path)
    page = browser.post_form(path, {"new_password": NEW_PASSWORD, "confirmation": NEW_PASSWORD})
    assert says(page, messages.text("password_reset_done"))


def test_the_reset_form_names_each_wrong_field(server, browser, app):
    browser.get("/mot-de-passe-oublie")
    page = browser.post_form("/mot-de-passe-oublie", {"nir": "abc", "birthdate": "1969"})
    assert field_error(page, "nir") == messages.text("nir_invalid", reason="format")
    assert field_error(page, "birthdate") == messages.text("birthdate_invalid")


NODE_HARNESS = r"""
const fs = require("fs");
function el() { return { value: "", textContent: "", handlers: {}, classes: {},
  addEventListener(n, f) { this.handlers[n] = f; },
  classList: { toggle(name, on) { this.on = on; } } }; }
const input = el(), confirmation = el(), level = el();
const said = JSON.parse(process.argv[4]);
// issue 13.7: the level's words come from the page's data-low / data-medium / data-high.
level.getAttribute = name => said[name.replace("data-", "")];
const rules = ["length", "case", "digit_or_special", "allowed", "no_personal", "confirmation"]
  .map(r => { const li = el(); li.rule = r; li.tick = el(); li.state = el();
    li.getAttribute = () => r;
    li.querySelector = s => (s === ".tick" ? li.tick : s === ".rule-state" ? li.state : null);
    return li; });
const list = { querySelectorAll: () => rules,
               getAttribute: name => ({ "data-met": said.met, "data-unmet": said.unmet })[name] };
global.document = { getElementById: id => ({ new_password: input, confirmation, "password-rules": list })[id],
                    querySelector: () => level };
eval(fs.readFileSync(process.argv[2], "utf8"));
const out = {};
for (const p of JSON.parse(process.argv[3])) {
  input.value = p; confirmation.value = p; input.handlers.input();
  out[p] = { level: level.textContent,
             failing: rules.filter(li => li.tick.textContent === "\u2717").map(li => li.rule),
             unmet: rules.filter(li => li.state.textContent === said.unmet).map(li => li.rule),
             met: rules.filter(li => li.state.textContent === said.met).map(li => li.rule) };
}
console.log(JSON.stringify(out));
"""


def test_the_checklist_script_ticks_and_scores_like_the_server(app, tmp_path):
    import json
    import shutil
    import subprocess
    from pathlib import Path

    import pytest

    from idp.domain import passwords
    from idp.policy import Policy
    node = shutil.which("node")
    if node is None:
        pytest.skip("node is not installed")
    samples = ["abc", "Abcdef12", "Abcdef12!xyzwq", "motdepasse", "MOT DE PASSE é1",
               "Aa1", "Ab" * 26, "Tr0ub4dor&3xyzAB"]
    harness = tmp_path / "harness.js"
    harness.write_text(NODE_HARNESS)
    script = Path(app.root_path) / "static" / "password.js"
    from idp import messages
    said = {"met": messages.text("password_rule_met"), "unmet": messages.text("password_rule_unmet"),
            **{level: messages.text(f"password_strength_{level}") for level in ("low", "medium", "high")}}
    out = json.loads(subprocess.run([node, str(harness), str(script), json.dumps(samples),
                                     json.dumps(said)],
                                    capture_output=True, text=True, check=True).stdout)
    for sample in samples:
        assert out[sample]["level"] == passwords.strength(sample), sample
        server = passwords.check_new_password(sample, confirmation=sample, nir=None,
                                              birthdate=None, policy=Policy())
        assert out[sample]["failing"] == server, sample
        # issue 13.6: each rule's state in words agrees with its tick (the rules the page
        # cannot check, like no_personal, keep neither).
        assert out[sample]["unmet"] == server, sample
        checked = ("length", "case", "digit_or_special", "allowed", "confirmation")
        assert out[sample]["met"] == [r for r in checked if r not in server], sample
