"""Helpers for the login journey's tests: what a person reads on a page, accounts in each state
of seed 004, a per-test configuration override, and the usual walks through the pages."""

from __future__ import annotations

import html
import re
from datetime import date

import pytest

PASSWORD = "Ameli2024!"   # the password of tests/conftest.py's demo person


def pytest_configure(config):
    config.addinivalue_line("markers", "config(**values): extra app configuration for a test")


@pytest.fixture
def app_config(app_config, request):
    """The shared configuration, plus what a test's ``@pytest.mark.config(...)`` adds."""
    marker = request.node.get_closest_marker("config")
    if marker is None:
        return app_config
    extra = dict(marker.kwargs)
    if "POLICY" in extra:
        extra["POLICY"] = {**app_config["POLICY"], **extra["POLICY"]}
    return {**app_config, **extra}


_TAG = re.compile(r"<[^>]+>")
_SPACE = re.compile(r"\s+")


def text_of(page) -> str:
    """The visible text of a page with whitespace normalised: sentences in idp.messages carry
    "\\n" between sentences (rendered with white-space: pre-line), which becomes one space."""
    body = page.text if hasattr(page, "text") else str(page)
    body = re.sub(r"<(script|style)\b.*?</\1>", " ", body, flags=re.S)
    return _SPACE.sub(" ", html.unescape(_TAG.sub(" ", body))).strip()


def says(page, sentence: str) -> bool:
    return _SPACE.sub(" ", sentence).strip() in text_of(page)


def field_error(page, field: str) -> str | None:
    """The error tied to a field: aria-invalid on the input and its aria-describedby target."""
    body = page.text
    tag = re.search(rf'<input[^>]*\bid="{field}"[^>]*>', body, re.S)
    assert tag, f"no field {field}"
    if 'aria-invalid="true"' not in tag.group(0):
        return None
    described = re.search(r'aria-describedby="([^"]+)"', tag.group(0)).group(1).split()
    for target in described:
        found = re.search(rf'id="{target}"[^>]*>(.*?)</', body, re.S)
        if found and "error" in target:
            return _SPACE.sub(" ", html.unescape(found.group(1))).strip()
    return None


@pytest.fixture
def make_account(app):
    """Accounts in the states of seed 004 (cases 1, 1 bis, 8, 9), made through the domain."""
    from idp.domain import accounts
    from idp.extensions import db

    def make(nir, *, email="someone@example.fr", status="active", email_verified=True,
             closed_on: date | None = None):
        with app.app_context():
            account = accounts.create(
                nir=nir, password=PASSWORD, email=email, given_name="Jean",
                family_name="DUPONT", birthdate="1984-01-17", gender="male",
                email_verified=email_verified, status=status)
            if closed_on is not None:
                account.closed_on = closed_on
            db.session.commit()
            return account.id
    return make


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
