"""Flask-Limiter, the outer shield in front of the account locks and code quotas: per IP and
per NIR, on memory:// and redis:// storage, answered with a French 429 page."""

from __future__ import annotations

import uuid

import pytest

from tests.helpers.pages import says
from tests.helpers.services import REDIS_PORT, answers

WRONG = "Pas-le-bon-1"


@pytest.fixture(params=["memory://", "redis://127.0.0.1:6379/0"])
def limiter_storage(request):
    if request.param.startswith("redis") and not answers(REDIS_PORT):
        pytest.skip("Redis does not answer on 127.0.0.1:6379")
    return request.param


@pytest.fixture
def app_config(app_config, limiter_storage):
    from idp.extensions import limiter
    # The limiter is a process-wide singleton that keeps the first app's key prefix: reset it,
    # so that each test (and each xdist worker) counts in Redis under a prefix of its own.
    limiter._key_prefix = ""
    return {**app_config, "RATELIMIT_ENABLED": True, "RATELIMIT_STORAGE_URI": limiter_storage,
            "RATELIMIT_KEY_PREFIX": "idp-test-" + uuid.uuid4().hex,
            "LOGIN_RATE_LIMIT_PER_NIR": "3 per minute", "LOGIN_RATE_LIMIT_PER_IP": "6 per minute",
            "PASSWORD_RESET_RATE_LIMIT_PER_IP": "3 per minute"}


def test_the_per_nir_limit_answers_a_french_429_page_whatever_the_spacing(browser, person):
    browser.get("/login")
    for typed in ("2690299341732", "2 69 02 99 341 732", "269 02 99 341 732"):
        assert browser.submit_credentials(typed, WRONG).status_code == 200
    page = browser.submit_credentials("26902 99341732", WRONG)
    assert page.status_code == 429
    assert says(page, "Vous avez effectué trop de demandes en peu de temps. Merci de patienter "
                      "quelques instants avant de réessayer.")
    browser.get("/login")
    assert browser.submit_credentials("1840175056123", WRONG).status_code == 200   # another NIR


def test_the_per_ip_limit_holds_across_nirs(browser):
    browser.get("/login")
    nirs = ["1840175056123", "2690299341732", "1750513055001", "2800269123005",
            "1920733063004", "2010631555006"]
    for nir in nirs:
        assert browser.submit_credentials(nir, WRONG).status_code == 200
    assert browser.submit_credentials("1840175056124", WRONG).status_code == 429


def test_the_reset_page_is_rate_limited_per_ip(browser, person, smtp):
    """issue 11.5: the new-password form of a reset link (an argon2 verification per POST)
    answers the French 429 page past ``PASSWORD_RESET_RATE_LIMIT_PER_IP``."""
    import re
    browser.get("/mot-de-passe-oublie")
    browser.post_form("/mot-de-passe-oublie", {"nir": person.nir, "birthdate": "15/02/1969"})
    link = re.findall(r"^(https?://\S+)\s*$", smtp.last_text(person.email), re.M)[-1]
    path = link.split(browser.base, 1)[1]
    browser.get(path)
    for _ in range(3):
        assert browser.post_form(path, {"new_password": "court", "confirmation": "x"}).status_code == 400
    page = browser.post_form(path, {"new_password": "court", "confirmation": "x"})
    assert page.status_code == 429
    assert says(page, "Vous avez effectué trop de demandes en peu de temps.")
