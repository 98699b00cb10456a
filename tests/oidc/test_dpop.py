"""DPoP (RFC 9449) over real HTTP: a client registered ``dpop_bound_access_tokens`` gets
tokens bound to its key and uses them at userinfo with proofs; every proof that is not right
is refused with the RFC's errors, at /token (400 invalid_dpop_proof) and at userinfo (401,
``WWW-Authenticate: DPoP``); a bound token is never accepted as a bearer token."""

from __future__ import annotations

import http.client
import json
import time
from datetime import timedelta
from urllib.parse import urlencode, urlsplit

import pytest
import requests

from tests.helpers.dpop import DpopKey
from tests.helpers.parties import MOBILE_CB, register
from tests.helpers.rp import RelyingParty

# The ameli app as clients.yaml registers it (mobile-app): public, PKCE, DPoP-bound.
DPOP_APP = f"""
  - client_id: dpop-app
    token_endpoint_auth_method: none
    redirect_uris: [{MOBILE_CB}]
    scope: openid profile email
    grant_types: [authorization_code, refresh_token]
    skip_consent: true
    dpop_bound_access_tokens: true
"""


@pytest.fixture
def app_config(app_config):
    return register(app_config, DPOP_APP)


@pytest.fixture
def app_rp(server):
    return RelyingParty(server, "dpop-app", MOBILE_CB, method="none")


@pytest.fixture
def key():
    return DpopKey()


def token_post(rp, form: dict, proof: str | None = None) -> requests.Response:
    headers = {"DPoP": proof} if proof is not None else {}
    if rp.oauth.token_endpoint_auth_method == "none":
        return requests.post(rp.token_endpoint, data={"client_id": rp.client_id, **form},
                             headers=headers)
    return requests.post(rp.token_endpoint, data=form, headers=headers,
                         auth=rp.oauth.client_auth(rp.oauth.token_endpoint_auth_method))


def redeem(rp, answer, pending, proof):
    return token_post(rp, {"grant_type": "authorization_code", "code": answer["code"],
                           "redirect_uri": rp.redirect_uri, "code_verifier": pending.verifier},
                      proof)


def refresh(rp, refresh_token, proof):
    return token_post(rp, {"grant_type": "refresh_token", "refresh_token": refresh_token}, proof)


def userinfo(server, access_token, proof=None, *, scheme="DPoP", method="GET"):
    headers = {"Authorization": f"{scheme} {access_token}"}
    if proof is not None:
        headers["DPoP"] = proof
    return requests.request(method, server.url + "/userinfo", headers=headers)


def bound_tokens(rp, browser, person, smtp, key) -> dict:
    pending, answer = rp.login(browser, person, smtp)
    response = redeem(rp, answer, pending, key.proof("POST", rp.token_endpoint))
    assert response.status_code == 200, response.text
    return response.json()


def refused_at_token(response, words: str = ""):
    assert response.status_code == 400, response.text
    body = response.json()
    assert body["error"] == "invalid_dpop_proof", body
    assert words in body.get("error_description", ""), body
    assert response.headers["Cache-Control"] == "no-store"


def refused_at_resource(response, error: str = "invalid_dpop_proof"):
    assert response.status_code == 401, response.text
    challenge = response.headers["WWW-Authenticate"]
    assert challenge.startswith("DPoP ") and f'error="{error}"' in challenge, challenge
    assert "ES256" in challenge                   # algs (RFC 9449 §7.1)
    assert "sub" not in response.text


# -- the good path ---------------------------------------------------------------------

