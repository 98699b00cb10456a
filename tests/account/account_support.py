"""Helpers of the account's tests: what a person reads, the registry, a direct login."""

from __future__ import annotations

import html
import re

PASSWORD = "Ameli2024!"
NEW_PASSWORD = "Nouveau-Mdp42"
_TAG = re.compile(r"<[^>]+>")
_SPACE = re.compile(r"\s+")


def text_of(page) -> str:
    body = page.text if hasattr(page, "text") else str(page)
    body = re.sub(r"<(script|style)\b.*?</\1>", " ", body, flags=re.S)
    return _SPACE.sub(" ", html.unescape(_TAG.sub(" ", body))).strip()


def says(page, sentence: str) -> bool:
    return _SPACE.sub(" ", sentence).strip() in text_of(page)


def field_error(page, field: str) -> str | None:
    """The error tied to a field through aria-describedby, when the field is invalid."""
    tag = re.search(rf'<input[^>]*\bid="{field}"[^>]*>', page.text, re.S)
    assert tag, f"no field {field}"
    if 'aria-invalid="true"' not in tag.group(0):
        return None
    for target in re.search(r'aria-describedby="([^"]+)"', tag.group(0)).group(1).split():
        found = re.search(rf'id="{target}"[^>]*>(.*?)</p>', page.text, re.S)
        if found and target.endswith("-error"):
            return _SPACE.sub(" ", html.unescape(_TAG.sub("", found.group(1)))).strip()
    return None


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
