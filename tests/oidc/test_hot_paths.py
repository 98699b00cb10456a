"""The plain successes answered ahead of Flask (``idp.oidc.hot``) answer what Flask's views
answer, and leave every other case to Flask with nothing written.

Three WSGI applications over the same app and database: ``ahead`` is the middleware alone
(behind it, an application that answers 418 "went to Flask"), ``flask`` is Flask's own
(the middleware skipped), and the provider as served (real HTTP, ``rps``)."""

from __future__ import annotations

import base64
import json

import pytest
from werkzeug.test import Client

from idp.models import AuditEvent
from idp.oidc.hot import HotEndpoints
from tests.helpers.accounts import rows
from tests.helpers.dpop import DpopKey
from tests.helpers.parties import PORTAL_SECRET, SECRET, SECRET_ENV, register
from tests.helpers.rp import logged_in
from tests.oidc.test_id_token_and_userinfo import _latency_counts

NOT_HERE = "418 I'M A TEAPOT"

# A second client_secret_basic client with the refresh grant: the portal's refresh token
# presented by it must be refused, ahead of Flask as by Flask.
NEIGHBOUR = f"""
  - client_id: neighbour
    client_secret: ${{{SECRET_ENV}}}
    redirect_uris: ["https://neighbour.example/cb"]
    scope: openid profile email
    grant_types: [authorization_code, refresh_token]
"""


@pytest.fixture
def app_config(app_config):
    return register(app_config, NEIGHBOUR)


def _went_to_flask(environ, start_response):
    start_response(NOT_HERE, [("Content-Type", "text/plain")])
    return [b"went to Flask"]


def _apps(app):
    hot = app.wsgi_app.next           # PublishedDocuments, then HotEndpoints, then Flask's
    assert isinstance(hot, HotEndpoints)
    return HotEndpoints(app, _went_to_flask), hot.next


def _call(wsgi, issuer: str, method: str, path: str, *, form=None, headers=None, query=""):
    client = Client(wsgi)
    return client.open(path, base_url=issuer, method=method, data=form, query_string=query or None,
                       headers={"X-Request-Id": "rid-compared", **(headers or {})})


def _basic(client_id: str, secret: str) -> dict:
    return {"Authorization": "Basic " + base64.b64encode(f"{client_id}:{secret}".encode()).decode()}


def _headers(answer) -> dict:
    """The headers, Content-Length checked against the body and then left out."""
    found = {name.lower(): value for name, value in answer.headers.items()}
    assert int(found.pop("content-length")) == len(answer.data)
    return found


def _claims(compact: str) -> dict:
    payload = compact.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))


def _the_same_tokens(first, second, rids: tuple[str, str], moving: tuple[str, ...]):
    """Two token responses, ``first`` ahead of Flask and ``second`` by Flask, each with its
    request id, say the same but for new tokens and the ID token's ``moving`` claims: the
    second's tokens and the first's ID token claims."""
    assert first.status_code == 200, first.data        # answered ahead of Flask
    assert second.status_code == 200, second.data
    issued, again = first.get_json(), second.get_json()
    ahead_headers, flask_headers = _headers(first), _headers(second)
    assert (ahead_headers.pop("x-request-id"), flask_headers.pop("x-request-id")) == rids
    assert ahead_headers == flask_headers
    assert first.data.startswith(b'{"access_token": ')      # Flask's JSON provider: sorted keys
    assert set(issued) == set(again) == {"access_token", "expires_in", "id_token", "refresh_token",
                                         "scope", "token_type"}
    assert {k: issued[k] for k in ("expires_in", "scope", "token_type")} == \
        {k: again[k] for k in ("expires_in", "scope", "token_type")}
    ahead_claims, flask_claims = _claims(issued["id_token"]), _claims(again["id_token"])
    assert {k: v for k, v in ahead_claims.items() if k not in moving} == \
        {k: v for k, v in flask_claims.items() if k not in moving}
    return again, ahead_claims


def _refresh_form(token: str) -> dict:
    return {"grant_type": "refresh_token", "refresh_token": token}


