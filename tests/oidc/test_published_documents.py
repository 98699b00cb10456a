"""Discovery and the JWKS as a relying party's HTTP cache sees them: an ETag that a
conditional request turns into a 304, public caching, CORS for browser-based clients, HEAD,
and a new ETag when the keys change."""

from __future__ import annotations

import pytest
import requests

DOCUMENTS = [("/.well-known/openid-configuration", "application/json", "public, max-age=3600"),
             ("/.well-known/oauth-authorization-server", "application/json", "public, max-age=3600"),
             ("/jwks", "application/jwk-set+json", "public, max-age=60")]


@pytest.mark.parametrize("path,mimetype,cache", DOCUMENTS)
def test_a_conditional_request_with_the_etag_gets_a_304_without_a_body(server, path, mimetype, cache):
    first = requests.get(server.url + path)
    assert first.status_code == 200 and first.headers["Content-Type"] == mimetype
    assert first.headers["Cache-Control"] == cache
    assert first.headers["Access-Control-Allow-Origin"] == "*"
    assert first.headers["X-Content-Type-Options"] == "nosniff"
    assert first.json()                                        # a JSON document
    again = requests.get(server.url + path, headers={"If-None-Match": first.headers["ETag"]})
    assert again.status_code == 304 and again.content == b""
    assert again.headers["ETag"] == first.headers["ETag"]
    stale = requests.get(server.url + path, headers={"If-None-Match": '"not-this-one"'})
    assert stale.status_code == 200 and stale.content == first.content


@pytest.mark.parametrize("path", ["/.well-known/openid-configuration", "/jwks"])
def test_head_answers_the_headers_and_other_methods_are_not_allowed(server, path):
    get = requests.get(server.url + path)
    head = requests.head(server.url + path)
    assert head.status_code == 200 and head.content == b""
    assert head.headers["Content-Length"] == str(len(get.content))
    post = requests.post(server.url + path)
    assert post.status_code == 405 and post.headers["Allow"] == "GET, HEAD"


def test_a_request_id_is_echoed_or_made(server):
    given = requests.get(server.url + "/jwks", headers={"X-Request-Id": "rp-123"})
    assert given.headers["X-Request-Id"] == "rp-123"
    made = requests.get(server.url + "/jwks").headers["X-Request-Id"]
    assert len(made) == 32 and made != requests.get(server.url + "/jwks").headers["X-Request-Id"]


def test_the_jwks_etag_changes_with_the_keys(server, app):
    from idp import keys
    before = requests.get(server.url + "/jwks")
    with app.app_context():
        keys.rotate()
    after = requests.get(server.url + "/jwks", headers={"If-None-Match": before.headers["ETag"]})
    assert after.status_code == 200 and after.headers["ETag"] != before.headers["ETag"]
    assert len(after.json()["keys"]) == 2 * len(before.json()["keys"])   # the old ones stay


def test_their_latency_is_in_the_metrics(server, app):
    requests.get(server.url + "/jwks")
    requests.get(server.url + "/.well-known/openid-configuration")
    body = app.test_client().get("/metrics").data
    assert b'idp_request_seconds_count{endpoint="oidc.jwks"} 1.0' in body
    assert b'idp_request_seconds_count{endpoint="oidc.discovery"} 1.0' in body
