"""The protocol's HTTP endpoints: discovery, JWKS, authorize, token, userinfo, revocation,
introspection and RP-initiated logout."""

from __future__ import annotations

import json

from authlib.oauth2.rfc6750.errors import InvalidTokenError
from flask import Blueprint, current_app, redirect, render_template, request, session, url_for

from idp import clock, i18n, interaction, keys, sessions
from idp.extensions import csrf, db
from idp.oidc import authorize as az
from idp.oidc import claims as claims_mod
from idp.oidc import dpop, id_token, logout, tokens
from idp.oidc.server import query_client

bp = Blueprint("oidc", __name__)


def _json(body: bytes | dict, status: int = 200, cache: str = "no-store", headers=None):
    data = body if isinstance(body, bytes) else json.dumps(body, separators=(",", ":")).encode()
    response = current_app.response_class(data, status=status, mimetype="application/json")
    response.headers["Cache-Control"] = cache
    for k, v in (headers or {}).items():
        response.headers[k] = v
    return response


# -- authorize -----------------------------------------------------------------------------

@bp.route("/authorize", methods=["GET", "POST"])
@csrf.exempt
def authorize():
    try:
        params = az.collect_params()
        # Issue 13.7: the pages of this flow in the language the client asks for, the
        # request object's ``ui_locales`` (when signed) over the query's.
        i18n.use_ui_locales(params.get("ui_locales"))
        req = az.validate(params)
        i18n.use_ui_locales(req.params.get("ui_locales"))
    except az.PageError as error:
        return _page_error(error.message_id, error.status)
    except az.AuthError as error:          # raised before a client was verified
        return _page_error("invalid_request", 400, error.description)
    except az.RedirectError as error:
        return az.error_response(error)
    return _decide(req, az.current_session_row())


def _decide(req, live):
    """``live``: the browser's provider session (``az.current_session_row``), or None."""
    reasons = az.login_reasons(req, live)
    if not reasons:
        if az.consent_needed(req, live.account_id):
            if "none" in req.prompts:
                return az.error_response(az.RedirectError(req, "consent_required"))
            return _to_login(req, live)
        sessions.add_client(live, req.client.client_id)
        return az.issue_code(req, _result_of(live), live.id)
    if "none" in req.prompts:
        error = "login_required" if reasons == ["no_session"] or "hint" in reasons or "max_age" in reasons \
            else "interaction_required"
        return az.error_response(az.RedirectError(req, error))
    return _to_login(req, live)


def _result_of(live):
    return interaction.AuthResult(account_id=live.account_id, amr=live.amr, acr=live.acr,
                                  auth_time=live.auth_time)


def _to_login(req, live):
    """A login (or a consent) is needed: the pending request stored, bound to this browser
    (issue 11.3), and the login page of it as this answer (issue 15: the login pages register
    it, ``interaction.start_shown_here``). A request sent by POST (the page, the answer of a
    POST, would be posted again by a reload or the back button), or an app without the login
    pages, is redirected to ``/login?interaction=<id>`` as before."""
    pending, stored = az.pending_request(req, live), az.stored(req)
    browser = interaction.browser_nonce(session)
    if request.method == "GET":
        page = interaction.start_shown_here(pending, stored, browser)
        if page is not None:
            return page
    iid = interaction.start(pending, stored, browser)
    return redirect(f"/login?interaction={iid}", 303)


def _take_here(iid, *, commit: bool = True):
    """The interaction's request and result, once, for the browser that started it only
    (issue 11.3); else the error page to show. ``commit=False``: spent by the caller's commit.
    The plain success in one statement; any other case, nothing written by it, as before."""
    taken = interaction.take_started_here(iid, session, commit=commit)
    if taken is not None:
        return taken, None
    if interaction.details(iid) is not None and not interaction.started_here(iid, session):
        return None, _page_error("interaction_other_browser", 403)
    taken = interaction.take(iid, commit=commit)
    if taken is None:
        return None, _page_error("interaction_expired", 400)
    return taken, None


@bp.get("/authorize/resume/<iid>")
def resume(iid):
    """One transaction: the interaction spent, the provider session opened (or renewed, or
    named the client) and the code stored commit together, or the error the request ends in
    commits the interaction spent; a fault on the way leaves the interaction to be resumed."""
    taken, refused = _take_here(iid, commit=False)
    if refused is not None:
        return refused
    response = _answer_resume(*taken)
    db.session.commit()
    return response


