"""The authorization endpoint: code flow only, by GET and POST or in a signed request object,
answered by query or form_post, with ``state``, ``nonce`` and ``iss`` (RFC 9207) in every
answer, errors included; errors go to the redirect URI only when it is registered, otherwise
to a French page."""

from __future__ import annotations

import html
from urllib.parse import parse_qs, urlparse

import pytest
from joserfc.jwk import ECKey

from tests.helpers.parties import AGENCY_CB, AGENCY_KEYS, MOBILE_CB, PORTAL_CB
from tests.helpers.rp import inner_params, login_page, query_of, url_with


@pytest.mark.parametrize("method", ["GET", "POST"])
def test_a_person_logs_in_by_get_or_post_and_the_client_gets_code_state_and_iss(
        method, rps, browser, person, smtp):
    pending, answer = rps.portal.login(browser, person, smtp, method=method)
    assert answer.mode == "query" and answer.url.startswith(PORTAL_CB + "?")
    assert answer["state"] == pending.state and answer["iss"] == rps.portal.issuer
    tokens = rps.portal.exchange(answer, pending)
    claims = rps.portal.validate_id_token(tokens, pending).claims
    assert claims["nonce"] == pending.nonce


def test_form_post_answers_with_a_self_posting_form_to_the_redirect_uri(rps, browser, person, smtp):
    pending, start = rps.portal.start(browser, response_mode="form_post")
    answer = rps.portal.walk(browser, start, person, smtp)
    page = browser.page
    assert answer.mode == "form_post" and page.status_code == 200
    assert f'method="post" action="{PORTAL_CB}"' in page.text
    assert page.headers["Cache-Control"] == "no-store"
    assert "form_post.js" in page.text                  # submits itself (no inline script: CSP)
    assert set(answer.params) == {"code", "state", "iss"}
    assert answer["state"] == pending.state and answer["iss"] == rps.portal.issuer
    rps.portal.validate_id_token(rps.portal.exchange(answer, pending), pending)


def test_form_post_also_carries_errors(rps, browser):
    _, answer = rps.portal.start(browser, response_mode="form_post", prompt="none")
    assert answer.status_code == 200 and f'action="{PORTAL_CB}"' in answer.text
    assert 'name="error" value="login_required"' in answer.text
    assert f'name="iss" value="{rps.portal.issuer}"' in answer.text


def test_a_state_with_special_characters_comes_back_intact_in_both_modes(rps, browser, person, smtp):
    state = "a b&c=d/é\"<x>"
    _, answer = rps.portal.login(browser, person, smtp, state=state)
    assert answer["state"] == state
    _, answer = rps.portal.login(browser, person, smtp, state=state, response_mode="form_post")
    assert answer["state"] == state


def test_without_state_the_answer_has_no_state(rps, browser):
    pending = rps.portal.authorization(prompt="none")
    url = pending.url.replace(f"state={pending.state}", "")
    query = query_of(browser.get(url, allow_redirects=False))
    assert "state" not in query and query["error"] == "login_required"


def test_the_nonce_is_optional_in_the_code_flow(rps, browser, person, smtp):
    pending, answer = rps.portal.login(browser, person, smtp, nonce=False)
    assert pending.nonce is None
    token = rps.portal.validate_id_token(rps.portal.exchange(answer, pending), pending)
    assert "nonce" not in token.claims


def test_an_empty_nonce_is_refused(rps, browser):
    pending = rps.portal.authorization(nonce=False)
    query = query_of(browser.get(pending.url + "&nonce=", allow_redirects=False))
    assert query["error"] == "invalid_request" and query["state"] == pending.state


# -- errors: to the client when its redirect URI is registered, else a French page ----------

