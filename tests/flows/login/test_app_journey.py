"""The ameli app's whole journey (issue 14, seed 004 "APPLI COMPTE AMELI"), over real HTTP as
the app drives it: the shipped clients.yaml's ``mobile-app`` (public, PKCE S256, the private-use
redirect ``fr.ameli.app:/oauth2redirect``, DPoP-bound, first party), the memorised NIR as
``login_hint``, an ephemeral system-browser tab for each login (no cookie kept between logins),
the software authenticator of tests/helpers/authenticator.py as the phone's platform
authenticator, and the app's one DPoP key. The clock is moved with time-machine: the provider
runs in this process (tests/helpers/live.py's threaded server), so it sees the same clock.

One journey, in order: the first login (password, e-mailed code), the offer's three answers
across logins and accounts, activation, the passkey login (no password, no code), the DPoP-bound
tokens and their refusals, /authorize-challenge, the passkey's end after 183 days and the
fallback to the password and the code, and a password change revoking the passkey."""

from __future__ import annotations

import json
import re
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from idp import messages
from tests.conftest import PASSWORD, Browser
from tests.flows.login.test_login_passkey import Script, device_for
from tests.flows.login.test_login_passkey_offer import activate, at_offer
from tests.helpers.accounts import NEW_PASSWORD, login_direct
from tests.helpers.dpop import DpopKey
from tests.helpers.pages import says, text_of
from tests.helpers.rp import FORM_ACTION, RelyingParty

CLIENT_ID = "mobile-app"
REDIRECT = "fr.ameli.app:/oauth2redirect"
OTHER_NIR, OTHER_EMAIL = "1840175056123", "jean.dupont@example.fr"
# Two levels, so that the passkey's acr is seen to come from its own entry.
ACR = {"pwd_mail": "eidas2", "pwd_device": "eidas1", "pwd": "eidas1", "passkey": "eidas1"}


class Someone:
    def __init__(self, nir: str, email: str, password: str = PASSWORD):
        self.nir, self.email, self.password = nir, email, password


