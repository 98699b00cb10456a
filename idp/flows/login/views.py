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
    jsonify,
    make_response,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_limiter.util import get_remote_address

from idp import i18n, interaction, keyed, messages, sessions
from idp.domain.nir import parse_nir
from idp.errors import (
    FlowOutOfStep,
    IdpError,
    InvalidNir,
    PasskeyNotRegistered,
    PasskeyRefused,
)
from idp.extensions import db, limiter
from idp.flows import common as forms
from idp.flows.login import machine
from idp.models import Account, LoginFlow
from idp.policy import policy

bp = Blueprint("login", __name__)
FLOW_KEY = "login_flow"
INTERACTION_KEY = "login_interaction"   # to resume the right request after a stale flow
NOTICE_KEY = "login_notice"
NOTICES = ("flow_expired", "fc_link_code")
# Issue 14: the WebAuthn challenge of this browser's pending ceremony, bound to its flow:
# {"f": flow id, "c": challenge id}, taken once by the answer.
PASSKEY_KEY = "login_passkey"
OFFER_KEY = "login_offer"
PASSKEY_PATHS = ("/login/passkey", "/login/passkey/options", "/login/offer/options",
                 "/login/offer/activate")


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
        key = keyed.nir_key(nir) if nir else None
    else:
        flow = _flow()
        key = machine.nir_key(flow) if flow is not None and flow.nir else None   # the flow's own
    if not key:
        return "ip:" + get_remote_address()
    return "nir:" + key[:32]


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
    account_nir, email = _account_shown(flow)
    step = machine.CREDENTIALS
    if flow is not None:
        step, error = machine.page_step(flow, error)
        if step != flow.step and not form_nir:
            form_nir = flow.nir or ""
    field_errors, banner = forms.field_errors(error) if error is not None else ({}, None)
    html = render_template(
        "flows/login.html", flow=flow, step=step,
        details=details, account_nir=account_nir,
        masked_email=messages.mask_email(email) if email else None,
        banner=banner, field_errors=field_errors, notice=notice,
        marked=error.marks if error is not None and banner else None,
        error_id=error.message_id if error is not None else None,
        form_nir=form_nir or (details.login_hint if details and details.login_hint else ""),
        biometric=_biometrics_here(details),
        franceconnect_enabled=bool(current_app.config.get("FRANCECONNECT_CLIENT_ID"))
        and not (details and details.franceconnect_branding))
    return make_response(html, status)


def _account_shown(flow) -> tuple[str | None, str | None]:
    """The NIR and e-mail address of the flow's account: read with the flow by
    ``machine.load_page``, or here for a step's own flow (its error page)."""
    if flow is None or flow.account_id is None:
        return None, None
    if isinstance(flow, LoginFlow):
        account = db.session.get(Account, flow.account_id)
        return (account.nir, account.email) if account is not None else (None, None)
    return flow.account_nir, flow.account_email


def _biometrics_here(details) -> bool:
    """Whether this page may offer a passkey: the client allows it (``biometric_offer``) and
    the page is served on an origin the passkeys accept (``PASSKEY_ORIGINS``): on
    ``127.0.0.1`` (a WebAuthn RP ID is never an IP address) the browser would refuse every
    ceremony, so neither the button nor the offer is shown there."""
    if details is not None and not details.biometric_offer:
        return False
    return f"{request.scheme}://{request.host}" in current_app.config["PASSKEY_ORIGINS"]


def _notice() -> str | None:
    """The French notice a step left for the next login page (``NOTICE_KEY``), taken once."""
    notice = session.pop(NOTICE_KEY, None)
    return messages.text(notice) if notice in NOTICES else None


@bp.get("/login")
def show():
    iid = request.args.get("interaction")
    flow = machine.load_page(session.get(FLOW_KEY))     # the page only shows it
    notice = _notice()
    if iid is not None and (flow is None or flow.interaction_id != iid):
        if interaction.details(iid) is None:
            return render_template("error.html", message_id="interaction_expired"), 400
        if not interaction.started_here(iid, session):                 # issue 11.3
            return render_template("error.html", message_id="interaction_other_browser"), 403
        return _first_page(iid, notice)
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


def _first_page(iid: str, notice: str | None):
    """The login page of a new pending request ``iid`` that this browser started: a new
    flow for it, moved on at once when the browser's provider session answers the request
    but for consent or the code (``machine.answer_from_session``: a redirect to the page of
    that step), else the credentials page. Shown by GET /login?interaction=<iid>, and by
    GET /authorize itself (``shown_by_authorize``)."""
    flow = _new_flow(iid)
    answered = machine.answer_from_session(flow, sessions.live(session.get("sid")))
    if answered is not None:
        return _go(answered)
    return _page(flow, notice=notice)


