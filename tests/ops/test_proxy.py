"""Behind a TLS-terminating proxy (IDP_PROXY_FIX): an https issuer makes every cookie Secure;
X-Forwarded-* is read only when IDP_PROXY_FIX says so (issue 11.15)."""

import pytest


@pytest.fixture
def proxied_app(app_config):
    from idp import create_app, keys
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


# -- X-Forwarded-* is read only when IDP_PROXY_FIX says so (issue 11.15) ---------------------

@pytest.fixture
def serve(app_config):
    """``serve(**config)``: the provider with that configuration on real HTTP (one per test:
    Flask-Limiter is a process-wide singleton, bound to the last app made)."""
    import uuid

    from idp import create_app, keys
    from idp.extensions import db, limiter
    from tests.helpers.live import LiveServer, reserve_port
    started = []

    def start(**config):
        """``{port}`` in a string value is the server's port."""
        port = reserve_port()
        config = {k: v.format(port=port) if isinstance(v, str) else v for k, v in config.items()}
        limiter._key_prefix = ""
        application = create_app({**app_config, "RATELIMIT_KEY_PREFIX": "idp-test-" + uuid.uuid4().hex,
                                  **config})
        with application.app_context():
            keys.ensure_keys()
        live = LiveServer(application, port)
        started.append(live)
        return live

    yield start
    for live in started:
        live.stop()
        with live.app.app_context():
            db.engine.dispose()


def _get_from(address: str, url: str, headers: dict) -> tuple[int, dict]:
    """A GET over real HTTP from a given local address: 127.0.0.2 stands for a remote caller
    (the loopback rule of /metrics admits 127.0.0.1 and ::1 only)."""
    import http.client
    from urllib.parse import urlsplit
    parts = urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10,
                                            source_address=(address, 0))
    try:
        connection.request("GET", parts.path, headers=headers)
        response = connection.getresponse()
        response.read()
        return response.status, dict(response.getheaders())
    finally:
        connection.close()


FORGED = {"X-Forwarded-For": "127.0.0.1"}


def test_without_proxy_fix_a_forged_forwarded_for_does_not_open_metrics(serve):
    """issue 11.15: the peer's address is judged, never X-Forwarded-For."""
    live = serve()
    assert _get_from("127.0.0.2", live.url + "/metrics", FORGED)[0] == 403
    assert _get_from("127.0.0.1", live.url + "/metrics", {})[0] == 200


def test_with_proxy_fix_metrics_judge_the_address_the_proxy_forwards(serve):
    """issue 11.15: behind the proxy (127.0.0.2 here), X-Forwarded-For names the caller."""
    live = serve(PROXY_FIX={"x_for": 1})
    assert _get_from("127.0.0.2", live.url + "/metrics", FORGED)[0] == 200
    assert _get_from("127.0.0.2", live.url + "/metrics",
                     {"X-Forwarded-For": "203.0.113.9"})[0] == 403
    # one proxy trusted: a client's own X-Forwarded-For before the proxy's entry is ignored
    assert _get_from("127.0.0.2", live.url + "/metrics",
                     {"X-Forwarded-For": "127.0.0.1, 203.0.113.9"})[0] == 403


