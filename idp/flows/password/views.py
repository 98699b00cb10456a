"""Thin views of the password change (seed 004; its steps are ``machine.py``'s) and of the
forgotten password (FAQ)."""

from __future__ import annotations

from flask import Blueprint, current_app, redirect, render_template, request, url_for

from idp import messages
from idp.domain import devices, links, password_change, password_reset
from idp.errors import (
    ChangeCodeQuotaReached,
    EmailRecentlyChangedReset,
    IdpError,
    MailNotSent,
    PasswordLocked,
    ResetLocked,
)
from idp.extensions import limiter
from idp.flows.account.views import current_account
from idp.flows.common import checklist, field_errors
from idp.flows.password import machine
from idp.policy import policy

bp = Blueprint("password", __name__)
BLOCKING = machine.BLOCKING


@bp.errorhandler(IdpError)
def _refused(error: IdpError):
    """A refusal of the domain: the page of the step again, under its sentence."""
    if request.endpoint == "password.forgot":
        errors, banner = field_errors(error)
        return render_template("flows/password_forgot.html", form=request.form, errors=errors,
                               banner=banner), 400
    if request.endpoint == "password.reset":
        if isinstance(error, (ResetLocked, EmailRecentlyChangedReset)):
            return _notice(banner=messages.for_error(error), status=403)
        errors, _ = field_errors(error)
        return render_template("flows/password_reset.html", token=request.view_args["token"],
                               errors=errors, checklist=checklist()), 400
    live, account = current_account()
    if account is None:
        return redirect(url_for("login.show"), 303)
    if isinstance(error, BLOCKING):
        return _blocked(error)
    if isinstance(error, PasswordLocked):
        return _page(live, account, banner=messages.for_error(error), status=403)
    if request.endpoint == "password.send_code" or isinstance(error, MailNotSent):
        return _page(live, account, banner=messages.for_error(error), status=503)
    errors, banner = field_errors(error)
    return _page(live, account, errors=errors, banner=banner, status=400)


def _blocked(error: IdpError):
    return render_template(
        "flows/notice.html", title=messages.text("change_blocked_title"),
        # Cas 1 in the seed's order: why a code is needed, then the block (issue 13.2).
        lead=messages.text("change_code_needed") if isinstance(error, ChangeCodeQuotaReached)
        else None, banner=messages.for_error(error),
        links=[(url_for("account.home"), messages.text("link_back"))]), 403


def _page(live, account, *, errors=None, banner=None, notice=None, status=200):
    step = machine.step(machine.load(live.id))
    return render_template(
        "flows/password_change.html", step=2 if step == machine.CONFIRMED else 1,
        sent=step in (machine.CODE_SENT, machine.CONFIRMED),
        masked_email=messages.mask_email(account.email), errors=errors or {}, banner=banner,
        notice=notice, checklist=checklist()), status


@bp.get("/compte/mot-de-passe")
def change():
    live, account = current_account()
    if account is None:
        return redirect(url_for("login.show"), 303)
    password_change.refuse_if_blocked(account)
    if machine.step(machine.load(live.id)) in (None, machine.NEW):
        # No code asked yet: "Mon mot de passe" on the account page sends it (seed 004 has no
        # screen before the code, issue 13.2); a GET never sends a mail.
        return redirect(url_for("account.home"), 303)
    return _page(live, account)


@bp.post("/compte/mot-de-passe/code/envoyer")
def send_code():
    live, account = current_account()
    if account is None:
        return redirect(url_for("login.show"), 303)
    machine.send_code(live.id, account)
    return redirect(url_for("password.change"), 303)


@bp.post("/compte/mot-de-passe/code")
def check_code():
    live, account = current_account()
    if account is None:
        return redirect(url_for("login.show"), 303)
    flow = machine.load(live.id)
    if machine.step(flow) != machine.CODE_SENT:
        password_change.refuse_if_blocked(account)
        return redirect(url_for("password.change"), 303)
    machine.check_code(flow, account, request.form.get("code", ""))
    return redirect(url_for("password.change"), 303)


@bp.post("/compte/mot-de-passe")
def submit():
    live, account = current_account()
    if account is None:
        return redirect(url_for("login.show"), 303)
    flow = machine.load(live.id)
    if machine.step(flow) != machine.CONFIRMED:
        return redirect(url_for("password.change"), 303)
    form = request.form
    remembered = bool(devices.live_devices(account.id))   # forgotten by the change (13.5)
    machine.change(flow, account, current=form.get("current_password", ""),
                   new=form.get("new_password", ""), confirmation=form.get("confirmation", ""),
                   keep_sid=live.id)
    return render_template("flows/notice.html", title=messages.text("title_change_password"),
                           notice=messages.text("password_changed_done"),
                           detail=messages.text("devices_forgotten") if remembered else None,
                           links=[(url_for("account.home"), messages.text("link_my_information"))])


# -- "Mot de passe oublié ?" ---------------------------------------------------------------

def _notice(*, notice=None, banner=None, status=200, forgot_link=False):
    link = (url_for("password.forgot"), messages.text("link_forgot")) if forgot_link \
        else (url_for("login.show"), messages.text("link_to_login"))
    return render_template("flows/notice.html", title=messages.text("title_forgot"),
                           notice=notice, banner=banner, links=[link]), status


def _forgot_limit() -> str:
    return f"{policy().reset_request_posts_per_minute} per minute"


@bp.route("/mot-de-passe-oublie", methods=["GET", "POST"])
@limiter.limit(_forgot_limit, methods=["POST"])
def forgot():
    form = request.form
    if request.method == "POST":
        password_reset.request(
            form.get("nir", ""), form.get("birthdate", ""),
            make_link=lambda token: links.external("password.reset", token=token))
        return _notice(notice=messages.text("reset_requested"))
    return render_template("flows/password_forgot.html", form=form, errors={}, banner=None)


def _reset_limit() -> str:
    return current_app.config["PASSWORD_RESET_RATE_LIMIT_PER_IP"]


@bp.route("/mot-de-passe-oublie/<token>", methods=["GET", "POST"])
@limiter.limit(_reset_limit, methods=["POST"])
def reset(token):
    invalid = _notice(banner=messages.text("link_invalid"), status=400, forgot_link=True)
    row = password_reset.live(token)
    if row is None:
        return invalid
    password_reset.refuse_if_email_recent(row)
    if request.method == "POST":
        account = password_reset.reset(token, new=request.form.get("new_password", ""),
                                       confirmation=request.form.get("confirmation", ""))
        if account is None:
            return invalid
        return _notice(notice=messages.text("password_reset_done"))
    return render_template("flows/password_reset.html", token=token, errors={},
                           checklist=checklist())
