"""Authlib's authorization server, wired to our stores: the token endpoint (authorization
code and refresh grants, PKCE, client authentication), revocation and introspection.

Where Authlib's defaults depart from the specs, the provider follows the specs:
* PKCE: only S256 (RFC 9700 §2.1.1); a missing ``code_verifier`` when a challenge was sent is
  ``invalid_grant`` (RFC 7636 §4.6: the verification failed), and a verifier without a
  challenge is refused (downgrade, RFC 9700 §4.8.2).
* A replayed code fails and revokes what it issued; refresh tokens rotate and a reuse
  revokes the family (``idp.oidc.tokens``).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from authlib.integrations.flask_oauth2 import AuthorizationServer
from authlib.oauth2.rfc6749 import grants
from authlib.oauth2.rfc6749.errors import InvalidClientError, InvalidGrantError, InvalidRequestError
from authlib.oauth2.rfc7009 import RevocationEndpoint
from authlib.oauth2.rfc7523 import JWTBearerClientAssertion
from authlib.oauth2.rfc7523.client import ASSERTION_TYPE
from authlib.oauth2.rfc7636 import CodeChallenge
from authlib.oauth2.rfc7636.challenge import CODE_VERIFIER_PATTERN, compare_s256_code_challenge
from authlib.oauth2.rfc7662 import IntrospectionEndpoint
from flask import current_app

from idp import clock, keyed, keys
from idp.domain import limits
from idp.extensions import db
from idp.models import Account, Token
from idp.oidc import client_keys, dpop, id_token, tokens
from idp.ops import audit
from idp.policy import policy

AUTH_METHODS = ["client_secret_basic", "client_secret_post", "private_key_jwt", "none"]
# Introspection answers authenticated clients only (discovery says so; issue 11.16).
INTROSPECTION_AUTH_METHODS = [m for m in AUTH_METHODS if m != "none"]


def registry():
    holder = current_app.extensions["idp.clients"]
    return holder.current


def query_client(client_id):
    if not isinstance(client_id, str):
        return None
    return registry().get(client_id)


# -- what a stored row looks like to Authlib ---------------------------------------------

class _CodeView:
    def __init__(self, row):
        self.row = row
        self.code_challenge = row.code_challenge
        self.code_challenge_method = row.code_challenge_method

    def get_redirect_uri(self):
        return self.row.redirect_uri

    def get_scope(self):
        return self.row.scope

    def get_nonce(self):
        return self.row.nonce


class _RefreshView:
    def __init__(self, row: Token):
        self.row = row

    def get_scope(self):
        return self.row.scope

    def check_client(self, client):
        return self.row.client_id == client.client_id


class _TokenView:
    """What revocation and introspection see of a token row (and its account)."""

    def __init__(self, row: Token, kind: str, account: Account):
        self.row = row
        self.kind = kind
        self.account = account

    def check_client(self, client):
        return self.row.client_id == client.client_id

    def get_scope(self):
        return self.row.scope

    def is_expired(self):
        now = clock.now()
        if self.kind == "access_token":
            return self.row.access_expires_at <= now
        return self.row.refresh_expires_at is None or self.row.refresh_expires_at <= now

    def is_revoked(self):
        if self.kind == "access_token":
            return self.row.revoked_at is not None or (
                self.row.single_use and self.row.access_used_at is not None)
        return not tokens.refresh_usable(self.row)


# -- grants --------------------------------------------------------------------------------

class AuthorizationCodeGrant(grants.AuthorizationCodeGrant):
    TOKEN_ENDPOINT_AUTH_METHODS = AUTH_METHODS

    def query_authorization_code(self, code, client):
        try:
            row = tokens.consume_code(code, client.client_id, dpop.presented_jkt())
        except tokens.CodeBoundToAnotherKey:         # RFC 9449 §10
            raise dpop.InvalidDpopProofError(
                "The DPoP proof is not made with the key of the authorization request's "
                "dpop_jkt.") from None
        return _CodeView(row) if row is not None else None

    def delete_authorization_code(self, authorization_code):
        pass  # consumed atomically in query_authorization_code

    def authenticate_user(self, authorization_code):
        return tokens.find_account(authorization_code.row.account_id)

    def save_token(self, token):
        issue(token, self.request.client, self.request.user, code=self.request.authorization_code.row)

    def save_authorization_code(self, code, request):  # the authorize endpoint saves its own
        raise NotImplementedError


class RefreshTokenGrant(grants.RefreshTokenGrant):
    TOKEN_ENDPOINT_AUTH_METHODS = AUTH_METHODS
    INCLUDE_NEW_REFRESH_TOKEN = True

    def authenticate_refresh_token(self, refresh_token):
        row = tokens.find_refresh_token(refresh_token)
        if row is None:
            return None
        if row.rotated_at is not None:
            tokens.revoke_reused_family(row)   # a rotated token came back: the family is stolen
            return None
        if not tokens.refresh_usable(row):
            return None
        client = self.request.client
        if row.dpop_jkt is not None and row.client_id == client.client_id \
                and dpop.binds_refresh_token(client):
            dpop.require_for(client, row.dpop_jkt)    # before the rotation: a thief cannot burn it
        return _RefreshView(row)

    def authenticate_user(self, refresh_token):
        row = refresh_token.row       # read with its account and its session's end
        if tokens.session_over(row):
            return None  # logged out: the refresh token ended with the session
        if not tokens.rotate_refresh_token(row):
            raise InvalidGrantError("The refresh token was already used.")
        return tokens.AccountView(row)

    def save_token(self, token):
        issue(token, self.request.client, self.request.user, previous=self.request.refresh_token.row)

    def revoke_old_credential(self, refresh_token):
        pass  # rotated in authenticate_user


def plain_refresh(client, value: str) -> dict | None:
    """The refresh grant's plain success, for ``idp.oidc.hot``: ``client`` authenticated by
    the method it registered (one method), not DPoP-bound, allowed the grant; the form
    holding ``grant_type`` and ``refresh_token`` only (no scope: the granted one), no proof.
    None, with nothing written, whenever ``RefreshTokenGrant`` would not issue as is: an
    unknown, rotated (a reuse: the grant revokes the family), expired, revoked or
    DPoP-bound token, another client's, a session ended, or another request rotating it
    first; the grant then answers, with its error and its revocation. Else the token
    response, committed with the rotation, the new row and the audit row (``issue``)."""
    row = tokens.find_refresh_token(value)
    if row is None or row.client_id != client.client_id or row.dpop_jkt is not None \
            or not tokens.refresh_usable(row) or tokens.session_over(row):
        return None
    return _issued_ahead(RefreshTokenGrant.GRANT_TYPE, client, row,
                         RefreshTokenGrant.INCLUDE_NEW_REFRESH_TOKEN, previous=row, rotating=True)


def plain_code(client, code: str, redirect_uri: str, verifier: str | None) -> dict | None:
    """The authorization-code grant's plain success, for ``idp.oidc.hot``: ``client``
    authenticated by the method it registered (one method), not DPoP-bound, allowed the
    grant; the form holding ``grant_type``, ``code``, ``redirect_uri`` and ``code_verifier``
    (``verifier``), or, for a code asked without PKCE (a confidential client may: ``Pkce``
    requires it of public clients only), the same without ``code_verifier`` (None), and
    nothing else, no proof. None, with nothing written (the code not spent), whenever
    ``AuthorizationCodeGrant`` would not issue as is: an unknown, used (a replay: the grant
    revokes what the code gave), expired or DPoP-bound code, another client's, another
    ``redirect_uri``, a verifier for a code without an S256 challenge or none for a code
    with a challenge, a verifier that does not match it, or another request spending it
    first; the grant then answers, with its error and its revocation. Else the token
    response, committed with the code spent, the new row and the audit row (``issue``)."""
    row = tokens.find_code(code)
    if row is None or row.client_id != client.client_id or row.used_at is not None \
            or row.expires_at <= clock.now() or row.dpop_jkt is not None \
            or row.redirect_uri != redirect_uri:
        return None
    if verifier is None:
        if row.code_challenge:       # Pkce's invalid_grant: the verification failed
            return None
    elif row.code_challenge_method != "S256" or not row.code_challenge \
            or not CODE_VERIFIER_PATTERN.match(verifier) \
            or not compare_s256_code_challenge(verifier, row.code_challenge):
        return None
    return _issued_ahead(AuthorizationCodeGrant.GRANT_TYPE, client, row,
                         client.check_grant_type("refresh_token"), code=row, spending=True)


def _issued_ahead(grant_type: str, client, row, include_refresh_token: bool, **how) -> dict | None:
    """The tokens of a plain success ahead of Flask, as the grant makes them, for the account
    of the joined ``row``, issued (``issue(**how)``) and committed; None, nothing written,
    when another request rotated or spent the credential first."""
    token = current_app.extensions["idp.server"].generate_bearer(
        grant_type, client, scope=row.scope, include_refresh_token=include_refresh_token)
    try:
        if not issue(token, client, tokens.AccountView(row), **how):
            db.session.rollback()
            return None
    except Exception:
        db.session.rollback()
        raise
    return token


class Pkce(CodeChallenge):
    SUPPORTED_CODE_CHALLENGE_METHOD = ["S256"]

    def validate_code_verifier(self, grant, result):
        request = grant.request
        row = request.authorization_code.row
        verifier = request.form.get("code_verifier")
        if row.code_challenge and not verifier:
            raise InvalidGrantError("Missing 'code_verifier': PKCE verification failed.")
        if not row.code_challenge and verifier:
            raise InvalidRequestError("A 'code_verifier' was sent for a code issued without PKCE.")
        return super().validate_code_verifier(grant, result)


class PrivateKeyJwt(JWTBearerClientAssertion):
    """``private_key_jwt`` (RFC 7523 §3, OIDC Core §9), with what Authlib leaves to us
    (issue 11.16): the assertion is signed with the client's registered
    ``token_endpoint_auth_signing_alg`` (else one we publish); it claims at most
    ``Policy.client_assertion_max_lifetime``; its times are checked with
    ``Policy.client_assertion_leeway``; its ``jti`` is remembered until its ``exp`` (plus
    that leeway)."""

    CLIENT_AUTH_METHOD = "private_key_jwt"

    def __init__(self, issuer, leeway: timedelta):
        super().__init__(validate_jti=True, leeway=int(leeway.total_seconds()))
        self.issuer = issuer

    def __call__(self, query_client, request):
        assertion = request.form.get("client_assertion")
        if request.form.get("client_assertion_type") == ASSERTION_TYPE and assertion:
            headers, claims = self.extract_assertion(assertion)
            client = query_client(claims.get("sub")) if isinstance(claims.get("sub"), str) else None
            if client is not None:
                registered = client.token_endpoint_auth_signing_alg
                allowed = [registered] if registered else list(keys.SUPPORTED_ALGS)
                if headers.get("alg") not in allowed:
                    raise InvalidClientError(
                        description="The client assertion is not signed with the registered algorithm.")
        return super().__call__(query_client, request)

    def get_audiences(self):
        # RFC 7523 §3: the token endpoint URL; the issuer is accepted too (OIDC Core §9).
        return [f"{self.issuer}/token", self.issuer]

    def verify_claims(self, claims):
        exp = claims.get("exp")
        longest = policy().client_assertion_max_lifetime.total_seconds()
        if isinstance(exp, (int, float)) and not isinstance(exp, bool) \
                and exp - clock.timestamp() > longest:
            raise InvalidClientError(description="The client assertion claims too long a life.")
        super().verify_claims(claims)   # iat in the future is refused there (joserfc)

    def validate_jti(self, claims, jti):
        """A client assertion is single use: its jti is recorded once (a primary key, so two
        concurrent uses cannot both pass), until the assertion expires (plus the clock-skew
        leeway it is accepted with); the purge forgets it only then."""
        return limits.first_use(
            keyed.digest("assertion-jti", f"{claims.get('iss')}|{jti}"), "assertion-jti",
            forget_at=datetime.fromtimestamp(claims["exp"] + self.leeway, UTC))

    def resolve_client_public_key(self, client):
        try:
            return client_keys.verification_keys(client)
        except client_keys.KeysUnavailable:      # issue 11.12: RFC 6749's answer, not a 500
            raise InvalidClientError(description="The client's keys cannot be fetched.") from None


# -- revocation and introspection --------------------------------------------------------

def token_view(token_string):
    found = tokens.find_any(token_string)
    if found is None:
        return None
    row, account, kind = found
    return _TokenView(row, kind, account)


class Revocation(RevocationEndpoint):
    CLIENT_AUTH_METHODS = AUTH_METHODS

    def query_token(self, token_string, token_type_hint):
        return token_view(token_string)

    def revoke_token(self, token, request):
        # Revoking either half ends the grant: the family goes (RFC 7009 §2.1 allows it).
        tokens.revoke_family(token.row)
        current_app.extensions["idp.events"]("token_revoked", client_id=token.row.client_id,
                                             account_id=token.row.account_id)


class Introspection(IntrospectionEndpoint):
    CLIENT_AUTH_METHODS = INTROSPECTION_AUTH_METHODS

    def query_token(self, token_string, token_type_hint):
        return token_view(token_string)

    def check_permission(self, token, client, request):
        # A client may introspect only its own tokens (RFC 7662 §4: no token scanning).
        return token.row.client_id == client.client_id

    def introspect_token(self, token):
        return introspection_answer(token)


def introspection_answer(token: _TokenView) -> dict:
    """RFC 7662 §2.2: what introspection says of a token the asking client owns."""
    row = token.row
    now = clock.now()
    if token.kind == "access_token":
        active = (row.revoked_at is None and row.access_expires_at > now
                  and not (row.single_use and row.access_used_at is not None))
        exp = row.access_expires_at
    else:
        active = tokens.refresh_usable(row, now)
        exp = row.refresh_expires_at
    if not active:
        return {"active": False}
    client = query_client(row.client_id)
    account = token.account
    bound = row.dpop_jkt is not None and (
        token.kind == "access_token" or (client is not None and dpop.binds_refresh_token(client)))
    answer = {
        "active": True, "scope": row.scope, "client_id": row.client_id,
        "token_type": ("refresh_token" if token.kind != "access_token"
                       else "DPoP" if bound else "Bearer"),
        "exp": int(exp.timestamp()), "iat": int(row.issued_at.timestamp()),
        "sub": id_token.subject(account, client), "aud": row.client_id,
        "iss": current_app.config["ISSUER"],
    }
    if bound:
        answer["cnf"] = {"jkt": row.dpop_jkt}          # RFC 9449 §6.2
    return answer


# -- client authentication ---------------------------------------------------------------

def presented_auth_methods(request) -> list[str]:
    """The client authentication methods a request carries (whether or not they verify)."""
    form = request.form
    header = request.headers.get("Authorization") or ""
    found = []
    if header[:6].lower() == "basic ":
        found.append("client_secret_basic")
    if form.get("client_secret") is not None:
        found.append("client_secret_post")
    if form.get("client_assertion") is not None or form.get("client_assertion_type") is not None:
        found.append("private_key_jwt")
    return found


# -- the server --------------------------------------------------------------------------

class Server(AuthorizationServer):
    def __init__(self, app):
        super().__init__()
        self.init_app(app, query_client=query_client, save_token=_saved_by_the_grants)
        issuer = app.config["ISSUER"]
        self.register_grant(AuthorizationCodeGrant, [Pkce(required=True)])
        self.register_grant(RefreshTokenGrant)
        leeway = app.extensions["idp.policy"].client_assertion_leeway
        self.register_client_auth_method(PrivateKeyJwt.CLIENT_AUTH_METHOD,
                                         PrivateKeyJwt(issuer, leeway))
        self.register_endpoint(Revocation)
        self.register_endpoint(Introspection)
        self.register_token_generator("default", self.generate_bearer)

    def authenticate_client(self, request, methods, endpoint="token"):
        """RFC 6749 §2.3: a client must not use more than one authentication method in one
        request (issue 10.2): a Basic header, a ``client_secret`` in the body and a
        ``client_assertion`` are each a method; two of them are ``invalid_request``."""
        if len(presented_auth_methods(request)) > 1:
            raise InvalidRequestError("The client used more than one authentication method.")
        client = super().authenticate_client(request, methods, endpoint)
        if endpoint == "token":
            dpop.require_for(client)        # RFC 9449 §5.2: dpop_bound_access_tokens
        return client

    def generate_bearer(self, grant_type, client, user=None, scope=None, expires_in=None,
                        include_refresh_token=True):
        lifetime = getattr(client, "access_token_lifetime", None)
        ttl = timedelta(seconds=lifetime) if lifetime else policy().access_token_ttl
        token = {"token_type": "DPoP" if dpop.presented_jkt() else "Bearer",
                 "access_token": keyed.token(32),
                 "expires_in": int(ttl.total_seconds()), "scope": scope or ""}
        if include_refresh_token and client.check_grant_type("refresh_token"):
            token["refresh_token"] = keyed.token(32)
        return token


def _saved_by_the_grants(token, request):
    raise NotImplementedError("each grant saves its tokens with issue()")


def issue(token: dict, client, account, *, code=None, previous=None, rotating: bool = False,
          spending: bool = False) -> bool:
    """Store the tokens Authlib generated, from the authorization ``code`` row they are
    exchanged for or the ``previous`` (rotated) refresh token row, and add the ID token to
    ``token`` when its scope holds ``openid``. What the ID token says of the login (auth_time,
    acr, amr, sid) comes from that row, where the authorization endpoint put the
    ``AuthResult``'s, and is passed to ``id_token.build`` explicitly. With ``rotating``
    (``plain_refresh``) ``previous`` is rotated here, with the rest (``tokens.rotate_and_insert``),
    and with ``spending`` (``plain_code``) ``code`` is spent here (``tokens.spend_and_insert``):
    False, nothing written, when another request rotated or spent it first."""
    now = clock.now()
    source = code or previous
    refresh = token.get("refresh_token")
    ttl = timedelta(seconds=token["expires_in"])
    # A DPoP client's refresh tokens live as long as its passkey may (issue 14).
    family_ttl = (policy().biometric_validity if getattr(client, "dpop_bound_access_tokens", False)
                  else policy().refresh_token_ttl)
    row = dict(
        family=previous.family if previous else keyed.token(16),
        client_id=client.client_id, account_id=source.account_id, scope=token["scope"],
        claims=source.claims, access_token_hash=tokens.token_digest(token["access_token"]),
        refresh_token_hash=tokens.token_digest(refresh) if refresh else None,
        issued_at=now, access_expires_at=now + ttl,
        refresh_expires_at=(previous.refresh_expires_at if previous
                            else now + family_ttl) if refresh else None,
        single_use=bool(getattr(client, "single_use_access_token", False)),
        code_hash=code.code_hash if code else previous.code_hash,
        sid=source.sid, auth_time=source.auth_time, acr=source.acr, amr=source.amr,
        dpop_jkt=dpop.presented_jkt())
    # The ID token is signed before the commit: a signature that fails (no key) commits
    # nothing, and the refresh token presented stays usable; after the commit nothing fails.
    if "openid" in (token.get("scope") or "").split():
        token["id_token"] = id_token.build(
            account, client, scope=token["scope"], claims_param=row["claims"],
            auth_time=row["auth_time"], acr=row["acr"], amr=row["amr"], sid=row["sid"],
            nonce=code.nonce if code is not None else None, access_token=token["access_token"])
    current_app.extensions["idp.events"]("token_issued", client_id=client.client_id,
                                         account_id=source.account_id)
    # One commit: the rotation (refresh), the code spent (ahead of Flask) or nothing (code,
    # consumed already), the new row and the audit rows of this request.
    if rotating:
        return tokens.rotate_and_insert(previous, row, audit.take_queued())
    if spending:
        return tokens.spend_and_insert(code, row, audit.take_queued())
    tokens.insert_with_audit(row, audit.take_queued())
    return True