@pytest.mark.parametrize("key", [DpopKey(), DpopKey(2048)], ids=["ES256", "RS256"])
def test_the_app_gets_tokens_bound_to_its_key_and_uses_them(app_rp, server, browser, person,
                                                            smtp, key):
    tokens = bound_tokens(app_rp, browser, person, smtp, key)
    assert tokens["token_type"] == "DPoP"
    access = tokens["access_token"]
    info = userinfo(server, access, key.proof("GET", server.url + "/userinfo", access_token=access))
    assert info.status_code == 200, info.text
    assert info.json()["sub"]
    # POST too, with its own htm.
    posted = userinfo(server, access, key.proof("POST", server.url + "/userinfo", access_token=access),
                      method="POST")
    assert posted.status_code == 200, posted.text

    renewed = refresh(app_rp, tokens["refresh_token"], key.proof("POST", app_rp.token_endpoint))
    assert renewed.status_code == 200, renewed.text
    assert renewed.json()["token_type"] == "DPoP"
    again = renewed.json()["access_token"]
    assert userinfo(server, again, key.proof("GET", server.url + "/userinfo",
                                             access_token=again)).status_code == 200


def test_the_discovery_lists_the_dpop_algorithms(server):
    document = requests.get(server.url + "/.well-known/openid-configuration").json()
    algs = document["dpop_signing_alg_values_supported"]
    assert "ES256" in algs and "none" not in algs and not any(a.startswith("HS") for a in algs)


def test_a_dpop_client_must_send_a_proof_and_the_code_survives_the_refusal(
        app_rp, browser, person, smtp, key):
    pending, answer = app_rp.login(browser, person, smtp)
    refused_at_token(redeem(app_rp, answer, pending, None), "must send a DPoP proof")
    # Refused before the code was looked at: the app retries with its proof.
    response = redeem(app_rp, answer, pending, key.proof("POST", app_rp.token_endpoint))
    assert response.status_code == 200 and response.json()["token_type"] == "DPoP"
    refused_at_token(refresh(app_rp, response.json()["refresh_token"], None))


def test_a_refresh_with_another_key_is_refused_and_does_not_burn_the_token(
        app_rp, browser, person, smtp, key):
    tokens = bound_tokens(app_rp, browser, person, smtp, key)
    thief = DpopKey()
    refused_at_token(refresh(app_rp, tokens["refresh_token"],
                             thief.proof("POST", app_rp.token_endpoint)), "refresh token's key")
    renewed = refresh(app_rp, tokens["refresh_token"], key.proof("POST", app_rp.token_endpoint))
    assert renewed.status_code == 200, renewed.text


@pytest.mark.parametrize(("days", "status"), [(182, 200), (184, 400)])
def test_a_dpop_clients_refresh_tokens_live_as_long_as_a_passkey(
        days, status, app_rp, browser, person, smtp, key, clock):
    tokens = bound_tokens(app_rp, browser, person, smtp, key)
    clock.shift(timedelta(days=days))        # beyond refresh_token_ttl's 30 days
    response = refresh(app_rp, tokens["refresh_token"], key.proof("POST", app_rp.token_endpoint))
    assert response.status_code == status, response.text


def test_a_client_not_registered_for_dpop_may_bind_its_tokens(rps, server, browser, person,
                                                              smtp, key):
    """RFC 9449 §5: a proof from any client binds; a public client's refresh token too."""
    tokens = bound_tokens(rps.mobile, browser, person, smtp, key)
    assert tokens["token_type"] == "DPoP"
    refused_at_resource(userinfo(server, tokens["access_token"], scheme="Bearer"), "invalid_token")
    refused_at_token(refresh(rps.mobile, tokens["refresh_token"],
                             DpopKey().proof("POST", rps.mobile.token_endpoint)))
    # ... and without a proof, its plain logins stay bearer.
    pending, answer = rps.mobile.login(browser, person, smtp)
    plain = redeem(rps.mobile, answer, pending, None).json()
    assert plain["token_type"] == "Bearer"
    assert userinfo(server, plain["access_token"], scheme="Bearer").status_code == 200
    refused_at_resource(userinfo(server, plain["access_token"],
                                 key.proof("GET", server.url + "/userinfo",
                                           access_token=plain["access_token"])), "invalid_token")


