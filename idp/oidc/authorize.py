"""The authorization endpoint (OIDC Core §3.1.2), as a list of small named checks.

Authorization code flow only, by GET or POST; ``response_mode`` query or form_post; PKCE S256
only (required of public clients); request objects (RFC 9101) accepted when signed by the
client's key; ``iss`` in every authorization response, errors included (RFC 9207).

Errors go to the redirect URI only once the client and that URI are verified; before that
they are shown on a French page and never redirected (RFC 6749 §4.1.2.1).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import timedelta
from urllib.parse import urlencode

from authlib.oauth2.rfc6749.errors import OAuth2Error
from flask import current_app, render_template, request, session

from idp import clock, keys, sessions
from idp.domain import eidas
from idp.extensions import db
from idp.interaction import AuthResult, PendingRequest
from idp.models import Account
from idp.oidc import client_keys, tokens
from idp.oidc.server import query_client
from idp.policy import policy

PROMPTS = {"none", "login", "consent", "select_account"}
PKCE_CHALLENGE = re.compile(r"^[A-Za-z0-9\-._~]{43,128}$")
# RFC 9449 §10: an RFC 7638 thumbprint, base64url of a SHA-256 digest (43 characters).
DPOP_JKT = re.compile(r"^[A-Za-z0-9_-]{43}$")
EIDAS_ORDER = eidas.ORDER


class PageError(Exception):
    """An error shown on our own page: no verified redirect URI to send it to."""

    def __init__(self, message_id: str, status: int = 400):
        super().__init__(message_id)
        self.message_id = message_id
        self.status = status


class AuthError(OAuth2Error):
    """An error sent to the verified redirect URI."""

    def __init__(self, error: str, description: str = ""):
        super().__init__(description=description)
        self.error = error


@dataclass
class AuthRequest:
    client: object
    redirect_uri: str
    params: dict
    response_mode: str = "query"
    state: str | None = None
    scope: str = ""
    prompts: set = field(default_factory=set)
    max_age: int | None = None
    claims: dict | None = None
    essential_acr: list | None = None
    acr_values: list | None = None
    hint_subject: str | None = None
    consent_scope: str = ""      # the scopes a consent must cover (``claims`` included)


# -- reading the request -----------------------------------------------------------------

def collect_params() -> dict:
    source = request.form if request.method == "POST" else request.args
    check_size(source.items(multi=True))
    longest = policy().authorize_max_parameter_length
    params = {}
    for key in source:
        values = source.getlist(key)
        if len(values) > 1:
            raise AuthError("invalid_request", f"Parameter '{key}' is repeated.")
        if len(values[0]) > longest and key != "request":
            raise AuthError("invalid_request", f"Parameter '{key}' is too long.")
        params[key] = values[0]
    return params


def check_size(items) -> None:
    """Bound what one request may make us store (issue 11.13): the number of parameters and
    their bytes in all (``Policy.authorize_max_parameters``, ``authorize_max_bytes``)."""
    p = policy()
    count = size = 0
    for key, value in items:
        count += 1
        size += len(key) + len(value if isinstance(value, str) else str(value))
        if count > p.authorize_max_parameters or size > p.authorize_max_bytes:
            raise AuthError("invalid_request", "The authorization request is too large.")


def check_client(params: dict):
    client = query_client(params.get("client_id"))
    if client is None:
        raise PageError("unknown_client")
    return client


def check_redirect(client, redirect_uri: str | None) -> str:
    if not redirect_uri or not client.check_redirect_uri(redirect_uri):
        raise PageError("bad_redirect_uri")
    return redirect_uri


def resolve_request_object(params: dict, client) -> dict:
    """RFC 9101: a signed request object replaces the query parameters; never half-read."""
    if "request_uri" in params:
        raise AuthError("request_uri_not_supported", "Pass the request object by value.")
    if "request" not in params:
        return params
    if not (client.jwks or client.jwks_uri):
        raise AuthError("request_not_supported", "This client has no keys to sign requests.")
    compact = params["request"]
    try:
        header = json.loads(_b64(compact.split(".")[0]))
        alg = header.get("alg")
        expected = getattr(client, "request_object_signing_alg", None)
        if alg in (None, "none") or alg not in keys.SUPPORTED_ALGS or (expected and alg != expected):
            raise ValueError("alg")
        from joserfc import jws
        obj = jws.deserialize_compact(compact, client_keys.verification_keys(client, header.get("kid")),
                                      algorithms=[alg])
        claims = json.loads(obj.payload)
    except Exception:
        raise AuthError("invalid_request_object", "The request object is not signed by this client.") from None
    if not isinstance(claims, dict) or claims.get("client_id") != client.client_id:
        raise AuthError("invalid_request_object", "The request object names another client.")
    check_size(claims.items())
    if "iss" in claims and claims["iss"] != client.client_id:
        raise AuthError("invalid_request_object", "Wrong 'iss' in the request object.")
    aud = claims.get("aud")
    if aud is not None and current_app.config["ISSUER"] not in (aud if isinstance(aud, list) else [aud]):
        raise AuthError("invalid_request_object", "Wrong 'aud' in the request object.")
    if "exp" in claims and (not isinstance(claims["exp"], (int, float)) or claims["exp"] < clock.timestamp()):
        raise AuthError("invalid_request_object", "The request object has expired.")
    if "response_type" in params and claims.get("response_type") not in (None, params["response_type"]):
        raise AuthError("invalid_request_object", "'response_type' differs from the request object.")
    merged = {k: v if isinstance(v, str) else json.dumps(v) for k, v in claims.items()
              if k not in ("iss", "aud", "exp", "iat", "nbf", "jti")}
    merged["client_id"] = client.client_id
    return merged


def _b64(part: str) -> bytes:
    import base64
    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))


def validate(params: dict) -> AuthRequest:
    """Every check of the request; raises PageError, or RedirectError once the client and its
    redirect URI are verified. The redirect URI may come from a signed request object only
    (RFC 9101 §5), so the request object is read before the URI is checked; when it is bad,
    the error is redirected only to a registered ``redirect_uri`` given beside it."""
    client = check_client(params)
    outer = params
    try:
        params = resolve_request_object(params, client)
    except AuthError as error:
        req = AuthRequest(client=client, redirect_uri=check_redirect(client, outer.get("redirect_uri")),
                          params=outer, state=outer.get("state"))
        raise _bound(req, error.error, error.description) from None
    redirect_uri = check_redirect(client, params.get("redirect_uri"))
    req = AuthRequest(client=client, redirect_uri=redirect_uri, params=params,
                      state=params.get("state"))
    mode = params.get("response_mode", "query")
    if mode in ("query", "form_post"):
        req.response_mode = mode
    elif mode:
        raise _bound(req, "invalid_request", "Unsupported 'response_mode'.")
    try:
        if "redirect_uri" in outer and outer["redirect_uri"] != redirect_uri:
            raise AuthError("invalid_request_object", "'redirect_uri' differs from the request object.")
        for check in (check_response_type, check_scope, check_pkce, check_dpop_jkt, check_prompt,
                      check_max_age, check_claims, check_acr, check_nonce, check_id_token_hint):
            check(req)
    except AuthError as error:
        raise _bound(req, error.error, error.description) from None
    return req


def _bound(req: AuthRequest, error: str, description: str = "") -> "RedirectError":
    return RedirectError(req, error, description)


class RedirectError(Exception):
    def __init__(self, req: AuthRequest, error: str, description: str = ""):
        super().__init__(error)
        self.req = req
        self.error = error
        self.description = description


def check_response_type(req):
    rt = req.params.get("response_type")
    if not rt:
        raise AuthError("invalid_request", "Missing 'response_type'.")
    if rt != "code":
        raise AuthError("unsupported_response_type", "Only the authorization code flow is supported.")


def check_scope(req):
    scope = req.client.get_allowed_scope(req.params.get("scope", ""))
    if not scope or "openid" not in scope.split():
        raise AuthError("invalid_scope", "The 'openid' scope is required.")
    req.scope = scope


def check_pkce(req):
    challenge = req.params.get("code_challenge")
    method = req.params.get("code_challenge_method")
    if challenge is None:
        if method:
            raise AuthError("invalid_request", "'code_challenge_method' without 'code_challenge'.")
        if req.client.requires_pkce:
            raise AuthError("invalid_request", "PKCE (S256) is required for this client.")
        return
    if method != "S256":
        raise AuthError("invalid_request", "Only the S256 'code_challenge_method' is supported.")
    if not PKCE_CHALLENGE.match(challenge):
        raise AuthError("invalid_request", "Invalid 'code_challenge'.")


def check_dpop_jkt(req):
    """RFC 9449 §10: ``dpop_jkt`` binds the code to the client's DPoP key (``issue_code``
    stores it; only a proof by that key redeems the code at /token)."""
    jkt = req.params.get("dpop_jkt")
    if jkt is not None and not DPOP_JKT.match(jkt):
        raise AuthError("invalid_request", "Invalid 'dpop_jkt'.")


def check_prompt(req):
    prompts = set((req.params.get("prompt") or "").split())
    if not prompts <= PROMPTS:
        raise AuthError("invalid_request", "Unsupported 'prompt' value.")
    if "none" in prompts and len(prompts) > 1:
        raise AuthError("invalid_request", "'prompt=none' cannot be combined.")
    req.prompts = prompts


def check_max_age(req):
    raw = req.params.get("max_age")
    if raw is None:
        default = getattr(req.client, "default_max_age", None)
        req.max_age = int(default) if default is not None else None
        return
    # ASCII digits only: str.isdigit() accepts "²", which int() then refuses (issue 11.13).
    if not re.fullmatch(r"[0-9]{1,12}", raw) or int(raw) > policy().max_age_limit.total_seconds():
        raise AuthError("invalid_request", "'max_age' must be a non-negative integer in range.")
    req.max_age = int(raw)


def check_claims(req):
    from idp.oidc.claims import consent_scope, within_client
    req.consent_scope = req.scope
    raw = req.params.get("claims")
    if raw is None:
        return
    try:
        claims = json.loads(raw)
    except ValueError:
        raise AuthError("invalid_request", "'claims' is not valid JSON.") from None
    if not isinstance(claims, dict) or any(
            k not in ("userinfo", "id_token") or not isinstance(v, (dict, type(None)))
            for k, v in claims.items()):
        raise AuthError("invalid_request", "'claims' must be an object with userinfo and id_token.")
    req.claims = claims = within_client(claims, req.client)     # issue 11.8
    req.consent_scope = consent_scope(req.scope, claims)
    acr = (claims.get("id_token") or {}).get("acr")
    if isinstance(acr, dict) and acr.get("essential"):
        values = acr.get("values") or ([acr["value"]] if "value" in acr else None)
        req.essential_acr = values or []


def achievable_acrs() -> set[str]:
    return set(current_app.config["ACR_BY_METHOD"].values())


def check_acr(req):
    raw = req.params.get("acr_values")
    if raw:
        req.acr_values = raw.split()
    wanted = req.essential_acr if req.essential_acr else req.acr_values
    if wanted and not (set(wanted) & achievable_acrs()):
        # Never answer with a lower or false acr (FRANCECONNECT.md §8).
        raise AuthError("unmet_authentication_requirements",
                        "The requested authentication level cannot be met.")


def check_nonce(req):
    nonce = req.params.get("nonce")
    if nonce is not None and not nonce:
        raise AuthError("invalid_request", "Empty 'nonce'.")


def check_id_token_hint(req):
    hint = req.params.get("id_token_hint")
    if not hint:
        return
    try:
        claims = keys.verify(hint)
    except ValueError:
        raise AuthError("invalid_request", "'id_token_hint' is not an ID token of ours.") from None
    aud = claims.get("aud")
    if req.client.client_id not in (aud if isinstance(aud, list) else [aud]):
        raise AuthError("invalid_request", "'id_token_hint' was issued to another client.")
    req.hint_subject = claims.get("sub")


# -- deciding: issue now, ask for a login, or fail ----------------------------------------

def login_reasons(req: AuthRequest, live) -> list[str]:
    """Why the current provider session cannot answer this request (empty: it can)."""
    if live is None:
        return ["no_session"]
    reasons = []
    if req.prompts & {"login", "select_account"}:
        reasons.append("prompt")
    if req.max_age is not None and (clock.now() - live.auth_time) > timedelta(seconds=req.max_age):
        reasons.append("max_age")
    if not names_the_hinted_person(req, live.account_id):
        reasons.append("hint")
    if not acr_satisfied(req, live.acr):
        reasons.append("acr")
    if needs_the_code(req, live):
        reasons.append("security_code")
    return reasons


def needs_the_code(req: AuthRequest, live) -> bool:
    """Issue 11.7: a session opened without the e-mailed code (by a client with
    ``require_security_code: false``) does not answer a client that requires it, unless this
    browser is a trusted device of that account (a login here would be spared the code too).
    A passkey login (``mfa``, issue 14) answers it: its second factor is the phone's."""
    from idp.domain import devices
    amr = live.amr or []
    if not req.client.require_security_code or "otp" in amr or "mfa" in amr:
        return False
    cookie = request.cookies.get(devices.COOKIE_NAME)
    return devices.trusted_device(cookie, live.account_id) is None


