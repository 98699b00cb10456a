"""The "S'identifier avec FranceConnect" journey: our provider as FranceConnect's relying party.

```
login page ──button (POST /franceconnect/login)──► FranceConnect ──► /franceconnect/callback
callback ──state, tokens and userinfo valid──► account by fc_sub ──────────────► logged in
                                          └──► reconciled (one person, active account) ─┘
                                          └──► /franceconnect/link: a complete login (the
                                               login machine: password, then code or a
                                               trusted device) of the pivot's own person
                                               ──► /franceconnect/link/done ─┘
callback ──anything refused──► a French explanation and the local login
logout (/end_session) of a FranceConnect session ──► FranceConnect's end_session
    ──► /franceconnect/logout-callback (state checked) ──► where the logout was going
```

The login machine (``idp.flows.login``) and the login pages run the linking login, with their
locks, counters and quotas; this module never checks a password or a code itself. Every link
made is mailed to the account's owner (``idp.domain.franceconnect.link``).
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
from idp.errors import IdpError
from idp.extensions import db, limiter
from idp.flows import common as forms
from idp.flows.franceconnect import upstream as fc
from idp.flows.login import machine, views
from idp.models import Account

bp = Blueprint("franceconnect", __name__, url_prefix="/franceconnect")
PENDING_KEY = "fc_pending"        # state, nonce and interaction of the login under way
LINK_KEY = "fc_link"              # a validated FranceConnect login waiting for its account
LOGOUT_KEY = "fc_logout"          # state and destination of the logout under way
LINK_SECONDS = 600                # a FranceConnect login waits this long for its account


def _callback_url() -> str:
    return current_app.config["ISSUER"] + url_for("franceconnect.callback")


def _pending_interaction() -> str | None:
    flow = views._flow()
    iid = flow.interaction_id if flow is not None else session.get(views.INTERACTION_KEY)
    return iid if isinstance(iid, str) and interaction.details(iid) is not None else None


def _explain(message_id: str, status: int = 400, *, iid: str | None = None):
    """What went wrong, in French, and the way back to the local login."""
    iid = iid or _pending_interaction()
    login_url = url_for("login.show", interaction=iid) if iid else url_for("login.show")
    return render_template("flows/franceconnect.html", message=messages.text(message_id),
                           login_url=login_url, link_form=False), status


@bp.post("/login")
def start():
    if not fc.configured():
        return _explain("fc_unavailable", 404)
    state, nonce = fc.fresh_secret(), fc.fresh_secret()
    try:
        url = fc.authorization_url(redirect_uri=_callback_url(), state=state, nonce=nonce)
    except fc.UpstreamRefused as refused:
        return _explain(refused.message_id, 502)
    session[PENDING_KEY] = {"state": state, "nonce": nonce, "interaction": _pending_interaction()}
    session.pop(LINK_KEY, None)
    return redirect(url, 303)


@bp.get("/callback")
def callback():
    pending = session.pop(PENDING_KEY, None)
    state = request.args.get("state")
    if not isinstance(pending, dict) or not state or not hmac.compare_digest(
            state.encode(), str(pending.get("state", "")).encode()):
        return _explain("fc_state_mismatch")
    iid = pending.get("interaction")
    if request.args.get("error"):
        return _explain("fc_cancelled", 200, iid=iid)
    try:
        upstream = fc.exchange(code=request.args.get("code", ""), redirect_uri=_callback_url(),
                               nonce=pending["nonce"])
    except fc.UpstreamRefused as refused:
        current_app.extensions["idp.events"]("franceconnect_refused", cause=refused.message_id)
        return _explain(refused.message_id, 502 if refused.message_id == "fc_unavailable" else 400,
                        iid=iid)
    account = fc_links.account_for_sub(upstream.sub)
    if account is None:
        account, why = fc_links.reconcile(upstream.identity)
        if account is None or not fc_links.link(account, upstream.sub):
            session[LINK_KEY] = {"sub": upstream.sub, "acr": upstream.acr, "amr": upstream.amr,
                                 "id_token": upstream.id_token, "interaction": iid,
                                 "identity": fc_links.identity_digest(upstream.identity),
                                 "why": why or "fc_no_account", "at": clock.timestamp()}
            return redirect(url_for("franceconnect.link"), 303)
        current_app.extensions["idp.events"]("franceconnect_linked", account_id=account.id,
                                             how="registry")
    return _log_in(account, upstream, iid)


def _pending_link() -> dict | None:
    pending = session.get(LINK_KEY)
    if not isinstance(pending, dict) or clock.timestamp() - pending.get("at", 0) > LINK_SECONDS:
        session.pop(LINK_KEY, None)
        return None
    return pending


def _link_refused(message_id: str, account: Account, iid: str | None):
    session.pop(LINK_KEY, None)
    current_app.extensions["idp.events"]("franceconnect_refused", cause=message_id,
                                         account_id=account.id)
    return _explain(message_id, 403, iid=iid)


@bp.route("/link", methods=["GET", "POST"])
@limiter.limit(views._per_ip, methods=["POST"])
@limiter.limit(views._per_nir, key_func=views._nir_limit_key, methods=["POST"])
def link():
    """A complete login — the login machine's password step, then its e-mailed code unless a
    trusted device spares it — ties the FranceConnect identity to the account, when that
    identity is the account's person (issue 11.1). The code step is the login page's own;
    ``link_done`` takes its result."""
    pending = _pending_link()
    if pending is None:
        return _explain("fc_link_expired")
    iid = pending.get("interaction")
    iid = iid if iid and interaction.details(iid) is not None else None
    error, form_nir = None, ""
    if request.method == "POST":
        form_nir = request.form.get("nir", "")
        flow = machine.start(None)      # no authorization request: the code is always asked
        try:
            outcome = machine.submit_credentials(
                flow, form_nir, request.form.get("password", ""),
                request.cookies.get(devices.COOKIE_NAME))
        except IdpError as failed:
            error = failed
        else:
            if not fc_links.identity_matches(outcome.account, pending.get("identity")):
                return _link_refused("fc_identity_mismatch", outcome.account, iid)
            if not fc_links.may_link(outcome.account, pending["sub"]):
                return _link_refused("fc_already_linked", outcome.account, iid)
            session[LINK_KEY] = {**pending, "flow": flow.id}
            views.then_go_to(flow, "franceconnect.link_done")
            if outcome.needs_code:
                session[views.NOTICE_KEY] = "fc_link_code"
                return redirect(url_for("login.show"), 303)
            return views._finish(flow, machine.authenticated(flow, outcome.account,
                                                             method=outcome.method))
    field_errors, banner = forms.field_errors(error) if error is not None else ({}, None)
    return render_template(
        "flows/franceconnect.html", message=messages.text(pending.get("why", "fc_no_account")),
        intro=messages.text("fc_link_intro"), link_form=True, field_errors=field_errors,
        banner=banner, form_nir=form_nir,
        marked=error.marks if error is not None and banner else None,
        login_url=url_for("login.show", interaction=iid) if iid else url_for("login.show"))


@bp.get("/link/done")
def link_done():
    """The login of ``link`` is complete: the link is made, the FranceConnect session opens."""
    done, pending = views.result_for("franceconnect.link_done"), _pending_link()
    if done is None or pending is None or pending.get("flow") != done[0]:
        session.pop(LINK_KEY, None)
        return _explain("fc_link_expired")
    iid = pending.get("interaction")
    iid = iid if iid and interaction.details(iid) is not None else None
    account = db.session.get(Account, done[1].account_id)
    if account is None or not fc_links.identity_matches(account, pending.get("identity")):
        return _explain("fc_link_expired")
    if not fc_links.link(account, pending["sub"]):
        return _link_refused("fc_already_linked", account, iid)
    session.pop(LINK_KEY, None)
    current_app.extensions["idp.events"]("franceconnect_linked", account_id=account.id,
                                         how="login")
    upstream = fc.Upstream(sub=pending["sub"], acr=pending["acr"], amr=pending["amr"],
                           id_token=pending["id_token"], identity={})
    return _log_in(account, upstream, iid)


def _log_in(account: Account, upstream: fc.Upstream, iid: str | None):
    """The session says it came through FranceConnect: amr ``fc`` first, the upstream acr."""
    try:
        accounts.refuse_if_unusable(account)
    except IdpError as unusable:
        return render_template("flows/franceconnect.html", message=messages.for_error(unusable),
                               login_url=url_for("login.show"), link_form=False), 403
    amr = ["fc", *[a for a in upstream.amr if a != "fc"]]
    result = interaction.AuthResult(account_id=account.id, amr=amr, acr=upstream.acr,
                                    auth_time=clock.now().replace(microsecond=0))
    accounts.record_login(account.id)
    fc.remember_login(account.id, upstream, result.auth_time)
    current_app.extensions["idp.events"]("login_succeeded", account_id=account.id, amr=amr)
    if iid and interaction.complete(iid, result):
        session.pop(views.FLOW_KEY, None)
        return redirect(interaction.resume_url(iid), 303)
    sessions.renew_cookie(session, sessions.open_session(result).id)
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
