"""The seam between the protocol (``idp.oidc``) and the journeys (``idp.flows``).

Like node-oidc-provider's ``interactionDetails`` / ``interactionFinished``:

1. ``oidc`` validates an authorization request and, when a login is needed, stores it with
   ``start()`` and sends the browser to the login pages with the interaction's id (or,
   issue 15, answers with their page itself: ``start_shown_here``, which the login pages
   register);
2. ``flows`` reads what it needs with ``details()`` (a typed ``PendingRequest``), runs the journey, and ends with
   ``complete(id, AuthResult(...))``, then redirects to ``resume_url(id)``;
3. ``oidc`` takes the result once with ``take()``, with the request it validated at the
   start (never validated again: only the client and its redirect URI are looked up, in
   case they were removed meanwhile), checks the result against it, opens the provider
   session and issues the code.

Issue 15: the login's last step may answer step 3 itself (``complete_here``, with the answer
the protocol registers), one request fewer; whatever that answer does not cover goes to
``resume_url``.
"""

from __future__ import annotations

import logging
from collections import namedtuple
from dataclasses import dataclass, fields
from datetime import datetime

from flask import current_app, g, has_request_context
from sqlalchemy import bindparam, insert, select, update

from idp import clock, keyed
from idp.extensions import commit_one, db, in_session, read_one, session_idle
from idp.models import Interaction
from idp.policy import policy

log = logging.getLogger("idp.interaction")


def _shallow(instance) -> dict:
    """A dataclass's fields as a dict, its lists copied: what ``dataclasses.asdict`` gives for
    these flat records (strings, numbers, a datetime, lists of strings), without its deep copy
    of each value (~30 us a call here)."""
    return {f.name: (list(value) if type(value := getattr(instance, f.name)) is list else value)
            for f in fields(instance)}


@dataclass
class AuthResult:
    """Who logged in, when and how (what the tokens will say)."""
    account_id: int
    amr: list[str]
    acr: str | None
    auth_time: datetime
    remembered_device: bool = False

    def to_json(self) -> dict:
        data = _shallow(self)
        data["auth_time"] = self.auth_time.isoformat()
        return data

    @classmethod
    def from_json(cls, data: dict) -> "AuthResult":
        return cls(**{**data, "auth_time": datetime.fromisoformat(data["auth_time"])})


@dataclass(frozen=True)
class PendingRequest:
    """What the login pages may know of the pending request: built once by ``oidc`` from the
    validated request, stored with the interaction, read back by ``flows`` with ``details()``
    (which fills ``id``). The one schema of the seam's display data."""
    client_id: str
    client_name: str
    login_hint: str | None
    require_security_code: bool
    franceconnect_branding: bool
    scope: str                 # what a consent must cover (scopes, ``claims`` included)
    consent_claims: list       # the claims it gives, named on the consent page (issue 11.8)
    consent: bool              # the client asks for consent (no ``skip_consent``)
    prompt_consent: bool       # the request says ``prompt=consent``
    reuse_session: bool        # a live provider session answers it: only consent is missing
    session_account_id: int | None
    step_up_account_id: int | None = None   # only the e-mailed code is missing (issue 11.7)
    biometric_offer: bool = True    # the client allows the biometrics offer (issue 14)
    id: str | None = None      # the interaction's id, once stored

    @property
    def cancel_url(self) -> str | None:
        """Where "Revenir sur …" sends the person (an ``access_denied``)."""
        return f"/authorize/cancel/{self.id}" if self.id else None

    @property
    def refuse_url(self) -> str | None:
        """Where "Refuser" on the consent page sends (issue 13.4)."""
        return f"/authorize/refuse/{self.id}" if self.id else None

    def to_json(self) -> dict:
        data = _shallow(self)
        data.pop("id")
        return data

    @classmethod
    def from_json(cls, data: dict, *, id: str | None = None) -> "PendingRequest":
        return cls(**{**data, "id": id})


