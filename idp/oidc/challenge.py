"""``POST /authorize-challenge``: OAuth 2.0 for First-Party Applications
(draft-ietf-oauth-first-party-apps) for the ameli app's biometric sign-in, without a browser.

Only a client registered ``first_party: true`` (a public client: the app) may use it, and
only with a passkey; the password and the e-mailed code are only ever typed on the
provider's pages. Two requests, form-encoded:

1. ``client_id``, ``code_challenge`` (PKCE, ``code_challenge_method=S256`` required),
   ``scope`` → 400 ``insufficient_authorization`` with an ``auth_session`` and, an
   extension of ours, ``passkey_request_options``: the WebAuthn request options (the JSON
   form for ``PublicKeyCredential.parseRequestOptionsFromJSON``, or the platform's passkey
   API) for a discoverable credential of this RP ID.
2. ``client_id``, ``auth_session`` and ``passkey_assertion`` (the AuthenticationResponseJSON,
   as a JSON string) → 200 ``{"authorization_code": …}``, which ``/token`` exchanges with the
   ``code_verifier`` (no ``redirect_uri``: none was used). The code is stored as the
   authorization endpoint's are, with ``amr`` ``["pop", "mfa"]``, the ``acr`` of
   ``ACR_BY_METHOD["passkey"]`` and ``auth_time`` now.

The ``auth_session`` is signed (itsdangerous, a salt of its own) over the client, the PKCE
challenge, the scope, the id of the passkey challenge and, when the first request carried a
DPoP proof, its key's thumbprint (the second must then be made with the same key, and the code
is bound to it as by ``dpop_jkt``, RFC 9449 §10: only a proof by that key redeems it); it lives
``Policy.passkey_challenge_ttl``. It is single use because the passkey challenge is: the
domain records it once, as the first assertion arrives, whatever the outcome, so a replayed
``auth_session`` finds it spent. A session that does not verify (forged, expired, another client's) is
``invalid_session``.

Anything else answers ``redirect_to_web`` (400): a client not first party, ``prompt=login``
(the person asks for the password), an ``acr_values`` a passkey does not meet, no assertion,
a refused, expired, revoked, locked or cloned passkey, an unusable account. The app then
opens ``/authorize`` in the system browser. Rate limited per IP as the login.
"""

from __future__ import annotations

import json

from flask import Blueprint, current_app, request
from itsdangerous import BadData, URLSafeTimedSerializer

from idp import clock, interaction, keyed
from idp.domain import accounts, passkeys
from idp.errors import IdpError
from idp.extensions import csrf, limiter
from idp.oidc import dpop, tokens
from idp.oidc.authorize import PKCE_CHALLENGE
from idp.oidc.server import query_client
from idp.policy import policy

bp = Blueprint("challenge", __name__)
PATH = "/authorize-challenge"
_SALT = "idp/authorize-challenge"


def _per_ip() -> str:
    return current_app.config["LOGIN_RATE_LIMIT_PER_IP"]


def _answer(body: dict, status: int = 400):
    response = current_app.response_class(json.dumps(body, separators=(",", ":")),
                                          status=status, mimetype="application/json")
    response.headers["Cache-Control"] = "no-store"
    return response


def _error(error: str, description: str, status: int = 400, **extra):
    return _answer({"error": error, "error_description": description, **extra}, status)


def _to_web(description: str):
    """draft-ietf-oauth-first-party-apps §5.2.2: the client starts the code flow in a browser."""
    return _error("redirect_to_web", description)


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=_SALT)


@bp.post(PATH)
@csrf.exempt
@limiter.limit(_per_ip)
def authorize_challenge():
    form = request.form
    client = query_client(form.get("client_id"))
    if client is None:
        return _error("invalid_client", "Unknown client.", 401)
    if not client.first_party or not client.is_public:
        return _to_web("This client signs in through the browser.")
    jkt = None
    if "DPoP" in request.headers:
        try:
            jkt = dpop.check_proof("POST", PATH)
        except dpop.ProofError as error:
            return _error("invalid_dpop_proof", error.description)
    if form.get("auth_session") is None:
        return _start(client, form, jkt)
    return _finish(client, form, jkt)


def _start(client, form, jkt):
    if "login" in (form.get("prompt") or "").split():
        return _to_web("A login with the password was asked.")
    if form.get("code_challenge_method") != "S256" or not form.get("code_challenge"):
        return _error("invalid_request", "PKCE with code_challenge_method S256 is required.")
    challenge = form["code_challenge"]
    if not PKCE_CHALLENGE.match(challenge):
        return _error("invalid_request", "The code_challenge is malformed.")
    acr = interaction.acr_for(passkeys.METHOD)
    asked = (form.get("acr_values") or "").split()
    if asked and acr not in asked:
        return _to_web("The requested acr_values need the login in the browser.")
    scope = client.get_allowed_scope(form.get("scope") or client.scope)
    options = passkeys.authentication_options()
    session = _serializer().dumps({"c": client.client_id, "pkce": challenge, "scope": scope,
                                   "ch": options.challenge_id, "jkt": jkt})
    return _error("insufficient_authorization", "Sign in with the passkey.",
                  auth_session=session, passkey_request_options=options.public_key)


def _finish(client, form, jkt):
    try:
        state = _serializer().loads(form["auth_session"],
                                    max_age=policy().passkey_challenge_ttl.total_seconds())
    except BadData:
        return _error("invalid_session", "The auth_session is unknown or expired.")
    if not isinstance(state, dict) or state.get("c") != client.client_id:
        return _error("invalid_session", "The auth_session is unknown or expired.")
    if state.get("jkt") is not None and state["jkt"] != jkt:
        return _error("invalid_dpop_proof", "The auth_session is bound to another DPoP key.")
    assertion = form.get("passkey_assertion")
    if not assertion:
        return _to_web("No passkey assertion.")
    try:
        login = passkeys.verify_authentication(assertion, challenge_id=state["ch"])
        account = passkeys.usable_account(login)
    except IdpError as refusal:
        return _to_web(f"The passkey did not sign in ({type(refusal).__name__}).")
    code = keyed.token(32)
    now = clock.now()
    tokens.save_code(
        code, client_id=client.client_id, account_id=account.id, redirect_uri="",
        scope=state["scope"], nonce=None, claims=None, code_challenge=state["pkce"],
        code_challenge_method="S256", auth_time=now,
        acr=interaction.acr_for(passkeys.METHOD),
        amr=list(login.amr), sid=None, expires_at=now + policy().authorization_code_ttl,
        dpop_jkt=state.get("jkt"))
    accounts.record_login(account.id)
    current_app.extensions["idp.events"]("login_succeeded", account_id=account.id,
                                         amr=list(login.amr), client_id=client.client_id,
                                         via="authorize_challenge")
    return _answer({"authorization_code": code}, 200)
