"""Accounts and people for the journeys' tests: the registry, the usual walks through the
login pages, and reading rows back."""

from __future__ import annotations

import re

from idp import messages
from tests.helpers.pages import text_of

PASSWORD = "Ameli2024!"
NEW_PASSWORD = "Nouveau-Mdp42"
def link_in(mail_text: str) -> str:
    found = re.findall(r"^(https?://\S+)\s*$", mail_text, re.M)
    assert found, mail_text
    return found[-1]


def add_person(app, **values):
    from idp.domain import registry
    from idp.extensions import db
    row = dict(nir="1860275056042", family_name="BERNARD", given_name="Louis",
               birthdate="1986-02-11", gender="male", birthplace="75056", birthcountry="99100",
               postal_code="75011", fund="CPAM de Paris", email="louis.bernard@example.fr",
               mobile="0612345678", vitale_serial="123456789",
               iban="FR7630006000011234567890189", status="attached")
    row.update(values)
    with app.app_context():
        registry.upsert(registry.parse(
            ",".join(registry.HEADER) + "\n" + ",".join(str(row[k] or "") for k in registry.HEADER)))
        db.session.commit()
    return row


def login_direct(browser, smtp, nir, password, email):
    """Log in on our own pages (no relying party): the session opens the account page."""
    browser.get("/login")
    page = browser.post_form("/login", {"nir": nir, "password": password})
    assert "recevoir un code de sécurité" in page.text, text_of(page)[:600]
    browser.post_form("/login/code/send", {})
    page = browser.post_form("/login/code", {"code": smtp.code_for(email)})
    assert "Mes informations" in page.text, text_of(page)[:600]
    return page


def login_until_code_sent(browser, person, smtp, *, nir=None):
    """Credentials, then "Recevoir un code de sécurité": the code page, and the code."""
    browser.get("/login")
    page = browser.submit_credentials(nir or person.nir, person.password)
    assert "recevoir un code de sécurité" in page.text, text_of(page)[:600]
    page = browser.ask_code()
    assert 'name="code"' in page.text, text_of(page)[:600]
    return smtp.code_for(person.email)


def logged_in(browser) -> bool:
    """Whether the browser's session opens the account page."""
    response = browser.http.get(browser.base + "/compte", allow_redirects=False)
    return response.status_code == 200 and "Mes informations" in response.text


def rows(app, model, **where):
    from sqlalchemy import select

    from idp.extensions import db
    with app.app_context():
        query = select(model)
        for name, value in where.items():
            query = query.where(getattr(model, name) == value)
        found = list(db.session.execute(query).scalars())
        db.session.expunge_all()        # plain loaded objects, readable after the context
        db.session.rollback()
        return found


# -- creating an account through the pages ------------------------------------------------

SAME_ANSWER = messages.text("registration_requested")


def ask_code(browser, person, **changes):
    browser.get("/creer-un-compte")
    form = {"family_name": person["family_name"], "given_name": person["given_name"],
            "nir": person["nir"], "birthdate": "/".join(reversed(person["birthdate"].split("-"))),
            "postal_code": person["postal_code"], **changes}
    return browser.post_form("/creer-un-compte", form)


def activate_with(browser, nir, **proof):
    browser.get("/activer-mon-compte")
    return browser.post_form("/activer-mon-compte", {"nir": nir, **proof})


def finish(browser, *, email, password=NEW_PASSWORD, confirmation=None, terms=True, mobile=""):
    data = {"new_password": password, "confirmation": confirmation or password,
            "email": email, "mobile": mobile, "contact_sms": "1"}
    if terms:
        data["terms"] = "1"
    return browser.post_form("/activer-mon-compte/finaliser", data)