def test_a_refresh_answered_ahead_of_flask_is_flasks_answer(app, rps, browser, person, smtp):
    portal = rps.portal
    ahead, flask = _apps(app)
    tokens, claims = logged_in(portal, browser, person, smtp)
    auth = _basic("portal", PORTAL_SECRET)
    counted = _latency_counts(portal.issuer).get("oidc.token", 0)
    first = _call(ahead, portal.issuer, "POST", "/token", form=_refresh_form(tokens["refresh_token"]),
                  headers={**auth, "X-Request-Id": "rid-ahead"})
    assert first.status_code == 200, first.data        # answered ahead of Flask
    assert _latency_counts(portal.issuer)["oidc.token"] == counted + 1     # in the metrics once
    renewed = first.get_json()
    second = _call(flask, portal.issuer, "POST", "/token", form=_refresh_form(renewed["refresh_token"]),
                   headers={**auth, "X-Request-Id": "rid-flask"})
    again, ahead_claims = _the_same_tokens(first, second, ("rid-ahead", "rid-flask"), ("iat", "exp", "at_hash"))
    assert ahead_claims["sid"] == claims["sid"] and ahead_claims["sub"] == claims["sub"]
    portal.validate_id_token(renewed)        # signed by the provider, for the portal
    # One audit row each, with its request id, committed with the token.
    for rid in ("rid-ahead", "rid-flask"):
        issued = rows(app, AuditEvent, event="token_issued", request_id=rid)
        assert len(issued) == 1 and issued[0].client_id == "portal"
    # The first refresh token was rotated ahead of Flask: its reuse is Flask's to answer, and
    # it revokes the family (the middleware declines it and writes nothing).
    assert _call(ahead, portal.issuer, "POST", "/token", form=_refresh_form(tokens["refresh_token"]),
                 headers=auth).status == NOT_HERE
    assert portal.userinfo(again["access_token"]).status_code == 200
    reuse = portal.refresh(tokens["refresh_token"])
    assert reuse.status_code == 400 and reuse.json()["error"] == "invalid_grant"
    assert portal.userinfo(again["access_token"]).status_code == 401


CASES = {
    "wrong secret": dict(auth=("portal", "not-the-secret")),
    "secret in the form": dict(auth=None, form={"client_id": "portal", "client_secret": PORTAL_SECRET}),
    "two methods": dict(form={"client_id": "portal", "client_secret": PORTAL_SECRET}),
    "a scope asked": dict(form={"scope": "openid"}),
    "a parameter twice": dict(raw="grant_type=refresh_token&refresh_token={token}&refresh_token={token}"),
    "a query string": dict(query="x=1"),
    "an unknown token": dict(token="not-a-refresh-token"),
    "no refresh token": dict(token=""),
    "a client without the grant": dict(auth=("quick", SECRET)),
    "another client's token": dict(auth=("neighbour", SECRET)),
    "a DPoP proof": dict(dpop=True),
}


def _request(spec: dict, token: str, issuer: str) -> dict:
    client_id, secret = spec.get("auth", ("portal", PORTAL_SECRET)) or (None, None)
    headers = _basic(client_id, secret) if client_id else {}
    token = spec.get("token", token)
    form = {**_refresh_form(token), **spec.get("form", {})}
    if "raw" in spec:
        form = spec["raw"].format(token=token)
        headers["Content-Type"] = "application/x-www-form-urlencoded"
    if spec.get("dpop"):          # a proof is single use: one for each request
        headers["DPoP"] = DpopKey().proof("POST", issuer + "/token")
    return dict(form=form, headers=headers, query=spec.get("query", ""))


@pytest.mark.parametrize("case", list(CASES))
def test_a_refresh_that_is_not_the_plain_success_is_left_to_flask(case, app, rps, browser, person, smtp):
    """The middleware declines it with nothing written; the provider as served answers as
    Flask does (status, body, headers), each with a refresh token of its own."""
    portal = rps.portal
    ahead, flask = _apps(app)
    spec = CASES[case]
    served_tokens, _ = logged_in(portal, browser, person, smtp)
    flask_tokens, _ = logged_in(portal, browser, person, smtp)
    declined = _call(ahead, portal.issuer, "POST", "/token",
                     **_request(spec, served_tokens["refresh_token"], portal.issuer))
    assert declined.status == NOT_HERE
    served = _call(app, portal.issuer, "POST", "/token",
                   **_request(spec, served_tokens["refresh_token"], portal.issuer))
    by_flask = _call(flask, portal.issuer, "POST", "/token",
                     **_request(spec, flask_tokens["refresh_token"], portal.issuer))
    assert served.status == by_flask.status
    if served.status_code == 200:    # issued (a narrower scope, a DPoP-bound access token)
        assert set(served.get_json()) == set(by_flask.get_json())
        assert served.get_json()["token_type"] == by_flask.get_json()["token_type"]
        assert _headers(served).keys() == _headers(by_flask).keys()
        return
    assert (served.get_json(), _headers(served)) == (by_flask.get_json(), _headers(by_flask))
    # Nothing was written ahead of Flask: the token refused still refreshes.
    assert portal.refresh(served_tokens["refresh_token"]).status_code == 200