def shown_by_authorize(iid: str):
    """``interaction.LOGIN_PAGE``: the login page as the answer of the authorization
    request that has just stored ``iid`` in the transaction open (issue 15: no redirect to
    /login?interaction=<iid>). The flow's insert commits it with the request (both or
    neither); the request's row is held, not read back, and this browser bound it. The
    page's language switch comes back to /login?interaction=<iid>, not to a new
    authorization request (which a POST's parameters are not in, and whose ``ui_locales``
    would choose the language again)."""
    i18n.come_back_to(url_for("login.show", interaction=iid))
    return _first_page(iid, _notice())


@bp.record_once
def _register_the_page(state) -> None:
    state.app.extensions[interaction.LOGIN_PAGE] = shown_by_authorize


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
    return _finish(flow, machine.submit_credentials(
        flow, request.form.get("nir", ""), request.form.get("password", ""),
        request.cookies.get(machine.devices.cookie_name()), browser=session))


@bp.post("/login/code/send")
@limiter.limit(_per_ip)
@limiter.limit(_per_nir, key_func=_nir_limit_key)
def send_code():
    flow = _flow()
    if flow is None or flow.step == machine.DONE:
        return _restart(done=flow is not None)
    machine.send_code(flow)
    return redirect(url_for("login.show"), 303)


@bp.post("/login/code")
@limiter.limit(_per_ip)
@limiter.limit(_per_nir, key_func=_nir_limit_key)
def submit_code():
    flow = _flow()
    if flow is None or flow.step == machine.DONE:
        return _restart(done=flow is not None)
    biometrics = request.form.get("biometrics") or None
    if not _biometrics_here(interaction.details(flow.interaction_id)):
        biometrics = None           # no offer where no passkey can be made (127.0.0.1)
    then = machine.submit_code(flow, request.form.get("code", ""), biometrics=biometrics,
                               browser=session)
    response = _finish(flow, then)
    if request.form.get("remember_device"):
        value, expires = machine.devices.trust(then.result.account_id,
                                               request.user_agent.string or "")
        db.session.commit()
        response.set_cookie(machine.devices.cookie_name(), value, expires=expires, httponly=True,
                            samesite="Lax", secure=current_app.config["SESSION_COOKIE_SECURE"])
        current_app.extensions["idp.events"]("device_trusted", account_id=then.result.account_id)
    return response


@bp.post("/login/consent")
def consent():
    flow = _flow()
    if flow is None or flow.step != machine.CONSENT:
        return _restart()
    return _finish(flow, machine.decide_consent(
        flow, accepted=request.form.get("decision") == "accept", browser=session))


@bp.post("/login/offer")
def offer():
    """The biometrics offer's "Plus tard" and "Ne plus me le rappeler" (a plain form)."""
    flow = _flow()
    if flow is None or flow.step != machine.OFFER:
        return _restart()
    answer = request.form.get("decision")
    return _finish(flow, machine.decide_offer(
        flow, answer if answer in ("later", "never") else "later", browser=session))


# -- biometrics (issue 14): JSON for navigator.credentials, CSRF token in X-CSRFToken ------

def _passkey_ip_limit() -> str:
    p = policy()
    seconds = int(p.wrong_passkey_assertions_ip_window.total_seconds())
    return f"{p.wrong_passkey_assertions_per_ip} per {seconds} second"


def _refused(response) -> bool:
    """Flask-Limiter counts an answer against the per-IP passkey limit only when refused."""
    return response.status_code >= 400


def _json_error(error: IdpError, status: int = 400):
    return jsonify(error=error.message_id, message=messages.for_error(error)), status


def _ceremony(key: str, flow, make_options):
    """The WebAuthn options ``make_options(flow)`` gives, their challenge kept for this flow
    (or for no flow yet: None); a step out of order answers 409."""
    try:
        options = make_options(flow)
    except IdpError as error:
        return _json_error(error, 409)
    session[key] = {"f": flow.id if flow is not None else None, "c": options.challenge_id}
    return jsonify(publicKey=options.public_key)


def _challenge_of(key: str, flow, held=None) -> str | None:
    """The challenge this browser was given for this flow, taken once (``held``: taken
    already)."""
    held = session.pop(key, None) if held is None else held
    if isinstance(held, dict) and held.get("f") == flow.id and isinstance(held.get("c"), str):
        return held["c"]
    return None


def _pending_interaction() -> str | None:
    """The authorization request this browser's login pages serve, if still live."""
    iid = session.get(INTERACTION_KEY)
    return iid if isinstance(iid, str) and interaction.details(iid) else None


def _credential():
    body = request.get_json(silent=True)
    return body.get("credential") if isinstance(body, dict) else None


@bp.post("/login/passkey/options")
@limiter.limit(_per_ip)
def passkey_options():
    """Request options for "Se connecter avec la biométrie" (and conditional mediation),
    bound to this browser's login flow. passkey.js asks them at every view of the page: the
    login page without a request made no flow (issue 11.13), nor do these options (no
    challenge row either, idp.domain.passkeys): the flow is made by the answer."""
    flow = _flow()
    details = interaction.details(flow.interaction_id if flow is not None
                                  else _pending_interaction())
    if details is not None and not details.biometric_offer:
        return _json_error(FlowOutOfStep(), 409)
    return _ceremony(PASSKEY_KEY, flow, machine.passkey_options)


