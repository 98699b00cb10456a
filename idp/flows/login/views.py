"""Thin views over the login machine (``idp.flows.login``): load the flow, call one step,
render the new step's page or redirect. A browser at the wrong step is shown the right one.

Cookies never block anybody (seed 004 FAQ, "The requested url is rejected"): a session cookie
that does not verify is an empty session (Flask), a flow id that no longer names a live flow
starts a clean journey with a French notice, and a bad trust cookie only means "ask the code".
"""

from __future__ import annotations

from flask import (
    Blueprint,
    current_app,
    g,
    make_response,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_limiter.util import get_remote_address

from idp import interaction, keyed, messages, sessions
from idp.domain.nir import parse_nir
from idp.errors import FlowOutOfStep, IdpError, InvalidNir
from idp.extensions import db, limiter
from idp.flows import common as forms
from idp.flows.login import machine
from idp.models import Account

bp = Blueprint("login", __name__)
FLOW_KEY = "login_flow"
INTERACTION_KEY = "login_interaction"   # to resume the right request after a stale flow
NOTICE_KEY = "login_notice"
# A journey that needs a complete login of its own (the FranceConnect link, issue 11.1):
# {"flow": id, "endpoint": where the browser goes once that flow is done, "result": …}.
THEN_KEY = "login_then"
NOTICES = ("flow_expired", "fc_link_code")


def _per_ip() -> str:
    return current_app.config["LOGIN_RATE_LIMIT_PER_IP"]


def _per_nir() -> str:
    return current_app.config["LOGIN_RATE_LIMIT_PER_NIR"]


def _nir_limit_key() -> str:
    """Flask-Limiter's key for "per NIR": the typed NIR (normalised, so that spaces do not
    make a new bucket), else the flow's; keyed-hashed so that Redis never holds a NIR."""
    raw = request.form.get("nir")
    if raw is not None:
        try:
            nir = parse_nir(raw).number
        except InvalidNir:
            nir = "".join(ch for ch in raw if ch.isalnum())[:13].upper()
    else:
        flow = _flow()
        nir = flow.nir if flow is not None else None
    if not nir:
        return "ip:" + get_remote_address()
    return "nir:" + keyed.nir_key(nir)[:32]


def _flow():
    return machine.load(session.get(FLOW_KEY))


def _new_flow(iid: str | None):
    flow = machine.start(iid)
    session[FLOW_KEY] = flow.id
    if iid is None:
        session.pop(INTERACTION_KEY, None)
    else:
        session[INTERACTION_KEY] = iid
    return flow


def _page(flow, *, error: IdpError | None = None, status: int = 200, notice: str | None = None,
          form_nir: str = ""):
    details = interaction.details(flow.interaction_id) if flow else None
    account = db.session.get(Account, flow.account_id) if flow and flow.account_id else None
    step = machine.CREDENTIALS
    if flow is not None:
        step, error = machine.page_step(flow, error)
        if step != flow.step and not form_nir:
            form_nir = flow.nir or ""
    field_errors, banner = forms.field_errors(error) if error is not None else ({}, None)
    html = render_template(
        "flows/login.html", flow=flow, step=step,
        details=details, account=account,
        masked_email=messages.mask_email(account.email) if account and account.email else None,
        banner=banner, field_errors=field_errors, notice=notice,
        marked=error.marks if error is not None and banner else None,
        error_id=error.message_id if error is not None else None,
        form_nir=form_nir or (details.login_hint if details and details.login_hint else ""),
        franceconnect_enabled=bool(current_app.config.get("FRANCECONNECT_CLIENT_ID"))
        and not (details and details.franceconnect_branding))
    return make_response(html, status)


@bp.get("/login")
def show():
    iid = request.args.get("interaction")
    flow = _flow()
    notice = session.pop(NOTICE_KEY, None)
    notice = messages.text(notice) if notice in NOTICES else None
    if iid is not None and (flow is None or flow.interaction_id != iid):
        if interaction.details(iid) is None:
            return render_template("error.html", message_id="interaction_expired"), 400
        if not interaction.started_here(iid, session):                 # issue 11.3
            return render_template("error.html", message_id="interaction_other_browser"), 403
        flow = _new_flow(iid)
        consenting = _consent_for_live_session(flow) or _step_up_for_live_session(flow)
        if consenting is not None:
            return consenting
    elif flow is None:
        # A login without a pending request: its flow is made when the form is submitted
        # (issue 11.13: a cookie-less GET wrote a row each time).
        if session.pop(FLOW_KEY, None):
            notice = messages.text("flow_expired")
        session.pop(INTERACTION_KEY, None)
        return _page(None, notice=notice)
    if flow.step == machine.DONE:
        flow = _new_flow(flow.interaction_id if interaction.details(flow.interaction_id) else None)
    return _page(flow, notice=notice)


def _consent_for_live_session(flow):
    """The provider session already answers the request and only consent is missing: ask it
    without a new login (the session's own result goes on to the relying party)."""
    details = interaction.details(flow.interaction_id)
    live = sessions.live(session.get("sid"))
    if (details is None or not details.reuse_session or live is None
            or live.account_id != details.session_account_id):
        return None
    result = interaction.AuthResult(account_id=live.account_id, amr=live.amr, acr=live.acr,
                                    auth_time=live.auth_time)
    machine.advance(flow, allowed={machine.CREDENTIALS}, to=machine.CONSENT,
                    account_id=live.account_id)
    session["pending_result"] = result.to_json()
    return redirect(url_for("login.show"), 303)


def _step_up_for_live_session(flow):
    """The provider session answers the request but for the e-mailed code (issue 11.7): the
    code page of the session's account, without asking its password again. When that account
    can no longer log in, the full login (which says why) is shown instead."""
    details = interaction.details(flow.interaction_id)
    live = sessions.live(session.get("sid"))
    if (details is None or details.step_up_account_id is None or live is None
            or live.account_id != details.step_up_account_id):
        return None
    try:
        machine.start_step_up(flow, live.account_id)
    except IdpError:
        return None
    return redirect(url_for("login.show"), 303)


@bp.get("/login/restart")
def restart():
    """"Changer de numéro de sécurité sociale": the same request, a clean journey."""
    flow = _flow()
    iid = flow.interaction_id if flow is not None else session.get(INTERACTION_KEY)
    _new_flow(iid if isinstance(iid, str) and interaction.details(iid) else None)
    return redirect(url_for("login.show"), 303)


@bp.post("/login")
@limiter.limit(_per_ip)
@limiter.limit(_per_nir, key_func=_nir_limit_key)
def submit_credentials():
    flow = _flow()
    if flow is None and not session.get(FLOW_KEY):
        flow = _new_flow(None)        # the login page without a request made no flow
    if flow is None or flow.step == machine.DONE:
        return _restart(done=flow is not None)
    form_nir = request.form.get("nir", "")
    try:
        outcome = machine.submit_credentials(flow, form_nir, request.form.get("password", ""),
                                             request.cookies.get(machine.devices.cookie_name()))
    except IdpError as error:
        return _error_page(flow, error, form_nir=form_nir)
    if outcome.needs_code:
        return redirect(url_for("login.show"), 303)
    return _finish(flow, machine.authenticated(flow, outcome.account, method=outcome.method))


@bp.post("/login/code/send")
@limiter.limit(_per_ip)
@limiter.limit(_per_nir, key_func=_nir_limit_key)
def send_code():
    flow = _flow()
    if flow is None or flow.step == machine.DONE:
        return _restart(done=flow is not None)
    try:
        machine.send_code(flow)
    except IdpError as error:
        return _error_page(flow, error)
    return redirect(url_for("login.show"), 303)


@bp.post("/login/code")
@limiter.limit(_per_ip)
@limiter.limit(_per_nir, key_func=_nir_limit_key)
def submit_code():
    flow = _flow()
    if flow is None or flow.step == machine.DONE:
        return _restart(done=flow is not None)
    try:
        account = machine.submit_code(flow, request.form.get("code", ""))
    except IdpError as error:
        return _error_page(flow, error)
    result = machine.authenticated(flow, account, method="pwd_mail")
    response = _finish(flow, result)
    if request.form.get("remember_device"):
        value, expires = machine.devices.trust(account.id, request.user_agent.string or "")
        db.session.commit()
        response.set_cookie(machine.devices.cookie_name(), value, expires=expires, httponly=True,
                            samesite="Lax", secure=current_app.config["SESSION_COOKIE_SECURE"])
        current_app.extensions["idp.events"]("device_trusted", account_id=account.id)
    return response


@bp.post("/login/consent")
def consent():
    flow = _flow()
    if flow is None or flow.step != machine.CONSENT:
        return _restart()
    pending = session.get("pending_result")
    details = interaction.details(flow.interaction_id)
    if not pending or details is None:
        return _restart()
    result = interaction.AuthResult.from_json(pending)
    if request.form.get("decision") != "accept":
        return redirect(details.refuse_url, 303)
    sessions.grant_consent(result.account_id, details.client_id, details.scope)
    return _complete(flow, result)


def _finish(flow, result):
    details = interaction.details(flow.interaction_id)
    if details is not None and details.consent and not sessions.has_consent(
            result.account_id, details.client_id, details.scope) or (
            details is not None and details.prompt_consent):
        machine.advance(flow, allowed={machine.CREDENTIALS, machine.CODE_OFFERED, machine.CODE_SENT},
                        to=machine.CONSENT)
        session["pending_result"] = result.to_json()
        return redirect(url_for("login.show"), 303)
    return _complete(flow, result)


def then_go_to(flow, endpoint: str) -> None:
    """Once ``flow`` (a login with no authorization request) is done, hand its result to
    ``endpoint`` instead of opening the account page."""
    session[FLOW_KEY] = flow.id
    session[THEN_KEY] = {"flow": flow.id, "endpoint": endpoint}


def result_for(endpoint: str) -> tuple[str, interaction.AuthResult] | None:
    """(flow id, result) of a login done for ``endpoint``, once."""
    then = session.pop(THEN_KEY, None)
    if not isinstance(then, dict) or then.get("endpoint") != endpoint or "result" not in then:
        return None
    return then["flow"], interaction.AuthResult.from_json(then["result"])


def _complete(flow, result):
    resume = machine.finish(flow, result)
    session.pop("pending_result", None)
    if resume is not None:
        return redirect(resume, 303)
    then = session.get(THEN_KEY)
    if isinstance(then, dict) and then.get("flow") == flow.id:
        session[THEN_KEY] = {**then, "result": result.to_json()}
        return redirect(url_for(then["endpoint"]), 303)
    # A login on our own pages: the session is renewed and opened here.
    sessions.renew_cookie(session, machine.open_direct_session(result))
    return redirect(url_for("account.home"), 303)


def _restart(*, done: bool = False):
    """A POST whose flow is gone (expired, deleted, a session cookie that did not verify):
    a clean journey for the same authorization request when it is still live, and a notice
    saying so in French. Nothing is counted. A flow already done (the second request of a
    double click) is not "expired": the login page simply opens again."""
    iid = session.get(INTERACTION_KEY)
    session.pop(FLOW_KEY, None)
    if not done:
        session[NOTICE_KEY] = "flow_expired"
    if isinstance(iid, str) and interaction.details(iid) is not None:
        return redirect(url_for("login.show", interaction=iid), 303)
    return redirect(url_for("login.show"), 303)


def _error_page(flow, error: IdpError, *, form_nir: str = ""):
    """The same step's page with the error; a flow that a concurrent request has just
    finished (double click) sends the browser on instead of showing a stale step."""
    if isinstance(error, FlowOutOfStep):
        db.session.refresh(flow)
        if flow.step == machine.DONE:
            return _restart(done=True)
        return _page(flow, error=error, status=409)
    return _page(flow, error=error, form_nir=form_nir)


# ``msg`` is a Jinja global too, so that macros imported without context (flows/_fields.html)
# have their sentences (issue 13.6: the password rules' state).
bp.add_app_template_global(messages.text, "msg")


@bp.app_context_processor
def _inject():
    return {"msg": messages.text, "request_id": g.get("request_id"), "help_text": _help_text}


def _help_text(message_id: str):
    """A help sentence of the login pages with the configured links (issue 13.2)."""
    return messages.with_links(message_id, video=current_app.config["HELP_VIDEO_URL"],
                               article=current_app.config["HELP_ARTICLE_URL"])