@pytest.mark.parametrize(("params", "error"), [
    ({"response_type": "token"}, "unsupported_response_type"),
    ({"response_type": "code id_token"}, "unsupported_response_type"),
    ({"response_type": None}, "invalid_request"),
    ({"response_mode": "fragment"}, "invalid_request"),
    ({"scope": "profile email"}, "invalid_scope"),
    ({"prompt": "none login"}, "invalid_request"),
    ({"prompt": "sometimes"}, "invalid_request"),
    ({"max_age": "-1"}, "invalid_request"),
    ({"claims": "{not json"}, "invalid_request"),
    ({"id_token_hint": "not.a.token"}, "invalid_request"),
    ({"request_uri": "https://portal.example/request.jwt"}, "request_uri_not_supported"),
    ({"request": "a.b.c"}, "request_not_supported"),        # the portal has no keys to sign
])
def test_a_bad_request_is_answered_at_the_redirect_uri_with_state_and_iss(
        params, error, rps, browser):
    pending = rps.portal.authorization(**{k: v for k, v in params.items() if v is not None})
    url = pending.url
    if "response_type" in params and params["response_type"] is None:
        url = url.replace("response_type=code&", "")
    query = query_of(browser.get(url, allow_redirects=False))
    assert query["error"] == error, query
    assert query["state"] == pending.state and query["iss"] == rps.portal.issuer


def french_page(response, message: str):
    assert response.status_code == 400 and "Location" not in response.headers
    assert response.headers["Content-Type"].startswith("text/html")
    assert message in html.unescape(response.text)


def test_an_unknown_client_gets_a_french_page_and_no_redirect(rps, browser):
    pending = rps.portal.authorization()
    french_page(browser.get(pending.url.replace("client_id=portal", "client_id=nobody"),
                            allow_redirects=False), "n'est pas reconnu")


def test_a_missing_client_id_gets_the_same_page(rps, browser):
    pending = rps.portal.authorization()
    french_page(browser.get(pending.url.replace("client_id=portal&", ""), allow_redirects=False),
                "n'est pas reconnu")


@pytest.mark.parametrize("redirect_uri", ["https://evil.example/cb", PORTAL_CB + "/more",
                                          PORTAL_CB + "?x=1", None])
def test_an_unregistered_or_missing_redirect_uri_is_never_redirected_to(redirect_uri, rps, browser):
    pending = rps.portal.authorization(redirect_uri=redirect_uri or "", response_type="token")
    url = pending.url if redirect_uri else pending.url.replace("redirect_uri=&", "")
    french_page(browser.get(url, allow_redirects=False), "n'est pas enregistrée")


def test_a_repeated_parameter_gets_a_french_page(rps, browser):
    pending = rps.portal.authorization()
    french_page(browser.get(pending.url + "&scope=openid", allow_redirects=False), "incorrecte")


# -- request objects (RFC 9101) ------------------------------------------------------------

@pytest.mark.parametrize("alg", ["RS256", "ES256"])
def test_a_signed_request_object_is_read_in_place_of_the_query(alg, rps, browser, person, smtp):
    agency = rps.agency
    pending = agency.authorization(scope="openid email")
    url = url_with(agency.issuer + "/authorize", client_id="agency", response_type="code",
                   scope="openid", request=agency.request_object(inner_params(pending), alg=alg))
    answer = agency.walk(browser, browser.get(url, allow_redirects=False), person, smtp)
    assert answer["state"] == pending.state                 # from the object, not the query
    tokens = agency.exchange(answer, pending)
    agency.validate_id_token(tokens, pending)               # with the object's nonce
    info = agency.userinfo_claims(agency.userinfo(tokens["access_token"]))
    assert set(info) == {"sub", "email", "email_verified"}   # the object's scope


def test_a_request_object_signed_by_another_key_is_refused_at_the_redirect_uri(rps, browser):
    agency = rps.agency
    stranger = ECKey.generate_key("P-256", parameters={"kid": AGENCY_KEYS.sig_ec.kid})
    forged = agency.request_object(inner_params(agency.authorization()), alg="ES256", key=stranger)
    url = url_with(agency.issuer + "/authorize", client_id="agency", response_type="code",
                   scope="openid", request=forged, redirect_uri=AGENCY_CB, state="outer")
    query = query_of(browser.get(url, allow_redirects=False))
    assert query["error"] == "invalid_request_object"
    assert query["state"] == "outer" and query["iss"] == agency.issuer


