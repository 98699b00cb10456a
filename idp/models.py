"""Tables. Everything that must be shared between workers and hosts lives here.

Times are stored as naive UTC (``UTCDateTime`` converts), so that SQLite and PostgreSQL
behave the same. Secrets (codes, tokens) are stored as keyed hashes, never in clear.
"""

from __future__ import annotations

from datetime import UTC, date, datetime

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from idp.extensions import db


class UTCDateTime(TypeDecorator):
    """Aware UTC in Python, naive UTC in the database."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is not None and value.tzinfo is not None:
            value = value.astimezone(UTC).replace(tzinfo=None)
        return value

    def process_result_value(self, value, dialect):
        if value is not None:
            value = value.replace(tzinfo=UTC)
        return value


# -- people ------------------------------------------------------------------------------

class Person(db.Model):
    """The registry of insured persons (the seeds' RFI): who may create an account."""

    __tablename__ = "person"
    nir: Mapped[str] = mapped_column(String(13), primary_key=True)
    family_name: Mapped[str] = mapped_column(String(256))
    given_name: Mapped[str] = mapped_column(String(256))
    birthdate: Mapped[str] = mapped_column(String(10))        # YYYY-MM-DD, 00 when unknown
    gender: Mapped[str] = mapped_column(String(16))
    birthplace: Mapped[str] = mapped_column(String(5), default="")
    birthcountry: Mapped[str] = mapped_column(String(5), default="99100")
    postal_code: Mapped[str] = mapped_column(String(5), default="")
    fund: Mapped[str | None] = mapped_column(String(128))
    email: Mapped[str | None] = mapped_column(String(254))
    mobile: Mapped[str | None] = mapped_column(String(20))
    vitale_serial: Mapped[str | None] = mapped_column(String(32))
    iban: Mapped[str | None] = mapped_column(String(34))
    status: Mapped[str] = mapped_column(String(16), default="attached")  # attached|unattached|pending
    # What "Mes informations" shows of the person's file (seed 000, issue 13.3; migration
    # b_registry_details): the end of their rights and of their CEAM (calendar dates), their
    # complementary insurer and doctor as named, their postal address and landline.
    rights_until: Mapped[date | None] = mapped_column(Date)
    ceam_until: Mapped[date | None] = mapped_column(Date)
    complementary: Mapped[str | None] = mapped_column(String(128))
    doctor: Mapped[str | None] = mapped_column(String(256))
    address: Mapped[str | None] = mapped_column(String(256))      # street line(s), "\n" between
    city: Mapped[str | None] = mapped_column(String(128))
    landline: Mapped[str | None] = mapped_column(String(20))


class Account(db.Model):
    """An ameli account. ``status``: active, resigned (closed), unattached, pending."""

    __tablename__ = "account"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    nir: Mapped[str] = mapped_column(String(13), unique=True)
    # Opaque, random, stable: the base of every ``sub`` (never derived from the NIR).
    subject: Mapped[str] = mapped_column(String(64), unique=True)
    password_hash: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), default="active")
    closed_on: Mapped[date | None] = mapped_column(Date)
    email: Mapped[str | None] = mapped_column(String(254), unique=True)
    email_verified: Mapped[bool] = mapped_column(Boolean, default=False)
    email_changed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    mobile: Mapped[str | None] = mapped_column(String(20))
    contact_email: Mapped[bool] = mapped_column(Boolean, default=False)
    contact_mobile: Mapped[bool] = mapped_column(Boolean, default=False)
    contact_sms: Mapped[bool] = mapped_column(Boolean, default=False)
    given_name: Mapped[str] = mapped_column(String(256))
    family_name: Mapped[str] = mapped_column(String(256))
    preferred_username: Mapped[str | None] = mapped_column(String(256))
    birthdate: Mapped[str] = mapped_column(String(10))
    gender: Mapped[str] = mapped_column(String(16))
    birthplace: Mapped[str] = mapped_column(String(5), default="")
    birthcountry: Mapped[str] = mapped_column(String(5), default="99100")
    fund: Mapped[str | None] = mapped_column(String(128))
    terms_accepted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    password_changed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    previous_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    fc_sub: Mapped[str | None] = mapped_column(String(256), unique=True)
    # Issue 14: the biometrics offer after a login: "ask" (again at the next login: "Plus
    # tard"), or "never" ("Ne plus me le rappeler").
    passkey_offer: Mapped[str] = mapped_column(String(8), default="ask", server_default="ask")


