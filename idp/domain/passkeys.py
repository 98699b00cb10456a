"""Passkeys: the ameli app's biometric sign-in (seed 004, "APPLI COMPTE AMELI"; issue 14).

A passkey is a WebAuthn Level 3 discoverable credential held by the phone's (or the
computer's) platform authenticator, user verification required: the fingerprint or the face
is checked by the device, which then signs our challenge. Duo Labs' py_webauthn parses and
verifies the CBOR, COSE keys and signatures; this module decides what is asked and what is
accepted:

* Registration (``registration_options`` → ``verify_registration``), for a person who just
  logged in with the password and the code (its challenge a ``PasskeyChallenge`` row, which
  holds whose registration it is, spent by one compare-and-set): a resident key, user verification required, the
  account's live passkeys excluded. The user entity never holds the NIR (it ends up in the
  phone's password manager): ``id`` is a random user handle, the same for every passkey of
  the account; ``name`` and ``displayName`` the masked NIR. The passkey is valid
  ``Policy.biometric_validity`` (the trusted device's 183 days) from its registration.
* Authentication (``authentication_options`` → ``verify_authentication``): discoverable, so
  no ``allowCredentials`` and no NIR typed. The login page asks these options at every view
  (conditional mediation), so they cost no row: the challenge id is the challenge's keyed
  hash and end of validity, signed (itsdangerous, a salt of its own), and the row is written
  only when an assertion comes back (``limits.first_use``, a primary key: two assertions with
  one challenge cannot both pass, and a refused one spends it too; the purge forgets it once
  the challenge is past its life). Accepted only when every check holds: the challenge is
  ours, for this purpose, live and not used; the credential is known, not
  revoked, not past its validity; the user handle it returns is its own; the client data's
  type, challenge and origin (``PASSKEY_ORIGINS``), the RP ID hash (``PASSKEY_RP_ID``), the UP
  and UV flags and the signature verify; and the sign counter went up when either count is
  non-zero (WebAuthn §7.2 step 22; synced passkeys always say 0). The counter is compared only
  once the signature holds, so nobody without the key can revoke it: a counter that did not
  go up then means a copied key, and the passkey is revoked ("cloned") and audited.
* Invalid assertions are counted per credential with ``idp.domain.limits.attempt``
  (``Policy.wrong_passkey_assertions_before_lock`` in a row lock the passkey for
  ``Policy.wrong_passkey_assertion_lock``); a fault of ours gives the attempt back. Unknown
  credentials and spent challenges have nothing to count against: the per-IP limit of the
  pages is their bound. This lock stops biometric sign-in only; the password and the code
  stay open, each under its own locks.
* ``revoke`` (one, from the account page), ``revoke_all`` (a password change or reset, like
  the trusted devices), ``list_for`` (the live ones, for the account page).

A login by passkey is method ``METHOD`` ("passkey"), ``amr`` ``AMR`` (["pop", "mfa"]): the
server cannot know whether a finger or a face unlocked the key.
"""

from __future__ import annotations

import hmac
import json
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from flask import current_app
from itsdangerous import BadData, URLSafeSerializer
from sqlalchemy import and_, or_, select, update
from sqlalchemy.exc import IntegrityError
from webauthn import (
    generate_authentication_options,
    generate_registration_options,
    options_to_json,
    verify_authentication_response,
    verify_registration_response,
)
from webauthn.helpers import (
    base64url_to_bytes,
    bytes_to_base64url,
    parse_authentication_credential_json,
    parse_client_data_json,
    parse_registration_credential_json,
)
from webauthn.helpers.cose import COSEAlgorithmIdentifier
from webauthn.helpers.exceptions import (
    InvalidAuthenticationResponse,
    InvalidRegistrationResponse,
    WebAuthnException,
)
from webauthn.helpers.structs import (
    AttestationConveyancePreference,
    AuthenticatorAttachment,
    AuthenticatorSelectionCriteria,
    PublicKeyCredentialDescriptor,
    PublicKeyCredentialHint,
    ResidentKeyRequirement,
    UserVerificationRequirement,
)