def names_the_hinted_person(req: AuthRequest, account_id: int) -> bool:
    """Whether this account is the person the ``id_token_hint`` names (true without a hint)."""
    from idp.oidc.claims import subject_for
    if req.hint_subject is None:
        return True
    account = db.session.get(Account, account_id)
    return account is not None and subject_for(account, req.client) == req.hint_subject


def acr_satisfied(req: AuthRequest, acr: str | None) -> bool:
    wanted = req.essential_acr or (req.acr_values if req.acr_values else None)
    if not wanted:
        return True
    if acr in wanted:
        return True
    rank = EIDAS_ORDER.get(acr or "", 0)
    return any(EIDAS_ORDER.get(w, 99) <= rank for w in wanted if w in EIDAS_ORDER)


def consent_needed(req: AuthRequest, account_id: int) -> bool:
    if "consent" in req.prompts:
        return True
    if req.client.skip_consent:
        return False
    return not sessions.has_consent(account_id, req.client.client_id, req.consent_scope)


def pending_request(req: AuthRequest, live) -> PendingRequest:
    """What the login pages may know of ``req``, with the provider session ``live`` (or
    None) this browser has: built here only, once, at the start of the interaction."""
    from idp.oidc.claims import consented_claims
    reasons = login_reasons(req, live) if live else None
    return PendingRequest(
        client_id=req.client.client_id,
        client_name=req.client.client_name or req.client.client_id,
        login_hint=req.params.get("login_hint"),
        require_security_code=bool(req.client.require_security_code),
        franceconnect_branding=bool(getattr(req.client, "franceconnect_branding", False)),
        biometric_offer=bool(getattr(req.client, "biometric_offer", True)),
        scope=req.consent_scope,
        consent_claims=consented_claims(req.consent_scope),
        consent=not req.client.skip_consent,
        prompt_consent="consent" in req.prompts,
        session_account_id=live.account_id if live else None,
        reuse_session=bool(live and not reasons),
        # Only the code is missing (issue 11.7): the login pages ask it of the session's account.
        step_up_account_id=live.account_id if reasons == ["security_code"] else None)


