"""Domain exceptions. They carry facts (dates, counts), never text: ``idp.messages`` turns
each into the seeds' French sentence, in one place."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime


class IdpError(Exception):
    """Base of every domain error. ``message_id`` names its sentence in ``idp.messages``."""

    message_id: str = "generic"
    field: str | None = None  # the form field the message belongs to, when it is one
    # Issue 13.6: the field a banner's message is about (a wrong password, a wrong code): the
    # page marks it invalid and ties it to the banner, the message staying in the banner.
    marks: str | None = None

    def params(self) -> dict:
        return {}


# -- input -------------------------------------------------------------------------------

@dataclass
class InvalidNir(IdpError):
    """The social-security number is not 13 digits, or 15 with a wrong key."""
    reason: str = "format"   # "format" | "key" | "empty"
    message_id = "nir_invalid"
    field = "nir"


@dataclass
class FieldRequired(IdpError):
    field: str = ""
    message_id = "field_required"


@dataclass
class PasswordRuleBroken(IdpError):
    """A new password breaks seed 000's rules; ``rules`` names each one that fails."""
    rules: tuple[str, ...] = ()
    message_id = "password_rules"
    field = "new_password"

    def params(self) -> dict:
        return {"rules": self.rules}


# -- login (seed 004, web, cases 1 to 9) --------------------------------------------------

@dataclass
class WrongPassword(IdpError):          # case 4 (also an unknown NIR, by design)
    message_id = "wrong_password"
    marks = "password"


@dataclass
class WrongCode(IdpError):              # case 5
    message_id = "wrong_code"
    marks = "code"


@dataclass
class CodeExpired(IdpError):            # case 2
    message_id = "code_expired"


@dataclass
class CodeQuotaReached(IdpError):       # case 3
    until: datetime = None
    message_id = "code_quota"

    def params(self) -> dict:
        return {"until": self.until}


@dataclass
class CodeLocked(IdpError):             # case 6
    until: datetime = None
    message_id = "code_locked"

    def params(self) -> dict:
        return {"until": self.until}


@dataclass
class PasswordLocked(IdpError):         # case 7
    until: datetime = None
    message_id = "password_locked"

    def params(self) -> dict:
        return {"until": self.until}


@dataclass
class NoValidatedEmail(IdpError):       # case 1
    message_id = "no_email"


@dataclass
class AccountClosed(IdpError):          # case 1 bis
    on: date = None
    message_id = "account_closed"

    def params(self) -> dict:
        return {"on": self.on}


@dataclass
class AccountUnattached(IdpError):      # case 8
    message_id = "account_unattached"


@dataclass
class AttachmentPending(IdpError):      # case 9
    message_id = "attachment_pending"


@dataclass
class MailNotSent(IdpError):
    """Our SMTP relay failed: nothing was counted, the person may try again."""
    message_id = "mail_not_sent"


class FlowOutOfStep(IdpError):
    """A browser submitted a step its flow is not at (double submit, back button)."""
    message_id = "flow_out_of_step"


# -- password change (seed 004, "Changement de mot de passe", cas d'échecs) ---------------

@dataclass
class ChangeCodeQuotaReached(IdpError):   # cas 1
    until: datetime = None
    message_id = "change_code_quota"

    def params(self) -> dict:
        return {"until": self.until}


@dataclass
class ChangeCodeLocked(IdpError):         # cas 2
    until: datetime = None
    message_id = "change_code_locked"

    def params(self) -> dict:
        return {"until": self.until}


@dataclass
class ResetLocked(IdpError):
    """Issue 11.5: the reset page was given the current password too many times (the seed's
    wording of the password change's cas 2)."""
    until: datetime = None
    message_id = "change_code_locked"

    def params(self) -> dict:
        return {"until": self.until}


@dataclass
class EmailRecentlyChanged(IdpError):     # cas 3
    message_id = "email_recently_changed"


@dataclass
class EmailRecentlyChangedReset(IdpError):    # issue 11.4: cas 3 applied to the reset
    message_id = "email_recently_changed_reset"


@dataclass
class WrongChangeCode(IdpError):
    message_id = "wrong_change_code"
    field = "code"


@dataclass
class ChangeCodeExpired(IdpError):
    message_id = "change_code_expired"
    field = "code"


# -- the account's life (issue 4: registration, activation, reset, account page) ----------

class FormInvalid(IdpError):
    """Several fields of one form are wrong: ``errors`` maps each field to (message id,
    parameters), so that every error is shown beside its field."""
    message_id = "field_required"

    def __init__(self, errors: dict | None = None):
        super().__init__()
        self.errors = errors or {}


@dataclass
class ActivationRefused(IdpError):
    """Wrong provisional code, wrong Carte Vitale or IBAN, unknown NIR: one answer."""
    message_id = "activation_refused"


@dataclass
class ActivationExpired(IdpError):
    message_id = "activation_expired"


# -- passkeys: the ameli app's biometric sign-in (issue 14, idp.domain.passkeys) -----------

@dataclass
class PasskeyRefused(IdpError):
    """An assertion that does not log in: its verification failed (signature, UV flag,
    origin, RP ID, user handle), or its challenge is unknown, used or expired, or the passkey
    is unknown or revoked. ``reason`` is for the audit trail only: the page says one thing."""
    reason: str = ""
    message_id = "passkey_refused"


@dataclass
class PasskeyExpired(IdpError):
    """The passkey is past ``Policy.biometric_validity`` (the seed's 6 months)."""
    message_id = "passkey_expired"


@dataclass
class PasskeyCloned(IdpError):
    """The sign counter went back: the key was copied; the passkey is now revoked."""
    message_id = "passkey_cloned"


@dataclass
class PasskeyLocked(IdpError):
    """Too many invalid assertions with this passkey (``Policy.wrong_passkey_*``)."""
    until: datetime = None
    message_id = "passkey_locked"

    def params(self) -> dict:
        return {"until": self.until}


@dataclass
class PasskeyNotRegistered(IdpError):
    """The activation's attestation did not verify (or its challenge is not live)."""
    reason: str = ""
    message_id = "passkey_not_registered"
