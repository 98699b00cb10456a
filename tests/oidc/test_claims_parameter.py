"""The ``claims`` request parameter (OIDC Core §5.5) within what the client may have: only
claims its registered scopes cover are granted, and a client that asks consent shows them,
in French words, on the consent page (issue 11.8)."""

from __future__ import annotations

import json
import re

from tests.helpers.pages import visible
from tests.helpers.rp import FORM_ACTION, logged_in, login_page, query_of, sends_to_login, to_consent


def test_claims_outside_the_client_s_scopes_are_not_granted(rps, browser, person, smtp):
    """issue 11.8: agency registers ``openid profile email``; asking birthplace and
    birthcountry (the ``birth`` scope's claims) through ``claims`` gives neither, while a
    covered claim asked the same way is answered."""
    asked = {"userinfo": {"birthplace": None, "given_name": None},
             "id_token": {"birthcountry": {"essential": True}, "family_name": None}}
    tokens, claims = logged_in(rps.agency, browser, person, smtp, scope="openid",
                               claims=json.dumps(asked))
    assert "birthcountry" not in claims and claims["family_name"] == "MARTIN"
    info = rps.agency.userinfo_claims(rps.agency.userinfo(tokens["access_token"]))
    assert "birthplace" not in info and info["given_name"] == "Valérie"




def test_the_consent_page_names_the_claims_asked_in_words(rps, browser, person, smtp):
    """issue 11.8: the consent page says, in French, what the client will receive — the
    claims of its scopes and those asked by ``claims`` — and never a scope's name."""
    asked = {"userinfo": {"given_name": None, "email": None}}
    _, page = to_consent(rps.thirdparty, browser, person, smtp, scope="openid",
                          claims=json.dumps(asked))
    text = visible(page)
    assert "Vos prénoms" in text
    assert "adresse mail" not in text              # email: not in thirdparty's scopes
    assert "openid" not in text and "given_name" not in text


def test_the_consent_page_says_what_a_scope_gives_not_its_name(rps, browser, person, smtp):
    """issue 11.8: ``profile`` is shown as the claims it gives."""
    _, page = to_consent(rps.thirdparty, browser, person, smtp, scope="openid profile")
    text = visible(page)
    assert "Vos prénoms" in text and "Votre nom de famille" in text
    assert "Votre date de naissance" in text
    assert not re.search(r"\bprofile\b", text)


def test_a_claim_asked_beyond_what_was_consented_asks_consent_again(rps, browser, person, smtp):
    """issue 11.8: consent given for given_name (by ``claims``) does not cover family_name
    asked later the same way: the consent page comes back, naming it."""
    first = {"userinfo": {"given_name": None}}
    _, answer = logged_in(rps.thirdparty, browser, person, smtp, scope="openid",
                          claims=json.dumps(first))
    pending, answer = rps.thirdparty.start(browser, scope="openid",
                                           claims=json.dumps(first))
    assert query_of(answer)["state"] == pending.state            # consent remembered
    later = {"userinfo": {"family_name": None}}
    pending, answer = rps.thirdparty.start(browser, scope="openid", claims=json.dumps(later))
    assert sends_to_login(answer)
    page = login_page(browser, answer)
    assert "/login/consent" in FORM_ACTION.findall(page.text)
    assert "Votre nom de famille" in visible(page)
