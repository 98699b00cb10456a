"""Two provider instances share nothing but PostgreSQL and Redis (issue 6).

Each instance is a real ``gunicorn -w 2 wsgi:app`` process on its own port; both use ONE
PostgreSQL database (this pytest worker's) and ONE Redis (``redis://127.0.0.1:6379/0``, under
a key prefix of this module's own, ``RATELIMIT_KEY_PREFIX``, so that parallel runs never meet).
The pair A/B is started once for the module, since starting gunicorn is the slow part; each
test empties the database first (``database_uri``), so it meets the instances as new ones,
which holds only because they keep nothing of their own between requests. The tests that need
other settings start processes of their own.

What is realistic, and what was chosen: in production the instances stand behind one load
balancer and one public name, so they all have the same issuer, the same secrets and the same
key-encryption key. Here both instances get the first instance's URL as issuer (the discovery
document, the ``iss`` of every answer and token name it), and the test plays the load
balancer: it sends each request to the instance it names. The pages' redirects are relative,
and a cookie is scoped to the host 127.0.0.1 whatever the port, so the browser carries the
same session cookie to both, as it would to one public name. Every test below would fail if
the state it exercises lived in one process's memory (one instance, or one worker).

Every process caches the signing key set for ``Policy.signing_key_cache`` (10 s by default).
The instances run with ``IDP_POLICY__SIGNING_KEY_CACHE=0.001`` so that a rotation is read at
the next request without sleeping; the test of the unknown-kid re-read runs with one hour.

Only PostgreSQL + Redis: two instances sharing an SQLite file is not the production story.
"""

from __future__ import annotations

import subprocess
import sys
import uuid
from pathlib import Path

import pytest
import requests

from tests.helpers.gunicorn import Gunicorn, all_at_once, provider_env, stop_all
from tests.helpers.instances import (
    PORTAL,
    Browser,
    at_client,
    authorize_params,
    blocked_until,
    exchange,
    jwks_of,
    kids_of,
    silent_tokens,
    text_of,
    validate_id_token,
)
from tests.helpers.services import REDIS_PORT, answers

pytestmark = [pytest.mark.slow, pytest.mark.postgres,
              pytest.mark.parametrize("database_uri", ["postgresql"], indirect=True)]

ROOT = Path(__file__).resolve().parents[2]
REDIS = "redis://127.0.0.1:6379/0"
SECRET_KEY = "multi-instance-secret-key-0123456789abcdef"
KEY_ENCRYPTION_KEY = "multi-instance-key-encryption-key-0123456789"
WRONG = "Pas-le-bon-1"
ATTACKERS = 30
# Shared by both instances. The Flask-Limiter limits are high so that they never interfere,
# except in the test of Flask-Limiter itself; the key set is read again at every request.
SHARED = {
    "IDP_RATELIMIT_ENABLED": "true", "IDP_RATELIMIT_STORAGE_URI": REDIS,
    "IDP_LOGIN_RATE_LIMIT_PER_IP": "10000 per minute",
    "IDP_LOGIN_RATE_LIMIT_PER_NIR": "10000 per minute",
    "IDP_POLICY__SIGNING_KEY_CACHE": "0.001",      # seconds: no waiting for a cache to expire
    "IDP_POLICY__JWKS_MAX_AGE": "0.001",           # nor for a rotated-in key to sign (issue 10.1)
}


@pytest.fixture(scope="module")
def redis_prefix():
    """Flask-Limiter's key prefix for this module's processes; its keys go afterwards."""
    if not answers(REDIS_PORT):
        pytest.skip("Redis does not answer on 127.0.0.1:6379")
    prefix = "idp-multi-" + uuid.uuid4().hex
    yield prefix
    import redis
    client = redis.Redis.from_url(REDIS)
    try:
        for key in client.scan_iter(match=f"*{prefix}*"):
            client.delete(key)
    finally:
        client.close()


def _env(database_uri, smtp, folder, *, issuer, prefix, **extra):
    return provider_env(database_uri=database_uri, secret_key=SECRET_KEY,
                        key_encryption_key=KEY_ENCRYPTION_KEY, smtp_port=smtp.port,
                        outbox=folder / "outbox", IDP_ISSUER=issuer,
                        **{**SHARED, "IDP_RATELIMIT_KEY_PREFIX": prefix, **extra})