def _answer_resume(stored, result):
    try:
        req = az.restored(stored)       # validated once, at the start
    except az.PageError as error:       # the client or its redirect URI removed since
        return _page_error(error.message_id, error.status)
    refusal = _refusal(req, result)
    if refusal is not None:
        return az.error_response(refusal)
    return _issue(req, result, az.current_session())


def answer_here(iid: str, result):
    """The resume answered by the login's last step (``interaction.complete_here``, issue 15),
    which gives ``result`` to the request: the same take, for the browser that started the
    request only (``take_started_here``), writing the result as it spends the request, and the
    same provider session and code, left to the step's commit; only for the plain success
    answered by a redirect: None (the caller rolls back to before the take, and the browser
    goes to the resume URL) for an error, a ``form_post`` (its page, the answer of a POST,
    would be posted again by a reload: the resume URL's GET answers it), and another person's
    live session (its end commits on its own, so the login would no longer be one
    transaction)."""
    taken = interaction.take_started_here(iid, session, commit=False, result=result)
    if taken is None:
        return None
    stored, result = taken
    try:
        req = az.restored(stored)
    except az.PageError:
        return None
    if req.response_mode == "form_post" or _refusal(req, result) is not None:
        return None
    live = az.current_session()
    if live is not None and live.account_id != result.account_id:
        return None
    return _issue(req, result, live, commit=False)


def _refusal(req, result):
    """Why a resume answers the client with an error (a ``RedirectError``), or None."""
    if result is None:
        return az.RedirectError(req, "access_denied", "The login was not completed.")
    if not az.acr_satisfied(req, result.acr):
        return az.RedirectError(req, "unmet_authentication_requirements")
    if not az.names_the_hinted_person(req, result.account_id):
        # OIDC Core 3.1.2.1, id_token_hint: when the person the hint names is not the one
        # logged in by the request, an error, not a code for somebody else.
        return az.RedirectError(
            req, "login_required", "The person who logged in is not the one 'id_token_hint' names.")
    return None


def _issue(req, result, live, *, commit: bool = True):
    """The provider session ``live`` (the browser's, or None) made to say this login, and
    the code: written with the interaction spent, by the code's commit (``commit=False``: by
    the caller's, a login step's)."""
    if live is None or live.account_id != result.account_id:
        # Another person, or nobody: a new provider session (the other person's ends, and its
        # clients are told), and a new Flask session (no fixation).
        if live is not None:
            logout.end_session(live, how="another_login")
        live = sessions.open_for_browser(session, result, client_id=req.client.client_id)
    elif result.auth_time > live.auth_time or set(result.amr) - set(live.amr or []):
        # The same person authenticated again (prompt=login, max_age, the code of a step-up,
        # even within the same second): the same session, and so the same ``sid`` every client
        # of it knows, now with the new auth_time, amr and acr. Ending it would revoke the other clients' tokens without telling them, and
        # leave them out of the next logout (Back-Channel Logout 1.0 §2.3).
        sessions.reauthenticated(live, result)
        sessions.renew_cookie(session, live.id)
    sessions.add_client(live, req.client.client_id)
    return az.issue_code(req, result, live.id, commit=commit)


@bp.get("/authorize/cancel/<iid>")
def cancel(iid):
    """"Revenir sur FranceConnect" and other cancels: ``access_denied`` with the ``state``."""
    return _access_denied(iid, "The user cancelled the login.")


@bp.get("/authorize/refuse/<iid>")
def refuse(iid):
    """"Refuser" on the consent page (issue 13.4). The description is for the client's
    developers, who tell a refusal from a cancel by it; RFC 6749 §4.1.2.1 allows ASCII only
    there, so it is English, as every error_description we send. The person never sees it."""
    return _access_denied(iid, "The user refused to share the requested information.")


def _access_denied(iid: str, description: str):
    taken, refused = _take_here(iid)
    if refused is not None:
        return refused
    try:
        req = az.restored(taken[0])
    except az.PageError as error:
        return _page_error(error.message_id, error.status)
    return az.error_response(az.RedirectError(req, "access_denied", description))


