"""The purge: delete what has expired, in bounded batches, committing between batches.

Each batch is ``DELETE … WHERE pk IN (SELECT pk … LIMIT n)``: short transactions that never
hold a lock long enough to block a login. Run it from cron (README, Production)."""

from __future__ import annotations

from dataclasses import fields as dataclass_fields
from datetime import timedelta

from flask import current_app
from sqlalchemy import and_, delete, or_, select

from idp import clock
from idp.extensions import db
from idp.models import (
    AuthorizationCode,
    BackchannelLogout,
    Interaction,
    JourneyFlow,
    LoginFlow,
    OneTimeCode,
    PasskeyChallenge,
    ProviderSession,
    QuotaEvent,
    Throttle,
    Token,
)


def _quota_retention() -> timedelta:
    """Quota events are needed as long as the longest sliding window of the policy (the
    login's code_quota_window is one, so there always is one)."""
    policy = current_app.extensions["idp.policy"]
    windows = [getattr(policy, f.name) for f in dataclass_fields(policy) if f.name.endswith("_window")]
    return max([w for w in windows if isinstance(w, timedelta)], default=policy.code_quota_window)


def _rules(now):
    """(name, primary-key column(s), condition) for every table the purge cleans."""
    return [
        ("one_time_code", OneTimeCode.id, OneTimeCode.expires_at <= now),
        ("quota_event", QuotaEvent.id, QuotaEvent.at <= now - _quota_retention()),
        # A throttle matters while it counts attempts or holds a live lock; an expired lock
        # restarts at one attempt anyway, so deleting it changes nothing. Used client-assertion
        # jtis and DPoP proof jtis are throttle rows (kinds "assertion-jti", "dpop-jti") locked
        # until they may be forgotten.
        ("throttle", (Throttle.key, Throttle.kind),
         or_(and_(Throttle.locked_until.is_not(None), Throttle.locked_until <= now),
             and_(Throttle.locked_until.is_(None), Throttle.attempts == 0))),
        ("login_flow", LoginFlow.id, LoginFlow.expires_at <= now),
        ("journey_flow", JourneyFlow.id, JourneyFlow.expires_at <= now),
        ("interaction", Interaction.id, Interaction.expires_at <= now),
        ("provider_session", ProviderSession.id,
         or_(ProviderSession.expires_at <= now, ProviderSession.ended_at.is_not(None))),
        ("authorization_code", AuthorizationCode.code_hash, AuthorizationCode.expires_at <= now),
        ("token", Token.id,
         and_(Token.access_expires_at <= now,
              or_(Token.refresh_expires_at.is_(None), Token.refresh_expires_at <= now))),
        ("backchannel_logout", BackchannelLogout.id, BackchannelLogout.delivered_at.is_not(None)),
        # Issue 14: a WebAuthn challenge past its 5 minutes can never be used (passkeys stay:
        # a revoked or expired one is still recognised, and refused as such).
        ("passkey_challenge", PasskeyChallenge.id, PasskeyChallenge.expires_at <= now),
    ]


def _batch(pk, condition, size: int) -> int:
    if isinstance(pk, tuple):
        rows = db.session.execute(select(*pk).where(condition).limit(size)).all()
        if not rows:
            return 0
        statement = delete(pk[0].class_).where(or_(*(and_(*(c == v for c, v in zip(pk, row, strict=True)))
                                                     for row in rows)))
    else:
        statement = delete(pk.class_).where(pk.in_(select(pk).where(condition).limit(size)))
    return db.session.execute(statement, execution_options={"synchronize_session": False}).rowcount


def purge(batch_size: int = 500) -> dict[str, int]:
    """Delete every expired row; returns the count deleted per table."""
    counts: dict[str, int] = {}
    for name, pk, condition in _rules(clock.now()):
        total = 0
        while True:
            deleted = _batch(pk, condition, batch_size)
            db.session.commit()
            total += deleted
            if deleted < batch_size:
                break
        counts[name] = total
    return counts
