"""Changing the password from the account page (seed 004, "Changement de mot de passe").

```
(no flow) ──"Mon mot de passe": code asked──► new ──code mailed──► code_sent
new, code_sent ──mail not sent (our fault)──► the same step
code_sent, confirmed ──a new code mailed──► code_sent
code_sent ──right code──► confirmed
code_sent ──wrong or expired code──► code_sent
code_sent ──3rd wrong code, quota, new address (blocked)──► new
confirmed ──change_code_ttl passed──► read as code_sent (nothing written)
confirmed ──3rd wrong current password (PasswordLocked)──► code_sent
confirmed ──wrong password, rules not met──► confirmed
confirmed ──password changed──► done
any step ──another provider session, flow expired──► (flow gone) nothing asked yet
```

The flow is a ``JourneyFlow`` row (journey "password_change") tied to the provider session
(``subject`` is its sid): only its id sits in the Flask session. The rules (quota, locks, the
48 hours after a new address, the password rules) are ``idp.domain.password_change``'s.

The forgotten password needs no flow: its state is the single-use link
(``idp.domain.password_reset``), stored and used once by ``idp.domain.links``.
"""

from __future__ import annotations

from idp import clock
from idp.domain import password_change
from idp.errors import FlowOutOfStep, PasswordLocked
from idp.flows import journeys
from idp.models import Account, JourneyFlow
from idp.policy import policy

JOURNEY = "password_change"
NEW, CODE_SENT, CONFIRMED, DONE = "new", "code_sent", "confirmed", "done"
BLOCKING = password_change.BLOCKING


def load(sid: str) -> JourneyFlow | None:
    """This browser's flow for provider session ``sid``, when it has not ended."""
    flow = journeys.load(JOURNEY)
    if flow is None or flow.subject != sid or flow.step == DONE:
        return None
    return flow


def step(flow: JourneyFlow | None) -> str | None:
    """The step as seen now: a confirmation older than ``change_code_ttl`` is code_sent."""
    if flow is None:
        return None
    if flow.step == CONFIRMED and \
            clock.now() - flow.step_at >= policy().change_code_ttl:
        return CODE_SENT
    return flow.step


def send_code(sid: str, account: Account) -> JourneyFlow:
    """new, code_sent, confirmed → code_sent, once the mail has left."""
    flow = load(sid) or journeys.start(JOURNEY, NEW, ttl=policy().session_ttl, subject=sid)
    password_change.send_code(account)
    journeys.advance(flow, allowed={NEW, CODE_SENT, CONFIRMED}, to=CODE_SENT)
    return flow


def check_code(flow: JourneyFlow | None, account: Account, submitted: str) -> None:
    """code_sent → confirmed on the right code; a block sends the flow back to new."""
    if step(flow) != CODE_SENT:
        raise FlowOutOfStep()
    try:
        password_change.check_code(account, submitted)
    except BLOCKING:
        journeys.advance(flow, allowed={CODE_SENT, CONFIRMED}, to=NEW)
        raise
    journeys.advance(flow, allowed={CODE_SENT, CONFIRMED}, to=CONFIRMED)


def change(flow: JourneyFlow | None, account: Account, *, current: str, new: str,
           confirmation: str, keep_sid: str) -> None:
    """confirmed → done; the password lock sends it back to code_sent."""
    if step(flow) != CONFIRMED:
        raise FlowOutOfStep()
    try:
        password_change.change(account, current=current, new=new, confirmation=confirmation,
                               keep_sid=keep_sid)
    except PasswordLocked:
        journeys.advance(flow, allowed={CONFIRMED}, to=CODE_SENT)
        raise
    journeys.advance(flow, allowed={CONFIRMED}, to=DONE)
    journeys.forget(JOURNEY)