class MobileApp:
    """The app: its client entry, its DPoP key (kept in the phone's key store), a fresh
    system-browser tab on ``localhost`` (the passkeys' origin) for each web login, and the
    back-channel calls to /token, /userinfo and /authorize-challenge on the issuer."""

    def __init__(self, server):
        self.server = server
        self.issuer = server.url
        self.key = DpopKey()
        self.rp = RelyingParty(server, CLIENT_ID, REDIRECT, method="none")
        self.pending = None

    # -- the system browser ------------------------------------------------------------------

    def tab(self) -> Browser:
        return Browser(self.server.url.replace("127.0.0.1", "localhost"))

    def open_login(self, tab: Browser, nir: str):
        """``/authorize`` in the tab, the memorised NIR as ``login_hint``, this app's key
        thumbprint as ``dpop_jkt`` (RFC 9449 §10); the login page it lands on."""
        self.pending = self.rp.authorization(login_hint=nir, dpop_jkt=self.key.jkt)
        answer = tab.get(self.pending.url.replace("127.0.0.1", "localhost"),
                         allow_redirects=False)
        assert answer.status_code == 200, answer.status_code        # the login page itself
        page = answer
        assert re.search(rf'id="nir"[^>]*value="{nir}"', page.text), "login_hint pre-fills"
        return page

    def walk(self, tab: Browser, response, *, offer: str | None = None, phone=None) -> tuple[str, bool]:
        """Follow the provider's pages until the redirect to the app: the biometrics offer
        answered ``offer`` ("later", "never" or "activate" with ``phone``), the consent
        accepted. The code (state and iss checked) and whether the offer was shown."""
        offered = False
        for _ in range(12):
            if response.status_code in (302, 303):
                location = response.headers["Location"]
                if location.startswith(REDIRECT):
                    query = {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}
                    assert query["state"] == self.pending.state and query["iss"] == self.issuer
                    return query["code"], offered
                response = tab.get(location, allow_redirects=False)
                continue
            assert response.status_code == 200, (response.status_code, text_of(response)[:400])
            if at_offer(response):
                offered = True
                assert offer is not None, "an offer nobody expected"
                if offer == "activate":
                    answer = activate(tab, phone)
                    assert answer.status_code == 200, answer.text
                    response = tab.get(answer.json()["location"], allow_redirects=False)
                else:
                    response = tab.post_form("/login/offer", {"decision": offer},
                                             allow_redirects=False)
            elif "/login/consent" in FORM_ACTION.findall(response.text):
                response = tab.post_form("/login/consent", {"decision": "accept"},
                                         allow_redirects=False)
            else:
                raise AssertionError("stuck on: " + text_of(response)[:600])
        raise AssertionError("too many steps")

    def password_and_code(self, tab: Browser, person: Someone, smtp, *, offer=None, phone=None):
        """The login page's password, then the e-mailed code, on a device with biometrics."""
        page = tab.submit_credentials(person.nir, person.password)
        assert "recevoir un code de sécurité" in page.text, text_of(page)[:400]
        tab.ask_code()
        response = tab.post_form("/login/code", {"code": smtp.code_for(person.email),
                                                 "biometrics": "platform"},
                                 allow_redirects=False)
        return self.walk(tab, response, offer=offer, phone=phone)

    def web_login(self, person: Someone, smtp, **answer) -> tuple[str, bool]:
        tab = self.tab()
        self.open_login(tab, person.nir)
        return self.password_and_code(tab, person, smtp, **answer)

    def passkey_login(self, nir: str, phone):
        """The login page's "Se connecter avec la biométrie": the tab and the JSON answer."""
        tab = self.tab()
        page = self.open_login(tab, nir)
        assert 'id="passkey-login"' in page.text
        return tab, Script(tab).sign_in(phone)

    # -- the back channel, with DPoP ---------------------------------------------------------

    def post(self, path: str, form: dict, key=None) -> requests.Response:
        url = self.issuer + path
        key = self.key if key is None else key
        headers = {"DPoP": key.proof("POST", url)} if key else {}
        return requests.post(url, data={"client_id": CLIENT_ID, **form}, headers=headers)

    def redeem(self, code: str, *, key=None, redirect: bool = True) -> requests.Response:
        form = {"grant_type": "authorization_code", "code": code,
                "code_verifier": self.pending.verifier}
        if redirect:
            form["redirect_uri"] = REDIRECT
        return self.post("/token", form, key)

    def refresh(self, refresh_token: str, key=None) -> requests.Response:
        return self.post("/token", {"grant_type": "refresh_token",
                                    "refresh_token": refresh_token}, key)

    def userinfo(self, access_token: str, key=None, scheme: str = "DPoP") -> requests.Response:
        url = self.issuer + "/userinfo"
        key = self.key if key is None else key
        return requests.get(url, headers={
            "Authorization": f"{scheme} {access_token}",
            "DPoP": key.proof("GET", url, access_token=access_token)})

    def tokens(self, code: str, *, redirect: bool = True) -> tuple[dict, dict]:
        answer = self.redeem(code, redirect=redirect)
        assert answer.status_code == 200, answer.text
        tokens = answer.json()
        assert tokens["token_type"] == "DPoP"
        return tokens, self.rp.validate_id_token(tokens, self.pending).claims

    def challenge(self, phone) -> requests.Response:
        """/authorize-challenge without a browser: the auth_session and the request options,
        then the phone's assertion."""
        self.pending = self.rp.authorization(nonce=False)
        started = self.post("/authorize-challenge", {
            "code_challenge": parse_qs(urlsplit(self.pending.url).query)["code_challenge"][0],
            "code_challenge_method": "S256", "scope": "openid profile email"})
        assert started.status_code == 400, started.text
        body = started.json()
        assert body["error"] == "insufficient_authorization", body
        return self.post("/authorize-challenge", {
            "auth_session": body["auth_session"],
            "passkey_assertion": json.dumps(phone.assertion(body["passkey_request_options"]))})


def dpop_refusal(response, status: int, error: str):
    assert response.status_code == status, response.text
    if status == 401:
        challenge = response.headers["WWW-Authenticate"]
        assert challenge.startswith("DPoP ") and f'error="{error}"' in challenge, challenge
    else:
        assert response.json()["error"] == error, response.text


def redirect_to_web(response):
    assert response.status_code == 400, response.text
    assert response.json()["error"] == "redirect_to_web", response.text
    assert "authorization_code" not in response.json()


def change_password(server, smtp, person: Someone, new_password: str):
    """"Mon mot de passe" on the account page: the 4-digit code, then the new password."""
    tab = Browser(server.url)
    login_direct(tab, smtp, person.nir, person.password, person.email)
    tab.post_form("/compte/mot-de-passe/code/envoyer", {})
    tab.post_form("/compte/mot-de-passe/code", {"code": smtp.code_for(person.email, digits=4)})
    page = tab.post_form("/compte/mot-de-passe", {"current_password": person.password,
                                                  "new_password": new_password,
                                                  "confirmation": new_password})
    assert says(page, messages.text("password_changed_done")), text_of(page)[:400]
    person.password = new_password


