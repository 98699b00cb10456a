"""idp.domain.codes on the real databases: a right, live code is consumed by the one DELETE
that matches its keyed hash (issue 15); every other answer is the one the row read gives:
wrong, expired (even when right), missing, used once only, replaced by a new code."""

from __future__ import annotations

from datetime import timedelta

import pytest

TTL = timedelta(minutes=15)


@pytest.fixture
def ctx(app):
    with app.app_context():
        yield


def _issue(subject="flow-1"):
    from idp.domain import codes
    from idp.extensions import db
    code = codes.issue("login", subject, digits=6, ttl=TTL)
    db.session.commit()
    return code


def _check(submitted, subject="flow-1", **kw):
    from idp.domain import codes
    from idp.extensions import db
    outcome = codes.check("login", subject, submitted, **kw)
    db.session.commit()
    return outcome


def _other(code: str) -> str:
    return f"{(int(code) + 1) % 10 ** len(code):0{len(code)}d}"


def test_the_right_code_is_used_once(ctx, clock):
    from idp.domain.codes import Check
    code = _issue()
    assert _check(code) is Check.OK
    assert _check(code) is Check.MISSING


def test_spaces_typed_in_the_code_do_not_matter(ctx, clock):
    from idp.domain.codes import Check
    code = _issue()
    assert _check(f" {code[:3]} {code[3:]} ") is Check.OK


def test_a_wrong_code_is_wrong_and_leaves_the_right_one(ctx, clock):
    from idp.domain.codes import Check
    code = _issue()
    assert _check(_other(code)) is Check.WRONG
    assert _check(code) is Check.OK


def test_an_expired_code_is_expired_right_or_wrong_and_stays(ctx, clock):
    from idp.domain.codes import Check
    code = _issue()
    clock.shift(TTL)
    assert _check(code) is Check.EXPIRED
    assert _check(_other(code)) is Check.EXPIRED
    assert _check(code) is Check.EXPIRED


def test_a_code_of_another_subject_or_replaced_is_not_accepted(ctx, clock):
    from idp.domain.codes import Check
    code = _issue()
    assert _check(code, subject="flow-2") is Check.MISSING
    newer = _issue()
    if newer != code:
        assert _check(code) is Check.WRONG
    assert _check(newer) is Check.OK


def test_the_wrong_code_that_reaches_void_after_deletes_it(ctx, clock):
    from idp.domain.codes import Check
    code = _issue()
    assert _check(_other(code), void_after=2) is Check.WRONG
    assert _check(_other(code), void_after=2) is Check.WRONG
    assert _check(code, void_after=2) is Check.MISSING


def test_replace_gives_the_replaced_code_which_restore_puts_back(ctx, clock):
    """``replace`` (on PostgreSQL one statement: the previous row read in the snapshot its
    upsert starts from) gives the stored fields of the code it replaced, not its own: put
    back by ``restore``, the first code works again and the second no longer does."""
    from idp.domain import codes
    from idp.domain.codes import Check
    from idp.extensions import db
    first, none = codes.replace("login", "flow-1", digits=6, ttl=TTL)
    db.session.commit()
    assert none is None
    clock.shift(timedelta(minutes=1))
    second, saved = codes.replace("login", "flow-1", digits=6, ttl=TTL)
    db.session.commit()
    made = clock.now() - timedelta(minutes=1)
    assert (saved["created_at"], saved["expires_at"], saved["failed_checks"]) == (
        made, made + TTL, 0)
    assert saved["code_hash"] != codes.current("login", "flow-1")["code_hash"]
    codes.restore("login", "flow-1", saved)
    db.session.commit()
    if second != first:
        assert _check(second) is Check.WRONG
    assert _check(first) is Check.OK