def _login_posts(live, forwarded_for: list[str]) -> list[int]:
    """One wrong-password POST per value, from one client (one session, its CSRF token)."""
    import re

    import requests
    http = requests.Session()
    page = http.get(live.url + "/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
    statuses = []
    for i, value in enumerate(forwarded_for):
        answer = http.post(live.url + "/login", headers={"X-Forwarded-For": value,
                                                         "Origin": live.url},
                           data={"csrf_token": token, "nir": f"18401750561{i:02d}",
                                 "password": "Pas-le-bon-1"})
        statuses.append(answer.status_code)
    return statuses


LIMITS = {"RATELIMIT_ENABLED": True, "RATELIMIT_STORAGE_URI": "memory://",
          "LOGIN_RATE_LIMIT_PER_IP": "2 per minute", "LOGIN_RATE_LIMIT_PER_NIR": "50 per minute"}


def test_without_proxy_fix_a_new_forwarded_for_each_time_is_still_one_ip(serve):
    """issue 11.15: the per-IP limit counts the peer, whatever X-Forwarded-For says."""
    live = serve(**LIMITS)
    assert _login_posts(live, ["198.51.100.1", "198.51.100.2", "198.51.100.3"]) == [200, 200, 429]


def test_with_proxy_fix_the_per_ip_limit_counts_each_forwarded_client(serve):
    """issue 11.15: behind the proxy, each forwarded client has its own count."""
    live = serve(PROXY_FIX={"x_for": 1}, **LIMITS)
    assert _login_posts(live, ["198.51.100.1", "198.51.100.2", "198.51.100.3"]) == [200, 200, 200]
    assert _login_posts(live, ["198.51.100.9"] * 3) == [200, 200, 429]


def test_hsts_behind_a_proxy_follows_x_forwarded_proto_only_with_proxy_fix(serve):
    """issue 11.15: HSTS on what went out over HTTPS: behind a TLS-terminating proxy that is
    X-Forwarded-Proto, read only when IDP_PROXY_FIX says so; also ahead of Flask (/jwks)."""
    import requests
    https = {"X-Forwarded-Proto": "https"}
    proxied = serve(ISSUER="https://connexion.example.fr", PROXY_FIX={"x_proto": 1})
    for path in ("/login", "/jwks"):
        assert requests.get(proxied.url + path, headers=https).headers.get(
            "Strict-Transport-Security") == "max-age=31536000", path
        assert "Strict-Transport-Security" not in requests.get(proxied.url + path).headers, path


def test_hsts_ignores_x_forwarded_proto_without_proxy_fix(serve):
    """issue 11.15: without IDP_PROXY_FIX, a client's X-Forwarded-Proto changes nothing."""
    import requests
    live = serve(ISSUER="https://connexion.example.fr")
    for path in ("/login", "/jwks"):
        answer = requests.get(live.url + path, headers={"X-Forwarded-Proto": "https"})
        assert "Strict-Transport-Security" not in answer.headers, path


def test_a_form_posted_from_the_issuers_origin_is_ours_whatever_host_reached_us(serve):
    """issue 10: behind a proxy that forwards neither scheme nor host, the browser's Origin is
    the issuer's, not the request's: both are ours; any other is refused."""
    import re

    import requests
    live = serve(ISSUER="http://localhost:{port}")          # reached as 127.0.0.1:{port}
    issuer = live.app.config["ISSUER"]
    for origin, status in ((issuer, 200), (live.url, 200), ("http://evil.example", 400)):
        http = requests.Session()
        token = re.search(r'name="csrf_token" value="([^"]+)"',
                          http.get(live.url + "/login").text).group(1)
        answer = http.post(live.url + "/login", headers={"Origin": origin},
                           data={"csrf_token": token, "nir": "1840175056123",
                                 "password": "Pas-le-bon-1"})
        assert answer.status_code == status, origin


@pytest.mark.parametrize("setting", [{"SESSION_COOKIE_DOMAIN": "ameli.example.fr"},
                                     {"SESSION_COOKIE_PATH": "/idp"}])
def test_an_https_issuer_refuses_a_cookie_domain_or_path_that_breaks_the_host_prefix(
        app_config, setting):
    """issue 11.15: a __Host- cookie with a Domain or another Path is dropped by browsers;
    the start is refused with one line naming the settings."""
    from idp import create_app
    with pytest.raises(SystemExit) as stopped:
        create_app({**app_config, "ISSUER": "https://connexion.example.fr", **setting})
    assert "IDP_SESSION_COOKIE_DOMAIN and IDP_SESSION_COOKIE_PATH" in str(stopped.value)
    create_app({**app_config, **setting})          # plain http (make run): no prefix, allowed


# -- an https issuer reached over plain http (a TLS proxy without IDP_PROXY_FIX) -------------

@pytest.mark.parametrize("path", ["/token", "/introspect", "/revoke"])
def test_a_protocol_request_over_plain_http_on_an_https_issuer_is_refused_per_the_rfc(
        app_config, path, caplog):
    from idp import create_app, keys
    application = create_app({**app_config, "ISSUER": "https://connexion.example.fr",
                              "TESTING": False})
    with application.app_context():
        keys.ensure_keys()
    response = application.test_client().post(
        path, base_url="http://connexion.example.fr",
        data={"grant_type": "refresh_token", "refresh_token": "x", "token": "x"})
    assert response.status_code == 400, response.data
    assert response.get_json() == {"error": "invalid_request",
                                   "error_description": "HTTPS is required."}
    assert "IDP_PROXY_FIX" in caplog.text
