"""The limits hold under attack: 30 concurrent requests against one account, served by a real
gunicorn with 4 worker processes sharing the test database (SQLite and PostgreSQL).

What "evaluated" means here, and how it is measured:
* a wrong password is evaluated when argon2 has verified it; the flow logs exactly one
  ``login_failed`` event (cause ``password``) after each verification that fails, and none
  for an attempt refused by the lock before any verification. Counting those lines in the
  workers' log counts the argon2 verifications of wrong passwords;
* a wrong code is evaluated when compared; likewise one ``login_failed`` (cause ``code``)
  per comparison that fails;
* a code is sent when the SMTP server received the mail: the test's aiosmtpd counts them.
The throttle row and the quota table are read too, as a second witness.
"""

from __future__ import annotations

import html
import re
from pathlib import Path

import pytest
import requests

from tests.helpers.accounts import rows
from tests.helpers.gunicorn import all_at_once

pytestmark = pytest.mark.slow

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
ATTACKERS = 30


@pytest.fixture
def gunicorn(app, person, start_gunicorn):
    """gunicorn -w 4 on the test database, with cheap argon2 and our SMTP server."""
    process = start_gunicorn(workers=4, IDP_RATELIMIT_ENABLED="false")   # locks and quotas stay on
    return process.url, process.log


def _login_page(base):
    http = requests.Session()
    page = http.get(base + "/login")
    return http, CSRF.search(page.text).group(1)


def _events(log: Path, cause: str) -> int:
    return sum(1 for line in log.read_text().splitlines()
               if '"event": "login_failed"' in line and f'"cause": "{cause}"' in line)


def test_30_concurrent_wrong_passwords_on_4_workers_evaluate_only_3(app, gunicorn, person):
    from idp.models import Throttle
    base, log = gunicorn
    people = [_login_page(base) for _ in range(ATTACKERS)]   # 30 browsers, 30 flows
    answers = all_at_once([
        (lambda http=http, token=token: http.post(base + "/login", data={
            "csrf_token": token, "nir": person.nir, "password": "Pas-le-bon-1"}))
        for http, token in people])
    assert all(a is not None and a.status_code == 200 for a in answers)
    locked = [a for a in answers if "est bloqué jusqu'au" in html.unescape(a.text)]
    wrong = [a for a in answers if "Le mot de passe saisi est incorrect" in a.text]
    assert len(locked) + len(wrong) == ATTACKERS
    assert _events(log, "password") == 3
    assert [t.attempts for t in rows(app, Throttle, kind="password")] == [3]
    assert len(wrong) <= 2


def test_30_concurrent_wrong_codes_on_4_workers_evaluate_only_3(app, gunicorn, person, smtp):
    from idp.models import Throttle
    base, log = gunicorn
    http, token = _login_page(base)
    http.post(base + "/login", data={"csrf_token": token, "nir": person.nir,
                                     "password": person.password})
    http.post(base + "/login/code/send", data={"csrf_token": token})
    code = smtp.code_for(person.email)
    cookies = http.cookies.get_dict()
    wrong = [f"{(int(code) + i) % 1000000:06d}" for i in range(1, ATTACKERS + 1)]
    answers = all_at_once([
        (lambda guess=guess: requests.post(base + "/login/code", cookies=cookies, data={
            "csrf_token": token, "code": guess}, allow_redirects=False))
        for guess in wrong])
    assert all(a is not None and a.status_code in (200, 409) for a in answers)
    assert _events(log, "code") == 3
    assert [t.attempts for t in rows(app, Throttle, kind="code")] == [3]
    assert any("Les informations saisies sont erronées" in a.text for a in answers)


def test_30_concurrent_code_requests_on_4_workers_send_only_5_mails(app, gunicorn, person, smtp):
    from idp.models import QuotaEvent
    base, _log = gunicorn
    http, token = _login_page(base)
    http.post(base + "/login", data={"csrf_token": token, "nir": person.nir,
                                     "password": person.password})
    cookies = http.cookies.get_dict()
    answers = all_at_once([
        (lambda: requests.post(base + "/login/code/send", cookies=cookies,
                               data={"csrf_token": token}, allow_redirects=False))
        for _ in range(ATTACKERS)])
    assert all(a is not None and a.status_code in (200, 303, 409) for a in answers), \
        [a.status_code for a in answers if a is not None]
    assert len(smtp.to(person.email)) == 5
    assert len(rows(app, QuotaEvent)) == 5
    assert sum("Le nombre maximum de demandes de code" in a.text for a in answers) >= 20
