"""The provider's login session (``sid``) and consents: what lets a second client log in
without asking again, and what logout ends."""

from __future__ import annotations

from flask import current_app
from sqlalchemy import Row, bindparam, insert, select, update

from idp import clock, keyed
from idp.extensions import db, in_session, read_one
from idp.interaction import BROWSER_KEY, AuthResult
from idp.models import Consent, ProviderSession
from idp.policy import policy


def open_session(result: AuthResult, *, commit: bool = True) -> ProviderSession:
    """``commit=False``: the row inserted by the caller's commit (one INSERT with the client
    ``add_client`` names before it, no UPDATE of ``clients`` after it)."""
    row = ProviderSession(**_new_row(result, clients=[]))
    db.session.add(row)
    if commit:
        db.session.commit()
    return row


def _new_row(result: AuthResult, *, clients: list[str]) -> dict:
    """A new provider session's columns, for the login ``result``."""
    now = clock.now()
    return {"id": keyed.token(24), "account_id": result.account_id, "auth_time": result.auth_time,
            "amr": result.amr, "acr": result.acr, "created_at": now,
            "expires_at": now + policy().session_ttl, "clients": clients}


_OPEN = insert(ProviderSession.__table__)


def open_for_browser(browser_session, result: AuthResult, *, commit: bool = True,
                     client_id: str | None = None) -> ProviderSession:
    """The one way a login opens a provider session: the row, and a renewed Flask session
    naming it (``renew_cookie``). With ``client_id`` (the resume's): the row naming that
    client is inserted by one prebuilt statement in the caller's transaction, committed with
    it (no ORM unit of work); the object handed back is not in the ORM session."""
    if client_id is None:
        row = open_session(result, commit=commit)
    else:
        values = {**_new_row(result, clients=[client_id]), "ended_at": None}
        in_session(_OPEN, values)
        row = ProviderSession(**values)
    renew_cookie(browser_session, row.id)
    return row


def renew_cookie(browser_session, sid: str) -> None:
    """A login has just opened (or renewed) provider session ``sid``: a fresh Flask session
    (no fixation) naming it, which keeps only the browser's interaction nonce, so that the
    requests pending in its other tabs still belong to it (issue 11.3)."""
    nonce = browser_session.get(BROWSER_KEY)
    browser_session.clear()
    if nonce is not None:
        browser_session[BROWSER_KEY] = nonce
    browser_session["sid"] = sid


def reauthenticated(row: ProviderSession, result: AuthResult) -> None:
    """The same person logged in again within the session: it now says that login (what a
    later ``max_age`` or ``acr`` is checked against) and lasts from it. Written by the
    caller's commit (the resume's, with the code)."""
    row.auth_time, row.amr, row.acr = result.auth_time, result.amr, result.acr
    row.expires_at = clock.now() + policy().session_ttl


def _may_be_sid(sid) -> bool:
    return bool(sid) and isinstance(sid, str) and len(sid) <= 64


def live(sid: str | None) -> ProviderSession | None:
    if not _may_be_sid(sid):
        return None
    row = db.session.get(ProviderSession, sid)
    if row is None or row.ended_at is not None or row.expires_at <= clock.now():
        return None
    return row


# What GET /authorize decides by (``live_row``): a prebuilt Core statement returning a tuple
# (the ORM's identity lookup and row loading cost more than the query).
_SESSION = ProviderSession.__table__
_LIVE = (select(*(_SESSION.c[name] for name in ("id", "account_id", "auth_time", "amr", "acr", "clients")))
         .where(_SESSION.c.id == bindparam("sid"), _SESSION.c.ended_at.is_(None),
                _SESSION.c.expires_at > bindparam("now")))


def live_row(sid: str | None) -> Row | None:
    """``live``'s session as a row read alone (``read_one``): ``id``, ``account_id``,
    ``auth_time``, ``amr``, ``acr`` and ``clients``; no ORM object."""
    if not _may_be_sid(sid):
        return None
    return read_one(_LIVE, {"sid": sid, "now": clock.now()})


