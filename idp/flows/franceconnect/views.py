"""The "S'identifier avec FranceConnect" pages: thin views over its journey
(``idp.flows.franceconnect.machine``, whose docstring draws it) and its upstream client
(``upstream``). Every link made is mailed to the account's owner
(``idp.domain.franceconnect.link``).

```
logout (/end_session) of a FranceConnect session ──► FranceConnect's end_session
    ──► /franceconnect/logout-callback (state checked) ──► where the logout was going
```
"""

from __future__ import annotations

import hmac

from flask import (
    Blueprint,
    current_app,
    redirect,
    render_template,
    request,
    session,
    url_for,
)

from idp import clock, interaction, messages, sessions
from idp.domain import accounts, devices
from idp.domain import franceconnect as fc_links
from idp.errors import FlowOutOfStep, IdpError
from idp.extensions import db, limiter
from idp.flows import common as forms
from idp.flows.franceconnect import machine
from idp.flows.franceconnect import upstream as fc
from idp.flows.login import machine as login
from idp.flows.login import views as login_views
from idp.models import Account

bp = Blueprint("franceconnect", __name__, url_prefix="/franceconnect")
LOGOUT_KEY = "fc_logout"          # state and destination of the logout under way


def _callback_url() -> str:
    return current_app.config["ISSUER"] + url_for("franceconnect.callback")


def _pending_interaction() -> str | None:
    flow = login_views._flow()
    iid = flow.interaction_id if flow is not None else session.get(login_views.INTERACTION_KEY)
    return iid if isinstance(iid, str) and interaction.details(iid) is not None else None


def _login_url(iid: str | None) -> str:
    return url_for("login.show", interaction=iid) if iid else url_for("login.show")


def _explain(message_id: str, status: int = 400, *, iid: str | None = None):
    """What went wrong, in French, and the way back to the local login."""
    return render_template("flows/franceconnect.html", message=messages.text(message_id),
                           login_url=_login_url(iid or _pending_interaction()),
                           link_form=False), status


@bp.errorhandler(IdpError)
def _error_page(error: IdpError):
    """The one handler of the journey's pages: the link form again with a login error beside
    its fields; else the error explained (an account that may not log in, a step gone)."""
    flow = machine.linking(machine.current())
    if flow is not None and request.endpoint == "franceconnect.link" \
            and not isinstance(error, FlowOutOfStep):
        return _link_page(flow, error=error)
    status = 400 if isinstance(error, FlowOutOfStep) else 403
    return render_template("flows/franceconnect.html", message=messages.for_error(error),
                           login_url=_login_url(machine.interaction_of(flow)),
                           link_form=False), status


@bp.post("/login")
def start():
    if not fc.configured():
        return _explain("fc_unavailable", 404)
    flow, state, nonce = machine.begin(_pending_interaction())
    try:
        url = fc.authorization_url(redirect_uri=_callback_url(), state=state, nonce=nonce)
    except fc.UpstreamRefused as refused:
        machine.end(flow, allowed={machine.UPSTREAM})
        return _explain(refused.message_id, 502)
    return redirect(url, 303)


@bp.get("/callback")
def callback():
    flow = machine.returning(request.args.get("state"))
    if flow is None:
        return _explain("fc_state_mismatch")
    iid = machine.interaction_of(flow)
    if request.args.get("error"):
        machine.end(flow, allowed={machine.UPSTREAM})
        return _explain("fc_cancelled", 200, iid=iid)
    nonce = flow.data["nonce"]
    db.session.commit()     # no transaction (on SQLite, a write lock) held while FC answers
    try:
        upstream = fc.exchange(code=request.args.get("code", ""), redirect_uri=_callback_url(),
                               nonce=nonce)
    except fc.UpstreamRefused as refused:
        machine.end(flow, allowed={machine.UPSTREAM})
        current_app.extensions["idp.events"]("franceconnect_refused", cause=refused.message_id)
        return _explain(refused.message_id, 502 if refused.message_id == "fc_unavailable" else 400,
                        iid=iid)
    account = fc_links.account_for_sub(upstream.sub)
    if account is None:
        account, why = fc_links.reconcile(upstream.identity)
        if account is None or not fc_links.link(account, upstream.sub):
            machine.to_link(flow, upstream, why or "fc_no_account")
            return redirect(url_for("franceconnect.link"), 303)
        current_app.extensions["idp.events"]("franceconnect_linked", account_id=account.id,
                                             how="registry")
    machine.end(flow, allowed={machine.UPSTREAM})
    return _log_in(account, upstream, iid)


def _link_refused(flow, message_id: str, account: Account):
    iid = machine.interaction_of(flow)
    machine.end(flow, allowed={machine.LINK, machine.LINKING})
    current_app.extensions["idp.events"]("franceconnect_refused", cause=message_id,
                                         account_id=account.id)
    return _explain(message_id, 403, iid=iid)


