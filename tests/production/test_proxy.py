"""Behind a TLS-terminating proxy (IDP_PROXY_FIX), an https issuer makes every cookie Secure."""

import pytest


@pytest.fixture
def proxied_app(app_config):
    from idp import create_app
    from idp.oidc import keys
    application = create_app({**app_config, "ISSUER": "https://connexion.example.fr",
                              "PROXY_FIX": {"x_for": 1, "x_proto": 1, "x_host": 1}})
    with application.app_context():
        keys.ensure_keys()
    return application


def test_the_session_cookie_is_secure_behind_a_proxy_with_an_https_issuer(proxied_app):
    client = proxied_app.test_client()
    response = client.get("/authorize", headers={"X-Forwarded-Proto": "https",
                                                 "X-Forwarded-Host": "connexion.example.fr"},
                          query_string={"client_id": "portal", "response_type": "code",
                                        "scope": "openid", "state": "s", "nonce": "n",
                                        "redirect_uri": "http://127.0.0.1:5001/callback",
                                        "code_challenge": "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
                                        "code_challenge_method": "S256"},
                          follow_redirects=True)
    cookies = response.headers.getlist("Set-Cookie") or [
        h for r in response.history for h in r.headers.getlist("Set-Cookie")]
    session = [c for c in cookies if c.startswith("__Host-idp_session=")]   # issue 11.15
    assert session and all("Secure" in c for c in session), cookies
