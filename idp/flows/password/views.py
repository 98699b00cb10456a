"""Thin views of the password change (seed 004) and the forgotten password (FAQ)."""

from __future__ import annotations

from flask import Blueprint, current_app, redirect, render_template, request, session, url_for

from idp import clock, messages
from idp.domain import devices, links, password_change, password_reset
from idp.errors import (
    ChangeCodeLocked,
    ChangeCodeQuotaReached,
    EmailRecentlyChanged,
    EmailRecentlyChangedReset,
    IdpError,
    PasswordLocked,
    ResetLocked,
)
from idp.extensions import limiter
from idp.flows.account.views import current_account
from idp.flows.common import checklist, field_errors
from idp.policy import policy

bp = Blueprint("password", __name__)
SENT_KEY, CONFIRMED_KEY = "password_code_sent", "password_code_ok"
BLOCKING = (ChangeCodeLocked, ChangeCodeQuotaReached, EmailRecentlyChanged)


def _blocked(error: IdpError):
    return render_template(
        "flows/notice.html", title=messages.text("change_blocked_title"),
        # Cas 1 in the seed's order: why a code is needed, then the block (issue 13.2).
        lead=messages.text("change_code_needed") if isinstance(error, ChangeCodeQuotaReached)
        else None, banner=messages.for_error(error),
        links=[(url_for("account.home"), "Retour")]), 403


def _confirmed(sid: str) -> bool:
    mark = session.get(CONFIRMED_KEY)
    return isinstance(mark, dict) and mark.get("sid") == sid and \
        clock.now().timestamp() - float(mark.get("at", 0)) < policy().change_code_ttl.total_seconds()


def _page(live, account, *, errors=None, banner=None, notice=None, status=200):
    step = 2 if _confirmed(live.id) else 1
    return render_template(
        "flows/password_change.html", step=step, sent=session.get(SENT_KEY) == live.id,
        masked_email=messages.mask_email(account.email), errors=errors or {}, banner=banner,
        notice=notice, checklist=checklist()), status


@bp.get("/compte/mot-de-passe")
def change():
    live, account = current_account()
    if account is None:
        return redirect(url_for("login.show"), 303)
    try:
        password_change.refuse_if_blocked(account)
    except BLOCKING as error:
        return _blocked(error)
    if session.get(SENT_KEY) != live.id and not _confirmed(live.id):
        # No code asked yet: "Mon mot de passe" on the account page sends it (seed 004 has no
        # screen before the code, issue 13.2); a GET never sends a mail.
        return redirect(url_for("account.home"), 303)
    return _page(live, account)


@bp.post("/compte/mot-de-passe/code/envoyer")
def send_code():
    live, account = current_account()
    if account is None:
        return redirect(url_for("login.show"), 303)
    try:
        password_change.send_code(account)
    except BLOCKING as error:
        return _blocked(error)
    except IdpError as error:
        return _page(live, account, banner=messages.for_error(error), status=503)
    session[SENT_KEY] = live.id
    session.pop(CONFIRMED_KEY, None)
    return redirect(url_for("password.change"), 303)


@bp.post("/compte/mot-de-passe/code")
def check_code():
    live, account = current_account()
    if account is None:
        return redirect(url_for("login.show"), 303)
    try:
        password_change.check_code(account, request.form.get("code", ""))
    except BLOCKING as error:
        session.pop(SENT_KEY, None)
        return _blocked(error)
    except IdpError as error:
        errors, banner = field_errors(error)
        return _page(live, account, errors=errors, banner=banner, status=400)
    session[CONFIRMED_KEY] = {"sid": live.id, "at": clock.now().timestamp()}
    return redirect(url_for("password.change"), 303)


@bp.post("/compte/mot-de-passe")
def submit():
    live, account = current_account()
    if account is None:
        return redirect(url_for("login.show"), 303)
    if not _confirmed(live.id):
        return redirect(url_for("password.change"), 303)
    form = request.form
    remembered = bool(devices.live_devices(account.id))   # forgotten by the change (13.5)
    try:
        password_change.change(account, current=form.get("current_password", ""),
                               new=form.get("new_password", ""),
                               confirmation=form.get("confirmation", ""), keep_sid=live.id)
    except BLOCKING as error:
        return _blocked(error)
    except PasswordLocked as error:
        session.pop(CONFIRMED_KEY, None)
        return _page(live, account, banner=messages.for_error(error), status=403)
    except IdpError as error:
        errors, banner = field_errors(error)
        return _page(live, account, errors=errors, banner=banner, status=400)
    session.pop(CONFIRMED_KEY, None)
    session.pop(SENT_KEY, None)
    return render_template("flows/notice.html", title="Modifier votre mot de passe",
                           notice=messages.text("password_changed_done"),
                           detail=messages.text("devices_forgotten") if remembered else None,
                           links=[(url_for("account.home"), "Mes informations")])


# -- "Mot de passe oublié ?" ---------------------------------------------------------------

@bp.route("/mot-de-passe-oublie", methods=["GET", "POST"])
@limiter.limit("60 per minute", methods=["POST"])
def forgot():
    form, errors, banner = request.form, {}, None
    if request.method == "POST":
        try:
            password_reset.request(
                form.get("nir", ""), form.get("birthdate", ""),
                make_link=lambda token: links.external("password.reset", token=token))
        except IdpError as error:
            errors, banner = field_errors(error)
        else:
            return render_template("flows/notice.html", title="Mot de passe oublié ?",
                                   notice=messages.text("reset_requested"),
                                   links=[(url_for("login.show"), "J'accède à mon compte ameli")])
    return render_template("flows/password_forgot.html", form=form, errors=errors,
                           banner=banner), 400 if errors or banner else 200


def _reset_limit() -> str:
    return current_app.config["PASSWORD_RESET_RATE_LIMIT_PER_IP"]


@bp.route("/mot-de-passe-oublie/<token>", methods=["GET", "POST"])
@limiter.limit(_reset_limit, methods=["POST"])
def reset(token):
    invalid = render_template("flows/notice.html", title="Mot de passe oublié ?",
                              banner=messages.text("link_invalid"),
                              links=[(url_for("password.forgot"), "Mot de passe oublié ?")]), 400
    row = password_reset.live(token)
    if row is None:
        return invalid
    try:
        password_reset.refuse_if_email_recent(row)
    except EmailRecentlyChangedReset as error:
        return render_template("flows/notice.html", title="Mot de passe oublié ?",
                               banner=messages.for_error(error),
                               links=[(url_for("login.show"), "J'accède à mon compte ameli")]), 403
    errors = {}
    if request.method == "POST":
        try:
            account = password_reset.reset(token, new=request.form.get("new_password", ""),
                                           confirmation=request.form.get("confirmation", ""))
        except ResetLocked as error:
            return render_template("flows/notice.html", title="Mot de passe oublié ?",
                                   banner=messages.for_error(error),
                                   links=[(url_for("login.show"), "J'accède à mon compte ameli")]), 403
        except IdpError as error:
            errors, _ = field_errors(error)
        else:
            if account is None:
                return invalid
            return render_template("flows/notice.html", title="Mot de passe oublié ?",
                                   notice=messages.text("password_reset_done"),
                                   links=[(url_for("login.show"), "J'accède à mon compte ameli")])
    return render_template("flows/password_reset.html", token=token, errors=errors,
                           checklist=checklist()), 400 if errors else 200