def _link_page(flow, *, error: IdpError | None = None):
    field_errors, banner = forms.field_errors(error) if error is not None else ({}, None)
    return render_template(
        "flows/franceconnect.html", message=messages.text(flow.data.get("why", "fc_no_account")),
        intro=messages.text("fc_link_intro"), link_form=True, field_errors=field_errors,
        banner=banner, form_nir=request.form.get("nir", ""),
        marked=error.marks if error is not None and banner else None,
        login_url=_login_url(machine.interaction_of(flow)))


@bp.route("/link", methods=["GET", "POST"])
@limiter.limit(login_views._per_ip, methods=["POST"])
@limiter.limit(login_views._per_nir, key_func=login_views._nir_limit_key, methods=["POST"])
def link():
    """A complete login — the login machine's password step, then its e-mailed code unless a
    trusted device spares it — ties the FranceConnect identity to the account, when that
    identity is the account's person (issue 11.1). The code step is the login page's own;
    ``link_done`` takes its result."""
    flow = machine.linking(machine.current())
    if flow is None:
        return _explain("fc_link_expired")
    if request.method == "GET":
        return _link_page(flow)
    # No authorization request: the code is always asked (or spared by a trusted device).
    attempt = login.start(None, then_endpoint=machine.LINK_DONE)
    then = login.submit_credentials(attempt, request.form.get("nir", ""),
                                    request.form.get("password", ""),
                                    request.cookies.get(devices.cookie_name()))
    refused = machine.vet(flow, db.session.get(Account, attempt.account_id))
    if refused is not None:
        return _link_refused(flow, refused, db.session.get(Account, attempt.account_id))
    machine.to_linking(flow, attempt.id)
    if then.kind == login.Next.PAGE:
        return login_views.continue_here(attempt, notice="fc_link_code")
    return redirect(url_for(machine.LINK_DONE), 303)


@bp.get("/link/done")
def link_done():
    """The login of ``link`` is complete: the link is made, the FranceConnect session opens."""
    flow = machine.linking(machine.current())
    result = login.result_for(flow.subject if flow is not None else None, machine.LINK_DONE)
    if flow is None or result is None:
        return _explain("fc_link_expired")
    account = db.session.get(Account, result.account_id)
    if account is None or not fc_links.identity_matches(account, flow.data.get("identity")):
        return _explain("fc_link_expired")
    iid = machine.interaction_of(flow)
    upstream = machine.take_link(flow, result)
    if not fc_links.link(account, upstream.sub):
        current_app.extensions["idp.events"]("franceconnect_refused", cause="fc_already_linked",
                                             account_id=account.id)
        return _explain("fc_already_linked", 403, iid=iid)
    current_app.extensions["idp.events"]("franceconnect_linked", account_id=account.id,
                                         how="login")
    # The linking login was recorded (and audited) by the login machine: not twice.
    return _log_in(account, upstream, iid, recorded=True)


def _log_in(account: Account, upstream: fc.Upstream, iid: str | None, *, recorded: bool = False):
    """The session says it came through FranceConnect: amr ``fc`` first, the upstream acr."""
    accounts.refuse_if_unusable(account)       # the error handler says why
    amr = ["fc", *[a for a in upstream.amr if a != "fc"]]
    result = interaction.AuthResult(account_id=account.id, amr=amr, acr=upstream.acr,
                                    auth_time=clock.now().replace(microsecond=0))
    fc.remember_login(account.id, upstream, result.auth_time)
    if not recorded:
        accounts.record_login(account.id)
        current_app.extensions["idp.events"]("login_succeeded", account_id=account.id, amr=amr)
    if iid and interaction.complete(iid, result):
        session.pop(login_views.FLOW_KEY, None)
        return redirect(interaction.resume_url(iid), 303)
    sessions.open_for_browser(session, result)
    return redirect(url_for("account.home"), 303)


# -- logout: ours, then FranceConnect's ------------------------------------------------------

@bp.record_once
def _register_upstream_logout(state):
    sessions.register_upstream_logout(state.app, _franceconnect_logout)


def _franceconnect_logout(ended, then: str | None) -> str | None:
    """Once our ``end_session`` has ended a session opened through FranceConnect, the browser
    goes on to FranceConnect's ``end_session``; it comes back to ``logout_callback``, which
    sends it on to ``then``."""
    if "fc" not in (ended.amr or []) or not fc.configured():
        return None
    login = fc.login_of(ended.account_id, ended.auth_time)
    state = fc.fresh_secret()
    url = fc.logout_url(login, state=state, post_logout_redirect_uri=current_app.config["ISSUER"]
                        + url_for("franceconnect.logout_callback")) if login else None
    if url is None:
        return None
    session[LOGOUT_KEY] = {"state": state, "then": then}
    return url


@bp.get("/logout-callback")
def logout_callback():
    pending = session.pop(LOGOUT_KEY, None)
    state = request.args.get("state")
    if not isinstance(pending, dict) or not state or not hmac.compare_digest(
            state.encode(), str(pending.get("state", "")).encode()):
        return _explain("fc_logout_state")
    if pending.get("then"):
        return redirect(pending["then"], 303)
    return render_template("oidc/logged_out.html")