# -- limits (idp.limits) -----------------------------------------------------------------

class Throttle(db.Model):
    """One counter and lock per (keyed NIR hash, kind); moved by single atomic statements."""

    __tablename__ = "throttle"
    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    kind: Mapped[str] = mapped_column(String(32), primary_key=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime)


class QuotaEvent(db.Model):
    """One request counted against a sliding-window quota (codes asked)."""

    __tablename__ = "quota_event"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(32))
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    __table_args__ = (Index("ix_quota_event_key_kind_at", "key", "kind", "at"),)


class OneTimeCode(db.Model):
    """A short code sent to a person (login, password change, provisional): hashed, with a
    deadline, one per (purpose, subject) so that a new code replaces the old one."""

    __tablename__ = "one_time_code"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    purpose: Mapped[str] = mapped_column(String(32))
    subject: Mapped[str] = mapped_column(String(64))
    code_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # Wrong submissions of this code in all (issue 11.6: void after a fixed number).
    failed_checks: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    __table_args__ = (UniqueConstraint("purpose", "subject", name="uq_one_time_code_subject"),)


class TrustedDevice(db.Model):
    """"Se souvenir de cet appareil": the server-side half of the trust cookie."""

    __tablename__ = "trusted_device"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("account.id", ondelete="CASCADE"), index=True)
    label: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class Passkey(db.Model):
    """A passkey (WebAuthn credential) of the account: the app's biometric sign-in (issue 14,
    ``idp.domain.passkeys``). ``credential_id`` and ``user_handle`` are base64url; the public
    key is the COSE key as registered; ``user_handle`` is random, the same for every passkey
    of the account, never the NIR. Live while not revoked and before ``expires_at``."""

    __tablename__ = "passkey"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("account.id", ondelete="CASCADE"), index=True)
    # WebAuthn Level 3: a credential id is at most 1023 bytes, 1364 characters in base64url.
    credential_id: Mapped[str] = mapped_column(String(1364), unique=True)
    public_key: Mapped[bytes] = mapped_column(LargeBinary)
    sign_count: Mapped[int] = mapped_column(BigInteger, default=0)   # an unsigned 32-bit count
    user_handle: Mapped[str] = mapped_column(String(128), index=True)
    label: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_reason: Mapped[str | None] = mapped_column(String(32))  # person|password|cloned|…


class PasskeyChallenge(db.Model):
    """A WebAuthn registration challenge we issued (a sign-in's is a signed token, no row:
    idp.domain.passkeys): its keyed hash, what it is for ("register"), whose registration (``account_id``, ``user_handle``), single use
    (``used_at``, set by compare-and-set) and short-lived."""

    __tablename__ = "passkey_challenge"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    challenge_hash: Mapped[str] = mapped_column(String(64), unique=True)
    purpose: Mapped[str] = mapped_column(String(16))
    account_id: Mapped[int | None] = mapped_column(ForeignKey("account.id", ondelete="CASCADE"),
                                                   index=True)
    user_handle: Mapped[str | None] = mapped_column(String(128))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


# -- the login journey and the protocol --------------------------------------------------