from idp import clock, keyed, messages
from idp.domain import accounts, limits
from idp.domain.nir import parse_nir
from idp.errors import (
    PasskeyCloned,
    PasskeyExpired,
    PasskeyLocked,
    PasskeyNotRegistered,
    PasskeyRefused,
)
from idp.extensions import db
from idp.models import Account, Passkey, PasskeyChallenge
from idp.policy import policy

METHOD = "passkey"
AMR = ("pop", "mfa")
REGISTER = "register"          # the purpose of PasskeyChallenge rows (sign-ins have none)
OFFER_CHOICES = ("ask", "never")
LIMIT_KIND = "passkey"
# ES256 (every platform authenticator), EdDSA, RS256 (Windows Hello): what browsers offer.
ALGORITHMS = [COSEAlgorithmIdentifier.ECDSA_SHA_256, COSEAlgorithmIdentifier.EDDSA,
              COSEAlgorithmIdentifier.RSASSA_PKCS1_v1_5_SHA_256]
USER_HANDLE_BYTES = 32
CHALLENGE_BYTES = 32
LOGIN_CHALLENGE_KIND = "passkey-challenge"
_LOGIN_CHALLENGE_SALT = "idp/passkey-login-challenge"


@dataclass(frozen=True)
class Options:
    """What the page hands to ``navigator.credentials.create/get`` (``public_key``, the
    WebAuthn L3 JSON form for ``PublicKeyCredential.parse*OptionsFromJSON``), and the id of
    our challenge (a row's id for a registration, a signed token for a sign-in), which the
    page's session keeps."""
    challenge_id: str
    public_key: dict


@dataclass(frozen=True)
class PasskeyLogin:
    """A valid assertion: who logs in, with which passkey, by which method."""
    account_id: int
    passkey_id: str
    method: str = METHOD
    amr: tuple[str, ...] = AMR


# -- settings ------------------------------------------------------------------------------

def rp_id() -> str:
    return current_app.config["PASSKEY_RP_ID"]


def origins() -> list[str]:
    return list(current_app.config["PASSKEY_ORIGINS"])


def _events():
    return current_app.extensions["idp.events"]


# -- challenges ------------------------------------------------------------------------------

def _challenge_digest(challenge: bytes) -> str:
    return keyed.digest("passkey_challenge", bytes_to_base64url(challenge))


def _issue_challenge(purpose: str, *, account_id: int | None = None,
                     user_handle: str | None = None) -> tuple[str, bytes]:
    now = clock.now()
    challenge = secrets.token_bytes(CHALLENGE_BYTES)
    row = PasskeyChallenge(id=keyed.token(24), challenge_hash=_challenge_digest(challenge),
                           purpose=purpose, account_id=account_id, user_handle=user_handle,
                           created_at=now, expires_at=now + policy().passkey_challenge_ttl)
    db.session.add(row)
    db.session.commit()
    return row.id, challenge


def _consume(challenge: bytes, purpose: str, *, challenge_id: str | None,
             account_id: int | None = None) -> Any:
    """Spend the challenge the client data names, once: one compare-and-set, committed at
    once (whatever follows). None when it is not ours, of another purpose, another account,
    expired or already used."""
    now = clock.now()
    conditions = [PasskeyChallenge.challenge_hash == _challenge_digest(challenge),
                  PasskeyChallenge.purpose == purpose, PasskeyChallenge.used_at.is_(None),
                  PasskeyChallenge.expires_at > now]
    if challenge_id is not None:
        conditions.append(PasskeyChallenge.id == challenge_id)
    if account_id is not None:
        conditions.append(PasskeyChallenge.account_id == account_id)
    row = db.session.execute(
        update(PasskeyChallenge).where(*conditions).values(used_at=now)
        .returning(PasskeyChallenge.id, PasskeyChallenge.account_id,
                   PasskeyChallenge.user_handle)
    ).first()
    db.session.commit()
    return row


def _login_challenges() -> URLSafeSerializer:
    return URLSafeSerializer(current_app.config["SECRET_KEY"], salt=_LOGIN_CHALLENGE_SALT)


def _issue_login_challenge() -> tuple[str, bytes]:
    """A challenge for a sign-in, and its id: its keyed hash and end, signed; no row."""
    challenge = secrets.token_bytes(CHALLENGE_BYTES)
    ends = clock.timestamp() + policy().passkey_challenge_ttl.total_seconds()
    return _login_challenges().dumps({"h": _challenge_digest(challenge), "e": ends}), challenge