# Issue 11.3: each interaction belongs to the browser that started it. The browser's Flask
# session holds a random nonce; the interaction stores its keyed hash, and the login page,
# the resume and the cancel URLs answer only the browser holding it (else a replayed resume
# URL would log the victim's browser in as the attacker: login CSRF).
BROWSER_KEY = "browser"
_BROWSER_PURPOSE = "interaction-browser"


def browser_nonce(browser_session) -> str:
    """The nonce of this browser (a Flask session), made on its first authorization request."""
    value = browser_session.get(BROWSER_KEY)
    if not isinstance(value, str) or not 16 <= len(value) <= 64:
        value = browser_session[BROWSER_KEY] = keyed.token(24)
    return value


def started_here(interaction_id: str | None, browser_session) -> bool:
    """Whether this browser (a Flask session) started this live interaction."""
    row = _live(interaction_id)
    nonce = browser_session.get(BROWSER_KEY)
    bound = row.params.get("browser") if row is not None else None
    return isinstance(nonce, str) and isinstance(bound, str) and keyed.same(_BROWSER_PURPOSE, nonce, bound)


# Prebuilt, Core: the ORM's unit of work, identity map and row loading cost more than these
# statements. ``COLUMNS`` is what a read of a pending request selects (``hold`` takes a row of
# them read with something else: the login page's own read).
_TABLE = Interaction.__table__
_INSERT = insert(_TABLE).returning(_TABLE.c.id)    # commit_one reads a row back
COLUMNS = (_TABLE.c.id, _TABLE.c.params, _TABLE.c.result, _TABLE.c.consumed_at, _TABLE.c.expires_at)
_READ = select(*COLUMNS).where(_TABLE.c.id == bindparam("id"))
_COMPLETE = (update(_TABLE)
             .where(_TABLE.c.id == bindparam("iid"), _TABLE.c.consumed_at.is_(None),
                    _TABLE.c.expires_at > bindparam("now"))
             .values(result=bindparam("answer")))
# Spent and its result read in one statement: the result is the one this very update found.
_TAKE = (update(_TABLE)
         .where(_TABLE.c.id == bindparam("iid"), _TABLE.c.consumed_at.is_(None))
         .values(consumed_at=bindparam("now"))
         .returning(_TABLE.c.result))
# The resume's plain success in one statement: the live request spent by the browser that
# started it (the digest ``started_here`` compares, here compared by the database: a keyed
# digest, which nobody without the key can aim at), read back with its result.
_TAKE_HERE = (update(_TABLE)
              .where(_TABLE.c.id == bindparam("iid"), _TABLE.c.consumed_at.is_(None),
                     _TABLE.c.expires_at > bindparam("now"),
                     _TABLE.c.params["browser"].as_string() == bindparam("bound"))
              .values(consumed_at=bindparam("now"))
              .returning(_TABLE.c.params, _TABLE.c.result))
# The login's last step answering the request (``complete_here``): the same take, which writes
# the login's result in the same statement (the result and the spending, one write of the row).
_COMPLETE_AND_TAKE_HERE = _TAKE_HERE.values(result=bindparam("answer"))
_Pending = namedtuple("_Pending", [c.name for c in COLUMNS])
_HELD = "_interactions"


def start(pending: PendingRequest, validated: dict, browser: str, *, commit: bool = True) -> str:
    """Store a pending request: what the login pages show (``pending``), the request as
    ``oidc`` validated it (``validated``, opaque here: what the resume answers without
    validating again), and ``browser``, the ``browser_nonce()`` of the browser asking.
    ``commit=False``: inserted in the caller's transaction, committed by its commit, and held
    for the rest of the request (``details`` answers without reading it back)."""
    now = clock.now()
    iid = keyed.token(24)
    row = {"id": iid, "client_id": pending.client_id,
           "params": {"request": validated, "display": pending.to_json(),
                      "browser": keyed.digest(_BROWSER_PURPOSE, browser)},
           "created_at": now, "expires_at": now + policy().interaction_ttl}
    if commit:
        commit_one(_INSERT, row)
    else:
        in_session(_INSERT, row)
        hold([row[c.name] if c.name in row else None for c in COLUMNS])
    return iid


