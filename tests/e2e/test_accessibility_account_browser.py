"""Accessibility beyond axe on the account's pages (issue 13.6), in Chromium on http and
https: the CGU that the activation's checkbox asks to accept is one link away."""

from __future__ import annotations

import pytest

from idp import messages
from tests.helpers.accounts import add_person
from tests.helpers.browser import press, shown

pytestmark = pytest.mark.browser


def test_the_cgu_checkbox_links_to_the_cgu_page(page, server, smtp, app):
    """issue 13.6: "Créer un compte", the provisional code, then beside "J'accepte les
    conditions générales d'utilisation" a link that opens the CGU page."""
    person = add_person(app)
    page.goto(server.url + "/creer-un-compte")
    page.fill("#family_name", person["family_name"])
    page.fill("#given_name", person["given_name"])
    page.fill("#nir", person["nir"])
    page.fill("#birthdate", "/".join(reversed(person["birthdate"].split("-"))))
    page.fill("#postal_code", person["postal_code"])
    press(page, "Valider")
    page.goto(server.url + "/activer-mon-compte")
    page.fill("#nir", person["nir"])
    page.fill("#code", smtp.code_for(person["email"], digits=8))
    press(page, "Continuer")
    assert page.locator("#terms").count() == 1, shown(page)[:300]
    link = page.get_by_role("link", name=messages.text("cgu_link"), exact=True)
    assert link.count() == 1
    # The link is tied to the checkbox for assistive technology.
    assert link.get_attribute("id") in (page.locator("#terms").get_attribute(
        "aria-describedby") or "").split()
    with page.expect_popup() as opened:
        link.click()
    cgu = opened.value
    cgu.wait_for_load_state()
    assert cgu.locator("h1").inner_text() == messages.text("public_cgu_title")
    assert cgu.title() == messages.text("public_cgu_title")
    assert len(cgu.inner_text("main")) > 80
    assert page.locator("#terms").count() == 1        # the form the person fills stays open