def test_userinfo_answered_ahead_of_flask_is_flasks_answer(app, rps, browser, person, smtp):
    portal = rps.portal
    ahead, flask = _apps(app)
    tokens, claims = logged_in(portal, browser, person, smtp)
    bearer = {"Authorization": "Bearer " + tokens["access_token"]}
    first = _call(ahead, portal.issuer, "GET", "/userinfo", headers=bearer)
    second = _call(flask, portal.issuer, "GET", "/userinfo", headers=bearer)
    assert first.status_code == second.status_code == 200
    assert (first.data, _headers(first)) == (second.data, _headers(second))
    assert first.get_json()["sub"] == claims["sub"]


def test_userinfo_that_is_not_the_plain_success_is_left_to_flask(app, rps, browser, person, smtp):
    """A client that wants its userinfo signed, the DPoP scheme, an unknown token: Flask's."""
    ahead, _ = _apps(app)
    tokens, _ = logged_in(rps.partner, browser, person, smtp)      # userinfo signed RS256
    portal_tokens, _ = logged_in(rps.portal, browser, person, smtp)
    for header in ("Bearer " + tokens["access_token"], "DPoP " + portal_tokens["access_token"],
                   "Bearer not-a-token"):
        declined = _call(ahead, rps.portal.issuer, "GET", "/userinfo", headers={"Authorization": header})
        assert declined.status == NOT_HERE, header
    signed = rps.partner.userinfo(tokens["access_token"])
    assert signed.status_code == 200 and signed.headers["Content-Type"] == "application/jwt"


def test_a_rotation_that_loses_the_race_writes_nothing(app, rps, browser, person, smtp):
    """``tokens.rotate_and_insert`` (one statement on PostgreSQL, a transaction on SQLite)
    for a refresh token another request rotated after it was read: False, and neither the
    new row nor its audit row is written."""
    from idp import clock
    from idp.models import Token
    from idp.oidc import tokens as store
    tokens, _ = logged_in(rps.portal, browser, person, smtp)
    with app.app_context():
        stale = store.find_refresh_token(tokens["refresh_token"])
    assert rps.portal.refresh(tokens["refresh_token"]).status_code == 200     # the other request
    now = clock.now()
    values = dict(family=stale.family, client_id="portal", account_id=stale.account_id, scope=stale.scope,
                  claims=None, access_token_hash="a" * 64, refresh_token_hash="r" * 64, issued_at=now,
                  access_expires_at=now, refresh_expires_at=stale.refresh_expires_at, single_use=False,
                  code_hash=stale.code_hash, sid=stale.sid, auth_time=stale.auth_time, acr=stale.acr,
                  amr=stale.amr, dpop_jkt=None)
    audit_row = dict(event="token_issued", at=now, nir_key=None, account_id=stale.account_id,
                     client_id="portal", outcome=None, request_id="rid-lost-race", details=None)
    before = len(rows(app, Token, family=stale.family))
    with app.app_context():
        assert store.rotate_and_insert(stale, values, [audit_row]) is False
        from idp.extensions import db
        db.session.rollback()
    assert len(rows(app, Token, family=stale.family)) == before
    assert rows(app, AuditEvent, request_id="rid-lost-race") == []


# -- the code grant ------------------------------------------------------------------------

def _code(rp, browser, person, smtp, **params):
    """A login's code for ``rp``, not redeemed yet: its pending request and answer."""
    return rp.login(browser, person, smtp, **params)


def _code_form(rp, pending, answer) -> dict:
    """The plain form: with the verifier, or none for a code asked without PKCE."""
    form = {"grant_type": "authorization_code", "code": answer["code"], "redirect_uri": rp.redirect_uri}
    if pending.verifier is not None:
        form["code_verifier"] = pending.verifier
    return form