@pytest.fixture(scope="module")
def cluster(_pg_database, module_smtp, redis_prefix, tmp_path_factory):
    """Instances A and B, started together once for the module (a gunicorn start is the
    slow part): they hold nothing of their own between requests, and each test empties the
    shared database before it runs (``database_uri``), so each test meets them as new.
    Their Flask-Limiter counters stay in Redis from test to test, far below ``SHARED``'s
    limits; the test of a limit starts a pair of its own."""
    if _pg_database is None:
        pytest.skip("PostgreSQL does not answer on 127.0.0.1:5432")
    folder = tmp_path_factory.mktemp("cluster")
    a, b = Gunicorn(folder / "a.log"), Gunicorn(folder / "b.log")
    try:
        for instance in (a, b):
            instance.start(_env(_pg_database, module_smtp, folder, issuer=a.url, prefix=redis_prefix))
        a.wait_until_it_answers()
        b.wait_until_it_answers()
        yield a, b
    finally:
        stop_all([a, b])


@pytest.fixture
def smtp(module_smtp):
    """The cluster's SMTP server, emptied for this test."""
    module_smtp.messages.clear()
    return module_smtp


@pytest.fixture
def app_config(app_config):
    """The test's own app (rows, keys, the account) shares the instances' secrets."""
    return {**app_config, "SECRET_KEY": SECRET_KEY, "KEY_ENCRYPTION_KEY": KEY_ENCRYPTION_KEY}


@pytest.fixture
def pair(cluster, app, person):
    """A and B, on the database emptied for this test, with signing keys (made by ``app``, as
    ``init-db`` does in production) and the demo account (``person``)."""
    for instance in cluster:
        instance.mark()
    return cluster


@pytest.fixture
def start_pair(app, person, start_gunicorn, redis_prefix):
    """A pair of its own, for a test that needs other settings (its own Redis prefix too)."""
    def start(**env):
        settings = {**SHARED, "IDP_RATELIMIT_KEY_PREFIX": redis_prefix + "-" + uuid.uuid4().hex, **env}
        a = start_gunicorn(wait=False, **settings)
        b = start_gunicorn(wait=False, issuer=a.url, **settings)
        a.wait_until_it_answers()
        b.wait_until_it_answers()
        return a, b
    return start


def _login_page(instance) -> Browser:
    browser = Browser()
    page = browser.get(instance, "/login")
    assert page.status_code == 200 and 'name="nir"' in page.text
    return browser


def _log_in_with_code(browser, at, person, smtp):
    """Authorize and log in entirely on one instance; the query the client receives."""
    params, verifier = authorize_params()
    browser.get(at, "/authorize", params=params)
    browser.post_form(at, "/login", {"nir": person.nir, "password": person.password})
    browser.post_form(at, "/login/code/send", {})
    answer = browser.post_form(at, "/login/code", {"code": smtp.code_for(person.email)},
                               allow_redirects=False)
    assert answer.status_code == 303, text_of(answer)[:600]
    return at_client(answer), verifier


def _throttles(app, kind):
    from sqlalchemy import select

    from idp.extensions import db
    from idp.models import Throttle
    with app.app_context():
        found = [row.attempts for row in db.session.scalars(select(Throttle).where(Throttle.kind == kind))]
        db.session.rollback()
        return found


# -- 1. a login that moves between instances ---------------------------------------------------

def test_a_login_started_on_a_finishes_on_b_and_its_tokens_serve_on_both(pair, person, smtp):
    a, b = pair
    browser = Browser()
    params, verifier = authorize_params()
    page = browser.get(a, "/authorize", params=params)          # its login page, on A
    assert 'name="nir"' in page.text
    page = browser.post_form(a, "/login", {"nir": person.nir, "password": person.password})
    assert "recevoir un code de sécurité" in page.text, text_of(page)[:600]

    # The load balancer now sends this browser to B: the flow, the pending authorization
    # request and the CSRF token (in the signed session cookie) are known there.
    page = browser.get(b, "/login")
    assert "recevoir un code de sécurité" in page.text, text_of(page)[:600]
    page = browser.post_form(b, "/login/code/send", {})
    assert 'name="code"' in page.text, text_of(page)[:600]
    answer = browser.post_form(b, "/login/code", {"code": smtp.code_for(person.email)},
                               allow_redirects=False)
    # B's answer to the code is the redirect to the client (issue 15: no resume hop).
    query = at_client(answer)
    assert query["state"] == ["st"] and query["iss"] == [a.url]

    tokens = exchange(b, query["code"][0], verifier)
    id_token = validate_id_token(tokens["id_token"], jwks_of(a), issuer=a.url)
    assert id_token.claims["amr"] == ["pwd", "otp", "mfa"]
    info = requests.get(a.url + "/userinfo",
                        headers={"Authorization": "Bearer " + tokens["access_token"]})
    assert info.status_code == 200, info.text
    assert info.json()["sub"] == id_token.claims["sub"]
    assert info.json()["email"] == person.email

    # The provider session opened through A answers on B: no second login (prompt=none).
    again = silent_tokens(browser, at=b, exchange_at=a)
    claims = validate_id_token(again["id_token"], jwks_of(b), issuer=a.url).claims
    assert claims["sub"] == id_token.claims["sub"]
    assert claims["sid"] == id_token.claims["sid"]


