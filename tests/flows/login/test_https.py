"""The provider served over TLS (gunicorn with a certificate, issuer https://127.0.0.1:PORT):
the CSRF check of every form still refuses a cross-site POST and accepts our own pages'
(issue 10); cookies are __Host- and Secure, and HSTS is sent on HTTPS only (issue 11.15)."""

from __future__ import annotations

import re

import pytest

from idp.models import Throttle
from tests.helpers.accounts import logged_in, login_until_code_sent, rows
from tests.helpers.pages import says

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
WRONG = "Pas-le-bon-1"
EXPIRED = "La page a expiré. Merci de recommencer."
EVIL = "https://evil.example"
https = pytest.mark.parametrize("scheme", ["https"])


def _own(browser) -> dict:
    """What Chromium sends with a POST from our login page under Referrer-Policy: same-origin."""
    return {"Origin": browser.base, "Referer": browser.base + "/login"}


@https
def test_over_https_a_cross_site_post_is_refused_and_our_own_is_accepted(app, browser, person):
    """issue 10: over HTTPS, no token, a foreign or null Origin, a foreign or missing Referer:
    "La page a expiré", and the wrong password they carry is never counted."""
    assert browser.base.startswith("https://")
    page = browser.get("/login")
    assert page.headers["Referrer-Policy"] == "same-origin"
    token = CSRF.search(page.text).group(1)
    form = {"csrf_token": token, "nir": person.nir, "password": WRONG}
    refused = {
        "no token": ({"nir": person.nir, "password": WRONG}, _own(browser)),
        "a foreign Origin": (form, {**_own(browser), "Origin": EVIL}),
        "a null Origin": (form, {**_own(browser), "Origin": "null"}),
        "the same host over http": (form, {**_own(browser),
                                           "Origin": browser.base.replace("https:", "http:")}),
        "a foreign Referer": (form, {"Referer": EVIL + "/login"}),
        "no Referer": (form, {"Origin": browser.base}),
    }
    for case, (data, headers) in refused.items():
        answer = browser.http.post(browser.base + "/login", data=data, headers=headers)
        assert answer.status_code == 400 and says(answer, EXPIRED), case
    assert rows(app, Throttle) == []                      # nothing was counted

    answer = browser.http.post(browser.base + "/login", headers=_own(browser),
                               data={**form, "password": person.password})
    assert answer.status_code == 200 and "recevoir un code de sécurité" in answer.text


def test_on_plain_http_a_foreign_origin_is_refused_too(app, browser, person):
    """issue 10: the Origin check does not depend on TLS (the Referer one is Flask-WTF's,
    over HTTPS only)."""
    page = browser.get("/login")
    form = {"csrf_token": CSRF.search(page.text).group(1), "nir": person.nir,
            "password": person.password}
    answer = browser.http.post(browser.base + "/login", data=form, headers={"Origin": EVIL})
    assert answer.status_code == 400 and says(answer, EXPIRED)
    answer = browser.http.post(browser.base + "/login", data=form,
                               headers={"Origin": browser.base})
    assert answer.status_code == 200 and "recevoir un code de sécurité" in answer.text


def _set_cookies(response) -> dict:
    """Set-Cookie headers of a response and the redirects before it, by cookie name."""
    found = {}
    for r in [*response.history, response]:
        for header in r.raw.headers.getlist("Set-Cookie"):
            found[header.split("=", 1)[0]] = header
    return found


def _attributes(header: str) -> set[str]:
    return {part.strip().split("=", 1)[0].lower() for part in header.split(";")[1:]}


@https
def test_over_https_every_cookie_is_host_prefixed_secure_and_host_only(browser, person, smtp):
    """issue 11.15: __Host-idp_session and __Host-idp_device: Secure, Path=/, no Domain."""
    login_until_code_sent(browser, person, smtp)
    seen = _set_cookies(browser.page)
    answer = browser.submit_code(smtp.code_for(person.email), remember=True)
    seen.update(_set_cookies(answer))
    assert {"__Host-idp_session", "__Host-idp_device"} <= set(seen), seen
    for name, header in seen.items():
        assert name.startswith("__Host-"), header
        assert {"secure", "path", "httponly"} <= _attributes(header), header
        assert "domain" not in _attributes(header) and "Path=/;" in header + ";", header
    assert logged_in(browser)


def test_on_plain_http_the_cookies_keep_their_names(browser, person, smtp):
    """issue 11.15: make run's http://127.0.0.1 keeps idp_session and idp_device."""
    login_until_code_sent(browser, person, smtp)
    answer = browser.submit_code(smtp.code_for(person.email), remember=True)
    seen = {**_set_cookies(browser.page), **_set_cookies(answer)}
    assert {"idp_session", "idp_device"} <= set(seen), seen
    assert not any(name.startswith("__Host-") for name in seen)
    assert all("secure" not in _attributes(h) for h in seen.values())


PAGES = ["/login", "/healthz", "/.well-known/openid-configuration", "/jwks", "/nulle-part"]


@https
def test_over_https_every_answer_carries_hsts(browser):
    """issue 11.15: Flask pages, errors and the published documents ahead of Flask."""
    for path in PAGES:
        answer = browser.http.get(browser.base + path)
        assert answer.headers.get("Strict-Transport-Security") == "max-age=31536000", path
        assert answer.headers.get("Referrer-Policy") == "same-origin", path


def test_on_plain_http_no_answer_carries_hsts(browser):
    """issue 11.15: RFC 6797 §7.2: never over plain HTTP."""
    for path in PAGES:
        answer = browser.http.get(browser.base + path)
        assert "Strict-Transport-Security" not in answer.headers, path
        assert answer.headers.get("Referrer-Policy") == "same-origin", path
