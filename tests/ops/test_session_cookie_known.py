"""The browser's session cookie (idp.web.ProtocolSessionInterface, issue 15): a value that
verified once is not decoded again when it comes back, and yet every request gets what
Flask's own interface gives it: the same data, a copy of its own, nothing for a cookie too
old, tampered with or signed under a key no longer in use."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from flask.sessions import SecureCookieSessionInterface

DATA = {"browser": "n" * 32, "login_flow": "f" * 32, "login_passkey": {"f": "f" * 32, "c": "c1"}}


def _cookie(app, data=DATA) -> str:
    return SecureCookieSessionInterface().get_signing_serializer(app).dumps(data)


def _opened(app, value: str, interface=None):
    """The session each interface opens for a request carrying ``value``."""
    name = app.config["SESSION_COOKIE_NAME"]
    with app.test_request_context("/login", headers={"Cookie": f"{name}={value}"}) as ctx:
        ours = (interface or app.session_interface).open_session(app, ctx.request)
        flasks = SecureCookieSessionInterface().open_session(app, ctx.request)
    return ours, flasks


def test_a_cookie_that_comes_back_opens_as_flask_opens_it(app):
    value = _cookie(app)
    first, flasks = _opened(app, value)
    again, _ = _opened(app, value)
    assert dict(first) == dict(again) == dict(flasks) == DATA
    assert value in app.session_interface._known           # the second was not decoded
    assert not again.modified and not again.accessed


def test_each_request_gets_a_copy_of_its_own(app):
    value = _cookie(app)
    first, _ = _opened(app, value)
    first.pop("login_passkey")["f"] = "changed"
    first["login_flow"] = "changed"
    again, _ = _opened(app, value)
    assert dict(again) == DATA
    again["login_passkey"]["c"] = "changed"
    assert dict(_opened(app, value)[0]) == DATA


@pytest.mark.parametrize("shift", [timedelta(days=32), timedelta(minutes=-5)])
def test_a_known_cookie_out_of_its_age_opens_empty_as_with_flask(app, shift):
    with time_machine.travel("2026-01-10 12:00:00+00:00", tick=False) as traveller:
        value = _cookie(app)
        assert dict(_opened(app, value)[0]) == DATA                       # now known
        traveller.shift(shift)
        ours, flasks = _opened(app, value)
        assert dict(ours) == dict(flasks) == {}


def test_a_tampered_cookie_opens_empty(app):
    value = _cookie(app)
    _opened(app, value)
    tampered = value[:-2] + ("AA" if not value.endswith("AA") else "BB")
    ours, flasks = _opened(app, tampered)
    assert dict(ours) == dict(flasks) == {}
    assert tampered not in app.session_interface._known


def test_a_cookie_known_under_a_key_no_longer_used_is_verified_again(app):
    value = _cookie(app)
    assert dict(_opened(app, value)[0]) == DATA
    app.secret_key = app.config["SECRET_KEY"] = "another key of at least thirty-two characters"
    ours, flasks = _opened(app, value)
    assert dict(ours) == dict(flasks) == {}
