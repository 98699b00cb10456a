"""The seam between the protocol and the login pages (issue 12): the authorization request
is validated once, at the start, and the resume answers from what was stored then; the ID
token says exactly the login the journey reported (its ``AuthResult``)."""

from __future__ import annotations

from datetime import UTC, timedelta
from pathlib import Path

from tests.helpers.parties import AGENCY_CB
from tests.helpers.rp import inner_params, query_of, url_with


def test_a_resume_answers_from_the_request_validated_at_the_start(rps, browser, person, smtp, clock):
    # The request object expires five minutes after it was signed: valid at the start; the
    # person takes six minutes to log in. Validating it again at the resume would refuse it.
    agency = rps.agency
    pending = agency.authorization()
    url = url_with(agency.issuer + "/authorize", client_id="agency", response_type="code",
                   scope="openid", request=agency.request_object(inner_params(pending)))
    start = browser.get(url, allow_redirects=False)
    assert start.status_code == 200 and 'name="password"' in start.text      # its login page
    clock.shift(timedelta(minutes=6))
    answer = agency.walk(browser, start, person, smtp)
    assert answer.url.startswith(AGENCY_CB) and "code" in answer.params
    assert answer["state"] == pending.state
    agency.validate_id_token(agency.exchange(answer, pending), pending)   # the stored nonce


def test_a_request_object_expired_before_the_start_is_still_refused(rps, browser, clock):
    agency = rps.agency
    signed = agency.request_object(inner_params(agency.authorization()))
    clock.shift(timedelta(minutes=6))
    url = url_with(agency.issuer + "/authorize", client_id="agency", response_type="code",
                   scope="openid", request=signed, redirect_uri=AGENCY_CB)
    assert query_of(browser.get(url, allow_redirects=False))["error"] == "invalid_request_object"


def test_the_id_token_says_the_auth_result_of_the_login(app, rps, browser, person, smtp):
    pending, answer = rps.portal.login(browser, person, smtp)
    claims = rps.portal.validate_id_token(rps.portal.exchange(answer, pending), pending).claims
    from idp.extensions import db
    from idp.interaction import AuthResult
    from idp.models import Account, Interaction, ProviderSession
    with app.app_context():
        account = db.session.query(Account).filter_by(nir=person.nir).one()
        row = db.session.query(Interaction).filter(Interaction.result.isnot(None)).one()
        result = AuthResult.from_json(row.result)
        session = db.session.query(ProviderSession).filter_by(account_id=account.id).one()
    assert result.account_id == account.id
    assert claims["acr"] == result.acr and claims["amr"] == result.amr
    assert claims["auth_time"] == int(result.auth_time.replace(tzinfo=result.auth_time.tzinfo or UTC)
                                      .timestamp())
    assert claims["sid"] == session.id


def test_a_resume_for_a_client_removed_since_the_start_issues_nothing(
        app, app_config, rps, browser, person, smtp):
    import yaml
    rps.portal.start(browser)                       # its login page
    browser.submit_credentials(person.nir, person.password)
    browser.ask_code()
    path = Path(app_config["CLIENTS_FILE"])
    data = yaml.safe_load(path.read_text())
    data["clients"] = [c for c in data["clients"] if c["client_id"] != "portal"]
    path.write_text(yaml.safe_dump(data))
    assert app.extensions["idp.clients"].reload() == []
    # The code step does not answer for a client that is gone: the resume URL says why.
    resume = browser.submit_code(smtp.code_for(person.email)).headers["Location"]
    assert resume.startswith("/authorize/resume/")
    page = browser.get(resume, allow_redirects=False)
    assert page.status_code == 400 and "Location" not in page.headers
    assert "code=" not in page.text
