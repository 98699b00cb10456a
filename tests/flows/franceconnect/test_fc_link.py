"""Issue 11.1: tying a FranceConnect identity to an ameli account by a local login. The link
takes a complete login (password and e-mailed code, or a trusted device), the pivot identity
must be the registry person of that account, the owner is mailed, the account page shows the
link and undoes it, and a password reset or an account re-creation removes it."""

from __future__ import annotations

import re
from email.header import decode_header, make_header

import pytest

from idp import messages
from tests.helpers.fc import (
    PORTAL,
    claims_of,
    click_franceconnect,
    fc_sub_of,
    follow,
    open_portal_login,
    portal_tokens,
)
from tests.helpers.pages import visible

PIVOT = ("given_name", "family_name", "birthdate", "gender", "birthplace", "birthcountry")


def add_registry(app, nir, identity, email=None):
    from idp.extensions import db
    from idp.models import Person
    with app.app_context():
        db.session.add(Person(nir=nir, email=email, **{k: identity[k] for k in PIVOT}))
        db.session.commit()


@pytest.fixture
def twins(app, person, upstream):
    """Two insured persons share FranceConnect's pivot identity: the registry alone cannot
    say which account it is, the person must say it by logging in."""
    add_registry(app, person.nir, upstream.identity, person.email)
    add_registry(app, "2690299341999", upstream.identity)
    return person


def subjects(smtp, address) -> list[str]:
    return [str(make_header(decode_header(m["Subject"]))) for m in smtp.to(address)]


def start_link(browser):
    open_portal_login(browser)
    page = follow(browser, click_franceconnect(browser))
    assert "connectez-vous une seule fois" in visible(page), visible(page)[:400]
    return page


def link_with_password(browser, person, password=None):
    """The link form, its redirects followed up to (not into) the portal."""
    return follow(browser, browser.post_form("/franceconnect/link", {
        "nir": person.nir, "password": password or person.password}, allow_redirects=False))


def enter_the_code(browser, smtp, person, *, remember=False):
    page = browser.ask_code()
    assert "Saisissez le code de sécurité" in page.text, visible(page)[:400]
    return browser.submit_code(smtp.code_for(person.email), remember=remember)


def linked_by_code(app, browser, smtp, person):
    start_link(browser)
    link_with_password(browser, person)
    return follow(browser, enter_the_code(browser, smtp, person))


def test_someone_knowing_the_nir_and_password_cannot_link_their_own_franceconnect_identity(
        app, server, browser, smtp, upstream, person):
    """issue 11.1: the attacker has the victim's NIR and password, not her mailbox, and logs
    in to FranceConnect as himself."""
    add_registry(app, person.nir, {"given_name": "Valérie", "family_name": "MARTIN",
                                   "birthdate": "1969-02-15", "gender": "female",
                                   "birthplace": "99341", "birthcountry": "99100"}, person.email)
    upstream.identity = {"given_name": "Marc", "family_name": "DURAND", "birthdate": "1980-05-05",
                         "gender": "male", "birthplace": "75056", "birthcountry": "99100",
                         "email": "marc@example.org"}
    start_link(browser)
    page = link_with_password(browser, person)
    assert page.status_code == 403
    assert messages.text("fc_identity_mismatch") in visible(page)
    assert fc_sub_of(app, person.nir) is None
    assert browser.get("/compte", allow_redirects=False).status_code == 303   # no session
    assert smtp.to(person.email) == []                    # no code was even sent
    # and his FranceConnect login still leads nowhere
    open_portal_login(browser)
    assert "connectez-vous une seule fois" in visible(follow(browser, click_franceconnect(browser)))


def test_the_password_alone_does_not_link_the_e_mailed_code_is_asked_as_at_the_login(
        app, server, browser, smtp, upstream, twins):
    """issue 11.1: linking is a complete login: password, then the code from the mailbox."""
    start_link(browser)
    page = link_with_password(browser, twins)
    assert "recevoir un code de sécurité" in page.text, visible(page)[:400]
    assert messages.text("fc_link_code") in visible(page)
    assert fc_sub_of(app, twins.nir) is None
    assert browser.get("/compte", allow_redirects=False).status_code == 303
    browser.get("/login")
    page = browser.ask_code()
    wrong = browser.submit_code("000000" if smtp.code_for(twins.email) != "000000" else "111111")
    assert "Le code de sécurité saisi est erroné" in visible(wrong)
    assert fc_sub_of(app, twins.nir) is None
    landing = follow(browser, browser.submit_code(smtp.code_for(twins.email)))
    assert landing.headers["Location"].startswith(PORTAL), visible(landing)[:400]
    assert fc_sub_of(app, twins.nir) == upstream.sub
    claims = claims_of(portal_tokens(server, landing.headers["Location"])["id_token"])
    assert claims["amr"][0] == "fc"


def test_three_wrong_codes_while_linking_lock_the_login_as_they_do_at_the_login(
        app, server, browser, smtp, upstream, twins):
    """issue 11.1: the link meets the login's own locks (case 6), not a copy of them."""
    start_link(browser)
    link_with_password(browser, twins)
    browser.get("/login")
    browser.ask_code()
    right = smtp.code_for(twins.email)
    wrong = "1" * 6 if right != "1" * 6 else "2" * 6
    for _ in range(3):
        page = browser.submit_code(wrong)
    assert "L'accès au service est bloqué" in visible(page)
    assert fc_sub_of(app, twins.nir) is None
    other = type(browser)(server.url)
    other.get("/login")
    assert "L'accès au service est bloqué" in visible(other.submit_credentials(twins.nir,
                                                                               twins.password))


