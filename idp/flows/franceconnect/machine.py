"""The "S'identifier avec FranceConnect" journey: our provider as FranceConnect's relying party.

```
(login page) ──button──► upstream ──callback: state right, tokens and userinfo valid,
                                    an account by fc_sub, or reconciled──────────────► done
upstream ──callback: no account to log in yet──► link
link ──right password (the login machine's credentials step)──► linking
linking ──password typed again──► linking
linking ──that login done (its code, or a trusted device)──► done
upstream ──callback: state wrong or missing, cancelled, tokens refused──► (flow gone)
link, linking ──identity not the account's, account already linked──► (flow gone)
link, linking ──Policy.franceconnect_link_ttl (10 min) passed──► (flow gone)
```

The flow is a ``JourneyFlow`` row (journey "franceconnect"); only its id sits in the Flask
session. ``data`` carries what the journey needs between its steps: at ``upstream`` the
``state`` (keyed-hashed) and ``nonce`` sent to FranceConnect and the pending request; from
``link`` the validated upstream login (``sub``, ``acr``, ``amr``, its ID token for the
logout, a digest of the pivot identity). At ``linking``, ``subject`` is the login flow
(``idp.flows.login.machine``, started with ``then_endpoint``) whose result ties the
identity to the account: the login machine runs that login, with its locks, counters and
quotas; this journey never checks a password or a code itself. "(flow gone)" is ``done``
without a login, and forgotten by the browser.
"""

from __future__ import annotations

from idp import clock, interaction, keyed
from idp.domain import franceconnect as fc_links
from idp.errors import FlowOutOfStep
from idp.flows import journeys
from idp.flows.franceconnect import upstream as fc
from idp.models import Account, JourneyFlow
from idp.policy import policy

JOURNEY = "franceconnect"
UPSTREAM, LINK, LINKING, DONE = "upstream", "link", "linking", "done"
STEPS = (UPSTREAM, LINK, LINKING, DONE)
LINK_DONE = "franceconnect.link_done"      # the endpoint that takes the linking login
_STATE = "franceconnect-state"


def begin(interaction_id: str | None) -> tuple[JourneyFlow, str, str]:
    """(login page) → upstream: a new flow, with the ``state`` and ``nonce`` to send."""
    state, nonce = fc.fresh_secret(), fc.fresh_secret()
    flow = journeys.start(JOURNEY, UPSTREAM, ttl=policy().interaction_ttl, data={
        "state": keyed.digest(_STATE, state), "nonce": nonce, "interaction": interaction_id})
    return flow, state, nonce


def current() -> JourneyFlow | None:
    """This browser's live flow, when it has not ended."""
    flow = journeys.load(JOURNEY)
    return flow if flow is not None and flow.step != DONE else None


def returning(state: str | None) -> JourneyFlow | None:
    """The flow at ``upstream`` this callback's ``state`` belongs to, or None (no flow, a
    wrong state: a callback this browser did not ask for)."""
    flow = current()
    if flow is None or flow.step != UPSTREAM or not state \
            or not keyed.same(_STATE, state, flow.data.get("state", "")):
        return None
    return flow


def interaction_of(flow: JourneyFlow | None) -> str | None:
    """The pending authorization request of the journey, while it is live."""
    iid = (flow.data or {}).get("interaction") if flow is not None else None
    return iid if isinstance(iid, str) and interaction.details(iid) is not None else None


def end(flow: JourneyFlow, *, allowed: set[str]) -> None:
    """→ done (a login, or "flow gone"): once only, and forgotten by the browser."""
    journeys.advance(flow, allowed=allowed, to=DONE)
    journeys.forget(JOURNEY)


def to_link(flow: JourneyFlow, upstream: fc.Upstream, why: str) -> None:
    """upstream → link: the validated upstream login waits for its account."""
    journeys.advance(flow, allowed={UPSTREAM}, to=LINK,
                     expires_at=clock.now() + policy().franceconnect_link_ttl,
                     data={"sub": upstream.sub, "acr": upstream.acr, "amr": upstream.amr,
                           "id_token": upstream.id_token, "why": why,
                           "identity": fc_links.identity_digest(upstream.identity),
                           "interaction": flow.data.get("interaction")})


def linking(flow: JourneyFlow | None) -> JourneyFlow | None:
    """The flow at link or linking, or None (gone, expired, another step)."""
    return flow if flow is not None and flow.step in (LINK, LINKING) else None


def vet(flow: JourneyFlow, account: Account) -> str | None:
    """Why ``account`` may not take this FranceConnect identity (a message id), or None."""
    if not fc_links.identity_matches(account, flow.data.get("identity")):
        return "fc_identity_mismatch"
    if not fc_links.may_link(account, flow.data["sub"]):
        return "fc_already_linked"
    return None


def to_linking(flow: JourneyFlow, login_flow_id: str) -> None:
    """link (or linking: the password typed again) → linking, waiting on that login."""
    journeys.advance(flow, allowed={LINK, LINKING}, to=LINKING, subject=login_flow_id)


def take_link(flow: JourneyFlow | None, login_result) -> fc.Upstream:
    """linking → done, once: the upstream login the linking login (``login_result``, the
    login flow ``subject`` names) now logs in. Raises ``FlowOutOfStep`` otherwise."""
    if flow is None or flow.step != LINKING or login_result is None:
        raise FlowOutOfStep()
    end(flow, allowed={LINKING})
    data = flow.data
    return fc.Upstream(sub=data["sub"], acr=data["acr"], amr=data["amr"],
                       id_token=data["id_token"], identity={})