class Interaction(db.Model):
    """A pending authorization request waiting for a login (``idp.interaction``)."""

    __tablename__ = "interaction"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    client_id: Mapped[str] = mapped_column(String(128))
    params: Mapped[dict] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    result: Mapped[dict | None] = mapped_column(JSON)
    consumed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class LoginFlow(db.Model):
    """One person's walk through the login pages; its id sits in the Flask session."""

    __tablename__ = "login_flow"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    interaction_id: Mapped[str | None] = mapped_column(String(64))
    step: Mapped[str] = mapped_column(String(32))
    nir: Mapped[str | None] = mapped_column(String(13))
    # Its keyed hash (``keyed.nir_key``), stored with it: what names the NIR's locks, so that
    # the flow's read brings them (None on a flow made before the column: computed then).
    nir_key: Mapped[str | None] = mapped_column(String(64))
    account_id: Mapped[int | None] = mapped_column(Integer)
    code_sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    new_code_notice: Mapped[bool] = mapped_column(Boolean, default=False)
    # The login's outcome (an ``AuthResult``), stored when the password (and code) are right:
    # what consent waits on, and what the journey named in ``then_endpoint`` takes once done.
    result: Mapped[dict | None] = mapped_column(JSON)
    then_endpoint: Mapped[str | None] = mapped_column(String(64))  # a journey waiting on it
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)


class JourneyFlow(db.Model):
    """One person's walk through an account journey (``journey``: "registration",
    "password_change", "franceconnect"); its id sits in the Flask session, its step moves by
    compare-and-set (``idp.flows.journeys``). ``subject`` ties it to what it acts on: the activation record,
    the provider session."""

    __tablename__ = "journey_flow"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    journey: Mapped[str] = mapped_column(String(32))
    step: Mapped[str] = mapped_column(String(32))
    subject: Mapped[str | None] = mapped_column(String(64))
    data: Mapped[dict | None] = mapped_column(JSON)   # what the journey carries between steps
    step_at: Mapped[datetime] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)


class ProviderSession(db.Model):
    """The provider's login session (``sid``): a second client logs in without asking again."""

    __tablename__ = "provider_session"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("account.id", ondelete="CASCADE"), index=True)
    auth_time: Mapped[datetime] = mapped_column(UTCDateTime)
    amr: Mapped[list] = mapped_column(JSON)
    acr: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    clients: Mapped[list] = mapped_column(JSON, default=list)   # client_ids that got a token


class AuthorizationCode(db.Model):
    __tablename__ = "authorization_code"
    code_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    client_id: Mapped[str] = mapped_column(String(128))
    account_id: Mapped[int] = mapped_column(ForeignKey("account.id", ondelete="CASCADE"))
    redirect_uri: Mapped[str] = mapped_column(Text)
    scope: Mapped[str] = mapped_column(Text)
    nonce: Mapped[str | None] = mapped_column(Text)
    claims: Mapped[dict | None] = mapped_column(JSON)
    code_challenge: Mapped[str | None] = mapped_column(String(128))
    code_challenge_method: Mapped[str | None] = mapped_column(String(8))
    auth_time: Mapped[datetime] = mapped_column(UTCDateTime)
    acr: Mapped[str | None] = mapped_column(String(64))
    amr: Mapped[list] = mapped_column(JSON)
    sid: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # RFC 9449 §10: the ``dpop_jkt`` of the authorization request (or the DPoP key of an
    # /authorize-challenge session): only a proof by that key redeems the code.
    dpop_jkt: Mapped[str | None] = mapped_column(String(64))


class Token(db.Model):
    """An access token and its refresh token. A refresh rotates: the used row is marked
    ``rotated_at`` and a new row of the same ``family`` is made; reuse revokes the family."""

    __tablename__ = "token"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    family: Mapped[str] = mapped_column(String(64), index=True)
    client_id: Mapped[str] = mapped_column(String(128))
    account_id: Mapped[int] = mapped_column(ForeignKey("account.id", ondelete="CASCADE"), index=True)
    scope: Mapped[str] = mapped_column(Text)
    claims: Mapped[dict | None] = mapped_column(JSON)
    access_token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    refresh_token_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    issued_at: Mapped[datetime] = mapped_column(UTCDateTime)
    access_expires_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    refresh_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    single_use: Mapped[bool] = mapped_column(Boolean, default=False)
    access_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    rotated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    code_hash: Mapped[str | None] = mapped_column(String(64), index=True)
    sid: Mapped[str | None] = mapped_column(String(64), index=True)
    auth_time: Mapped[datetime] = mapped_column(UTCDateTime)
    acr: Mapped[str | None] = mapped_column(String(64))
    amr: Mapped[list] = mapped_column(JSON)
    # RFC 9449: the RFC 7638 thumbprint of the DPoP key the access token (and, for a public
    # client, the refresh token) is bound to; None for a bearer token.
    dpop_jkt: Mapped[str | None] = mapped_column(String(64))


