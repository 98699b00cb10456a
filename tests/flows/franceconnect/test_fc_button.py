"""The "S'identifier avec FranceConnect" button: our provider as FranceConnect's relying party,
against a FranceConnect stand-in over real HTTP."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest

from tests.helpers.fc import (
    FS_CLIENT_ID,
    FS_SECRET,
    HEX64,
    PORTAL,
    claims_of,
    click_franceconnect,
    fc_sub_of,
    follow,
    open_portal_login,
    portal_tokens,
)
from tests.helpers.pages import query_of_url as query_of
from tests.helpers.pages import visible

# -- the button and the request ---------------------------------------------------------------

def test_the_login_page_shows_franceconnect_s_button_with_its_explanation_and_an_or(
        server, browser, upstream):
    page = open_portal_login(browser)
    text = visible(page)
    assert "S'identifier avec FranceConnect" in text
    assert "Qu'est-ce que FranceConnect ?" in text
    assert text.index("FranceConnect ?") < text.index("OU") < text.index("Mon numéro de sécurité")
    assert 'action="/franceconnect/login"' in page.text and 'class="fr-connect"' in page.text
    assert "https://" not in re.sub(r'href="https://[^"]+"', "", page.text)  # no outside resource


def test_the_button_sends_a_code_flow_request_with_fresh_64_hex_state_and_nonce(
        server, browser, upstream):
    open_portal_login(browser)
    first = click_franceconnect(browser)
    assert first.status_code == 303 and first.headers["Location"].startswith(upstream.issuer)
    asked = query_of(first.headers["Location"])
    open_portal_login(browser)
    second = query_of(click_franceconnect(browser).headers["Location"])
    assert asked["response_type"] == "code" and asked["client_id"] == FS_CLIENT_ID
    assert asked["redirect_uri"] == server.url + "/franceconnect/callback"
    assert "openid" in asked["scope"].split() and asked["acr_values"] == "eidas1"
    assert HEX64.match(asked["state"]) and HEX64.match(asked["nonce"])
    assert asked["state"] != second["state"] and asked["nonce"] != second["nonce"]
    assert "code_challenge" not in asked


# -- first login: reconciliation, then the fc sub --------------------------------------------

def test_a_person_found_once_in_the_registry_with_an_active_account_is_logged_in_and_linked(
        app, server, browser, upstream, registered):
    open_portal_login(browser)
    landing = follow(browser, click_franceconnect(browser))
    assert landing.headers["Location"].startswith(PORTAL), visible(landing)[:400]
    tokens = portal_tokens(server, landing.headers["Location"])
    claims = claims_of(tokens["id_token"])
    assert claims["amr"][0] == "fc" and claims["acr"] == "eidas1"
    assert fc_sub_of(app, registered.nir) == upstream.sub
    sent = upstream.token_requests[-1]
    assert sent["auth"] is None and sent["form"]["client_secret"] == FS_SECRET   # _post
    assert sent["form"]["grant_type"] == "authorization_code"
    assert "refresh_token" not in sent["form"].values()


def test_a_linked_person_logs_in_by_the_franceconnect_sub_even_when_the_registry_differs(
        app, server, browser, upstream, registered):
    open_portal_login(browser)
    follow(browser, click_franceconnect(browser))
    from idp.extensions import db
    from idp.models import Person
    with app.app_context():
        db.session.query(Person).delete()
        db.session.commit()
    upstream.identity = {**upstream.identity, "given_name": "Valérie"}
    open_portal_login(browser)
    landing = follow(browser, click_franceconnect(browser))
    assert landing.headers["Location"].startswith(PORTAL), visible(landing)[:400]


def test_without_the_portal_the_button_opens_the_account_page(server, browser, upstream,
                                                               registered):
    browser.get("/login")
    page = follow(browser, click_franceconnect(browser))
    assert page.status_code == 200 and page.url.endswith("/compte"), page.url


@pytest.mark.parametrize("setup, reason, links", [
    ("twins", "correspond à plusieurs assurés", True),
    ("nobody", "Nous n'avons pas retrouvé automatiquement votre compte ameli", False),
    ("no_account", "aucun compte ameli actif", False),
])
def test_an_identity_that_cannot_be_reconciled_is_explained_and_linked_only_to_its_own_person(
        app, server, browser, smtp, upstream, person, setup, reason, links):
    """issue 11.1: the local login links only the account whose registry person is the pivot
    identity, and only once complete (the e-mailed code). Before, an identity matching another
    NIR ("no_account") or nobody at all was linked to whatever account logged in."""
    from idp import messages
    from idp.extensions import db
    from idp.models import Person
    pivot = {k: upstream.identity[k] for k in ("given_name", "family_name", "birthdate",
                                                "gender", "birthplace", "birthcountry")}
    with app.app_context():
        if setup == "twins":
            db.session.add(Person(nir=person.nir, **pivot))
            db.session.add(Person(nir="2690299341999", **pivot))
        if setup == "no_account":
            db.session.add(Person(nir="2690299341999", **pivot))
        db.session.commit()
    open_portal_login(browser)
    page = follow(browser, click_franceconnect(browser))
    text = visible(page)
    assert reason in text and "connectez-vous une seule fois" in text
    assert "Me connecter avec mon numéro de sécurité sociale" in text
    assert fc_sub_of(app, person.nir) is None
    wrong = browser.post_form("/franceconnect/link", {"nir": person.nir, "password": "Faux2024!"})
    assert "Le mot de passe saisi est incorrect" in visible(wrong)
    assert fc_sub_of(app, person.nir) is None
    page = browser.post_form("/franceconnect/link", {"nir": person.nir,
                                                     "password": person.password})
    if not links:
        assert page.status_code == 403
        assert messages.text("fc_identity_mismatch") in visible(page)
        assert fc_sub_of(app, person.nir) is None
        return
    assert "recevoir un code de sécurité" in page.text and fc_sub_of(app, person.nir) is None
    browser.ask_code()
    landing = follow(browser, browser.submit_code(smtp.code_for(person.email)))
    assert landing.headers["Location"].startswith(PORTAL)
    assert fc_sub_of(app, person.nir) == upstream.sub
    assert claims_of(portal_tokens(server, landing.headers["Location"])["id_token"])["amr"][0] == "fc"


def test_a_pending_link_expires_after_ten_minutes(clock, app, server, browser, upstream, person):
    open_portal_login(browser)
    follow(browser, click_franceconnect(browser))
    clock.shift(timedelta(minutes=11))
    page = browser.post_form("/franceconnect/link", {"nir": person.nir,
                                                     "password": person.password})
    assert "La connexion avec FranceConnect a expiré" in visible(page)
    assert fc_sub_of(app, person.nir) is None


def test_a_login_cancelled_at_franceconnect_is_explained_and_the_local_login_offered(
        server, browser, upstream, registered):
    upstream.deny = True
    open_portal_login(browser)
    page = follow(browser, click_franceconnect(browser))
    text = visible(page)
    assert "La connexion avec FranceConnect a été annulée" in text
    assert "/login?interaction=" in page.text and upstream.token_requests == []


# -- each rejection -------------------------------------------------------------------------

def _refused(app, browser, registered, expected: str):
    open_portal_login(browser)
    page = follow(browser, click_franceconnect(browser))
    assert page.status_code in (400, 502), (page.status_code, visible(page)[:300])
    text = visible(page)
    assert expected in text and "Me connecter avec mon numéro de sécurité sociale" in text
    assert fc_sub_of(app, registered.nir) is None
    assert browser.get("/compte", allow_redirects=False).status_code == 303   # no session
    return page


def test_an_id_token_with_a_bad_signature_is_refused(app, server, browser, upstream, registered):
    upstream.forge()
    _refused(app, browser, registered, "n'a pas pu être vérifiée")


def test_an_id_token_with_another_nonce_is_refused(app, server, browser, upstream, registered):
    upstream.nonce = "0" * 64
    _refused(app, browser, registered, "n'a pas pu être vérifiée")


@pytest.mark.fcconfig(FRANCECONNECT_ACR_VALUES="eidas2")
def test_an_id_token_with_a_lower_acr_than_asked_is_refused(app, server, browser, upstream,
                                                            registered):
    _refused(app, browser, registered, "niveau de sécurité")
    assert upstream.authorize_requests[-1]["acr_values"] == "eidas2"


def test_a_callback_whose_state_differs_is_refused_before_any_token_request(
        app, server, browser, upstream, registered):
    upstream.state = "f" * 64
    page = follow(browser, click_franceconnect(open_portal_login(browser) and browser))
    assert page.status_code == 400 and "n'a pas pu être vérifiée" in visible(page)
    assert upstream.token_requests == []


def test_a_userinfo_for_another_sub_is_refused(app, server, browser, upstream, registered):
    upstream.userinfo_sub = "someone-else"
    _refused(app, browser, registered, "n'a pas pu être vérifiée")


def test_a_rotated_upstream_key_is_fetched_again_once_on_its_unknown_kid(
        app, server, browser, upstream, registered):
    open_portal_login(browser)
    follow(browser, click_franceconnect(browser))
    assert upstream.jwks_fetches == 1
    upstream.rotate()
    open_portal_login(browser)
    landing = follow(browser, click_franceconnect(browser))
    assert landing.headers["Location"].startswith(PORTAL)
    assert upstream.jwks_fetches == 2



def test_unknown_upstream_kids_fetch_its_keys_again_at_most_once_per_interval(
        clock, app, server, browser, upstream, registered):
    """Issue 11.12: ID tokens signed with kids FranceConnect never published are refused and
    make one new fetch of its key set per ``Policy.remote_refetch_interval``, not one each."""
    from joserfc.jwk import ECKey

    from idp.policy import Policy

    def refused():
        open_portal_login(browser)
        page = follow(browser, click_franceconnect(browser))
        assert page.status_code in (400, 502) and "n'a pas pu être vérifiée" in visible(page)

    open_portal_login(browser)
    follow(browser, click_franceconnect(browser))
    assert upstream.jwks_fetches == 1
    for n in range(3):
        upstream.signer = ECKey.generate_key("P-256", parameters={"kid": f"stranger-{n}"})
        refused()
    assert upstream.jwks_fetches == 2
    clock.shift(Policy().remote_refetch_interval)
    refused()
    assert upstream.jwks_fetches == 3


def test_franceconnect_down_is_not_asked_again_before_the_retry_delay(
        clock, app, server, browser, upstream, registered):
    """Issue 11.12: FranceConnect's discovery failing is remembered
    ``Policy.remote_retry_after``: the clicks meanwhile are answered at once, then it is
    asked again."""
    from idp.policy import Policy
    upstream.down = True
    for _ in range(3):
        open_portal_login(browser)
        page = click_franceconnect(browser)
        assert page.status_code in (502, 503), page.status_code
        assert "FranceConnect" in visible(page)
    assert upstream.discovery_fetches == 1
    upstream.down = False
    clock.shift(Policy().remote_retry_after)
    open_portal_login(browser)
    assert click_franceconnect(browser).status_code in (302, 303)
    assert upstream.discovery_fetches == 2


# -- logout -------------------------------------------------------------------------------

def test_logging_out_also_logs_out_of_franceconnect_with_the_id_token_hint_and_state(
        server, browser, upstream, registered):
    browser.get("/login")
    follow(browser, click_franceconnect(browser))
    first = browser.logout()
    assert first.status_code == 303 and first.headers["Location"].startswith(upstream.issuer)
    page = follow(browser, first)
    sent = upstream.end_session_requests[-1]
    assert claims_of(sent["id_token_hint"])["sub"] == upstream.sub
    assert HEX64.match(sent["state"])
    assert sent["post_logout_redirect_uri"] == server.url + "/franceconnect/logout-callback"
    assert page.status_code == 200 and "Déconnexion" in page.text
    assert browser.get("/compte", allow_redirects=False).status_code == 303


def test_a_logout_return_with_another_state_is_reported(server, browser, upstream, registered):
    browser.get("/login")
    follow(browser, click_franceconnect(browser))
    upstream.state = "e" * 64
    page = follow(browser, browser.logout())
    assert page.status_code == 400
    assert "la déconnexion de FranceConnect n'a pas pu être vérifiée" in visible(page)
    assert browser.get("/compte", allow_redirects=False).status_code == 303
