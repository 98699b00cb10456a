"""Activating an account (seeds 002, 003: "Je n'ai pas de code ou j'ai perdu mon code").

```
proof ──right provisional code, or Carte Vitale serial and IBAN──► details
proof ──wrong proof, form error, lock (CodeLocked)──► proof
details ──proof given again (back button, another code)──► details
details ──password, terms, address accepted: the account exists──► done
details ──form error──► details
details ──activation record expired or used──► (flow gone) a new flow at proof
done ──any page of the journey──► (flow gone) a new flow at proof
```

The flow is a ``JourneyFlow`` row (journey "registration"); only its id sits in the Flask
session. Its ``subject`` is the activation record (``AccountAction`` "activation") the
proof opened; the rules (proof, attempts, locks, the account made) are
``idp.domain.registration``'s. "Créer un compte" (asking for a code) has no step: it answers
the same whatever happens, and remembers nothing.
"""

from __future__ import annotations

from collections.abc import Callable

from idp.domain import registration
from idp.errors import ActivationExpired
from idp.flows import journeys
from idp.models import Account, JourneyFlow
from idp.policy import policy

JOURNEY = "registration"
PROOF, DETAILS, DONE = "proof", "details", "done"


def current() -> JourneyFlow | None:
    """This browser's flow, when it has not ended."""
    flow = journeys.load(JOURNEY)
    return flow if flow is not None and flow.step != DONE else None


def current_or_new() -> JourneyFlow:
    return current() or journeys.start(JOURNEY, PROOF, ttl=policy().interaction_ttl)


def prove(flow: JourneyFlow, nir: str, *, code: str = "", vitale_serial: str = "",
          iban: str = "") -> None:
    """proof (or details) → details: the proof opened an activation record."""
    record_id = registration.start_activation(nir, code=code, vitale_serial=vitale_serial,
                                              iban=iban)
    journeys.advance(flow, allowed={PROOF, DETAILS}, to=DETAILS, subject=record_id)


def at_details(flow: JourneyFlow | None) -> bool:
    """Whether the flow is at details with a live activation record."""
    return flow is not None and flow.step == DETAILS and \
        registration.activation(flow.subject) is not None


def finish(flow: JourneyFlow | None, *, make_link: Callable[[str], str], **form) -> Account:
    """details → done: the account made by ``idp.domain.registration.activate``."""
    if not at_details(flow):
        raise ActivationExpired()
    account = registration.activate(flow.subject, make_link=make_link, **form)
    journeys.advance(flow, allowed={DETAILS}, to=DONE)
    journeys.forget(JOURNEY)
    return account