# -- the validated request, stored at the start and read back at the resume ---------------

_STORED = ("redirect_uri", "params", "response_mode", "state", "scope", "max_age", "claims",
           "essential_acr", "acr_values", "hint_subject", "consent_scope")


def stored(req: AuthRequest) -> dict:
    """``req`` as the interaction stores it: every check's outcome, so that the resume (and a
    cancel) answer from it without validating the request again (request object signature,
    ``id_token_hint``, ``exp``: they were verified once, at the start)."""
    return {"client_id": req.client.client_id, "prompts": sorted(req.prompts),
            **{name: getattr(req, name) for name in _STORED}}


def restored(data: dict) -> AuthRequest:
    """The request ``stored()`` kept. Only what may have changed since the start is looked up
    again: the client must still exist and the redirect URI still be registered (cheap
    lookups in clients.yaml); else the request is refused as at the start."""
    client = check_client(data)
    check_redirect(client, data["redirect_uri"])
    return AuthRequest(client=client, prompts=set(data["prompts"]),
                       **{name: data[name] for name in _STORED})


# -- responses ---------------------------------------------------------------------------

def respond(req: AuthRequest, values: dict):
    """Send parameters to the client by its response mode, with ``iss`` (RFC 9207)."""
    values = {**values, "iss": current_app.config["ISSUER"]}
    if req.state is not None:
        values["state"] = req.state
    if req.response_mode == "form_post":
        response = current_app.make_response(
            (render_template("oidc/form_post.html", action=req.redirect_uri, values=values), 200))
        response.headers["Cache-Control"] = "no-store"
        return response
    separator = "&" if "?" in req.redirect_uri else "?"
    response = current_app.redirect(req.redirect_uri + separator + urlencode(values), 303)
    response.headers["Cache-Control"] = "no-store"
    return response


