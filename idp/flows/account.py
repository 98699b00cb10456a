"""The account page ("Mes informations"), behind the provider session."""

from __future__ import annotations

from flask import Blueprint, redirect, render_template, session, url_for

from .. import devices, messages, sessions
from ..extensions import db
from ..models import Account
from ..nir import parse_nir

bp = Blueprint("account", __name__)


def current_account():
    live = sessions.live(session.get("sid"))
    if live is None:
        return None, None
    return live, db.session.get(Account, live.account_id)


@bp.get("/")
def index():
    return redirect(url_for("account.home"))


@bp.get("/compte")
def home():
    live, account = current_account()
    if account is None:
        return redirect(url_for("login.show"), 303)
    return render_template(
        "flows/account.html", account=account, masked_nir=parse_nir(account.nir).masked,
        masked_email=messages.mask_email(account.email) if account.email else None,
        last_login=messages.fmt_last_login(account.previous_login_at)
        if account.previous_login_at else None,
        devices=devices.live_devices(account.id))