def _page_error(message_id: str, status: int, detail: str = ""):
    return render_template("oidc/error.html", message_id=message_id, detail=detail), status


# -- token, revocation, introspection ------------------------------------------------------

@bp.post("/token")
@csrf.exempt
def token():
    if "DPoP" in request.headers:
        try:
            dpop.for_token_request()
        except dpop.InvalidDpopProofError as error:
            return _json({"error": error.error, "error_description": error.description}, 400,
                         headers={"Pragma": "no-cache"})
    response = current_app.extensions["idp.server"].create_token_response()
    response.headers["Cache-Control"] = "no-store"
    response.headers["Pragma"] = "no-cache"
    return response


@bp.post("/revoke")
@csrf.exempt
def revoke():
    return current_app.extensions["idp.server"].create_endpoint_response("revocation")


@bp.post("/introspect")
@csrf.exempt
def introspect():
    response = current_app.extensions["idp.server"].create_endpoint_response("introspection")
    response.headers["Cache-Control"] = "no-store"
    return response


# -- userinfo ------------------------------------------------------------------------------

def presented_in_header(header: str) -> tuple[str | None, str]:
    """The access token of an ``Authorization`` header and its scheme: "bearer" or "dpop"."""
    if header[:7].lower() == "bearer ":
        return header[7:].strip(), "bearer"
    if header[:5].lower() == "dpop ":                       # RFC 9449 §7.1
        return header[5:].strip(), "dpop"
    return None, "bearer"


def _bearer() -> tuple[str | None, str]:
    """The access token presented and its scheme: "bearer" (header or form) or "dpop"."""
    from_header, scheme = presented_in_header(request.headers.get("Authorization", ""))
    from_form = request.form.get("access_token") if request.method == "POST" else None
    if from_header and from_form:
        return None, scheme  # RFC 6750 §2: one method only
    return from_header or from_form, scheme


def _invalid_token(description: str, scheme: str = "bearer"):
    """401 invalid_token, its challenge in the scheme the request used (RFC 9449 §7.1)."""
    if scheme == "dpop":
        status, headers, body = dpop.challenge("invalid_token", description)
        return _json(body, status, headers=headers)
    error = InvalidTokenError(description=description, realm="idp")
    status, body, headers = error()
    return _json(dict(body), status, headers=dict(headers))


@bp.route("/userinfo", methods=["GET", "POST"])
@csrf.exempt
def userinfo():
    value, scheme = _bearer()
    if not value:
        response = _json({"error": "invalid_request"}, 401)
        response.headers["WWW-Authenticate"] = 'Bearer realm="idp"'
        if request.headers.get("Authorization"):
            return _invalid_token("Malformed authorization header.")
        return response
    found = tokens.find_bearer(value)
    if found is None:
        return _invalid_token("The access token is invalid, expired or revoked.", scheme)
    plain = plain_userinfo(found, scheme)
    if plain is not None:
        return _json(plain)
    row, account, session_ended_at = found
    if (row.dpop_jkt is not None or scheme == "dpop") and (
            refused := dpop.refusal_at_resource(row, value, scheme, "/userinfo")):
        status, headers, body = refused
        return _json(body, status, headers=headers)
    if "openid" not in row.scope.split() or not tokens.use_access_token(row):
        return _invalid_token("The access token is invalid, expired or revoked.", scheme)
    if session_ended_at is not None:
        return _invalid_token("The session of this token has ended.", scheme)
    client = query_client(row.client_id)
    if client is None:
        return _invalid_token("The access token is no longer valid.", scheme)
    data = claims_mod.user_claims(account, client, row.scope, row.claims, "userinfo")
    sign_alg = client.userinfo_signed_response_alg
    enc_alg = client.userinfo_encrypted_response_alg
    if not sign_alg and not enc_alg:
        return _json(data)
    now = clock.timestamp()
    payload = {**data, "iss": current_app.config["ISSUER"], "aud": client.client_id, "iat": now}
    body = id_token.seal_for(client, payload, sign_alg or "RS256", enc_alg,
                             client.userinfo_encrypted_response_enc)
    response = current_app.response_class(body, mimetype="application/jwt")
    response.headers["Cache-Control"] = "no-store"
    return response


