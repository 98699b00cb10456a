"""The store of the account journeys' flows (``JourneyFlow``), as ``idp.flows.login.machine``
keeps the login's: a row per walk, its id alone in the Flask session, its step moved by a
compare-and-set so that a double submit moves it once. The diagrams are in each journey's
``machine.py``."""

from __future__ import annotations

from datetime import timedelta

from flask import session
from sqlalchemy import update

from idp import clock, keyed
from idp.errors import FlowOutOfStep
from idp.extensions import db
from idp.models import JourneyFlow


def _session_key(journey: str) -> str:
    return f"{journey}_flow"


def start(journey: str, step: str, *, ttl: timedelta, subject: str | None = None,
          data: dict | None = None) -> JourneyFlow:
    """A new flow at ``step``; its id goes in the Flask session (and only its id)."""
    now = clock.now()
    flow = JourneyFlow(id=keyed.token(24), journey=journey, step=step, subject=subject,
                       data=data, step_at=now, created_at=now, expires_at=now + ttl)
    db.session.add(flow)
    db.session.commit()
    session[_session_key(journey)] = flow.id
    return flow


def load(journey: str) -> JourneyFlow | None:
    """This browser's live flow of ``journey``, or None."""
    flow_id = session.get(_session_key(journey))
    if not flow_id or not isinstance(flow_id, str) or len(flow_id) > 64:
        return None
    flow = db.session.get(JourneyFlow, flow_id)
    if flow is None or flow.journey != journey or flow.expires_at <= clock.now():
        return None
    return flow


def forget(journey: str) -> None:
    session.pop(_session_key(journey), None)


def advance(flow: JourneyFlow, *, allowed: set[str], to: str, **changes) -> None:
    """Compare-and-set the step: only one request moves a flow out of a step."""
    now = clock.now()
    moved = db.session.execute(
        update(JourneyFlow)
        .where(JourneyFlow.id == flow.id, JourneyFlow.step.in_(allowed),
               JourneyFlow.expires_at > now)
        .values(step=to, step_at=now, **changes)).rowcount
    db.session.commit()
    if moved != 1:
        raise FlowOutOfStep()
    db.session.refresh(flow)