def test_introspection_shows_the_key_a_token_is_bound_to(rps, browser, person, smtp, key):
    partner = rps.partner
    pending, answer = partner.login(browser, person, smtp)
    response = redeem(partner, answer, pending, key.proof("POST", partner.token_endpoint))
    assert response.status_code == 200 and response.json()["token_type"] == "DPoP"
    seen = partner.post("/introspect", {"token": response.json()["access_token"]}).json()
    assert seen["active"] and seen["token_type"] == "DPoP"
    assert seen["cnf"] == {"jkt": key.jkt}
    pending, answer = partner.login(browser, person, smtp)
    plain = partner.redeem(answer, pending).json()
    seen = partner.post("/introspect", {"token": plain["access_token"]}).json()
    assert seen["token_type"] == "Bearer" and "cnf" not in seen


# -- the authorization code bound to the key (RFC 9449 §10, dpop_jkt) -----------------------

@pytest.mark.parametrize("client", ["dpop-app", "mobile"])
def test_a_code_asked_with_dpop_jkt_is_redeemed_only_by_that_key_and_survives_a_thief(
        client, app_rp, rps, browser, person, smtp, key):
    """Both a client registered for DPoP and one that is not: the code asked with the app's
    key thumbprint is refused with no proof and with another key's, before it is spent."""
    rp = app_rp if client == "dpop-app" else rps.mobile
    pending, answer = rp.login(browser, person, smtp, dpop_jkt=key.jkt)
    refused_at_token(redeem(rp, answer, pending, DpopKey().proof("POST", rp.token_endpoint)),
                     "dpop_jkt")
    refused_at_token(redeem(rp, answer, pending, None))
    response = redeem(rp, answer, pending, key.proof("POST", rp.token_endpoint))
    assert response.status_code == 200, response.text
    assert response.json()["token_type"] == "DPoP"


@pytest.mark.parametrize("jkt", ["", "short", "not base64url!" + "A" * 30, "A" * 44])
def test_a_malformed_dpop_jkt_is_invalid_request(jkt, app_rp, browser):
    pending, answer = app_rp.start(browser, dpop_jkt=jkt)
    assert answer.status_code == 303, answer.text
    assert "error=invalid_request" in answer.headers["Location"], answer.headers["Location"]


# -- every refusal of a proof at /token ------------------------------------------------

def _other_signer(key, htu):
    """A proof naming ``key``'s jwk but signed by another key."""
    forger = DpopKey()
    return forger.proof("POST", htu, jwk=key.public)


BAD_PROOFS = {
    "wrong htm": lambda key, url: key.proof("GET", url),
    "wrong htu path": lambda key, url: key.proof("POST", url.replace("/token", "/userinfo")),
    "wrong htu host": lambda key, url: key.proof("POST", url.replace("127.0.0.1", "attacker.example")),
    "wrong htu scheme": lambda key, url: key.proof("POST", url.replace("http://", "https://")),
    "stale iat": lambda key, url: key.proof("POST", url, iat=time.time() - 61),
    "future iat": lambda key, url: key.proof("POST", url, iat=time.time() + 61),
    "no iat": lambda key, url: key.proof("POST", url, drop=("iat",)),
    "no jti": lambda key, url: key.proof("POST", url, drop=("jti",)),
    "private key in jwk": lambda key, url: key.proof("POST", url, jwk=key.key.as_dict(private=True)),
    "alg none": lambda key, url: key.proof("POST", url, alg="none"),
    "alg HS256": lambda key, url: key.proof("POST", url, alg="HS256"),
    "typ JWT": lambda key, url: key.proof("POST", url, typ="JWT"),
    "signed by another key": _other_signer,
    "not a JWS": lambda key, url: "not.a-proof",
    "RSA key of 1024 bits": lambda key, url: DpopKey(1024).proof("POST", url, alg="RS256"),
}


@pytest.mark.filterwarnings("ignore:Key size should be")     # the 1024-bit RSA key, on purpose
@pytest.mark.parametrize("case", list(BAD_PROOFS))
def test_a_bad_proof_is_refused_at_the_token_endpoint(case, rps, key):
    """Checked before anything else: a made-up refresh token is enough to reach it."""
    proof = BAD_PROOFS[case](key, rps.mobile.token_endpoint)
    refused_at_token(refresh(rps.mobile, "made-up-refresh-token", proof))