def _live(interaction_id: str | None):
    """The row (``COLUMNS``) of a live pending request, or None. Read once per request and
    held for the rest of it (a login page asks ``details()`` up to four times); ``complete``
    and ``take`` drop it, since they change it."""
    if not interaction_id or len(interaction_id) > 64:
        return None
    held = g.get(_HELD) if has_request_context() else None
    row = held.get(interaction_id) if held else None
    if row is None:
        row = read_one(_READ, {"id": interaction_id})
        if row is not None:
            row = hold(row)
    if row is None or row.consumed_at is not None or row.expires_at <= clock.now():
        return None
    return row


def hold(values):
    """Keep a pending request's row (the values of ``COLUMNS``, in order), read here or with
    another table (the login page's one read), or just inserted (``start``), for the rest of
    the request:
    ``details()`` and ``started_here()`` answer from it."""
    row = _Pending(*values)
    if has_request_context():
        g.setdefault(_HELD, {})[row.id] = row
    return row


def _drop(interaction_id: str) -> None:
    if has_request_context():
        g.get(_HELD, {}).pop(interaction_id, None)


def details(interaction_id: str | None) -> PendingRequest | None:
    row = _live(interaction_id)
    if row is None:
        return None
    return PendingRequest.from_json(row.params["display"], id=row.id)


def complete(interaction_id: str, result: AuthResult, *, commit: bool = True) -> bool:
    """Give the pending request its result (``commit=False``: in the caller's transaction)."""
    _drop(interaction_id)
    done = db.session.connection().execute(
        _COMPLETE, {"iid": interaction_id, "now": clock.now(), "answer": result.to_json()}).rowcount
    if commit:
        db.session.commit()
    return done == 1


def take(interaction_id: str, *, commit: bool = True) -> tuple[dict, AuthResult | None] | None:
    """The stored, validated request (as ``start`` got it) and its result, once (a second
    resume finds nothing). ``commit=False``: spent in the caller's transaction (the resume's,
    with the provider session and the code), which holds the row's write lock until then."""
    row = _live(interaction_id)
    if row is None:
        return None
    _drop(row.id)
    taken = db.session.connection().execute(_TAKE, {"iid": row.id, "now": clock.now()}).first()
    if commit:
        db.session.commit()
    if taken is None:
        return None
    result = AuthResult.from_json(taken.result) if taken.result else None
    return row.params["request"], result


def take_started_here(interaction_id: str | None, browser_session, *, commit: bool = True,
                      result: AuthResult | None = None) -> tuple[dict, AuthResult | None] | None:
    """``take`` of a live request that this browser (a Flask session) started, in one
    statement; else None, and nothing written: the caller asks ``details``,
    ``started_here`` and ``take``, which say why. ``result``: the login's result given to the
    request by that same statement (``complete_here``), and returned as taken."""
    nonce = browser_session.get(BROWSER_KEY)
    if not interaction_id or len(interaction_id) > 64 or not isinstance(nonce, str):
        return None
    values = {"iid": interaction_id, "now": clock.now(),
              "bound": keyed.digest(_BROWSER_PURPOSE, nonce)}
    if result is None:
        taken = db.session.connection().execute(_TAKE_HERE, values).first()
    else:
        taken = db.session.connection().execute(
            _COMPLETE_AND_TAKE_HERE, {**values, "answer": result.to_json()}).first()
    if taken is None:
        return None
    _drop(interaction_id)
    if commit:
        db.session.commit()
    return taken.params["request"], AuthResult.from_json(taken.result) if taken.result else None


# What the login pages register (``idp.flows.login``): ``page(interaction_id)``, the login
# page of a pending request just stored in the current transaction, its flow stored with it.
LOGIN_PAGE = "idp.login_page"


