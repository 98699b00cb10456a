"""The account page ("Mes informations", seeds 000, 003, 004), behind the provider session:
the portal's tabs, the last login, "Mes droits" and "Mes coordonnées" from the account and the
registry (``information``), the e-mail and contact forms, trusted devices (each revocable),
FranceConnect, "Paramètres de compte": "Mon mot de passe", "Résilier mon compte ameli"."""

from __future__ import annotations

from flask import Blueprint, current_app, redirect, render_template, request, session, url_for
from sqlalchemy import select

from idp import clock, messages, sessions
from idp.domain import addresses, devices, franceconnect, links, passkeys, registry
from idp.domain.password_change import revoke_access
from idp.errors import IdpError, PasswordLocked
from idp.extensions import db
from idp.flows.account import information
from idp.flows.common import field_errors
from idp.models import Account, AccountAction

bp = Blueprint("account", __name__)
NOTICE_KEY = "account_notice"


@bp.errorhandler(IdpError)
def _refused(error: IdpError):
    """A refusal of the domain: the account page again, its sentence beside the field (or
    as a banner for a lock)."""
    live, account = current_account()
    if account is None:
        return redirect(url_for("login.show"), 303)
    if isinstance(error, PasswordLocked):
        return _page(account, banner=messages.for_error(error), status=403)
    errors, _ = field_errors(error)
    return _page(account, errors=errors, status=400)


def current_account():
    live = sessions.live(session.get("sid"))
    if live is None:
        return None, None
    return live, db.session.get(Account, live.account_id)


def _pending_email(account: Account) -> str | None:
    return db.session.execute(
        select(AccountAction.email).where(
            AccountAction.account_id == account.id, AccountAction.purpose == "email_validation",
            AccountAction.used_at.is_(None), AccountAction.expires_at > clock.now(),
            AccountAction.email != account.email)
        .order_by(AccountAction.created_at.desc())).scalar()


def _page(account, *, errors=None, notice=None, banner=None, status=200):
    person = registry.by_nir(account.nir)
    today = messages.to_paris(clock.now()).date()
    return render_template(
        "flows/account.html", account=account,
        tabs=information.tabs(current_app.config.get("PORTAL_URL")),
        rights=information.rights_rows(account, person, today),
        contact=information.contact_rows(
            account, person, pending_email=_pending_email(account),
            add_mobile_url=url_for("account.home") + "#mobile"),
        last_login=account.previous_login_at,
        devices=[(d, messages.text("device_since", since=d.created_at,
                                   name=messages.device_label(*devices.describe(d.label))))
                 for d in devices.live_devices(account.id)],
        passkeys=[(p, p.label or messages.text("device_unknown"))
                  for p in passkeys.list_for(account.id)],
        errors=errors or {}, banner=banner,
        notice=notice or _notice()), status


def _notice():
    found = session.pop(NOTICE_KEY, None)
    return messages.text(found[0], **found[1]) if found else None


def _done(message_id: str, **params):
    session[NOTICE_KEY] = (message_id, params)
    return redirect(url_for("account.home"), 303)


@bp.get("/")
def index():
    return redirect(url_for("account.home"))


@bp.get("/compte")
def home():
    live, account = current_account()
    if account is None:
        return redirect(url_for("login.show"), 303)
    return _page(account)


@bp.post("/compte/coordonnees")
def contacts():
    live, account = current_account()
    if account is None:
        return redirect(url_for("login.show"), 303)
    form = request.form
    mobile = registry.normalise_mobile(form.get("mobile", ""))
    if mobile and not registry.is_mobile(mobile):
        return _page(account, errors={"mobile": messages.text("mobile_invalid")}, status=400)
    account.mobile = mobile or None
    account.contact_email = bool(form.get("contact_email"))
    account.contact_mobile = bool(form.get("contact_mobile"))
    account.contact_sms = bool(form.get("contact_sms"))
    db.session.commit()
    return _done("contact_saved")


@bp.post("/compte/adresse-mail")
def change_email():
    live, account = current_account()
    if account is None:
        return redirect(url_for("login.show"), 303)
    addresses.request_email_change(
        account, request.form.get("email", ""),
        password=request.form.get("current_password", ""),
        make_link=lambda t: links.external("registration.validate_email", token=t))
    return _done("email_change_sent")


@bp.post("/compte/appareils/<device_id>/revoquer")
def revoke_device(device_id):
    live, account = current_account()
    if account is None:
        return redirect(url_for("login.show"), 303)
    devices.revoke(account.id, device_id[:64])
    db.session.commit()
    return _done("device_revoked")


@bp.post("/compte/biometrie/<passkey_id>/desactiver")
def revoke_passkey(passkey_id):
    """Issue 14: one passkey of the account revoked (POST, CSRF-protected); audited by the
    domain (``passkey_revoked``). Another account's passkey id revokes nothing."""
    live, account = current_account()
    if account is None:
        return redirect(url_for("login.show"), 303)
    passkeys.revoke(account.id, passkey_id[:64])
    return _done("passkey_revoked_done")


@bp.post("/compte/franceconnect/supprimer")
def unlink_franceconnect():
    """Issue 11.1: the owner unties the account from FranceConnect (POST, CSRF-protected)."""
    live, account = current_account()
    if account is None:
        return redirect(url_for("login.show"), 303)
    if franceconnect.unlink(account):
        current_app.extensions["idp.events"]("franceconnect_unlinked", account_id=account.id,
                                             how="account_page")
        # A link made by someone else stops at once: the sessions it opened end too.
        sessions.end_all(account.id, except_sid=live.id, opened_by="fc")
    return _done("fc_unlinked")


@bp.route("/compte/resilier", methods=["GET", "POST"])
def close():
    live, account = current_account()
    if account is None:
        return redirect(url_for("login.show"), 303)
    errors = {}
    if request.method == "POST":
        if request.form.get("confirm"):
            closed_on = messages.to_paris(clock.now()).date()
            account.status, account.closed_on = "resigned", closed_on
            db.session.commit()
            current_app.extensions["idp.events"]("account_closed", account_id=account.id)
            revoke_access(account.id)
            session.clear()
            return render_template(
                "flows/notice.html", title=messages.text("title_close_account"),
                notice=messages.text("account_closed_done", on=closed_on),
                links=[(url_for("login.show"), messages.text("link_to_login"))])
        errors["confirm"] = messages.text("close_confirm_required")
    return render_template("flows/account_close.html", errors=errors), 400 if errors else 200