def add_client(row: ProviderSession | Row, client_id: str) -> None:
    """Name the client among the session's (what a logout tells): written with the code
    issued to it next (``idp.oidc.authorize.issue_code``), in the same commit. A row of
    ``live_row``, read outside that transaction, is read again in it when it lacks the client,
    so that the list is read and written in one transaction as before (a client once named
    stays named: a row naming it is right however old)."""
    if client_id in (row.clients or []):
        return
    if not isinstance(row, ProviderSession):
        row = db.session.get(ProviderSession, row.id)
        if row is None or client_id in (row.clients or []):
            return
    row.clients = [*(row.clients or []), client_id]


def end(sid: str) -> ProviderSession | None:
    """End a session (logout); returns it when this call ended it."""
    ended = db.session.execute(
        update(ProviderSession).where(ProviderSession.id == sid, ProviderSession.ended_at.is_(None))
        .values(ended_at=clock.now())).rowcount
    db.session.commit()
    return db.session.get(ProviderSession, sid) if ended == 1 else None


def end_all(account_id: int, except_sid: str | None = None, *,
            opened_by: str | None = None) -> list[ProviderSession]:
    """End every session of the account but ``except_sid`` (a password change, a reset, a
    closure) — only those whose ``amr`` names ``opened_by`` when given (a FranceConnect link
    undone) — and have their relying parties told as a logout tells them (issue 11.9: the
    protocol registers ``idp.sessions_ended``, the back-channel logout)."""
    rows = db.session.execute(
        select(ProviderSession).where(ProviderSession.account_id == account_id,
                                      ProviderSession.ended_at.is_(None))).scalars().all()
    ended = []
    for row in rows:
        if row.id != except_sid and (opened_by is None or opened_by in (row.amr or [])) \
                and db.session.execute(
                update(ProviderSession).where(ProviderSession.id == row.id,
                                              ProviderSession.ended_at.is_(None))
                .values(ended_at=clock.now())).rowcount == 1:
            ended.append(row)
    db.session.commit()
    notify = current_app.extensions.get("idp.sessions_ended")
    if ended and notify is not None:
        notify(ended)
    return ended


# -- upstream logouts ------------------------------------------------------------------------
# A session opened through an upstream provider (FranceConnect) must end there too. The
# protocol's ``end_session`` knows no journey and the journeys never wrap its response: once
# it has ended the browser's session, it asks ``upstream_logout()`` whether an upstream
# logout must run first, and sends the browser there; the journey that registered it brings
# the browser back to ``then`` (the ``post_logout_redirect_uri``, or None: our logged-out page).
UPSTREAM_LOGOUTS = "idp.upstream_logouts"


def register_upstream_logout(app, hook) -> None:
    """``hook(ended: ProviderSession, then: str | None) -> str | None``: the URL of the
    upstream logout this ended session calls for, or None when it calls for none."""
    app.extensions.setdefault(UPSTREAM_LOGOUTS, []).append(hook)


def upstream_logout(ended: ProviderSession, then: str | None) -> str | None:
    """Where the browser goes first, once ``ended`` (its session) is ended, or None."""
    for hook in current_app.extensions.get(UPSTREAM_LOGOUTS, []):
        url = hook(ended, then)
        if url is not None:
            return url
    return None


def has_consent(account_id: int, client_id: str, scope: str) -> bool:
    row = db.session.get(Consent, (account_id, client_id))
    return row is not None and set(scope.split()) <= set(row.scope.split())


def grant_consent(account_id: int, client_id: str, scope: str, *, commit: bool = True) -> None:
    """Keep the person's consent (``commit=False``: in the caller's transaction)."""
    row = db.session.get(Consent, (account_id, client_id))
    if row is None:
        db.session.add(Consent(account_id=account_id, client_id=client_id, scope=scope,
                               granted_at=clock.now()))
    else:
        row.scope = " ".join(sorted(set(row.scope.split()) | set(scope.split())))
        row.granted_at = clock.now()
    if commit:
        db.session.commit()