@pytest.mark.config(ACR_BY_METHOD=ACR)
def test_the_app_journey_from_the_first_login_to_the_password_change(
        app, server, smtp, clock, person, make_account):
    mobile = MobileApp(server)
    valerie = Someone(person.nir, person.email)
    phone = device_for(app)

    # 1. The first login: password and e-mailed code; "Plus tard" at the offer.
    code, offered = mobile.web_login(valerie, smtp, offer="later")
    assert offered
    tokens, claims = mobile.tokens(code)
    assert claims["amr"] == ["pwd", "otp", "mfa"] and claims["acr"] == ACR["pwd_mail"]

    # 2. "Plus tard" counted for that login only: offered again at the next one.
    code, offered = mobile.web_login(valerie, smtp, offer="later")
    assert offered

    # 3. Another account answers "Ne plus me le rappeler": never offered again.
    make_account(OTHER_NIR, email=OTHER_EMAIL)
    jean = Someone(OTHER_NIR, OTHER_EMAIL)
    assert mobile.web_login(jean, smtp, offer="never")[1]
    assert mobile.web_login(jean, smtp)[1] is False
    assert mobile.web_login(jean, smtp)[1] is False

    # 4. "Activer": the phone's platform authenticator registers a passkey.
    code, offered = mobile.web_login(valerie, smtp, offer="activate", phone=phone)
    assert offered
    tokens, claims = mobile.tokens(code)
    assert claims["amr"] == ["pwd", "otp", "mfa"]

    # 5. The next login: the passkey, no password, no code.
    mails = len(smtp.messages)
    tab, answer = mobile.passkey_login(valerie.nir, phone)
    assert answer.status_code == 200, answer.text
    code, offered = mobile.walk(tab, tab.get(answer.json()["location"], allow_redirects=False))
    assert not offered and len(smtp.messages) == mails
    tokens, claims = mobile.tokens(code)
    assert claims["amr"] == ["pop", "mfa"]
    assert claims["acr"] == app.config["ACR_BY_METHOD"]["passkey"] == ACR["passkey"]
    assert claims["auth_time"] == int(clock.now().timestamp())
    sub = claims["sub"]

    # 6. The DPoP-bound tokens: userinfo with the DPoP scheme and a proof, a refresh with a
    #    proof; the wrong key, or the token as a bearer, refused; the right key still serves.
    info = mobile.userinfo(tokens["access_token"])
    assert info.status_code == 200 and info.json()["sub"] == sub
    thief = DpopKey()
    dpop_refusal(mobile.userinfo(tokens["access_token"], key=thief), 401, "invalid_dpop_proof")
    dpop_refusal(requests.get(server.url + "/userinfo", headers={
        "Authorization": "Bearer " + tokens["access_token"]}), 401, "invalid_token")
    dpop_refusal(mobile.refresh(tokens["refresh_token"], key=thief), 400, "invalid_dpop_proof")
    dpop_refusal(mobile.refresh(tokens["refresh_token"], key=False), 400, "invalid_dpop_proof")
    renewed = mobile.refresh(tokens["refresh_token"])
    assert renewed.status_code == 200 and renewed.json()["token_type"] == "DPoP", renewed.text
    renewed = renewed.json()
    assert mobile.userinfo(renewed["access_token"]).json()["sub"] == sub
    dpop_refusal(mobile.userinfo(renewed["access_token"], key=thief), 401, "invalid_dpop_proof")

    # 7. /authorize-challenge: the passkey, without a browser, for a code.
    answer = mobile.challenge(phone)
    assert answer.status_code == 200, answer.text
    challenge_tokens, claims = mobile.tokens(answer.json()["authorization_code"], redirect=False)
    assert claims["amr"] == ["pop", "mfa"] and claims["sub"] == sub

    # 8. 183 days later (Policy.biometric_validity): the passkey is no longer accepted, on the
    #    page, which keeps the password form: the fallback, which offers biometrics again ...
    clock.shift(timedelta(days=183))
    tab, answer = mobile.passkey_login(valerie.nir, phone)
    assert answer.status_code == 400
    assert answer.json()["message"] == messages.text("passkey_expired")
    expired, phone = phone, device_for(app)       # the phone's new passkey
    code, offered = mobile.password_and_code(tab, valerie, smtp, offer="activate", phone=phone)
    assert offered
    tokens, claims = mobile.tokens(code)
    assert claims["amr"] == ["pwd", "otp", "mfa"] and claims["acr"] == ACR["pwd_mail"]
    # ... and at /authorize-challenge: redirect_to_web with the expired one, a code with the new.
    redirect_to_web(mobile.challenge(expired))
    assert mobile.challenge(phone).status_code == 200

    # 9. A password change revokes the passkey (and the app's tokens): refused on the page and
    #    at /authorize-challenge; the new password and the code log in.
    change_password(server, smtp, valerie, NEW_PASSWORD)
    dpop_refusal(mobile.refresh(tokens["refresh_token"]), 400, "invalid_grant")
    tab, answer = mobile.passkey_login(valerie.nir, phone)
    assert answer.status_code == 400
    assert answer.json()["message"] == messages.text("passkey_refused")
    code, _ = mobile.password_and_code(tab, valerie, smtp, offer="later")
    assert mobile.tokens(code)[1]["amr"] == ["pwd", "otp", "mfa"]
    redirect_to_web(mobile.challenge(phone))
