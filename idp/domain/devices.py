"""Trusted devices: "Se souvenir de cet appareil" (seed 004, ETAPE 3, and the FAQ).

The browser keeps a signed cookie naming a server-side ``TrustedDevice`` row and the account
it belongs to (itsdangerous, a salt of its own). A login with the right password from that
browser is spared the code while the row is live (``Policy.device_trust``, 183 days) and not
revoked. Anything else about the cookie (tampered, another account, revoked, expired,
oversized, garbage) simply means "not trusted": the code is asked, nobody is blocked.
"""

from __future__ import annotations

from datetime import datetime

from flask import current_app
from itsdangerous import BadData, URLSafeTimedSerializer
from sqlalchemy import Row, bindparam, select, update

from idp import clock, keyed
from idp.config import secure_cookie_name
from idp.extensions import db, in_session
from idp.models import TrustedDevice, UTCDateTime
from idp.policy import policy

# Issue 13.5: a trusted device is named by its browser and system, read from the user agent
# kept at trust time. First match wins: Edge, Opera and Samsung Internet also say "Chrome",
# Chrome also says "Safari"; iPhones say "Mac OS X" and Android says "Linux".
_BROWSERS = (("Edg/", "Edge"), ("EdgA/", "Edge"), ("EdgiOS/", "Edge"), ("OPR/", "Opera"),
             ("SamsungBrowser/", "Samsung Internet"), ("Firefox/", "Firefox"),
             ("FxiOS/", "Firefox"), ("CriOS/", "Chrome"), ("Chrome/", "Chrome"),
             ("Safari/", "Safari"))
_SYSTEMS = (("iPhone", "iPhone"), ("iPad", "iPad"), ("Android", "Android"), ("CrOS", "ChromeOS"),
            ("Windows", "Windows"), ("Macintosh", "macOS"), ("Mac OS X", "macOS"),
            ("Linux", "Linux"))

COOKIE_NAME = "idp_device"      # plain http (make run); over https: __Host-idp_device
MAX_COOKIE_LENGTH = 512


_D = TrustedDevice.__table__
_NOW = bindparam("now", type_=UTCDateTime())
# A live device of this account, its use noted, in one prebuilt statement.
_USE = (update(_D).where(_D.c.id == bindparam("device_id"), _D.c.account_id == bindparam("owner"),
                         _D.c.revoked_at.is_(None), _D.c.expires_at > _NOW)
        .values(last_used_at=_NOW).returning(_D.c.id))


def cookie_name() -> str:
    """The trust cookie's name for the running app (``idp.transport``)."""
    return secure_cookie_name(COOKIE_NAME)


def describe(user_agent: str | None) -> tuple[str | None, str | None]:
    """(browser, system) of a user agent, each None when not recognised (issue 13.5)."""
    agent = user_agent or ""
    browser = next((name for mark, name in _BROWSERS if mark in agent), None)
    system = next((name for mark, name in _SYSTEMS if mark in agent), None)
    return browser, system


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt="idp/trusted-device")


def trust(account_id: int, label: str = "") -> tuple[str, datetime]:
    """Record a trusted device; return the cookie value and its expiry."""
    now = clock.now()
    device = TrustedDevice(id=keyed.token(24), account_id=account_id, label=label[:200],
                           created_at=now, expires_at=now + policy().device_trust)
    db.session.add(device)
    db.session.flush()
    return _serializer().dumps({"d": device.id, "a": account_id}), device.expires_at


def trusted_device(cookie: str | None, account_id: int) -> Row | None:
    """The live device the cookie names for this account (its ``id``), its use noted in the
    session's transaction; or None."""
    if not cookie or len(cookie) > MAX_COOKIE_LENGTH:
        return None
    try:
        data = _serializer().loads(cookie, max_age=int(policy().device_trust.total_seconds()))
    except (BadData, ValueError, TypeError):   # tampered, expired, garbage: not trusted
        return None
    if not isinstance(data, dict) or data.get("a") != account_id or not isinstance(data.get("d"), str):
        return None
    return in_session(_USE, {"device_id": data["d"], "owner": account_id,
                             "now": clock.now()}).first()


def revoke(account_id: int, device_id: str | None = None) -> int:
    """Revoke one device of the account, or all of them."""
    conditions = [TrustedDevice.account_id == account_id, TrustedDevice.revoked_at.is_(None)]
    if device_id is not None:
        conditions.append(TrustedDevice.id == device_id)
    return db.session.execute(
        update(TrustedDevice).where(*conditions).values(revoked_at=clock.now())).rowcount


def live_devices(account_id: int) -> list[TrustedDevice]:
    return list(db.session.execute(
        select(TrustedDevice).where(TrustedDevice.account_id == account_id,
                                    TrustedDevice.revoked_at.is_(None),
                                    TrustedDevice.expires_at > clock.now())
        .order_by(TrustedDevice.created_at.desc())).scalars())