def _spend_login_challenge(challenge: bytes, challenge_id: str | None) -> bool:
    """Whether ``challenge`` is the one ``challenge_id`` was issued with, still live, and
    used now for the first time (recorded once, until its end)."""
    try:
        held = _login_challenges().loads(challenge_id) if challenge_id else None
    except BadData:
        return False
    digest = _challenge_digest(challenge)
    if not isinstance(held, dict) or not isinstance(held.get("h"), str) \
            or not isinstance(held.get("e"), (int, float)) or held["e"] <= clock.timestamp() \
            or not hmac.compare_digest(held["h"], digest):
        return False
    return limits.first_use(digest, LOGIN_CHALLENGE_KIND,
                            forget_at=datetime.fromtimestamp(held["e"], UTC))


def _client_challenge(client_data_json: bytes) -> bytes | None:
    try:
        return parse_client_data_json(client_data_json).challenge
    except (WebAuthnException, ValueError, TypeError, AttributeError):
        return None


# -- registration ------------------------------------------------------------------------------

def _user_handle(account_id: int) -> str:
    """The account's user handle: the one its passkeys already have, else a new random one."""
    existing = db.session.execute(
        select(Passkey.user_handle).where(Passkey.account_id == account_id)
        .order_by(Passkey.created_at).limit(1)).scalar_one_or_none()
    return existing or bytes_to_base64url(secrets.token_bytes(USER_HANDLE_BYTES))


def registration_options(account: Account) -> Options:
    """The creation options for the account that just logged in (password and code)."""
    handle = _user_handle(account.id)
    excluded = [PublicKeyCredentialDescriptor(id=base64url_to_bytes(p.credential_id))
                for p in list_for(account.id)]
    masked = parse_nir(account.nir).masked
    challenge_id, challenge = _issue_challenge(REGISTER, account_id=account.id,
                                               user_handle=handle)
    options = generate_registration_options(
        rp_id=rp_id(), rp_name=messages.text("passkey_rp_name"), user_name=masked,
        user_id=base64url_to_bytes(handle), user_display_name=masked, challenge=challenge,
        timeout=_timeout_ms(), attestation=AttestationConveyancePreference.NONE,
        authenticator_selection=AuthenticatorSelectionCriteria(
            authenticator_attachment=AuthenticatorAttachment.PLATFORM,
            resident_key=ResidentKeyRequirement.REQUIRED,
            user_verification=UserVerificationRequirement.REQUIRED),
        exclude_credentials=excluded, supported_pub_key_algs=ALGORITHMS,
        hints=[PublicKeyCredentialHint.CLIENT_DEVICE])
    return Options(challenge_id, json.loads(options_to_json(options)))


def verify_registration(account_id: int, credential: str | dict, *, label: str,
                        challenge_id: str | None = None) -> Passkey:
    """Check the attestation ("none" asked: no attestation statement is trusted, the key is)
    and store the passkey with its label and end of validity. Raises PasskeyNotRegistered."""
    try:
        parsed = parse_registration_credential_json(credential)
    except (WebAuthnException, ValueError, TypeError, KeyError):
        raise PasskeyNotRegistered(reason="malformed") from None
    challenge = _client_challenge(parsed.response.client_data_json)
    row = challenge and _consume(challenge, REGISTER, challenge_id=challenge_id,
                                 account_id=account_id)
    if not row:
        raise PasskeyNotRegistered(reason="challenge")
    try:
        verified = verify_registration_response(
            credential=parsed, expected_challenge=challenge, expected_rp_id=rp_id(),
            expected_origin=origins(), require_user_presence=True,
            require_user_verification=True, supported_pub_key_algs=ALGORITHMS)
    except InvalidRegistrationResponse:
        _events()("passkey_registration_refused", account_id=account_id, outcome="invalid")
        raise PasskeyNotRegistered(reason="invalid") from None
    now = clock.now()
    passkey = Passkey(
        id=keyed.token(24), account_id=account_id,
        credential_id=bytes_to_base64url(verified.credential_id),
        public_key=verified.credential_public_key, sign_count=verified.sign_count,
        user_handle=row.user_handle, label=(label or "")[:200], created_at=now,
        expires_at=now + policy().biometric_validity)
    db.session.add(passkey)
    try:
        db.session.commit()
    except IntegrityError:          # this credential is registered already
        db.session.rollback()
        raise PasskeyNotRegistered(reason="known") from None
    _events()("passkey_registered", account_id=account_id, passkey_id=passkey.id)
    return passkey


