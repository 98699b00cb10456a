"""idp.limits on the real databases: consecutive failures that lock, quotas over a sliding
window, and what a fault of ours gives back (seed 004, cases 3, 6, 7)."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

LOCK = timedelta(minutes=15)


@pytest.fixture
def ctx(app):
    with app.app_context():
        yield


def _reserve(key="k", kind="password"):
    from idp.domain import limits
    return limits.reserve(key, kind, max_attempts=3, lock_for=LOCK)


def test_the_third_reserved_attempt_sets_the_lock_itself(ctx, clock):
    from idp.domain import limits
    first, second, third = _reserve(), _reserve(), _reserve()
    assert (first.attempt, second.attempt, third.attempt) == (1, 2, 3)
    assert first.locks_until is None and second.locks_until is None
    assert third.locks_until == clock.now() + LOCK
    with pytest.raises(limits.Locked) as refused:
        _reserve()
    assert refused.value.until == third.locks_until


def test_the_lock_ends_at_its_minute_and_the_count_starts_again(ctx, clock):
    from idp.domain import limits
    for _ in range(3):
        _reserve().failure()
    clock.shift(LOCK - timedelta(microseconds=1))
    with pytest.raises(limits.Locked):
        _reserve()
    clock.shift(timedelta(microseconds=1))
    assert _reserve().attempt == 1


def test_success_clears_the_count_and_a_cancel_gives_the_attempt_back(ctx):
    _reserve().failure()
    _reserve().success()
    assert _reserve().attempt == 1
    _reserve().failure()
    third = _reserve()
    assert third.locks_until is not None
    third.cancel()                                  # our fault: no lock, attempt returned
    assert _reserve().attempt == 3


def test_counters_are_per_key_and_per_kind(ctx):
    for _ in range(3):
        _reserve("a", "password")
    assert _reserve("b", "password").attempt == 1
    assert _reserve("a", "code").attempt == 1


def _take(**kw):
    from idp.domain import limits
    return limits.take_quota("k", "code_quota", quota=5, window=timedelta(hours=1),
                             block=timedelta(hours=1), **kw)


def test_the_sixth_request_in_the_window_blocks_for_the_block_duration(ctx, clock):
    from idp.domain import limits
    for _ in range(5):
        _take()
        clock.shift(timedelta(minutes=1))
    with pytest.raises(limits.QuotaReached) as blocked:
        _take()
    assert blocked.value.until == clock.now() + timedelta(hours=1)
    clock.shift(timedelta(minutes=59, seconds=59))
    with pytest.raises(limits.QuotaReached):
        _take()
    clock.shift(timedelta(seconds=1))
    _take()


def test_a_cancelled_ticket_is_not_counted(ctx):
    from idp.domain import limits
    for _ in range(10):
        _take().cancel()
    for _ in range(5):
        _take()
    with pytest.raises(limits.QuotaReached):
        _take()


def test_clear_lifts_every_lock_and_count_of_a_key(ctx):
    from idp.domain import limits
    for _ in range(3):
        _reserve()
    for _ in range(5):
        _take()
    assert limits.clear("k") == 2
    assert _reserve().attempt == 1
    _take()


def test_requests_older_than_the_window_are_forgotten(ctx, clock):
    from sqlalchemy import func, select

    from idp.extensions import db
    from idp.models import QuotaEvent
    for _ in range(4):
        _take()
    clock.shift(timedelta(hours=1))
    _take()
    assert db.session.execute(select(func.count()).select_from(QuotaEvent)).scalar_one() == 1


# -- attempt(): the one reserve → check → settle --------------------------------------------

class Refused(Exception):
    def __init__(self, until):
        self.until = until


def _attempt(verdict, key="k"):
    from idp.domain import limits

    def check():
        if isinstance(verdict, Exception):
            raise verdict
        return verdict, "value"
    return limits.attempt(key, "password", max_attempts=3, lock_for=LOCK, check=check,
                          locked=Refused)


def test_attempt_counts_a_wrong_secret_and_the_third_one_locks(ctx, clock):
    from idp.domain import limits
    first = _attempt(limits.Verdict.WRONG)
    assert (first.verdict, first.value, first.remaining, first.locks_until) == (
        limits.Verdict.WRONG, "value", 2, None)
    _attempt(limits.Verdict.WRONG)
    third = _attempt(limits.Verdict.WRONG)
    assert third.remaining == 0 and third.locks_until == clock.now() + LOCK
    with pytest.raises(Refused) as refused:          # the check is not even run
        _attempt(RuntimeError("must not run"))
    assert refused.value.until == third.locks_until


def test_attempt_gives_back_a_fault_of_ours_and_what_is_not_counted(ctx):
    from idp.domain import limits
    _attempt(limits.Verdict.WRONG)
    _attempt(limits.Verdict.WRONG)
    with pytest.raises(OSError):                     # e.g. the database or SMTP went away
        _attempt(OSError("ours"))
    assert _attempt(limits.Verdict.NOT_COUNTED).locks_until is None
    assert _reserve().attempt == 3                   # neither the fault nor the expired one counted


def test_attempt_right_starts_the_count_again(ctx):
    from idp.domain import limits
    _attempt(limits.Verdict.WRONG)
    _attempt(limits.Verdict.WRONG)
    assert _attempt(limits.Verdict.RIGHT).verdict is limits.Verdict.RIGHT
    assert _reserve().attempt == 1


def _right_with_caller():
    from idp.domain import limits
    return limits.attempt("k", "password", max_attempts=3, lock_for=LOCK, locked=Refused,
                          check=lambda: (limits.Verdict.RIGHT, "value"), right_with_caller=True)


def _stored(key="k", kind="password"):
    from idp.extensions import db
    from idp.models import Throttle
    row = db.session.execute(sa.select(Throttle.attempts, Throttle.locked_until)
                             .where(Throttle.key == key, Throttle.kind == kind)).one()
    db.session.rollback()
    return tuple(row)


def test_a_right_secret_left_to_the_caller_is_cleared_by_its_commit_and_a_fault_loses_only_that(
        ctx):
    """``right_with_caller`` (a login step's move commits the clearing): the reservation is
    committed before the check as always; the clearing waits for the caller's commit, and a
    fault before it (a rollback) leaves the count one higher, never lower, and no lock."""
    from idp.domain import limits
    from idp.extensions import db
    _attempt(limits.Verdict.WRONG)
    assert _right_with_caller().verdict is limits.Verdict.RIGHT
    db.session.rollback()                           # a fault before the caller's commit
    assert _stored() == (2, None)
    _right_with_caller()
    db.session.commit()                             # the caller's commit (the move's)
    assert _stored() == (0, None)


def test_a_right_secret_at_the_attempt_that_locks_is_cleared_at_once_even_left_to_the_caller(
        ctx, clock):
    """The last attempt allowed sets the lock when it is reserved: its right secret clears it
    at once, so that a fault before the caller's commit never leaves a person locked who gave
    the right secret (fails when the clearing waits for the caller there too)."""
    from idp.domain import limits
    from idp.extensions import db
    _attempt(limits.Verdict.WRONG)
    _attempt(limits.Verdict.WRONG)
    _right_with_caller()
    db.session.rollback()                           # a fault before the caller's commit
    assert _stored() == (0, None)
    assert _reserve().attempt == 1