def test_a_proof_is_used_once(rps, key):
    proof = key.proof("POST", rps.mobile.token_endpoint)
    first = refresh(rps.mobile, "made-up-refresh-token", proof)
    assert first.json()["error"] == "invalid_grant"          # the proof itself was fine
    refused_at_token(refresh(rps.mobile, "made-up-refresh-token", proof), "already used")


def test_two_dpop_headers_are_refused(server, rps, key):
    url = rps.mobile.token_endpoint
    connection = http.client.HTTPConnection(urlsplit(server.url).netloc)
    connection.putrequest("POST", "/token")
    body = urlencode({"client_id": "mobile", "grant_type": "refresh_token", "refresh_token": "x"})
    for _ in range(2):
        connection.putheader("DPoP", key.proof("POST", url))
    connection.putheader("Content-Type", "application/x-www-form-urlencoded")
    connection.putheader("Content-Length", str(len(body)))
    connection.endheaders(body.encode())
    response = connection.getresponse()
    answer = json.loads(response.read())
    connection.close()
    assert response.status == 400 and answer["error"] == "invalid_dpop_proof", answer


def test_a_proofs_iat_is_accepted_within_the_window(rps, key):
    for skew in (-55, 55):
        response = refresh(rps.mobile, "made-up-refresh-token",
                           key.proof("POST", rps.mobile.token_endpoint, iat=time.time() + skew))
        assert response.json()["error"] == "invalid_grant", (skew, response.text)


# -- every refusal at userinfo ---------------------------------------------------------

def test_an_unknown_token_with_the_dpop_scheme_gets_a_dpop_challenge(server, key):
    """RFC 9449 §7.1: the challenge answers in the scheme the request used."""
    url = server.url + "/userinfo"
    refused_at_resource(userinfo(server, "made-up-token",
                                 key.proof("GET", url, access_token="made-up-token")),
                        "invalid_token")
    refused_at_resource(userinfo(server, "made-up-token"), "invalid_token")
    bearer = userinfo(server, "made-up-token", scheme="Bearer")
    assert bearer.status_code == 401 and bearer.headers["WWW-Authenticate"].startswith("Bearer ")


def test_every_bad_use_of_a_bound_token_at_userinfo_is_refused(app_rp, server, browser, person,
                                                              smtp, key):
    tokens = bound_tokens(app_rp, browser, person, smtp, key)
    access = tokens["access_token"]
    url = server.url + "/userinfo"
    cases = {
        "as a bearer token": (userinfo(server, access, scheme="Bearer"), "invalid_token"),
        "as a bearer token with a proof": (
            userinfo(server, access, key.proof("GET", url, access_token=access), scheme="Bearer"),
            "invalid_token"),
        "no proof": (userinfo(server, access), "invalid_dpop_proof"),
        "no ath": (userinfo(server, access, key.proof("GET", url)), "invalid_dpop_proof"),
        "bad ath": (userinfo(server, access, key.proof("GET", url, ath_value="A" * 43)),
                    "invalid_dpop_proof"),
        "another token's ath": (userinfo(server, access, key.proof("GET", url, access_token="other")),
                                "invalid_dpop_proof"),
        "wrong key": (userinfo(server, access, DpopKey().proof("GET", url, access_token=access)),
                      "invalid_dpop_proof"),
        "wrong htm": (userinfo(server, access, key.proof("POST", url, access_token=access)),
                      "invalid_dpop_proof"),
        "wrong htu": (userinfo(server, access, key.proof("GET", server.url + "/token",
                                                         access_token=access)),
                      "invalid_dpop_proof"),
        "stale iat": (userinfo(server, access, key.proof("GET", url, access_token=access,
                                                         iat=time.time() - 120)),
                      "invalid_dpop_proof"),
        "alg none": (userinfo(server, access, key.proof("GET", url, access_token=access,
                                                        alg="none")), "invalid_dpop_proof"),
    }
    for name, (response, error) in cases.items():
        try:
            refused_at_resource(response, error)
        except AssertionError as failure:
            raise AssertionError(f"{name}: {failure}") from None
    good = key.proof("GET", url, access_token=access)
    assert userinfo(server, access, good).status_code == 200
    refused_at_resource(userinfo(server, access, good))          # replayed jti