# -- authentication -----------------------------------------------------------------------------

def authentication_options() -> Options:
    """Request options for a discoverable credential: no ``allowCredentials``, so no NIR;
    no row written (see the module docstring)."""
    challenge_id, challenge = _issue_login_challenge()
    options = generate_authentication_options(
        rp_id=rp_id(), challenge=challenge, timeout=_timeout_ms(), allow_credentials=[],
        user_verification=UserVerificationRequirement.REQUIRED)
    return Options(challenge_id, json.loads(options_to_json(options)))


def verify_authentication(credential: str | dict, *, challenge_id: str | None = None
                          ) -> PasskeyLogin:
    """Judge an assertion (see the module docstring). Raises PasskeyRefused, PasskeyExpired,
    PasskeyCloned or PasskeyLocked; any other exception is a fault of ours."""
    try:
        parsed = parse_authentication_credential_json(credential)
    except (WebAuthnException, ValueError, TypeError, KeyError):
        raise PasskeyRefused(reason="malformed") from None
    challenge = _client_challenge(parsed.response.client_data_json)
    if not challenge or not _spend_login_challenge(challenge, challenge_id):
        raise PasskeyRefused(reason="challenge")
    credential_id = bytes_to_base64url(parsed.raw_id)
    passkey = db.session.execute(
        select(Passkey).where(Passkey.credential_id == credential_id)).scalar_one_or_none()
    if passkey is None:
        raise PasskeyRefused(reason="unknown")
    if passkey.revoked_at is not None or passkey.expires_at <= clock.now():
        _refuse_dead(passkey)
    passkey_id, account_id, stored_count = passkey.id, passkey.account_id, passkey.sign_count
    public_key, user_handle = passkey.public_key, passkey.user_handle
    p = policy()

    def check() -> tuple[limits.Verdict, Any]:
        returned = parsed.response.user_handle
        if not returned or bytes_to_base64url(returned) != user_handle:
            return limits.Verdict.WRONG, "user_handle"
        try:
            # The counter is ours to judge, after the signature: given 0, the library skips it.
            verified = verify_authentication_response(
                credential=parsed, expected_challenge=challenge, expected_rp_id=rp_id(),
                expected_origin=origins(), credential_public_key=public_key,
                credential_current_sign_count=0, require_user_verification=True)
        except InvalidAuthenticationResponse:
            return limits.Verdict.WRONG, "invalid"
        if _went_back(verified.new_sign_count, stored_count):
            return limits.Verdict.WRONG, "cloned"
        return limits.Verdict.RIGHT, verified.new_sign_count

    judged = limits.attempt(
        keyed.digest("passkey", credential_id), LIMIT_KIND,
        max_attempts=p.wrong_passkey_assertions_before_lock,
        lock_for=p.wrong_passkey_assertion_lock, check=check,
        locked=lambda until: PasskeyLocked(until=until))
    if judged.verdict is limits.Verdict.RIGHT:
        if _count_use(passkey_id, judged.value):
            return PasskeyLogin(account_id, passkey_id)
        # Meanwhile it was revoked or expired, or its counter moved (a copy's assertion won).
        db.session.expire_all()
        passkey = db.session.get(Passkey, passkey_id)
        if passkey.revoked_at is not None or passkey.expires_at <= clock.now():
            _refuse_dead(passkey)
        _revoke_cloned(passkey_id, account_id)
        raise PasskeyCloned()
    if judged.value == "cloned":
        _revoke_cloned(passkey_id, account_id)
        raise PasskeyCloned()
    _events()("passkey_login_failed", account_id=account_id, passkey_id=passkey_id,
              outcome=judged.value, locked=judged.locks_until is not None)
    if judged.locks_until is not None:
        raise PasskeyLocked(until=judged.locks_until)
    raise PasskeyRefused(reason=judged.value)


