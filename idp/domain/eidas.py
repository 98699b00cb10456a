"""The eIDAS levels of assurance, as OpenID Connect ``acr`` values: their one order.

FranceConnect names the three levels of the eIDAS regulation (implementing regulation
2015/1502: low, substantial, high) ``eidas1`` < ``eidas2`` < ``eidas3``. A login that reached
a level satisfies a request for that level or any lower one. Read by the authorize endpoint
(is the session's ``acr`` enough for the client's ``acr_values``?) and by the FranceConnect
upstream (is FranceConnect's ``acr`` at least the one we asked?)."""

from __future__ import annotations

ORDER: dict[str, int] = {"eidas1": 1, "eidas2": 2, "eidas3": 3}


def rank(acr: str | None, unknown: int = 0) -> int:
    """The level of ``acr`` (1 to 3), or ``unknown`` for a value that is not an eIDAS level."""
    return ORDER.get(acr or "", unknown)