def start_shown_here(pending: PendingRequest, validated: dict, browser: str):
    """A new pending request (``start``'s arguments) answered by its login page in this very
    response, instead of a redirect to the login pages with its id (issue 15: one request
    fewer): the response of the page the login pages register (``LOGIN_PAGE``), or None when
    none is registered (an app without them), and nothing stored: the caller stores the
    request with ``start`` and redirects as before. The request and the flow the page makes
    for it are inserted in one transaction (both or neither: a fault before the flow's commit
    stores neither), and the request's row is held, not read back."""
    page = current_app.extensions.get(LOGIN_PAGE)
    if page is None:
        return None
    iid = start(pending, validated, browser, commit=False)
    response = page(iid)
    if not session_idle():
        db.session.commit()     # what the page left open: the request, if it stored no flow
    return response


def resume_url(interaction_id: str) -> str:
    return f"/authorize/resume/{interaction_id}"


# What the protocol registers (``idp.oidc.init_app``): ``answer(interaction_id, result)``, the
# resume's answer given by the request that completes the interaction with ``result``, or None.
ANSWER_HERE = "idp.answer_here"
_SAVEPOINT, _ROLLBACK_TO = "SAVEPOINT step_answer", "ROLLBACK TO SAVEPOINT step_answer"
_ANSWERED = "_answered_here"


def complete_here(interaction_id: str, result: AuthResult, browser_session):
    """``complete`` by the login's last step, in the transaction of its move, for a page that
    posted it (``browser_session``, its Flask session): the pending request answered at once,
    instead of a redirect to ``resume_url`` (issue 15: one request fewer), the response the
    resume would give; else None, the result given as ``complete`` gives it, and the browser
    goes to ``resume_url`` as before.

    The protocol's ``ANSWER_HERE`` spends the request as the resume does, for the browser that
    started it only, once, with the provider session and the code, all written by the move's
    commit; the result goes in the very statement that spends the request
    (``take_started_here(result=...)``): one write of the row, not two. It answers only the
    plain success (a redirect to the client), else None. It runs in a savepoint: when it
    answers None, or fails (logged), the rollback to it undoes what it wrote (the request
    not spent, no session, no code), this browser's Flask session (renewed by a login) is put
    back, and the result is given alone; the move and its result commit all the same, so a
    fault at the answer leaves a login done, for the resume URL to answer, never lost. A
    failure of the rollback itself (the database gone) fails the step whole, as any fault of
    its transaction: nothing of it is kept, the code still works."""
    answer = current_app.extensions.get(ANSWER_HERE)
    if answer is not None:
        # What the step wrote through the ORM goes before the savepoint (a consent kept):
        # the rollback to it must undo the answer's writes only.
        db.session.flush()
        connection = db.session.connection()
        connection.exec_driver_sql(_SAVEPOINT)
        kept = dict(browser_session)
        try:
            response = answer(interaction_id, result)
        except Exception:  # noqa: BLE001 - the resume URL answers instead, or says why
            log.exception("the login's step could not answer its request: the resume will")
            response = None
        if response is not None:
            g.setdefault(_ANSWERED, []).append((browser_session, kept))
            return response
        _put_back(browser_session, kept)
        _drop(interaction_id)
        connection.exec_driver_sql(_ROLLBACK_TO)
        # The ORM objects the answer changed (a provider session renewed) hold values the
        # rollback undid: read again if used, never flushed by the move's commit.
        for pending in list(db.session.new):
            db.session.expunge(pending)
        db.session.expire_all()
    complete(interaction_id, result, commit=False)
    return None


def answer_lost() -> None:
    """The step's transaction that held its answer (``complete_here``) did not commit: the
    Flask sessions that answer renewed are put back as they were, so that the browser keeps
    its flow and the step can be tried again (nothing of it was kept)."""
    for browser_session, kept in g.pop(_ANSWERED, ()) if has_request_context() else ():
        _put_back(browser_session, kept)


def _put_back(browser_session, kept: dict) -> None:
    browser_session.clear()
    browser_session.update(kept)


def acr_for(method: str) -> str | None:
    """The ``acr`` announced for a way of logging in (``IDP_ACR_BY_METHOD``): the login
    journey's and the first-party challenge endpoint's."""
    return current_app.config["ACR_BY_METHOD"].get(method)