# -- 2. locks and quotas ---------------------------------------------------------------------

def test_a_password_lock_set_on_a_holds_on_b(app, pair, person):
    a, b = pair
    attacker = _login_page(a)
    for _ in range(2):
        page = attacker.post_form(a, "/login", {"nir": person.nir, "password": WRONG})
        assert "Le mot de passe saisi est incorrect" in text_of(page)
    page = attacker.post_form(a, "/login", {"nir": person.nir, "password": WRONG})
    until = blocked_until(page)                      # case 7: the third wrong password locks

    # The person herself, another browser, served by B, with the right password.
    person_browser = _login_page(b)
    page = person_browser.post_form(b, "/login", {"nir": person.nir, "password": person.password})
    assert page.status_code == 200
    assert "l'accès à votre compte ameli est bloqué" in text_of(page)
    assert blocked_until(page) == until
    assert "recevoir un code de sécurité" not in page.text
    assert len(a.events("login_failed", cause="password")) == 3
    assert b.events("login_failed") == [] and b.events("login_succeeded") == []
    assert _throttles(app, "password") == [3]


def test_a_code_quota_reached_on_a_holds_on_b(pair, person, smtp):
    a, b = pair
    browser = _login_page(a)
    browser.post_form(a, "/login", {"nir": person.nir, "password": person.password})
    for sent in range(1, 6):                          # 5 codes per sliding hour, all from A
        page = browser.post_form(a, "/login/code/send", {})
        assert 'name="code"' in page.text, text_of(page)[:600]
        assert len(smtp.to(person.email)) == sent
    page = browser.post_form(a, "/login/code/send", {})
    until = blocked_until(page)
    assert "Le nombre maximum de demandes de code a été atteint" in text_of(page)

    # A new journey on B (another browser, a fresh flow): the quota belongs to the NIR.
    other = _login_page(b)
    # issue 13.1: the right password there gets case 3's screen at once, no code offered.
    page = other.post_form(b, "/login", {"nir": person.nir, "password": person.password})
    assert "recevoir un code de sécurité" not in page.text, text_of(page)[:600]
    assert "Le nombre maximum de demandes de code a été atteint" in text_of(page)
    assert blocked_until(page) == until
    assert len(smtp.to(person.email)) == 5
    assert b.events("code_sent") == []


# -- 3. revocation ---------------------------------------------------------------------------

