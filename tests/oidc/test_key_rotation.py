"""Issue 10.1 — a key rotation never breaks a relying party that caches the JWKS.

The relying party here keeps the provider's key set the way openid-client (the library
FranceConnect's core pins) does: it fetches ``jwks_uri`` once, keeps the copy for the
``max-age`` of the answer, and on a ``kid`` it does not know fetches again at most once a
minute (openid-client's throttle). A new key is published at once and signs only once every
copy (each instance's ``Policy.signing_key_cache`` plus an RP's ``max-age``) can hold it."""

from __future__ import annotations

import re
from datetime import timedelta

import requests
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet

from tests.helpers.rp import jose_header

THROTTLE = 60.0          # openid-client: "refresh keystore on every unknown key, at most once a minute"


class CachingJwks:
    """A relying party's copy of the provider's JWKS, kept as openid-client keeps it."""

    def __init__(self, jwks_uri: str, clock):
        self.uri = jwks_uri
        self.clock = clock
        self.fetches = 0
        self.keys: dict | None = None
        self.fetched_at = self.expires_at = 0.0

    def _now(self) -> float:
        return self.clock.now().timestamp()

    def _fetch(self) -> None:
        answer = requests.get(self.uri)
        assert answer.status_code == 200
        max_age = int(re.search(r"max-age=(\d+)", answer.headers["Cache-Control"]).group(1))
        self.keys, self.fetches = answer.json(), self.fetches + 1
        self.fetched_at, self.expires_at = self._now(), self._now() + max_age

    def kids(self) -> set[str]:
        if self.keys is None or self._now() >= self.expires_at:
            self._fetch()
        return {k["kid"] for k in self.keys["keys"]}

    def verify(self, compact: str) -> dict:
        """The claims of an ID token, verified with the cached copy (fetched again only on an
        unknown kid, throttled); raises JoseError as the library refuses the login."""
        kid = jose_header(compact)["kid"]
        if kid not in self.kids() and self._now() - self.fetched_at >= THROTTLE:
            self._fetch()
        return jwt.decode(compact, KeySet.import_key_set(self.keys)).claims


def _id_token(rp, browser, person, smtp, **params) -> str:
    pending, answer = rp.login(browser, person, smtp, **params)
    return rp.exchange(answer, pending)["id_token"]


def _rotate(app) -> str:
    result = app.test_cli_runner().invoke(args=["idp", "keys", "rotate"])
    assert result.exit_code == 0, result.output
    return result.output


def test_after_a_rotation_every_id_token_verifies_with_the_rp_s_cached_copy(
        app, rps, browser, person, smtp, clock):
    """Issue 10.1: the RP fetched the JWKS just before ``keys rotate``; the ID tokens issued
    after it still verify with that copy, and the new key signs only once it has been listed
    in every copy for long enough, the RP's copy of that moment included."""
    from idp.policy import Policy
    portal = rps.portal
    cached = CachingJwks(portal.discovery["jwks_uri"], clock)
    first = _id_token(portal, browser, person, smtp)
    old_kid = jose_header(first)["kid"]
    assert cached.verify(first)["aud"] == "portal" and cached.fetches == 1

    _rotate(app)
    promotion = Policy().signing_key_cache + Policy().jwks_max_age
    for _ in range(2):
        token = _id_token(portal, browser, person, smtp, prompt="login")
        assert cached.verify(token)["aud"] == "portal"
        assert jose_header(token)["kid"] == old_kid
        clock.shift(promotion / 2 - timedelta(seconds=1))
    listed = cached.kids()                    # its max-age ran out: the RP's copy of now
    assert cached.fetches == 2 and len(listed) == 4

    clock.shift(timedelta(seconds=2))         # the promotion time has come
    token = _id_token(portal, browser, person, smtp, prompt="login")
    new_kid = jose_header(token)["kid"]
    assert new_kid != old_kid and new_kid in listed           # listed before it signed
    assert cached.verify(token)["aud"] == "portal" and cached.fetches == 2
    assert cached.verify(first)["aud"] == "portal"           # the old key is still published


def test_keys_rotate_says_when_the_new_keys_start_signing(app, clock):
    """Issue 10.1: the command names the new keys and the instant they start signing."""
    from idp.policy import Policy
    output = _rotate(app)
    starts = clock.now() + Policy().signing_key_cache + Policy().jwks_max_age
    assert "2023-01-04 14:31:10 UTC" == f"{starts:%Y-%m-%d %H:%M:%S} UTC"
    assert "they start signing at 2023-01-04 14:31:10 UTC (in 70 s)" in output, output


def test_init_db_s_first_keys_sign_at_once(app, rps, browser, person, smtp, clock):
    """Issue 10.1: the first keys (no RP knows any key yet) sign from the start."""
    kids = {k["kid"] for k in requests.get(rps.portal.discovery["jwks_uri"]).json()["keys"]}
    token = _id_token(rps.portal, browser, person, smtp)
    assert jose_header(token)["kid"] in kids


def test_a_second_rotation_before_the_first_promotion_keeps_tokens_verifiable(
        app, rps, browser, person, smtp, clock):
    """Issue 10.1: two rotations in a row: the key that signs is always one published for
    the whole promotion delay."""
    from idp.policy import Policy
    promotion = Policy().signing_key_cache + Policy().jwks_max_age
    portal = rps.portal
    cached = CachingJwks(portal.discovery["jwks_uri"], clock)
    cached.kids()
    _rotate(app)
    clock.shift(promotion / 2)
    cached.kids()
    _rotate(app)
    for _ in range(4):
        token = _id_token(portal, browser, person, smtp, prompt="login")
        try:
            cached.verify(token)
        except JoseError as exc:          # what openid-client would refuse
            raise AssertionError(f"the RP cannot verify {jose_header(token)['kid']}") from exc
        clock.shift(promotion / 2)