@pytest.mark.slow
def test_a_proof_replayed_at_once_on_two_worker_processes_passes_once(start_gunicorn, key):
    """The jti store is the database's: two gunicorn workers cannot both accept one proof."""
    from concurrent.futures import ThreadPoolExecutor

    provider = start_gunicorn(workers=2)           # the shipped clients.yaml: mobile-app
    url = provider.url + "/token"
    proof = key.proof("POST", url)

    def send(_):
        return requests.post(url, data={"client_id": "mobile-app", "grant_type": "refresh_token",
                                        "refresh_token": "made-up"},
                             headers={"DPoP": proof}).json()["error"]

    with ThreadPoolExecutor(max_workers=12) as pool:
        errors = list(pool.map(send, range(24)))
    assert sorted(set(errors)) == ["invalid_dpop_proof", "invalid_grant"]
    assert errors.count("invalid_grant") == 1, errors


def test_behind_the_proxy_htu_is_the_issuers_url_not_the_forwarded_one(app_config, key):
    """A TLS-terminating proxy forwards https://connexion.example.fr/token to a plain-http
    worker: the proof names the public URL, and only it is accepted."""
    import uuid

    from idp import create_app, keys
    from idp.extensions import limiter
    from tests.helpers.live import LiveServer, reserve_port
    port = reserve_port()
    limiter._key_prefix = ""
    application = create_app({**app_config, "ISSUER": "https://connexion.example.fr",
                              "PROXY_FIX": {"x_for": 1, "x_proto": 1, "x_host": 1},
                              "RATELIMIT_KEY_PREFIX": "idp-test-" + uuid.uuid4().hex})
    with application.app_context():
        keys.ensure_keys()
    live = LiveServer(application, port)
    try:
        forwarded = {"X-Forwarded-Proto": "https", "X-Forwarded-Host": "connexion.example.fr"}

        def send(htu):
            return requests.post(f"http://127.0.0.1:{port}/token", data={
                "client_id": "mobile", "grant_type": "refresh_token", "refresh_token": "made-up"},
                headers={**forwarded, "DPoP": key.proof("POST", htu)}).json()

        assert send("https://connexion.example.fr/token")["error"] == "invalid_grant"
        # RFC 3986 normalisation: case of scheme and host, the default port; the query ignored.
        assert send("HTTPS://Connexion.Example.FR:443/token?x=1")["error"] == "invalid_grant"
        assert send(f"http://127.0.0.1:{port}/token")["error"] == "invalid_dpop_proof"
        assert send("https://connexion.example.fr:8443/token")["error"] == "invalid_dpop_proof"
        assert send("https://connexion.example.fr/Token")["error"] == "invalid_dpop_proof"
    finally:
        live.stop()


def test_a_used_jti_is_refused_for_the_whole_window_and_purged_after_it(app, rps, key, clock):
    proof = key.proof("POST", rps.mobile.token_endpoint)
    assert refresh(rps.mobile, "made-up-refresh-token", proof).json()["error"] == "invalid_grant"
    clock.shift(timedelta(seconds=59))
    refused_at_token(refresh(rps.mobile, "made-up-refresh-token", proof), "already used")

    def jtis():
        import sqlalchemy as sa

        from idp.extensions import db
        from idp.models import Throttle
        with app.app_context():
            count = db.session.scalar(sa.select(sa.func.count()).select_from(Throttle)
                                      .where(Throttle.kind == "dpop-jti"))
            db.session.rollback()
            return count

    app.test_cli_runner().invoke(args=["idp", "purge"])
    assert jtis() == 1                                 # still within the window: kept
    clock.shift(timedelta(seconds=2))                  # the proof's iat is now out of it
    app.test_cli_runner().invoke(args=["idp", "purge"])
    assert jtis() == 0
    refused_at_token(refresh(rps.mobile, "made-up-refresh-token", proof), "iat")
