"""The account page's passkeys (issue 14): each live one with its label, its dates in Paris
time (activated, last used, valid until) and a CSRF-protected button that revokes it alone;
another account's passkey is out of reach."""

from __future__ import annotations

from datetime import timedelta

import pytest

from idp import messages
from tests.flows.login.test_login_passkey import (
    Script,
    device_for,
    on_localhost,
    register,
)
from tests.helpers.accounts import login_direct, rows
from tests.helpers.pages import says, text_of

OTHER_NIR = "1840175056123"


@pytest.fixture
def browser(server):
    """On ``localhost``, the passkeys' origin (test_login_passkey.on_localhost)."""
    return on_localhost(server)


def test_the_page_lists_each_passkey_with_its_dates_and_revokes_one(app, browser, person, smtp,
                                                                    clock):
    from idp.models import Passkey
    phone, laptop = device_for(app), device_for(app)
    register(app, person.nir, phone, label="Chrome sur Android")
    clock.shift(timedelta(days=2))
    register(app, person.nir, laptop, label="Safari sur macOS")
    clock.shift(timedelta(hours=1))
    browser.get("/login")
    Script(browser).sign_in(phone)              # the phone's last use: now
    page = browser.get("/compte")
    assert says(page, messages.text("passkeys_title"))
    created = rows(app, Passkey)
    by_label = {p.label: p for p in created}
    android, mac = by_label["Chrome sur Android"], by_label["Safari sur macOS"]
    text = text_of(page)
    assert "Chrome sur Android" in text and "Safari sur macOS" in text
    assert messages.text("passkey_created", on=android.created_at) in text
    assert messages.text("passkey_last_used", at=clock.now()) in text
    assert messages.text("passkey_never_used") in text
    assert messages.text("passkey_valid_until", on=mac.expires_at) in text
    assert "04/01/2023" in text and "06/07/2023" in text      # Paris dates of the seed's 6 mois
    page = browser.post_form(f"/compte/biometrie/{android.id}/desactiver", {})
    assert says(page, messages.text("passkey_revoked_done"))
    assert "Chrome sur Android" not in text_of(page) and "Safari sur macOS" in text_of(page)
    revoked = {p.label: p for p in rows(app, Passkey)}
    assert revoked["Chrome sur Android"].revoked_reason == "person"
    assert revoked["Safari sur macOS"].revoked_at is None
    # the revoked phone no longer signs in
    browser.logout()
    browser.get("/login")
    assert Script(browser).sign_in(phone).status_code == 400


def test_another_accounts_passkey_is_out_of_reach(app, browser, person, smtp, make_account):
    from idp.models import Passkey
    make_account(OTHER_NIR, email="jean.dupont@example.fr")
    register(app, OTHER_NIR, device_for(app), label="Firefox sur Windows")
    (theirs,) = rows(app, Passkey)
    login_direct(browser, smtp, person.nir, person.password, person.email)
    page = browser.get("/compte")
    assert "Firefox sur Windows" not in text_of(page)
    assert says(page, messages.text("passkeys_none"))
    browser.post_form(f"/compte/biometrie/{theirs.id}/desactiver", {})
    assert rows(app, Passkey)[0].revoked_at is None


def test_revoking_needs_the_session_and_the_token(app, browser, person, smtp):
    from idp.models import Passkey
    register(app, person.nir, device_for(app))
    (passkey,) = rows(app, Passkey)
    anonymous = browser.http.post(browser.base + f"/compte/biometrie/{passkey.id}/desactiver",
                                  allow_redirects=False)
    assert anonymous.status_code in (303, 400)
    login_direct(browser, smtp, person.nir, person.password, person.email)
    no_token = browser.http.post(browser.base + f"/compte/biometrie/{passkey.id}/desactiver",
                                 headers={"Origin": browser.base})
    assert no_token.status_code == 400
    assert rows(app, Passkey)[0].revoked_at is None