class SigningKey(db.Model):
    """A signing key. The private JWK is encrypted with the key-encryption key; the row is
    published from ``created_at`` until ``expires_at`` and signs from ``signs_from`` until
    ``retired_at``."""

    __tablename__ = "signing_key"
    kid: Mapped[str] = mapped_column(String(64), primary_key=True)
    alg: Mapped[str] = mapped_column(String(16))
    public_jwk: Mapped[dict] = mapped_column(JSON)
    private_jwk_encrypted: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    retired_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Issue 10.1: published from created_at, signing only from signs_from.
    signs_from: Mapped[datetime] = mapped_column(UTCDateTime)
    # Issue 10.5: "sig" (our /jwks) or "enc" (FranceConnect+ encrypts to us: /franceconnect/jwks).
    use: Mapped[str] = mapped_column(String(8), default="sig")


class BackchannelLogout(db.Model):
    """A logout token to deliver to a client's ``backchannel_logout_uri``, retried."""

    __tablename__ = "backchannel_logout"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    client_id: Mapped[str] = mapped_column(String(128))
    uri: Mapped[str] = mapped_column(Text)
    logout_token: Mapped[str] = mapped_column(Text)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str | None] = mapped_column(String(200))


class Consent(db.Model):
    """Scopes a person has agreed to give a client (clients without ``skip_consent``)."""

    __tablename__ = "consent"
    account_id: Mapped[int] = mapped_column(ForeignKey("account.id", ondelete="CASCADE"),
                                            primary_key=True)
    client_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    scope: Mapped[str] = mapped_column(Text)
    granted_at: Mapped[datetime] = mapped_column(UTCDateTime)


# -- FranceConnect as our upstream provider (issue 5, idp.franceconnect) ------------------

class FranceConnectLogin(db.Model):
    """A login made through FranceConnect: its ID token, kept for the ``id_token_hint`` of
    the logout; found again by (account, auth_time) from the provider session."""

    __tablename__ = "franceconnect_login"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("account.id", ondelete="CASCADE"))
    auth_time: Mapped[datetime] = mapped_column(UTCDateTime)
    id_token: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    __table_args__ = (Index("ix_franceconnect_login_account_time", "account_id", "auth_time"),)


# -- the account's life (issue 4: idp.registration, idp.password_reset) ------------------

class AccountAction(db.Model):
    """The server-side record a signed link (or an activation in progress) names: single
    use (``used_at``), with its own deadline. ``purpose``: activation, email_validation,
    password_reset."""

    __tablename__ = "account_action"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    purpose: Mapped[str] = mapped_column(String(32))
    nir: Mapped[str | None] = mapped_column(String(13))
    account_id: Mapped[int | None] = mapped_column(ForeignKey("account.id", ondelete="CASCADE"),
                                                   index=True)
    email: Mapped[str | None] = mapped_column(String(254))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class Letter(db.Model):
    """A postal letter carrying a provisional code, queued for ``letters export`` (which
    issues the code then, so that no code is ever stored in clear)."""

    __tablename__ = "letter"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    nir: Mapped[str] = mapped_column(String(13), index=True)
    queued_at: Mapped[datetime] = mapped_column(UTCDateTime)
    exported_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


# -- production: the audit trail (issue 6) -------------------------------------------------

class AuditEvent(db.Model):
    """One security event (``idp.events.record``): ids and outcomes only, the NIR as its
    keyed hash (``nir_key``), never in clear."""

    __tablename__ = "audit_event"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    event: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    nir_key: Mapped[str | None] = mapped_column(String(64), index=True)
    account_id: Mapped[int | None] = mapped_column(Integer, index=True)
    client_id: Mapped[str | None] = mapped_column(String(128))
    outcome: Mapped[str | None] = mapped_column(String(64))
    request_id: Mapped[str | None] = mapped_column(String(64))
    details: Mapped[dict | None] = mapped_column(JSON)