@bp.post("/login/passkey")
@limiter.limit(_passkey_ip_limit, deduct_when=_refused)
@limiter.limit(_per_ip)
def submit_passkey():
    """An assertion: logged in (the address to go to), or the reason in French (the page
    keeps the password form)."""
    flow = _flow()
    held = session.pop(PASSKEY_KEY, None)
    if flow is None:
        if not isinstance(held, dict) or held.get("f") is not None:
            return _json_error(PasskeyRefused(reason="flow"))
        flow = _new_flow(_pending_interaction())     # options asked before any flow
        held["f"] = flow.id
    details = interaction.details(flow.interaction_id)
    if details is not None and not details.biometric_offer:
        return _json_error(PasskeyRefused(reason="client"))
    try:
        then = machine.submit_passkey(flow, _credential(), _challenge_of(PASSKEY_KEY, flow, held))
    except IdpError as error:
        return _json_error(error, 409 if isinstance(error, FlowOutOfStep) else 400)
    return jsonify(location=_destination(then))


@bp.post("/login/offer/options")
@limiter.limit(_per_ip)
def offer_options():
    flow = _flow()
    if flow is None:
        return _json_error(FlowOutOfStep(), 409)
    return _ceremony(OFFER_KEY, flow, machine.offer_options)


@bp.post("/login/offer/activate")
@limiter.limit(_per_ip)
def activate():
    """"Activer": the new passkey's attestation; then the login goes on."""
    flow = _flow()
    if flow is None:
        return _json_error(PasskeyNotRegistered(reason="flow"))
    try:
        then = machine.activate(flow, _credential(), _challenge_of(OFFER_KEY, flow),
                                request.user_agent.string or "")
    except IdpError as error:
        return _json_error(error, 409 if isinstance(error, FlowOutOfStep) else 400)
    return jsonify(location=_destination(then))


def _destination(then: machine.Next) -> str:
    """Where a step's ``Next`` sends the browser: a login on our own pages opens its
    provider session here (a renewed Flask session: no fixation)."""
    if then.kind == machine.Next.PAGE:
        return url_for("login.show")
    if then.kind == machine.Next.THEN:
        return url_for(then.url)
    if then.kind == machine.Next.ACCOUNT:
        sessions.open_for_browser(session, then.result)
        return url_for("account.home")
    return then.url                         # RESUME, REFUSED


def _go(then: machine.Next):
    """Follow a step's ``Next`` (``_destination``) with a redirect."""
    return redirect(_destination(then), 303)


def _finish(flow, then: machine.Next):
    """Follow the ``Next`` of a step that a form posted (``browser=session``): a login that
    has just handed its result to the pending request answers the request here when the
    protocol could (``then.answer``, given in the step's transaction by
    ``interaction.complete_here``: the redirect to the client, one request fewer), else goes
    to the resume URL as ``_go`` does."""
    if then.kind == machine.Next.RESUME and then.answer is not None:
        return then.answer
    return _go(then)


def continue_here(flow, *, notice: str | None = None):
    """A journey hands its login (``flow``, started with ``then_endpoint``) to these pages:
    the code step is theirs, and its end goes back to that endpoint."""
    session[FLOW_KEY] = flow.id
    if notice is not None:
        session[NOTICE_KEY] = notice
    return redirect(url_for("login.show"), 303)


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


@bp.errorhandler(429)
def _too_many(_error):
    """The limits of the JSON endpoints answer JSON, in French; the pages their French page."""
    if request.path in PASSKEY_PATHS:
        return jsonify(error="too_many_requests",
                       message=messages.text("too_many_requests")), 429
    return render_template("error.html", message_id="too_many_requests"), 429


@bp.errorhandler(IdpError)
def _error_page(error: IdpError):
    """The one handler of the login's steps: the same step's page with the error (and the
    NIR as typed); a flow that a concurrent request has just finished (double click) sends
    the browser on instead of showing a stale step."""
    flow = _flow()
    if flow is None:
        return _restart()
    if isinstance(error, FlowOutOfStep):
        db.session.refresh(flow)
        if flow.step == machine.DONE:
            return _restart(done=True)
        return _page(flow, error=error, status=409)
    return _page(flow, error=error, form_nir=request.form.get("nir", ""))


# ``msg`` is a Jinja global too, so that macros imported without context (flows/_fields.html)
# have their sentences (issue 13.6: the password rules' state).
bp.add_app_template_global(messages.text, "msg")


@bp.app_context_processor
def _inject():
    return {"request_id": g.get("request_id"), "help_text": _help_text}


def _help_text(message_id: str):
    """A help sentence of the login pages with the configured links (issue 13.2)."""
    return messages.with_links(message_id, video=current_app.config["HELP_VIDEO_URL"],
                               article=current_app.config["HELP_ARTICLE_URL"])
