"""What the account's pages share: turning domain errors into French text beside each field,
and the seed-000 checklist of a new password."""

from __future__ import annotations

from idp import messages
from idp.errors import FormInvalid, IdpError
from idp.policy import policy


def labels() -> dict[str, str]:
    return dict(messages.password_rule_labels(policy()))


def sentence(message_id: str, params: dict) -> str:
    if message_id == "password_rules":
        names = labels()
        return messages.text("password_rules", labels=[names[r] for r in params["rules"]])
    return messages.text(message_id, **params)


def field_errors(error: IdpError) -> tuple[dict[str, str], str | None]:
    """(errors by field, a banner) for a domain error."""
    if isinstance(error, FormInvalid):
        return {f: sentence(m, p) for f, (m, p) in error.errors.items()}, None
    text = messages.for_error(error)
    return ({error.field: text}, None) if error.field else ({}, text)


def checklist() -> list[tuple[str, str]]:
    return messages.password_rule_labels(policy())