# -- PKCE ---------------------------------------------------------------------------------

def test_plain_pkce_is_refused(rps, browser):
    pending = rps.portal.authorization()
    url = pending.url.replace("code_challenge_method=S256", "code_challenge_method=plain")
    query = query_of(browser.get(url, allow_redirects=False))
    assert query["error"] == "invalid_request" and query["state"] == pending.state
    assert query["iss"] == rps.portal.issuer


def test_a_challenge_without_method_is_refused_rather_than_taken_as_plain(rps, browser):
    pending = rps.portal.authorization()
    url = pending.url.replace("&code_challenge_method=S256", "")
    query = query_of(browser.get(url, allow_redirects=False))
    assert query["error"] == "invalid_request"


def test_a_public_client_without_pkce_is_refused(rps, browser):
    _, answer = rps.mobile.start(browser, pkce=False)
    query = query_of(answer)
    assert answer.headers["Location"].startswith(MOBILE_CB)
    assert query["error"] == "invalid_request" and query["iss"] == rps.mobile.issuer


def test_a_public_client_with_pkce_logs_in_on_any_loopback_port(rps, browser, person, smtp):
    mobile = rps.mobile
    mobile.redirect_uri = "http://127.0.0.1:53124/callback"      # RFC 8252 §7.3
    mobile.oauth.redirect_uri = mobile.redirect_uri
    pending, answer = mobile.login(browser, person, smtp)
    tokens = mobile.exchange(answer, pending)
    mobile.validate_id_token(tokens, pending)
    assert tokens["refresh_token"]


# -- ignored and informative parameters -----------------------------------------------------

def test_login_hint_prefills_the_nir_field(rps, browser, person):
    _, answer = rps.portal.start(browser, login_hint=person.nir)
    page = login_page(browser, answer)
    assert f'value="{person.nir}"' in page.text


def test_ui_locales_and_unknown_parameters_are_accepted_and_ignored(rps, browser, person, smtp):
    pending, answer = rps.portal.login(browser, person, smtp, ui_locales="en-GB fr-FR",
                                       foo="bar", claims_locales="de", display="popup")
    assert answer["state"] == pending.state and "error" not in answer.params
    rps.portal.validate_id_token(rps.portal.exchange(answer, pending), pending)


# -- bounds on what a request may make us do (issue 11.13) ----------------------------------

@pytest.mark.parametrize("max_age", ["9" * 30, "²", "٣"])
def test_a_max_age_out_of_range_or_not_in_ascii_digits_is_invalid_request(max_age, rps, browser):
    """issue 11.13: a huge max_age overflowed (500), and so did a Unicode digit: both are
    invalid_request at the redirect URI, with the state."""
    pending = rps.portal.authorization(max_age=max_age)
    answer = browser.get(pending.url, allow_redirects=False)
    assert answer.status_code == 303, answer.status_code
    query = query_of(answer)
    assert query["error"] == "invalid_request" and query["state"] == pending.state


def _interactions(app) -> int:
    from sqlalchemy import func, select

    from idp.extensions import db
    from idp.models import Interaction
    with app.app_context():
        count = db.session.scalar(select(func.count()).select_from(Interaction))
        db.session.rollback()
        return count


@pytest.mark.parametrize("extra", [
    {f"x{i}": "1" for i in range(200)},                    # too many parameters
    {f"x{i}": "y" * 4000 for i in range(10)},              # too many bytes in all
])
def test_an_authorization_request_too_large_is_refused_and_stores_nothing(
        extra, app, rps, browser):
    """issue 11.13: /authorize stored any amount of parameters in its interaction row; past
    Policy.authorize_max_parameters or Policy.authorize_max_bytes it is refused with the
    French invalid-request page, and nothing is written."""
    pending = rps.portal.authorization()
    before = _interactions(app)
    answer = browser.http.post(rps.portal.issuer + "/authorize", allow_redirects=False, data={
        **{k: v[0] for k, v in parse_qs(urlparse(pending.url).query).items()}, **extra})
    french_page(answer, "incorrecte")
    assert _interactions(app) == before