def test_a_token_revoked_on_a_is_refused_on_b(pair, person, smtp):
    a, b = pair
    query, verifier = _log_in_with_code(Browser(), a, person, smtp)
    tokens = exchange(a, query["code"][0], verifier)
    bearer = {"Authorization": "Bearer " + tokens["access_token"]}

    def introspect_at_b(token):
        answer = requests.post(b.url + "/introspect", auth=PORTAL, data={"token": token})
        assert answer.status_code == 200, answer.text
        return answer.json()

    assert requests.get(b.url + "/userinfo", headers=bearer).status_code == 200
    assert introspect_at_b(tokens["access_token"])["active"] is True

    revoked = requests.post(a.url + "/revoke", auth=PORTAL, data={
        "token": tokens["access_token"], "token_type_hint": "access_token"})
    assert revoked.status_code == 200, revoked.text

    info = requests.get(b.url + "/userinfo", headers=bearer)
    assert info.status_code == 401 and "invalid_token" in info.headers["WWW-Authenticate"]
    assert introspect_at_b(tokens["access_token"]) == {"active": False}
    # RFC 7009 §2.1: revoking the access token revoked its refresh token too (the family).
    assert introspect_at_b(tokens["refresh_token"]) == {"active": False}
    refresh = requests.post(b.url + "/token", auth=PORTAL, data={
        "grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]})
    assert refresh.status_code == 400 and refresh.json()["error"] == "invalid_grant"


# -- 4. concurrent wrong passwords over both instances ------------------------------------------

def test_30_concurrent_wrong_passwords_over_both_instances_evaluate_only_3(app, pair, person):
    """A wrong password is evaluated when argon2 has verified it; each verification that fails
    logs one ``login_failed`` (cause ``password``) in the process that made it, and an attempt
    refused by the lock logs none. Both instances' logs together count them."""
    a, b = pair
    targets = [a if i % 2 else b for i in range(ATTACKERS)]
    browsers = [_login_page(target) for target in targets]     # 30 browsers, 30 flows
    answers = all_at_once([
        (lambda browser=browser, target=target: browser.post_form(
            target, "/login", {"nir": person.nir, "password": WRONG}))
        for browser, target in zip(browsers, targets, strict=True)])
    assert all(answer is not None and answer.status_code == 200 for answer in answers)
    texts = [text_of(answer) for answer in answers]
    locked = [t for t in texts if "l'accès à votre compte ameli est bloqué jusqu'au" in t]
    wrong = [t for t in texts if "Le mot de passe saisi est incorrect" in t]
    assert len(locked) + len(wrong) == ATTACKERS
    assert len(wrong) <= 2
    evaluated = a.events("login_failed", cause="password") + b.events("login_failed", cause="password")
    assert len(evaluated) == 3
    assert _throttles(app, "password") == [3]


# -- 5. signing keys -------------------------------------------------------------------------

def test_a_key_rotation_by_the_cli_reaches_both_instances_and_each_verifies_the_others_tokens(
        pair, person, smtp):
    a, b = pair
    before = kids_of(a)
    assert kids_of(b) == before and len(before) == 2          # one RS256, one ES256
    browser = Browser()
    query, verifier = _log_in_with_code(browser, a, person, smtp)
    old_token = exchange(a, query["code"][0], verifier)["id_token"]
    validate_id_token(old_token, jwks_of(b), issuer=a.url)     # A signs, B's key set verifies

    rotated = subprocess.run([str(Path(sys.executable).parent / "flask"), "--app", "wsgi",
                              "idp", "keys", "rotate"],
                             cwd=ROOT, env=a.env,
                             capture_output=True, text=True, timeout=60)
    assert rotated.returncode == 0, rotated.stdout + rotated.stderr

    # No waiting: the instances' key cache lasts 1 ms (IDP_POLICY__SIGNING_KEY_CACHE).
    after = kids_of(a)
    assert kids_of(b) == after
    new = after - before
    assert before < after and len(new) == 2                    # old keys stay published

    validate_id_token(old_token, jwks_of(b), issuer=a.url)     # what the old key signed
    from_b = silent_tokens(browser, at=b, exchange_at=b)["id_token"]
    assert validate_id_token(from_b, jwks_of(a), issuer=a.url).header["kid"] in new
    from_a = silent_tokens(browser, at=a, exchange_at=a)["id_token"]
    assert validate_id_token(from_a, jwks_of(b), issuer=a.url).header["kid"] in new


def test_a_token_signed_with_a_key_unknown_to_a_long_cache_makes_it_read_the_keys_again(
        app, person, start_gunicorn, redis_prefix):
    """An instance whose key set is cached for an hour meets a token signed by a key rotated in
    elsewhere (here the test's own process, on the same database): its verification reads the
    key set again at once (``idp.oidc.keys.verify``), instead of refusing the token for up to
    the cache's lifetime. One worker, so that the cache this test fills is the one it tests."""
    from idp import clock, keys
    b = start_gunicorn(workers=1, **{**SHARED, "IDP_RATELIMIT_KEY_PREFIX": redis_prefix + "-kid",
                                     "IDP_POLICY__SIGNING_KEY_CACHE": "3600"})
    before = kids_of(b)                                          # the cache is filled
    with app.app_context():
        new_kids = set(keys.rotate(at_once=True)[0])      # signing now, as in an emergency
        now = clock.timestamp()
        hint = keys.sign({"iss": b.url, "sub": "someone", "aud": "portal", "iat": now,
                          "exp": now + 600, "sid": "no-such-session"})
    assert len(new_kids) == 2 and not new_kids & before
    assert kids_of(b) == before                                  # still the cached copy

    answer = requests.get(b.url + "/end_session", params={"id_token_hint": hint})
    assert answer.status_code == 200, text_of(answer)[:400]
    assert kids_of(b) == before | new_kids                       # read again, and kept


# -- 6. Flask-Limiter's counters live in Redis -----------------------------------------------------

def test_a_per_nir_limit_exhausted_on_a_answers_429_on_b(start_pair, person):
    # Two per hour: below the account lock (3), so that only Flask-Limiter can refuse the third;
    # an hour, so that no window can end during the test.
    a, b = start_pair(IDP_LOGIN_RATE_LIMIT_PER_NIR="2 per hour")
    attacker = _login_page(a)
    for _ in range(2):
        page = attacker.post_form(a, "/login", {"nir": person.nir, "password": WRONG})
        assert page.status_code == 200 and "Le mot de passe saisi est incorrect" in text_of(page)

    other = _login_page(b)
    page = other.post_form(b, "/login", {"nir": person.nir, "password": person.password})
    assert page.status_code == 429
    assert "Vous avez effectué trop de demandes en peu de temps" in text_of(page)
    assert b.events("login_failed") == [] and b.events("login_succeeded") == []
    # Per NIR, not per address: another NIR from the same address is still served on B.
    other.get(b, "/login")
    page = other.post_form(b, "/login", {"nir": "1840175056123", "password": WRONG})
    assert page.status_code == 200 and "Le mot de passe saisi est incorrect" in text_of(page)