def plain_userinfo(found, scheme: str) -> bytes | None:
    """The JSON claims when the userinfo request is the plain success, else None (the view's
    checks, in order, answer it): a bearer token presented as such, not DPoP-bound, of
    many uses (a single-use one is counted, a write), with ``openid``, of a live session, for
    a known client that wants plain JSON (not signed or encrypted). ``found`` is what
    ``tokens.find_bearer`` read (a live token). The one rule for the view and for
    ``idp.oidc.hot``, which answers this case ahead of Flask."""
    row, account, session_ended_at = found
    if scheme != "bearer" or row.dpop_jkt is not None or row.single_use \
            or session_ended_at is not None or "openid" not in row.scope.split():
        return None
    client = query_client(row.client_id)
    if client is None or client.userinfo_signed_response_alg or client.userinfo_encrypted_response_alg:
        return None
    data = claims_mod.user_claims(account, client, row.scope, row.claims, "userinfo")
    return json.dumps(data, separators=(",", ":")).encode()


# -- RP-initiated logout -------------------------------------------------------------------

@bp.route("/end_session", methods=["GET", "POST"])
@csrf.exempt
def end_session():
    params = request.form if request.method == "POST" else request.args
    i18n.use_ui_locales(params.get("ui_locales"))        # RP-Initiated Logout 1.0 §2
    hint = params.get("id_token_hint")
    client = query_client(params.get("client_id")) if params.get("client_id") else None
    hint_claims = None
    if hint:
        try:
            hint_claims = keys.verify(hint)   # an expired hint is fine (RP-Initiated Logout §2)
        except ValueError:
            return _page_error("logout_bad_hint", 400)
        aud = hint_claims.get("aud")
        audiences = aud if isinstance(aud, list) else [aud]
        if client is None:
            client = query_client(audiences[0]) if audiences else None
        elif client.client_id not in audiences:
            return _page_error("logout_bad_hint", 400)
    target = params.get("post_logout_redirect_uri")
    if target and (client is None or target not in (client.post_logout_redirect_uris or [])):
        return _page_error("logout_bad_redirect", 400)

    live = az.current_session()
    if hint_claims is None and live is not None and not _logout_confirmed():
        # RP-Initiated Logout §2: without an id_token_hint the request may come from any
        # page; the person confirms, by a POST carrying our CSRF token (issue 11.10).
        if request.method == "POST" and request.form.get("decision") == "stay" \
                and _csrf_valid():
            return redirect(url_for("account.home"), 303)
        carried = {k: params[k] for k in LOGOUT_PARAMS if params.get(k) is not None}
        response = current_app.make_response(
            render_template("oidc/logout_confirm.html", carried=carried))
        response.headers["Cache-Control"] = "no-store"
        return response
    browsers_own = live
    hinted_sid = (hint_claims or {}).get("sid")
    if live is None and hinted_sid:
        # The browser no longer carries our session (FranceConnect calls with an old hint):
        # end the session the hint names.
        live = sessions.live(hinted_sid)
    if live is not None:
        logout.end_session(live, client_id=client.client_id if client is not None else None)
    session.pop("sid", None)
    then = None
    if target:
        state = params.get("state")
        sep = "&" if "?" in target else "?"
        then = target + (sep + "state=" + _quote(state) if state is not None else "")
    # The browser's own session opened upstream (FranceConnect): its logout runs first, and
    # comes back to ``then`` (see ``sessions.upstream_logout``).
    upstream = sessions.upstream_logout(browsers_own, then) if browsers_own is not None else None
    if upstream is not None:
        return redirect(upstream, 303)
    if then is not None:
        return redirect(then, 303)
    return render_template("oidc/logged_out.html")


LOGOUT_PARAMS = ("client_id", "post_logout_redirect_uri", "state", "ui_locales")


def _csrf_valid() -> bool:
    from flask_wtf.csrf import validate_csrf
    from wtforms import ValidationError
    try:
        validate_csrf(request.form.get("csrf_token"))
    except ValidationError:
        return False
    return True


def _logout_confirmed() -> bool:
    """The confirmation page's "Me déconnecter": a POST with our CSRF token."""
    return request.method == "POST" and request.form.get("decision") == "logout" and _csrf_valid()


def _quote(value: str) -> str:
    from urllib.parse import quote
    return quote(value, safe="")
