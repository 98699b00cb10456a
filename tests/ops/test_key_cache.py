"""Each process keeps a copy of the signing keys for ``Policy.signing_key_cache``: a rotation
made elsewhere (another instance, the CLI) reaches it once that has passed on the clock, and a
token signed with a key it has not seen yet verifies at once. Two apps on one database stand
for two instances; the clock is moved, never waited for."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest


@pytest.fixture
def other_instance(app_config, app):
    """A second app on the same database: its own process-wide caches, nothing else shared."""
    from idp import create_app
    other = create_app(dict(app_config))
    yield other
    with other.app_context():
        from idp.extensions import db
        db.session.remove()
        db.engine.dispose()


def _published_kids(app) -> set[str]:
    from idp import keys
    return {k["kid"] for k in json.loads(keys.published(app)[0])["keys"]}


def _signing_kid(app) -> str:
    from idp import keys
    with app.app_context():
        compact = keys.sign({"sub": "x"})
    return json.loads(_b64(compact.split(".")[0]))["kid"]


def _b64(part: str) -> bytes:
    import base64
    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))


def test_a_rotation_elsewhere_reaches_this_instance_once_the_cache_time_has_passed(
        app, other_instance, clock):
    from idp import keys
    from idp.policy import Policy
    before = _published_kids(app)
    old_signing = _signing_kid(app)
    with other_instance.app_context():
        new_kids = set(keys.rotate()[0])

    clock.shift(Policy().signing_key_cache - timedelta(seconds=1))
    assert _published_kids(app) == before and _signing_kid(app) == old_signing

    clock.shift(timedelta(seconds=1))
    assert _published_kids(app) == before | new_kids          # the old keys stay published
    # Issue 10.1: the new keys sign only once every RP's copy of /jwks can list them.
    clock.shift(Policy().jwks_max_age - timedelta(seconds=1))
    assert _signing_kid(app) == old_signing
    clock.shift(timedelta(seconds=1))
    assert _signing_kid(app) in new_kids


def test_a_token_signed_with_a_key_not_yet_seen_verifies_at_once(app, other_instance, clock):
    from idp import keys
    _published_kids(app)                                      # this instance has its copy
    with other_instance.app_context():
        keys.rotate(at_once=True)
        token = keys.sign({"sub": "someone"})
    with app.app_context():
        assert keys.verify(token)["sub"] == "someone"


def test_a_token_signed_by_a_key_that_is_not_ours_is_refused(app, other_instance):
    from joserfc import jwt
    from joserfc.jwk import RSAKey

    from idp import keys
    foreign = RSAKey.generate_key(2048, parameters={"kid": "not-ours"})
    token = jwt.encode({"alg": "RS256", "kid": "not-ours"}, {"sub": "x"}, foreign)
    with app.app_context(), pytest.raises(ValueError):
        keys.verify(token)


def test_forged_kids_reload_the_keys_at_most_once_per_interval(app, server, clock):
    """Issue 11.12: ``id_token_hint``s naming kids we never made are refused, and read (and
    decrypt) the key set again at most once per ``Policy.signing_key_reload_interval``."""
    import requests
    import sqlalchemy as sa
    from joserfc import jwt
    from joserfc.jwk import RSAKey

    from idp.extensions import db
    from idp.policy import Policy
    reads = []

    def count(conn, cursor, statement, *args):
        if statement.lstrip().upper().startswith("SELECT") and "signing_key" in statement:
            reads.append(statement)

    def forged_hint(n: int) -> str:
        key = RSAKey.generate_key(2048, parameters={"kid": f"forged-{n}"})
        return jwt.encode({"alg": "RS256", "kid": key.kid}, {"sub": "x", "aud": "portal"}, key)

    _published_kids(app)                                      # this instance has its copy
    with app.app_context():
        engine = db.engine
    sa.event.listen(engine, "before_cursor_execute", count)
    try:
        for n in range(5):
            answer = requests.get(server.url + "/end_session", params={"id_token_hint": forged_hint(n)})
            assert answer.status_code == 400
        assert len(reads) == 1
        clock.shift(Policy().signing_key_reload_interval)
        answer = requests.get(server.url + "/end_session", params={"id_token_hint": forged_hint(9)})
        assert answer.status_code == 400 and len(reads) == 2
    finally:
        sa.event.remove(engine, "before_cursor_execute", count)