@pytest.mark.parametrize("pkce", [True, False], ids=["with PKCE", "a confidential client without PKCE"])
def test_a_code_answered_ahead_of_flask_is_flasks_answer(pkce, app, rps, browser, person, smtp):
    portal = rps.portal
    ahead, flask = _apps(app)
    auth = _basic("portal", PORTAL_SECRET)
    pending, answer = _code(portal, browser, person, smtp, pkce=pkce)
    other_pending, other_answer = _code(portal, browser, person, smtp, pkce=pkce)
    counted = _latency_counts(portal.issuer).get("oidc.token", 0)
    first = _call(ahead, portal.issuer, "POST", "/token", form=_code_form(portal, pending, answer),
                  headers={**auth, "X-Request-Id": "rid-code-ahead"})
    assert first.status_code == 200, first.data        # answered ahead of Flask
    assert _latency_counts(portal.issuer)["oidc.token"] == counted + 1     # in the metrics once
    second = _call(flask, portal.issuer, "POST", "/token",
                   form=_code_form(portal, other_pending, other_answer),
                   headers={**auth, "X-Request-Id": "rid-code-flask"})
    again, _ = _the_same_tokens(first, second, ("rid-code-ahead", "rid-code-flask"),
                                ("iat", "exp", "at_hash", "nonce"))
    issued = first.get_json()
    portal.validate_id_token(issued, pending)      # signed for the portal, with its nonce
    portal.validate_id_token(again, other_pending)
    # One audit row each, with its request id, committed with the token.
    for rid in ("rid-code-ahead", "rid-code-flask"):
        found = rows(app, AuditEvent, event="token_issued", request_id=rid)
        assert len(found) == 1 and found[0].client_id == "portal"
    # Both tokens work, the refresh token issued ahead of Flask too.
    assert portal.userinfo(issued["access_token"]).status_code == 200
    assert portal.refresh(issued["refresh_token"]).status_code == 200
    # The code was spent ahead of Flask: its replay is Flask's to answer, and it revokes what
    # the code gave (RFC 6749 §4.1.2); the middleware declines it and writes nothing.
    replay = dict(form=_code_form(portal, pending, answer), headers=auth)
    assert _call(ahead, portal.issuer, "POST", "/token", **replay).status == NOT_HERE
    assert portal.userinfo(issued["access_token"]).status_code == 200
    refused = _call(app, portal.issuer, "POST", "/token", **replay)
    assert refused.status_code == 400 and refused.get_json()["error"] == "invalid_grant"
    assert portal.userinfo(issued["access_token"]).status_code == 401
    assert portal.userinfo(again["access_token"]).status_code == 200


CODE_CASES = {
    "wrong secret": dict(auth=("portal", "not-the-secret")),
    "secret in the form": dict(auth=None, form={"client_id": "portal", "client_secret": PORTAL_SECRET}),
    "two methods": dict(form={"client_id": "portal", "client_secret": PORTAL_SECRET}),
    "client_id in the form": dict(form={"client_id": "portal"}),
    "a parameter twice": dict(twice=True),
    "a query string": dict(query="x=1"),
    "an unknown code": dict(form={"code": "not-a-code"}),
    "no code": dict(form={"code": ""}),
    "another client's code": dict(auth=("neighbour", SECRET)),
    "another redirect_uri": dict(form={"redirect_uri": "https://portal.example/elsewhere"}),
    "no redirect_uri": dict(form={"redirect_uri": None}),
    "a wrong verifier": dict(form={"code_verifier": "w" * 43}),
    "a malformed verifier": dict(form={"code_verifier": "short"}),
    "no verifier": dict(form={"code_verifier": None}),
    "a verifier for a code without PKCE": dict(pkce=False, form={"code_verifier": "w" * 43}),
    "an expired code": dict(expired=True),
    "a used code": dict(used=True),
    "a DPoP proof": dict(dpop=True),
}


def _code_request(spec: dict, rp, pending, answer) -> dict:
    client_id, secret = spec.get("auth", ("portal", PORTAL_SECRET)) or (None, None)
    headers = _basic(client_id, secret) if client_id else {}
    form = {**_code_form(rp, pending, answer), **spec.get("form", {})}
    form = {k: v for k, v in form.items() if v is not None}
    if spec.get("twice"):
        form = "&".join(f"{k}={v}" for k, v in [*form.items(), ("code", form["code"])])
        headers["Content-Type"] = "application/x-www-form-urlencoded"
    if spec.get("dpop"):          # a proof is single use: one for each request
        headers["DPoP"] = DpopKey().proof("POST", rp.issuer + "/token")
    return dict(form=form, headers=headers, query=spec.get("query", ""))