def error_response(exc: RedirectError):
    values = {"error": exc.error}
    if exc.description:
        values["error_description"] = exc.description
    return respond(exc.req, values)


def issue_code(req: AuthRequest, result: AuthResult, sid: str, *, commit: bool = True):
    """The code, stored in one commit with what the caller changed on the provider session
    (``sessions.add_client``); ``commit=False``: left to the caller's commit."""
    from idp import keyed
    code = keyed.token(32)
    now = clock.now()
    tokens.save_code(
        code, client_id=req.client.client_id, account_id=result.account_id,
        redirect_uri=req.redirect_uri, scope=req.scope, nonce=req.params.get("nonce"),
        claims=req.claims, code_challenge=req.params.get("code_challenge"),
        code_challenge_method=req.params.get("code_challenge_method"),
        auth_time=result.auth_time, acr=result.acr, amr=result.amr, sid=sid,
        expires_at=now + policy().authorization_code_ttl, dpop_jkt=req.params.get("dpop_jkt"),
        commit=commit)
    return respond(req, {"code": code})


def current_session():
    return sessions.live(session.get("sid"))


def current_session_row():
    """The browser's live provider session as GET /authorize decides by it: a row read alone
    (``sessions.live_row``), not an ORM object."""
    return sessions.live_row(session.get("sid"))
