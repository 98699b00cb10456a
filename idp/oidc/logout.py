"""Ending a provider session, and OpenID Connect Back-Channel Logout 1.0.

Ending a session revokes the tokens issued under it and queues a logout token for every
client of the session that registered a ``backchannel_logout_uri``. Delivery never blocks
the person's page: a background thread sends what is due, and failures are retried with a
growing delay (the rows live in the database, so any instance, or ``idp purge``, can finish
what another started).
"""

from __future__ import annotations

import logging
import threading
import uuid

import requests
from flask import current_app
from sqlalchemy import select, update

from idp import clock, keys, sessions
from idp.extensions import db
from idp.models import Account, BackchannelLogout, Token
from idp.oidc import tokens
from idp.oidc.claims import subject_for
from idp.policy import policy

log = logging.getLogger(__name__)


def end_session(live, notify: bool = True, *, client_id: str | None = None,
                how: str = "end_session") -> None:
    ended = sessions.end(live.id)
    if ended is None:
        return
    tokens.revoke_where(Token.sid == live.id)
    db.session.commit()
    current_app.extensions["idp.events"]("logout", account_id=ended.account_id,
                                         client_id=client_id, how=how)          # issue 11.17
    if notify:
        notify_ended([ended])


def notify_ended(ended: list) -> None:
    """Tell the back-channel clients of sessions that have ended — by a logout, or by a
    password change, a reset or a closure (``sessions.end_all``, issue 11.9)."""
    if not sum(queue_logout_tokens(row) for row in ended):
        return
    deliver_soon()


def queue_logout_tokens(live) -> int:
    from idp.oidc.server import query_client
    account = db.session.get(Account, live.account_id)
    queued = 0
    for client_id in live.clients or []:
        client = query_client(client_id)
        uri = getattr(client, "backchannel_logout_uri", None) if client else None
        if not uri or account is None:
            continue
        now = clock.timestamp()
        claims = {"iss": current_app.config["ISSUER"], "aud": client.client_id, "iat": now,
                  "exp": now + int(policy().logout_token_ttl.total_seconds()), "jti": uuid.uuid4().hex, "sub": subject_for(account, client),
                  "sid": live.id,
                  "events": {"http://schemas.openid.net/event/backchannel-logout": {}}}
        token = keys.sign(claims, client.id_token_signed_response_alg or "RS256", typ="logout+jwt")
        db.session.add(BackchannelLogout(client_id=client.client_id, uri=uri, logout_token=token,
                                         next_attempt_at=clock.now()))
        queued += 1
    db.session.commit()
    return queued


def deliver_due(limit: int = 50) -> int:
    """Send what is due now; return how many were delivered."""
    now = clock.now()
    rules = policy()
    rows = db.session.execute(
        select(BackchannelLogout).where(BackchannelLogout.delivered_at.is_(None),
                                        BackchannelLogout.attempts < rules.backchannel_logout_attempts,
                                        BackchannelLogout.next_attempt_at <= now)
        .limit(limit)).scalars().all()
    delivered = 0
    for row in rows:
        # Claim the row for this attempt so two instances do not send it at once.
        claimed = db.session.execute(
            update(BackchannelLogout)
            .where(BackchannelLogout.id == row.id, BackchannelLogout.attempts == row.attempts)
            .values(attempts=row.attempts + 1,
                    next_attempt_at=now + rules.backchannel_logout_retry * 2 ** row.attempts)).rowcount
        db.session.commit()
        if claimed != 1:
            continue
        try:
            response = requests.post(row.uri, data={"logout_token": row.logout_token},
                                     timeout=rules.backchannel_logout_timeout.total_seconds(),
                                     allow_redirects=False)
            ok = response.status_code in (200, 204)
            error = None if ok else f"HTTP {response.status_code}"
        except requests.RequestException as exc:
            ok, error = False, exc.__class__.__name__
        db.session.execute(
            update(BackchannelLogout).where(BackchannelLogout.id == row.id)
            .values(delivered_at=clock.now() if ok else None, last_error=error))
        db.session.commit()
        delivered += ok
        if not ok:
            log.warning("back-channel logout to %s failed: %s", row.client_id, error)
    return delivered


def deliver_soon() -> None:
    app = current_app._get_current_object()
    if app.config.get("BACKCHANNEL_SYNC"):      # tests may ask for delivery in-line
        deliver_due()
        return

    def run():
        with app.app_context():
            try:
                deliver_due()
            except Exception:  # never let a logout fail because a client is down
                log.exception("back-channel logout delivery failed")
            finally:
                db.session.remove()

    threading.Thread(target=run, name="backchannel-logout", daemon=True).start()