def usable_account(login: PasskeyLogin) -> Account:
    """The account a valid assertion logs in: PasskeyRefused when it is gone (deleted while
    the assertion was judged), else the account's own refusal when it can no longer log in
    (cases 1, 1 bis, 8, 9: ``accounts.refuse_if_unusable``), as the password gets."""
    account = db.session.get(Account, login.account_id)
    if account is None:
        raise PasskeyRefused(reason="unknown")
    accounts.refuse_if_unusable(account)
    return account


def _refuse_dead(passkey: Passkey) -> None:
    """A revoked or expired passkey: said so, audited, never counted (nothing was judged)."""
    expired = passkey.revoked_at is None
    _events()("passkey_login_failed", account_id=passkey.account_id, passkey_id=passkey.id,
              outcome="expired" if expired else "revoked")
    if expired:
        raise PasskeyExpired()
    raise PasskeyRefused(reason="revoked")


def _went_back(new: int, stored: int) -> bool:
    """WebAuthn §7.2 step 22: either count non-zero and the new one not above the stored."""
    return (new != 0 or stored != 0) and new <= stored


def _count_use(passkey_id: str, new_count: int) -> bool:
    """Record the use and the new counter by compare-and-set: False when the passkey was
    revoked or expired meanwhile, or its counter reached ``new_count`` already."""
    now = clock.now()
    moved = db.session.execute(
        update(Passkey).where(
            Passkey.id == passkey_id, Passkey.revoked_at.is_(None), Passkey.expires_at > now,
            or_(Passkey.sign_count < new_count,
                and_(Passkey.sign_count == 0, new_count == 0)))
        .values(sign_count=new_count, last_used_at=now)).rowcount
    db.session.commit()
    return moved == 1


def _revoke_cloned(passkey_id: str, account_id: int) -> bool:
    """Revoke a passkey whose counter went back, and audit it; False if already revoked."""
    done = db.session.execute(
        update(Passkey).where(Passkey.id == passkey_id, Passkey.revoked_at.is_(None))
        .values(revoked_at=clock.now(), revoked_reason="cloned")).rowcount
    db.session.commit()
    if done:
        _events()("passkey_cloned", account_id=account_id, passkey_id=passkey_id,
                  outcome="revoked")
    return bool(done)


# -- the account's passkeys -----------------------------------------------------------------------

def list_for(account_id: int) -> list[Passkey]:
    """The live passkeys of the account (not revoked, not expired), newest first."""
    return list(db.session.execute(
        select(Passkey).where(Passkey.account_id == account_id, Passkey.revoked_at.is_(None),
                              Passkey.expires_at > clock.now())
        .order_by(Passkey.created_at.desc())).scalars())


def revoke(account_id: int, passkey_id: str, *, reason: str = "person") -> bool:
    """Revoke one passkey of the account (the account page); False when there was none."""
    done = db.session.execute(
        update(Passkey).where(Passkey.account_id == account_id, Passkey.id == passkey_id,
                              Passkey.revoked_at.is_(None))
        .values(revoked_at=clock.now(), revoked_reason=reason)).rowcount
    db.session.commit()
    if done:
        _events()("passkey_revoked", account_id=account_id, passkey_id=passkey_id,
                  outcome=reason)
    return bool(done)


def revoke_all(account_id: int, reason: str) -> int:
    """Revoke every passkey of the account (a password change or reset: ``reason``
    "password"); how many were live. The caller commits, with the rest of what it revokes
    (``password_change.revoke_access``: sessions, devices, tokens in one transaction)."""
    done = db.session.execute(
        update(Passkey).where(Passkey.account_id == account_id, Passkey.revoked_at.is_(None))
        .values(revoked_at=clock.now(), revoked_reason=reason)).rowcount
    if done:
        _events()("passkeys_revoked", account_id=account_id, count=done, outcome=reason)
    return done


def set_offer(account: Account, choice: str) -> None:
    """The biometrics offer's "Ne plus me le rappeler" ("never") or its default ("ask")."""
    if choice not in OFFER_CHOICES:
        raise ValueError(f"passkey offer: {choice!r}")
    account.passkey_offer = choice
    db.session.commit()


def _timeout_ms() -> int:
    return int(policy().passkey_challenge_ttl.total_seconds() * 1000)
