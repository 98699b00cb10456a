"""Every delay and limit of the ameli login and account, in one place.

The seeds' numbers are the product: each appears once, named, with its source. A value the
seeds do not give still has a field here, with a comment saying why it was chosen.

Built once in ``create_app`` from the ``POLICY`` config mapping; durations given through the
environment are seconds (``IDP_POLICY__CODE_TTL=600``). Read it with ``policy()``.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import timedelta

from flask import current_app


@dataclass(frozen=True)
class Policy:
    """Delays and limits of the login and the account (seeds 000-004)."""

    # -- the e-mailed security code (seed 004, web, "Connexion avec un code de sécurité")
    code_digits: int = 6                                  # "Code de sécurité à 6 chiffres"
    code_ttl: timedelta = timedelta(minutes=15)           # "valable seulement 15 minutes"
    code_quota: int = 5                                   # case 3: "5 codes par heure glissante"
    code_quota_window: timedelta = timedelta(hours=1)     # ... a sliding hour ...
    code_quota_block: timedelta = timedelta(hours=1)      # ... "L'assuré est bloqué une heure"
    wrong_codes_before_lock: int = 3                      # case 6: three wrong codes ...
    wrong_code_lock: timedelta = timedelta(minutes=15)    # ... "bloqué pendant 15 minutes"
    wrong_passwords_before_lock: int = 3                  # case 7: three wrong passwords ...
    wrong_password_lock: timedelta = timedelta(minutes=15)  # ... "bloqué pendant 15 minutes"
    # "6 mois" (case 3 of step 3, FAQ). Decided once as 183 days (half of 366) rather than
    # calendar months, so that the boundary is the same instant whatever the start date.
    device_trust: timedelta = timedelta(days=183)

    # -- passkeys: biometric sign-in of the ameli app (seed 004, "APPLI COMPTE AMELI"; issue
    # 14; idp/domain/passkeys.py). Its validity is ``biometric_validity`` below: the seed's
    # "6 mois" of the "token de la biométrie" is the same 6 months as the trusted device's,
    # so it *is* ``device_trust`` (one place, one value: 183 days).
    # A WebAuthn challenge (registration or assertion) is valid 5 minutes and used once:
    # WebAuthn Level 3 §15.1 recommends a ceremony timeout of 300 s to 600 s when user
    # verification is required; chosen as the short end, the phone asks a fingerprint at once.
    passkey_challenge_ttl: timedelta = timedelta(minutes=5)
    # Invalid assertions per credential: the 5th in a row locks biometric sign-in with that
    # passkey for 15 minutes (the password and the code stay open). Chosen: a failed
    # fingerprint is retried on the phone, which sends nothing; an invalid assertion reaching
    # us is a broken or forged one, or UV not done, so a few are plenty; 15 minutes as every
    # other lock of the seeds. A valid assertion starts the count again; a fault of ours
    # (idp.domain.limits.attempt) never counts.
    wrong_passkey_assertions_before_lock: int = 5
    wrong_passkey_assertion_lock: timedelta = timedelta(minutes=15)
    # Invalid assertions per IP address (Flask-Limiter on the sign-in endpoint, only refused
    # ones counted): the bound of what the per-credential count cannot see (unknown
    # credentials, spent challenges, one forger trying many credentials). Chosen: 20 per 15
    # minutes, four credentials' worth of the lock above, room for a household behind one
    # address; a valid assertion is never counted.
    wrong_passkey_assertions_per_ip: int = 20
    wrong_passkey_assertions_ip_window: timedelta = timedelta(minutes=15)

    # -- password change (seed 004, "Changement de mot de passe")
    change_code_digits: int = 4                           # "Code à 4 chiffres"
    change_code_ttl: timedelta = timedelta(minutes=15)    # "dans les 15 minutes suivant sa réception"
    change_code_quota: int = 3                            # échec 1: "déjà demandé 3 codes"
    change_code_quota_window: timedelta = timedelta(hours=1)  # chosen: the login's sliding hour
    change_code_quota_block: timedelta = timedelta(hours=1)   # chosen: the seeds give no duration
    wrong_change_codes_before_lock: int = 3               # échec 2: "trop grand nombre d'actions"
    wrong_change_code_lock: timedelta = timedelta(minutes=15)  # chosen: like the login's case 6
    password_change_after_email_change: timedelta = timedelta(hours=48)  # échec 3

    # -- password rules (seed 000)
    password_min_length: int = 6                          # "entre 6 et 50 caractères"
    password_max_length: int = 50

    # -- account creation and recovery (seeds 002, 003, 004 FAQ)
    email_validation_ttl: timedelta = timedelta(days=7)   # seed 002: "validité de 7 jours"
    provisional_code_ttl: timedelta = timedelta(days=30)  # chosen: a postal letter must arrive
    provisional_code_attempts: int = 3                    # chosen: like every other code
    provisional_code_lock: timedelta = timedelta(minutes=15)
    # Issue 11.6 (argued in SECURITY.md): the 4-digit form (10^4 values) is handed over in
    # person at the counter only, and lives 1 hour: time to activate there or once home.
    counter_code_ttl: timedelta = timedelta(hours=1)
    # ... and any provisional code tried wrong this many times in all is void, whatever the
    # locks in between: at most 5 guesses per code (5 in 10^4 for 4 digits).
    provisional_code_max_wrong: int = 5
    # "Créer un compte": provisional codes asked per NIR. Chosen: the login's case 3 values
    # (5 in a sliding hour, then blocked an hour), which this journey reused until issue 12.
    provisional_code_quota: int = 5
    provisional_code_quota_window: timedelta = timedelta(hours=1)
    provisional_code_quota_block: timedelta = timedelta(hours=1)
    # "Mot de passe oublié ?": reset links asked per NIR; chosen the same way as above.
    reset_quota: int = 5
    reset_quota_window: timedelta = timedelta(hours=1)
    reset_quota_block: timedelta = timedelta(hours=1)
    # Form posts per minute and IP address on the registration pages and on the forgotten
    # password form. Chosen: the login's LOGIN_RATE_LIMIT_PER_IP default, a burst guard only
    # (the per-NIR quotas above are the real limit).
    registration_posts_per_minute: int = 60
    reset_request_posts_per_minute: int = 60
    password_reset_ttl: timedelta = timedelta(hours=1)    # chosen: the seeds give no duration
    # Issue 11.4: seed 004's 48-hour rule after a new address (password change, cas 3) holds
    # for the reset too, else whoever moved the address resets the password through it.
    password_reset_after_email_change: timedelta = timedelta(hours=48)
    # Issue 11.5: a reset link's "different from the current password" rule is a guess of
    # that password (and an argon2 verification): the 3rd time it matches locks the reset of
    # the account 15 minutes, like the login's case 7.
    reset_same_password_tries: int = 3
    reset_same_password_lock: timedelta = timedelta(minutes=15)

    # -- argon2id cost for passwords (OWASP: m=19 MiB, t=2, p=1 at least)
    argon2_memory_kib: int = 65536
    argon2_time_cost: int = 3
    argon2_parallelism: int = 4

    # -- OpenID Connect lifetimes
    interaction_ttl: timedelta = timedelta(minutes=30)    # a login journey, start to end
    authorization_code_ttl: timedelta = timedelta(seconds=60)  # RFC 9700 / ASVS 10.4.3
    access_token_ttl: timedelta = timedelta(minutes=10)
    id_token_ttl: timedelta = timedelta(minutes=10)
    refresh_token_ttl: timedelta = timedelta(days=30)     # absolute lifetime of a family
    session_ttl: timedelta = timedelta(hours=12)          # provider session (NIST AAL2: 12 h)
    # A retired signing key stays published this long, so that every token it signed (and an
    # id_token_hint shown at logout, which may be old) can still be verified.
    signing_key_retention: timedelta = timedelta(days=7)
    # Each process keeps the key set this long before reading it again, so a rotation (or a
    # key added by another instance) reaches every instance within it. A token signed with a
    # key not yet in the copy makes the copy be read again at once.
    signing_key_cache: timedelta = timedelta(seconds=10)
    # -- issue 10.1: a new signing key is published first and signs only once every copy of
    # the key set can hold it: each instance's (signing_key_cache) and a relying party's, kept
    # up to the max-age /jwks announces. 60 s: openid-client (FranceConnect) reloads on an
    # unknown kid at most once a minute anyway; a short max-age keeps rotations quick.
    jwks_max_age: timedelta = timedelta(seconds=60)
    # A token naming a kid this process does not hold makes it read the key set again at most
    # this often (issue 11.12): forged kids cannot make every request read and decrypt the
    # keys; a key made elsewhere by ``keys rotate --now`` is read within it.
    signing_key_reload_interval: timedelta = timedelta(seconds=2)

    # -- issue 11.12: documents fetched from other servers (clients' jwks_uri, FranceConnect's
    # discovery and keys: idp/remote.py)
    remote_max_age: timedelta = timedelta(minutes=10)     # FranceConnect's keys: max-age=600
    remote_timeout: timedelta = timedelta(seconds=3)      # the whole fetch; below FC's own 6 s
    remote_max_bytes: int = 65536                         # chosen: a JWKS of ~30 RSA keys
    remote_refetch_interval: timedelta = timedelta(seconds=10)  # an unknown kid fetches again
    remote_retry_after: timedelta = timedelta(seconds=30)  # chosen: a failed fetch is not retried
    # FranceConnect as our upstream (idp/flows/franceconnect/upstream.py): its token and
    # userinfo requests give up after this long, below FranceConnect's own 6 s, so a stall
    # fails cleanly; and this much clock skew is tolerated on its ID tokens' exp / iat
    # (30 s: chosen, the skew NTP-synchronised hosts stay well within).
    franceconnect_timeout: timedelta = timedelta(seconds=5)
    franceconnect_clock_leeway: timedelta = timedelta(seconds=30)
    # A FranceConnect login with no account of ours waits this long for the complete login
    # (password, then code) that ties it to one (issue 11.1). Chosen: 10 minutes, time enough
    # to receive and type the e-mailed code (15 min valid) started at once.
    franceconnect_link_ttl: timedelta = timedelta(minutes=10)

    # -- HTTPS (issue 11.15): how long a browser keeps to HTTPS for the provider's host
    # (Strict-Transport-Security). A year: OWASP's HSTS cheat sheet and the preload lists ask
    # at least that; the provider is never meant to be reached over plain HTTP again.
    hsts_max_age: timedelta = timedelta(days=365)
    # -- languages (issue 13.7, idp/i18n.py): how long the browser keeps the language the
    # person chose with the page's switch (cookie ``idp_lang``). Chosen: a year, as the
    # CNIL keeps such cookies under 13 months.
    language_choice: timedelta = timedelta(days=365)
    # The discovery document may be kept this long by a relying party (Cache-Control): it
    # changes only with a deployment. Chosen: an hour, as openid-client's own default cache.
    discovery_max_age: timedelta = timedelta(hours=1)
    # A 503 of ours (database or key store unreachable) asks the caller to come back after
    # this long (Retry-After). Chosen: long enough for a database failover to finish.
    unavailable_retry_after: timedelta = timedelta(seconds=30)
    # -- protocol and operations (issues 10 and 11, protocol items)
    # /status (FranceConnect polls it to route people) gives up its query after this long and
    # answers 503: a locked table must not hang the poll. Chosen well under gunicorn's 30 s
    # worker timeout and under the few seconds a poller waits.
    status_query_timeout: timedelta = timedelta(seconds=2)
    # ... and gives Redis (the rate limiter's store) this long to connect and to answer PING:
    # chosen, a local Redis answers in well under a millisecond.
    status_redis_timeout: timedelta = timedelta(seconds=1)
    # The longest life a private_key_jwt client assertion may claim (exp - now); its jti is
    # remembered until its exp, so a replay is refused for the whole of that life. One hour:
    # Authlib's client signs assertions for 3600 s by default (openid-client for 60 s).
    client_assertion_max_lifetime: timedelta = timedelta(hours=1)
    # ... and this much clock skew is tolerated on its exp, nbf and iat (RFC 7523 §3 leaves
    # "a reasonably small leeway" to the server); its jti is remembered that much longer.
    # 60 s: Authlib's own default, named here so that it is one decision, not a library's.
    client_assertion_leeway: timedelta = timedelta(seconds=60)
    # DPoP (RFC 9449, idp/oidc/dpop.py): a proof's iat may be this far from now, either side,
    # and its jti is remembered that long after its iat (replays refused). Chosen: 60 s, the
    # clock skew of a phone plus a slow network; RFC 9449 §11.1 asks a "relatively brief"
    # window, and no server nonce is used (the jti store covers the window).
    dpop_proof_window: timedelta = timedelta(seconds=60)
    # What one authorization request may make us store (issue 11.13). OIDC and its
    # extensions define about 30 parameters; 50 leaves room for a client's own. 16 KiB holds a
    # signed request object and a claims parameter many times over, and is twice the URL
    # length common proxies accept.
    authorize_max_parameters: int = 50
    authorize_max_bytes: int = 16384
    # ... and one parameter (but a request object) this many characters: a claims parameter
    # or a long state fit many times over; chosen, as a quarter of authorize_max_bytes.
    authorize_max_parameter_length: int = 4096
    # A max_age above this is refused as invalid_request: no session lives that long anyway,
    # and a bound keeps the arithmetic on dates from overflowing (issue 11.13).
    max_age_limit: timedelta = timedelta(days=3650)

    # -- Back-Channel Logout 1.0 delivery (idp/oidc/logout.py). Chosen: a logout token lives
    # 2 minutes (the spec asks a short life; it is sent at once or retried soon); each POST
    # gets 5 s, like FranceConnect's own calls; a failure is retried after 30 s, doubled each
    # time, 6 attempts in all (30 s + 1 + 2 + 4 + 8 min: about half an hour, then given up).
    logout_token_ttl: timedelta = timedelta(seconds=120)
    backchannel_logout_timeout: timedelta = timedelta(seconds=5)
    backchannel_logout_retry: timedelta = timedelta(seconds=30)
    backchannel_logout_attempts: int = 6

    # -- clients.yaml (idp/oidc/clients/). A secret read from the environment has at least
    # FranceConnect's own minimum of 32 characters (FRANCECONNECT.md §5). A client's
    # access_token_lifetime and id_token_lifetime may not exceed an hour: an ID token says a
    # login just happened. The running server looks at the file at most once a second
    # (chosen: an edit is live at once, and a stat per second costs nothing).
    client_secret_min_length: int = 32
    client_access_token_max_lifetime: timedelta = timedelta(hours=1)
    client_id_token_max_lifetime: timedelta = timedelta(hours=1)
    clients_file_check_interval: timedelta = timedelta(seconds=1)

    @classmethod
    def from_mapping(cls, values: dict | None) -> "Policy":
        """Build from config: durations as seconds or timedelta, counts as integers."""
        values = dict(values or {})
        kwargs = {}
        fields = {f.name: f for f in dataclasses.fields(cls)}
        for name, raw in values.items():
            key = name.lower()
            if key not in fields:
                raise ValueError(f"IDP_POLICY__{name.upper()}: unknown policy setting")
            default = fields[key].default
            try:
                if isinstance(default, timedelta):
                    value = raw if isinstance(raw, timedelta) else timedelta(seconds=float(raw))
                    if value <= timedelta(0):
                        raise ValueError
                else:
                    value = int(raw)
                    if value < 1:
                        raise ValueError
            except (TypeError, ValueError):
                raise ValueError(
                    f"IDP_POLICY__{name.upper()}: expected a positive "
                    f"{'number of seconds' if isinstance(default, timedelta) else 'integer'},"
                    f" got {raw!r}") from None
            kwargs[key] = value
        return cls(**kwargs)

    @property
    def biometric_validity(self) -> timedelta:
        """How long a passkey (the seed's "token de la biométrie") lets the app in without the
        code: the trusted device's 6 months, ``device_trust`` (183 days), in one place."""
        return self.device_trust

    @property
    def signing_key_promotion(self) -> timedelta:
        """How long a rotated-in key is published before it signs (issue 10.1)."""
        return self.signing_key_cache + self.jwks_max_age


def policy() -> Policy:
    """The running application's policy."""
    return current_app.extensions["idp.policy"]