def test_a_trusted_device_spares_the_code_when_linking_as_it_does_at_the_login(
        app, server, browser, smtp, upstream, twins):
    """issue 11.1"""
    browser.get("/login")
    browser.submit_credentials(twins.nir, twins.password)
    browser.ask_code()
    browser.submit_code(smtp.code_for(twins.email), remember=True)
    browser.http.cookies.pop("session", None)      # the trust cookie stays
    mails = len(smtp.to(twins.email))
    start_link(browser)
    landing = link_with_password(browser, twins)
    assert landing.headers["Location"].startswith(PORTAL), visible(landing)[:400]
    assert fc_sub_of(app, twins.nir) == upstream.sub
    assert subjects(smtp, twins.email)[mails:] == [messages.MAIL_SUBJECTS["franceconnect_linked"]]


def test_the_owner_is_mailed_when_a_link_is_made(app, server, browser, smtp, upstream, twins):
    """issue 11.1"""
    linked_by_code(app, browser, smtp, twins)
    assert subjects(smtp, twins.email)[-1] == messages.MAIL_SUBJECTS["franceconnect_linked"]
    text = smtp.last_text(twins.email)
    assert "relié à FranceConnect" in text and "Mes informations" in text


def test_an_automatic_link_by_the_registry_is_mailed_too(app, server, browser, smtp, upstream,
                                                         person):
    """issue 11.1"""
    add_registry(app, person.nir, upstream.identity, person.email)
    open_portal_login(browser)
    landing = follow(browser, click_franceconnect(browser))
    assert landing.headers["Location"].startswith(PORTAL)
    assert subjects(smtp, person.email) == [
        messages.MAIL_SUBJECTS["franceconnect_linked"]]


def test_the_account_page_shows_the_link_and_undoes_it_by_a_protected_post(
        app, server, browser, smtp, upstream, twins):
    """issue 11.1"""
    linked_by_code(app, browser, smtp, twins)
    page = browser.get("/compte")
    assert messages.text("fc_linked_info") in visible(page)
    assert 'action="/compte/franceconnect/supprimer"' in page.text
    forged = browser.http.post(server.url + "/compte/franceconnect/supprimer", data={})
    assert forged.status_code == 400 and fc_sub_of(app, twins.nir) == upstream.sub
    page = browser.post_form("/compte/franceconnect/supprimer", {})
    assert messages.text("fc_unlinked") in visible(page)
    assert messages.text("fc_not_linked_info") in visible(page)
    assert fc_sub_of(app, twins.nir) is None
    start_link(browser)                   # FranceConnect alone no longer enters the account


def test_undoing_the_link_ends_the_sessions_opened_through_franceconnect(
        app, server, browser, smtp, upstream, twins):
    """issue 11.1: a link made by someone else stops working at once, not only for new logins."""
    linked_by_code(app, browser, smtp, twins)
    assert browser.get("/compte", allow_redirects=False).status_code == 200
    owner = type(browser)(server.url)
    owner.get("/login")
    owner.submit_credentials(twins.nir, twins.password)
    owner.ask_code()
    owner.submit_code(smtp.code_for(twins.email))
    owner.get("/compte")
    owner.post_form("/compte/franceconnect/supprimer", {})
    assert owner.get("/compte", allow_redirects=False).status_code == 200     # the owner's stays
    assert browser.get("/compte", allow_redirects=False).status_code == 303   # FranceConnect's


def test_a_password_reset_removes_the_link(app, server, browser, smtp, upstream, twins):
    """issue 11.1"""
    linked_by_code(app, browser, smtp, twins)
    other = type(browser)(server.url)
    other.get("/mot-de-passe-oublie")
    other.post_form("/mot-de-passe-oublie", {"nir": twins.nir, "birthdate": "15/02/1969"})
    link = re.findall(r"^(https?://\S+)\s*$", smtp.last_text(twins.email), re.M)[-1]
    other.get(link)
    page = other.post_form(link.split(server.url, 1)[1], {"new_password": "Nouveau-Mdp42",
                                                          "confirmation": "Nouveau-Mdp42"})
    assert messages.text("password_reset_done") in visible(page)
    assert fc_sub_of(app, twins.nir) is None
    fresh = type(browser)(server.url)
    start_link(fresh)


def test_a_closed_account_opened_again_is_no_longer_linked(app, server, browser, smtp, upstream,
                                                           twins):
    """issue 11.1: re-creating a closed account (seed 004, case 1 bis) starts without the link."""
    from idp.domain import registration
    from idp.extensions import db
    linked_by_code(app, browser, smtp, twins)
    browser.get("/compte/resilier")
    browser.post_form("/compte/resilier", {"confirm": "1"})
    with app.app_context():
        row = registration.links.create("activation", ttl=registration.policy().interaction_ttl,
                                        nir=twins.nir, replace=False)[0]
        db.session.commit()
        registration.activate(row.id, password="Nouveau-Mdp42", confirmation="Nouveau-Mdp42",
                              terms=True, email=twins.email, make_link=lambda t: "http://x/" + t)
    assert fc_sub_of(app, twins.nir) is None


def test_an_account_reset_then_created_again_is_not_linked(app, server, browser, smtp, upstream,
                                                           twins):
    """issue 11.1: ``user reset`` then ``user create``."""
    linked_by_code(app, browser, smtp, twins)
    runner = app.test_cli_runner()
    assert runner.invoke(args=["idp", "user", "reset", twins.nir]).exit_code == 0
    created = runner.invoke(args=[
        "idp", "user", "create", "--nir", twins.nir, "--password", "Ameli2024!", "--email",
        twins.email, "--given-name", "Valérie Anne", "--family-name", "MARTIN", "--birthdate",
        "1969-02-15", "--gender", "female"])
    assert created.exit_code == 0, created.output
    assert fc_sub_of(app, twins.nir) is None
    start_link(type(browser)(server.url))