def _expire(app, code: str) -> None:
    from datetime import timedelta

    from sqlalchemy import update

    from idp import clock
    from idp.extensions import db
    from idp.models import AuthorizationCode
    from idp.oidc import tokens as store
    with app.app_context():
        db.session.execute(update(AuthorizationCode)
                           .where(AuthorizationCode.code_hash == store.code_digest(code))
                           .values(expires_at=clock.now() - timedelta(seconds=1)))
        db.session.commit()


@pytest.mark.parametrize("case", list(CODE_CASES))
def test_a_code_that_is_not_the_plain_success_is_left_to_flask(case, app, rps, browser, person, smtp):
    """The middleware declines it with nothing written (the code not spent, nothing revoked);
    the provider as served answers as Flask does (status, body, headers), each with a code of
    its own."""
    portal = rps.portal
    ahead, flask = _apps(app)
    spec = CODE_CASES[case]
    codes = [_code(portal, browser, person, smtp, pkce=spec.get("pkce", True)) for _ in range(3)]
    given = []
    for pending, answer in codes:
        if spec.get("used"):          # spent once already, by the plain request
            redeemed = portal.redeem(answer, pending)
            assert redeemed.status_code == 200, redeemed.text
            given.append(redeemed.json()["access_token"])
        if spec.get("expired"):
            _expire(app, answer["code"])
    (pending, answer), served_code, flask_code = codes
    declined = _call(ahead, portal.issuer, "POST", "/token", **_code_request(spec, portal, pending, answer))
    assert declined.status == NOT_HERE
    served = _call(app, portal.issuer, "POST", "/token", **_code_request(spec, portal, *served_code))
    by_flask = _call(flask, portal.issuer, "POST", "/token", **_code_request(spec, portal, *flask_code))
    assert served.status == by_flask.status
    if served.status_code == 200:    # issued (client_id in the form, a DPoP-bound access token)
        assert set(served.get_json()) == set(by_flask.get_json())
        assert served.get_json()["token_type"] == by_flask.get_json()["token_type"]
        assert _headers(served).keys() == _headers(by_flask).keys()
    else:
        assert (served.get_json(), _headers(served)) == (by_flask.get_json(), _headers(by_flask))
    # Nothing was written ahead of Flask: the code declined is still there to redeem, or,
    # already spent, what it gave is not revoked (Flask's replay revoked the others').
    if spec.get("used"):
        assert portal.userinfo(given[0]).status_code == 200
        assert [portal.userinfo(t).status_code for t in given[1:]] == [401, 401]
    elif not spec.get("expired"):
        plain = {**spec, "auth": ("portal", PORTAL_SECRET), "form": {}, "twice": False, "query": "",
                 "dpop": False}
        if not spec.get("pkce", True):
            plain["form"] = {"code_verifier": None}
        again = _call(app, portal.issuer, "POST", "/token", **_code_request(plain, portal, pending, answer))
        assert again.status_code == 200, again.data


def test_a_spend_that_loses_the_race_writes_nothing(app, rps, browser, person, smtp):
    """``tokens.spend_and_insert`` (one statement on PostgreSQL, a transaction on SQLite) for
    a code another request spent after it was read: False, and neither the token row nor its
    audit row is written."""
    from idp import clock
    from idp.models import Token
    from idp.oidc import tokens as store
    portal = rps.portal
    pending, answer = _code(portal, browser, person, smtp)
    with app.app_context():
        stale = store.find_code(answer["code"])
    assert portal.redeem(answer, pending).status_code == 200        # the other request
    now = clock.now()
    values = dict(family="f" * 16, client_id="portal", account_id=stale.account_id, scope=stale.scope,
                  claims=None, access_token_hash="a" * 64, refresh_token_hash="r" * 64, issued_at=now,
                  access_expires_at=now, refresh_expires_at=now, single_use=False,
                  code_hash=stale.code_hash, sid=stale.sid, auth_time=stale.auth_time, acr=stale.acr,
                  amr=stale.amr, dpop_jkt=None)
    audit_row = dict(event="token_issued", at=now, nir_key=None, account_id=stale.account_id,
                     client_id="portal", outcome=None, request_id="rid-lost-spend", details=None)
    with app.app_context():
        assert store.spend_and_insert(stale, values, [audit_row]) is False
        from idp.extensions import db
        db.session.rollback()
    assert rows(app, Token, family="f" * 16) == []
    assert rows(app, AuditEvent, request_id="rid-lost-spend") == []
