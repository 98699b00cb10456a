"""The ameli login (seed 004, web, "Connexion avec un code de sécurité", cases 1 to 9).

```
credentials ──password ok, device trusted (or no code asked)──► logged in
credentials ──password ok──► code_offered ──send──► code_sent ──right code──► logged in
code_sent ──resend (quota)──► code_sent          code_sent ──expired──► code_offered
code_sent ──3rd wrong code (case 6)──► credentials
code_offered, code_sent ──6th code asked (case 3)──► shown as credentials until the block ends
credentials ──a live provider session, only consent missing──► consent
credentials ──a live provider session, only the code missing (step-up)──► code_offered
credentials ──a valid passkey assertion (biometrics, issue 14)──► logged in
logged in by password and code ──the client and the account allow the offer──► offer
offer ──"Activer" (passkey registered), "Plus tard", "Ne plus me le rappeler"──► consent or done
logged in ──consent needed──► consent ──accepted──► done      consent ──refused──► done
logged in ──no consent needed──► done
any step ──"Changer de numéro", flow gone or expired──► a new flow at credentials
```

"logged in" is not a state a flow rests in: it is what the move to ``consent`` or ``done``
stores on the row in the same compare-and-set, the ``AuthResult`` (who, when, how). At
``done`` the result goes to the pending authorization request (``Next.RESUME``), to the
journey that started this login (``then_endpoint``: the FranceConnect link,
``Next.THEN``), or, for a login on our own pages, to a provider session of its own
(``Next.ACCOUNT``). The views only load the flow, call one step and follow its ``Next``.

Errors keep the step (wrong password, wrong code, quota, mail not sent, account states):
the page of the same step is shown again with the seed's sentence.

The flow is a ``LoginFlow`` row whose id sits in the Flask session; each transition is a
compare-and-set on its step, so a double submit cannot send two codes or finish twice.
A passkey (``submit_passkey``) proves the person alone: its own per-credential lock and the
per-IP limit of its endpoint bound the attempts; the password and code locks of the NIR do
not stop it (anyone who knows a NIR can set them with three wrong passwords; a passkey
assertion guesses neither the password nor the code), but the account states do.

The biometrics offer (``offer``) comes only after a login whose code was really checked
(``pwd_mail``): a passkey outlives the login that registers it by 183 days, so a login
spared the code (a trusted device, a client that asks none) or made by a passkey never
registers one, else a stolen device cookie could be renewed for ever.

Locks and quotas belong to the NIR (``idp.domain.limits``), not to the flow, so a fresh flow
meets them too. An unknown NIR walks the same edges as a wrong password, at the same cost (a
dummy argon2 verification), and is counted under the same keyed NIR hash.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from flask import current_app
from sqlalchemy import bindparam, insert, inspect, select, update
from sqlalchemy.orm import make_transient_to_detached
from sqlalchemy.orm.attributes import set_committed_value

from idp import clock, interaction, keyed, mail, messages, sessions
from idp.domain import accounts, codes, devices, limits, passkeys
from idp.domain.nir import parse_nir
from idp.errors import (
    CodeExpired,
    CodeLocked,
    CodeQuotaReached,
    FieldRequired,
    FlowOutOfStep,
    FormInvalid,
    IdpError,
    InvalidNir,
    MailNotSent,
    PasskeyNotRegistered,
    PasskeyRefused,
    PasswordLocked,
    WrongCode,
    WrongPassword,
)
from idp.extensions import commit_one, db, in_session, read_one
from idp.models import Account, LoginFlow, UTCDateTime
from idp.ops import audit
from idp.policy import policy

CREDENTIALS, CODE_OFFERED, CODE_SENT, OFFER, CONSENT, DONE = (
    "credentials", "code_offered", "code_sent", "offer", "consent", "done")
STEPS = (CREDENTIALS, CODE_OFFERED, CODE_SENT, OFFER, CONSENT, DONE)
OFFER_ANSWERS = ("activated", "later", "never")
LOGGING_IN = {CREDENTIALS, CODE_OFFERED, CODE_SENT}     # the steps a login is proved from
CODE_PURPOSE = "login"


@dataclass(frozen=True)
class Next:
    """Where the browser goes after a step (see the module's diagram)."""
    PAGE, RESUME, THEN, ACCOUNT, REFUSED = "page", "resume", "then", "account", "refused"
    kind: str
    url: str | None = None          # RESUME, REFUSED: a URL; THEN: an endpoint
    result: interaction.AuthResult | None = None    # once logged in
    answer: object | None = None    # RESUME: the request's answer given by this step, if any


def _events():
    return current_app.extensions["idp.events"]


def _metrics():
    return current_app.extensions["idp.metrics"]


_INSERT = insert(LoginFlow.__table__).returning(LoginFlow.__table__.c.id)
# The columns a new flow leaves NULL: not in the INSERT (``result`` would be stored as JSON
# null), set on the object returned.
_UNSET = {"nir": None, "nir_key": None, "account_id": None, "code_sent_at": None, "result": None}


def start(interaction_id: str | None, *, then_endpoint: str | None = None) -> LoginFlow:
    """A new flow at credentials, for the pending request ``interaction_id`` (or none), or
    for the journey whose endpoint ``then_endpoint`` takes its result once done. Stored by one
    prebuilt INSERT (``commit_one``: on PostgreSQL alone in autocommit when no transaction is
    open), not the ORM unit of work; the flow returned is in the session as if just loaded,
    every column set, so the steps' ``load`` and ``advance`` work on it as on a read one."""
    now = clock.now()
    values = {"id": keyed.token(24), "interaction_id": interaction_id, "step": CREDENTIALS,
              "then_endpoint": then_endpoint, "new_code_notice": False,
              "created_at": now, "expires_at": now + policy().interaction_ttl}
    commit_one(_INSERT, values)
    flow = LoginFlow(**values, **_UNSET)
    make_transient_to_detached(flow)
    db.session.add(flow)
    return flow


_FLOW_MAPPER = inspect(LoginFlow)
_FLOW, _ACCOUNT, _PENDING = LoginFlow.__table__, Account.__table__, interaction.COLUMNS[0].table
_PENDING_COLUMNS = tuple(c.label("pending_" + c.name) for c in interaction.COLUMNS)
# The code-quota lock of the flow's NIR (case 3), named by the keyed hash the flow stores.
_CODE_QUOTA_LOCK = limits.lock_column("code_quota", key=_FLOW.c.nir_key)
# A step's flow with what its steps read besides, in one statement: its pending request
# (``interaction.details``, held for the request), its account's address (the code's mail)
# and its NIR's code-quota lock (``code_quota_block``, held for the request).
_LOAD = (select(LoginFlow, *_PENDING_COLUMNS, _ACCOUNT.c.email.label("account_email"),
                _CODE_QUOTA_LOCK)
         .select_from(_FLOW.outerjoin(_PENDING, _PENDING.c.id == _FLOW.c.interaction_id)
                      .outerjoin(_ACCOUNT, _ACCOUNT.c.id == _FLOW.c.account_id))
         .where(_FLOW.c.id == bindparam("flow_id")))


def load(flow_id: str | None) -> LoginFlow | None:
    if not flow_id or not isinstance(flow_id, str) or len(flow_id) > 64:
        return None
    # ``session.get`` without building its statement at each call: the row in hand, else
    # (none, or expired by a rollback: read again, None if gone) the prebuilt select.
    flow = db.session.identity_map.get(_FLOW_MAPPER.identity_key_from_primary_key((flow_id,)))
    if flow is None or inspect(flow).expired:
        row = db.session.execute(_LOAD, {"flow_id": flow_id}).first()
        flow = row[0] if row is not None else None
        if flow is not None:
            _hold(row, flow.account_id, flow.nir_key)
    if flow is None or flow.expires_at <= clock.now():
        return None
    return flow


def _hold(row, account_id: int | None, key: str | None) -> None:
    """What a flow's read brought besides (``_LOAD``, ``_PAGE``), held for the request: its
    pending request, its account's address, and the code-quota lock of its NIR's keyed hash
    ``key`` (none held for a flow that stores no key: ``code_quota_block`` reads it alone)."""
    if row.pending_id is not None:
        interaction.hold([getattr(row, "pending_" + c.name) for c in interaction.COLUMNS])
    if account_id is not None:
        accounts.hold_email(account_id, row.account_email)
    if key is not None:
        limits.hold_lock(key, "code_quota", row.code_quota_lock)


# What a login page shows, in one statement: the flow, its pending request (the columns
# ``interaction`` reads, held for the request), its account's NIR and address, and its NIR's
# code-quota lock (the case 3 screen, ``page_step``).
_PAGE = (select(_FLOW, *_PENDING_COLUMNS,
                _ACCOUNT.c.nir.label("account_nir"), _ACCOUNT.c.email.label("account_email"),
                _CODE_QUOTA_LOCK)
         .select_from(_FLOW.outerjoin(_PENDING, _PENDING.c.id == _FLOW.c.interaction_id)
                      .outerjoin(_ACCOUNT, _ACCOUNT.c.id == _FLOW.c.account_id))
         .where(_FLOW.c.id == bindparam("flow_id")))


def load_page(flow_id: str | None):
    """``load`` for a page that only shows the flow (GET /login): a row, the flow's columns
    as attributes and ``account_nir``, ``account_email``, read in one Core statement with
    the flow's pending request (``interaction.details`` then answers from it), outside any
    write lock; None as ``load``. Never for a step: it moves the ORM flow of ``load``."""
    if not flow_id or not isinstance(flow_id, str) or len(flow_id) > 64:
        return None
    row = read_one(_PAGE, {"flow_id": flow_id})
    if row is None or row.expires_at <= clock.now():
        return None
    _hold(row, row.account_id, row.nir_key)
    return row


# The compare-and-set of every move, prebuilt: its SET clause is the parameters' columns.
_MOVE = update(_FLOW).where(_FLOW.c.id == bindparam("flow_id"),
                            _FLOW.c.step.in_(bindparam("allowed", expanding=True)),
                            _FLOW.c.expires_at > bindparam("now", type_=UTCDateTime()))


def advance(flow: LoginFlow, *, allowed: set[str], to: str, then=None, **changes):
    """Compare-and-set the step: only one request moves a flow out of a step. ``then()``,
    run only when this request moved it, writes what goes with the move (the result handed
    to the pending request, or the request answered: what ``then`` returns is returned), and
    the audit rows queued so far by this step go in the same commit (``audit.into_step``):
    one transaction, which a fault rolls back whole (and the browser's session an answer
    renewed is put back, ``interaction.answer_lost``). The row in hand takes the values just
    written instead of being read again: when the update matched, they are what the database
    holds."""
    values = {"step": to, **changes}
    moved = in_session(_MOVE, {"flow_id": flow.id, "allowed": sorted(allowed),
                               "now": clock.now(), **values}).rowcount
    done = then() if moved == 1 and then is not None else None
    try:
        audit.into_step()
        db.session.commit()
    except BaseException:
        interaction.answer_lost()       # a fault: the browser's session as before the answer
        raise
    if moved != 1:
        raise FlowOutOfStep()
    for name, value in values.items():
        set_committed_value(flow, name, value)
    return done


def nir_key(flow_or_nir) -> str:
    """The keyed hash of a NIR, or of a flow's: the one it stores (``knowing``), else made."""
    if isinstance(flow_or_nir, str):
        return keyed.nir_key(flow_or_nir)
    return flow_or_nir.nir_key or keyed.nir_key(flow_or_nir.nir)


def knowing(nir: str, key: str | None = None) -> dict:
    """The columns a flow learns its NIR by (``advance``): the NIR and its keyed hash
    (``key``, made here unless the caller has it), which names its locks in the flow's read."""
    return {"nir": nir, "nir_key": key or keyed.nir_key(nir)}


def code_wanted(flow: LoginFlow) -> bool:
    """Whether this login asks the e-mailed code at all: a client setting
    (``require_security_code``, default yes), since the seeds' FAQ leaves it open for
    FranceConnect. A login with no pending request (the account page) always asks it."""
    details = interaction.details(flow.interaction_id)
    return details.require_security_code if details is not None else True


# -- step 1: NIR and password --------------------------------------------------------------

# What the password step reads, in one statement: the account of the NIR and that NIR's code
# and code-quota locks (``code_lock``, ``code_quota_lock``: cases 6 and 3).
_ACCOUNT_AND_LOCKS = select(*accounts.LOGIN_COLUMNS, limits.lock_column("code"),
                            limits.lock_column("code_quota")).where(
    _ACCOUNT.c.nir == bindparam("the_nir"))


def submit_credentials(flow: LoginFlow, raw_nir: str, password: str,
                       device_cookie: str | None, *, browser=None) -> Next:
    """credentials (or a code step: the person typed them again) → code_offered, or → logged
    in when a trusted device (or the client) spares the code. ``browser``: the Flask session
    of the page that posted the step, when its response may be the request's answer
    (``_hand_on``)."""
    if flow.step not in LOGGING_IN:
        raise FlowOutOfStep()
    try:
        nir = parse_nir(raw_nir).number
    except InvalidNir as invalid:
        if password:
            raise
        # Issue 13.6: an empty password beside a wrong NIR is flagged too, not only the NIR.
        raise FormInvalid({"nir": (invalid.message_id, {"reason": invalid.reason}),
                           "password": (FieldRequired.message_id, {})}) from None
    if not password:
        raise FieldRequired(field="password")
    key = nir_key(nir)
    p = policy()

    # Read in the transaction of the attempt's reservation, which ends before the slow hash
    # (no database lock is held while argon2 runs), and kept for what follows it; with it the
    # case 6 and case 3 locks of the NIR (none without an account: an unknown NIR is never
    # told a right password), told only after the hash.
    account = in_session(_ACCOUNT_AND_LOCKS, {"the_nir": nir, "the_key": key}).first()
    stored = account.password_hash if account is not None else None

    def check():
        return limits.Verdict.of(accounts.verify_password(stored, password)), None

    judged = limits.attempt(key, "password", max_attempts=p.wrong_passwords_before_lock,
                            lock_for=p.wrong_password_lock, check=check, right_with_caller=True,
                            locked=lambda until: PasswordLocked(until=until))   # case 7
    if judged.verdict is not limits.Verdict.RIGHT:
        _events()("login_failed", cause="password", nir_key=key[:16])
        _metrics().logins.labels("wrong_password").inc()
        if judged.locks_until is not None:
            _events()("lock_set", kind="password", nir_key=key[:16])
            _metrics().locks.labels("password").inc()
            raise PasswordLocked(until=judged.locks_until)          # case 7
        raise WrongPassword()                                        # case 4
    try:
        return _password_right(flow, account, knowing(nir, key), password, device_cookie,
                               browser)
    except IdpError:
        db.session.commit()     # the refusals of a right password: its clearing goes too
        raise


def _password_right(flow: LoginFlow, account, nir: dict, password: str,
                    device_cookie: str | None, browser) -> Next:
    """What follows a right password (``nir``: the flow's columns of the NIR, ``knowing``),
    in the transaction that holds its clearing (the attempt's success,
    ``right_with_caller``): committed by the move, or by the caller
    when a refusal is raised; a fault rolls it back (the count stays one higher). So a
    refusal (an ``IdpError``) comes before this step changes anything (a trusted device's
    use and the login's time are noted only on the way to the move) or after the move's
    commit. Committed, not redone after a rollback: the clearing holds the throttle row
    from the check on, so that a wrong attempt reserved meanwhile still counts."""
    # Case 6 still running: told only now that the password is right (issue 11.14); before,
    # a wrong password gets case 4 as an unknown NIR does, so the lock tells nothing.
    code_locked = limits.current(account.code_lock)
    if code_locked is not None:
        raise CodeLocked(until=code_locked)
    accounts.rehash_if_needed(account.id, account.password_hash, password)
    accounts.refuse_if_unusable(account)                             # cases 1, 1 bis, 8, 9
    if not code_wanted(flow):
        method = "pwd"
    elif devices.trusted_device(device_cookie, account.id) is not None:
        method = "pwd_device"
    else:
        method = "pwd_mail"
        # Case 3 still running: the seed's screen at once. Raised before the code of this
        # flow is withdrawn, so that typing the password again during the block does not
        # void a code that works again once it ends (issue 13.1).
        until = limits.current(account.code_quota_lock)      # code_quota_block(), read above
        if until is not None:
            raise CodeQuotaReached(until=until)
    codes.withdraw(CODE_PURPOSE, flow.id)       # a code sent earlier in this flow is void,
    if method == "pwd_mail":                    # in the transaction of the move below
        advance(flow, allowed=LOGGING_IN, to=CODE_OFFERED, account_id=account.id, **nir)
        return Next(Next.PAGE)
    return _logged_in(flow, account.id, method=method, browser=browser, **nir)


def answer_from_session(flow: LoginFlow, live) -> Next | None:
    """A new flow whose pending request a live provider session (``live``) already answers
    but for one thing, moved to that thing; None when the session does not answer it:

    - only consent is missing: credentials → consent, with the session's own result;
    - only the e-mailed code is missing (issue 11.7, a step-up): credentials → code_offered
      for the session's account, without asking its password again; when that account can
      no longer log in, None (the full login, which says why)."""
    details = interaction.details(flow.interaction_id)
    if details is None or live is None:
        return None
    if details.reuse_session and live.account_id == details.session_account_id:
        result = interaction.AuthResult(account_id=live.account_id, amr=live.amr, acr=live.acr,
                                        auth_time=live.auth_time)
        advance(flow, allowed={CREDENTIALS}, to=CONSENT, account_id=live.account_id,
                result=result.to_json())
        return Next(Next.PAGE, result=result)
    if details.step_up_account_id is not None and live.account_id == details.step_up_account_id:
        account = db.session.get(Account, live.account_id)
        try:
            if account is None:
                raise FlowOutOfStep()
            accounts.refuse_if_unusable(account)
        except IdpError:
            return None
        advance(flow, allowed={CREDENTIALS}, to=CODE_OFFERED, account_id=account.id,
                **knowing(account.nir))
        return Next(Next.PAGE)
    return None


# -- step 2: the e-mailed code -------------------------------------------------------------

def code_quota_block(flow_or_nir) -> datetime | None:
    """The end of a case 3 block on this NIR, or None. While it lasts no code is sent and
    none is accepted, not even one sent before it (issue 13.1); a login that needs no code
    (a remembered device, a client that asks none) is not concerned."""
    return limits.lock_state(nir_key(flow_or_nir), "code_quota")


def page_step(flow: LoginFlow, error: IdpError | None) -> tuple[str, IdpError | None]:
    """The step whose page the person sees, and the message on it. During a case 3 block a
    flow past the password shows the seed's screen, the NIR and password form under the red
    message, whatever its stored step: the stored step (and its code) comes back when the
    block ends (issue 13.1)."""
    if error is None and flow.step in (CODE_OFFERED, CODE_SENT) and flow.nir:
        until = code_quota_block(flow)
        if until is not None:
            error = CodeQuotaReached(until=until)
    if isinstance(error, CodeQuotaReached):
        return CREDENTIALS, error
    return flow.step, error


def send_code(flow: LoginFlow) -> None:
    """Send a (new) code: counted against the quota only when the mail really left."""
    if flow.step not in (CODE_OFFERED, CODE_SENT) or flow.account_id is None:
        raise FlowOutOfStep()
    p = policy()
    key = nir_key(flow)
    try:      # the request counted in the transaction of the code's row, committed below
        ticket = limits.take_quota(key, "code_quota", quota=p.code_quota, commit=False,
                                   window=p.code_quota_window, block=p.code_quota_block)
    except limits.QuotaReached as reached:                           # case 3
        _metrics().locks.labels("code_quota").inc()
        if flow.new_code_notice:        # no new code was sent: the blue notice goes
            db.session.execute(update(LoginFlow).where(LoginFlow.id == flow.id)
                               .values(new_code_notice=False))
            db.session.commit()
            db.session.refresh(flow)
        raise CodeQuotaReached(until=reached.until) from None
    email = accounts.email_of(flow.account_id)
    code, previous = codes.replace(CODE_PURPOSE, flow.id, digits=p.code_digits, ttl=p.code_ttl)
    db.session.commit()
    try:
        mail.send("security_code", email, secret=code, code=code,
                  ttl_minutes=int(p.code_ttl.total_seconds() // 60))
    except MailNotSent:
        # Our fault: the request is not counted and the code already received still works.
        ticket.cancel()
        codes.restore(CODE_PURPOSE, flow.id, previous)
        db.session.commit()
        _metrics().mail_failures.inc()
        raise
    resend = flow.step == CODE_SENT
    _events()("code_sent", account_id=flow.account_id)      # the mail left: its row goes with the move
    advance(flow, allowed={CODE_OFFERED, CODE_SENT}, to=CODE_SENT, code_sent_at=clock.now(),
            new_code_notice=resend)
    _metrics().codes_sent.inc()


def submit_code(flow: LoginFlow, submitted: str, *, biometrics: str | None = None,
                browser=None) -> Next:
    """code_sent → logged in with the right code; the errors of cases 2, 3, 5 and 6.
    ``biometrics`` is what the page found on the device (``offer_wanted``); ``browser`` as
    for ``submit_credentials``."""
    if flow.step != CODE_SENT or flow.account_id is None:
        raise FlowOutOfStep()
    p = policy()
    key = nir_key(flow)
    until = code_quota_block(flow)
    if until is not None:               # case 3: no code logs in during the block (13.1)
        raise CodeQuotaReached(until=until)
    judged = limits.attempt(key, "code", max_attempts=p.wrong_codes_before_lock,
                            lock_for=p.wrong_code_lock, check=lambda: _judge_code(flow, submitted),
                            locked=lambda until: CodeLocked(until=until),       # case 6
                            right_with_caller=True)
    if judged.value is codes.Check.OK:
        # The code used and the count cleared, in the transaction of the move (a fault rolls
        # back both: the code still works, the count stays one higher); a refusal, raised
        # before any other write or after the move's commit, commits them (``_password_right``).
        try:
            return _logged_in(flow, flow.account_id, method="pwd_mail", biometrics=biometrics,
                              browser=browser)
        except IdpError:
            db.session.commit()
            raise
    if judged.value is codes.Check.MISSING:
        # At code_sent the code is gone only when a concurrent request (a double click) has
        # just used it: not a wrong code, and not case 2 either.
        raise FlowOutOfStep()
    if judged.value is codes.Check.EXPIRED:                          # case 2: not a wrong code
        advance(flow, allowed={CODE_SENT}, to=CODE_OFFERED, new_code_notice=False)
        raise CodeExpired()
    _events()("login_failed", cause="code", account_id=flow.account_id)
    _metrics().logins.labels("wrong_code").inc()
    if judged.locks_until is not None:                               # case 6
        _events()("lock_set", kind="code", account_id=flow.account_id)
        _metrics().locks.labels("code").inc()
        # The code is left in place (not withdrawn): attempts reserved before this one are
        # still evaluated against it, so the count stays exact; the flow goes back to the
        # credentials step, where no code is accepted, and new credentials void it.
        advance(flow, allowed={CODE_SENT}, to=CREDENTIALS)
        raise CodeLocked(until=judged.locks_until)
    raise WrongCode()                                                # case 5


def _judge_code(flow: LoginFlow, submitted: str) -> tuple[limits.Verdict, codes.Check]:
    """A code is right, wrong, or not judged at all: expired (case 2) or already used."""
    outcome = codes.check(CODE_PURPOSE, flow.id, submitted or "")
    if outcome is not codes.Check.OK:   # the right code: used in the attempt's success's
        db.session.commit()             # transaction (the move's, see ``submit_code``)
    return codes.VERDICTS[outcome], outcome


# -- the end ------------------------------------------------------------------------------

def _amr(method: str) -> list[str]:
    """RFC 8176 ``amr`` of a login: the one-time code only when it was really entered; a
    passkey is ``pop`` (a proof of possession) and ``mfa`` (a key unlocked by a finger or a
    face: which one, the server cannot know)."""
    if method == passkeys.METHOD:
        return list(passkeys.AMR)
    return ["pwd", "otp", "mfa"] if method == "pwd_mail" else ["pwd"]


def _logged_in(flow: LoginFlow, account_id: int, *, method: str,
               biometrics: str | None = None, browser=None, **changes) -> Next:
    """The person proved (the password and the code, a trusted device, or a passkey): the
    outcome the tokens will carry — who, when, how — stored on the row as it moves to the
    biometrics offer, consent or done. A login spared by a trusted device is ``["pwd"]``,
    with ``remembered_device`` set."""
    amr = _amr(method)
    result = interaction.AuthResult(
        account_id=account_id, amr=amr, acr=interaction.acr_for(method),
        auth_time=clock.now().replace(microsecond=0), remembered_device=method == "pwd_device")
    account = accounts.note_login(account_id)       # committed with the move below
    if account is None:                 # deleted meanwhile: nobody to log in
        raise FlowOutOfStep()
    offer = offer_wanted(flow, account, method, biometrics)
    _events()("login_succeeded", account_id=account_id, amr=amr)
    _metrics().logins.labels("success").inc()
    if offer:
        _events()("passkey_offer", account_id=account_id, outcome="shown")
        advance(flow, allowed=LOGGING_IN, to=OFFER, account_id=account_id,
                result=result.to_json(), **changes)
        return Next(Next.PAGE, result=result)
    return _consent_or_done(flow, result, allowed=LOGGING_IN, browser=browser, **changes)


def _consent_or_done(flow: LoginFlow, result: interaction.AuthResult, *, allowed: set[str],
                     browser=None, **changes) -> Next:
    """The logged-in result moves to consent when the client needs it, else it goes on."""
    details = interaction.details(flow.interaction_id)
    consent = details is not None and (details.prompt_consent or details.consent and not
                                       sessions.has_consent(result.account_id,
                                                            details.client_id, details.scope))
    answer = advance(flow, allowed=allowed, to=CONSENT if consent else DONE,
                     then=None if consent else lambda: _hand_on(flow, result, browser),
                     account_id=result.account_id, result=result.to_json(), **changes)
    return Next(Next.PAGE, result=result) if consent else _handed_on(flow, result, answer)


# -- biometrics: the passkey login and the activation offer (issue 14) ---------------------

BIOMETRICS = ("platform", "none")


def offer_wanted(flow: LoginFlow, account, method: str,
                 biometrics: str | None) -> bool:
    """Whether this login ends on the biometrics offer: after the password and a code really
    checked (``pwd_mail``, see the module docstring), on our own pages or for a client that
    does not say ``biometric_offer: false``, not for a journey waiting for the result (the
    FranceConnect link), while the account has not said "Ne plus me le rappeler", and when
    the page found something to say on this device (``biometrics``, from passkey.js): a
    platform authenticator ("platform": the offer), or a phone without one ("none": the
    seed's alert). A browser without WebAuthn, without script, or a computer without a
    platform authenticator sends nothing: no offer, no alert."""
    if biometrics not in BIOMETRICS:
        return False
    if method != "pwd_mail" or flow.then_endpoint is not None:
        return False
    if account.passkey_offer == "never":
        return False
    details = interaction.details(flow.interaction_id)
    return details is None or details.biometric_offer


def passkey_options(flow: LoginFlow | None) -> passkeys.Options:
    """Request options for a biometric sign-in in this flow (at the NIR and password step),
    or before any flow (None: the login page without a request, whose flow is made only
    when an answer comes, as for the password)."""
    if flow is not None and flow.step not in LOGGING_IN:
        raise FlowOutOfStep()
    return passkeys.authentication_options()


def submit_passkey(flow: LoginFlow, credential, challenge_id: str | None) -> Next:
    """credentials (or a code step: the person turned to the biometrics) → logged in with a
    valid assertion of a challenge issued to this flow (``challenge_id``). The domain's
    refusals (PasskeyRefused, PasskeyExpired, PasskeyCloned, PasskeyLocked) keep the step:
    the page offers the password and the code. A valid passkey of an account that can no
    longer log in gets that account's message (cases 1, 1 bis, 8, 9), as the password does."""
    if flow.step not in LOGGING_IN:
        raise FlowOutOfStep()
    if not challenge_id:
        raise PasskeyRefused(reason="challenge")
    login = passkeys.verify_authentication(credential, challenge_id=challenge_id)
    account = passkeys.usable_account(login)
    codes.withdraw(CODE_PURPOSE, flow.id)       # a code sent earlier in this flow is void
    db.session.commit()
    return _logged_in(flow, account.id, method=login.method, **knowing(account.nir))


def offer_options(flow: LoginFlow) -> passkeys.Options:
    """Creation options for "Activer", for the account this flow just logged in."""
    if flow.step != OFFER or flow.account_id is None:
        raise FlowOutOfStep()
    return passkeys.registration_options(db.session.get(Account, flow.account_id))


def activate(flow: LoginFlow, credential, challenge_id: str | None, user_agent: str) -> Next:
    """offer ──"Activer"──►: the attestation verified, the passkey stored with the device's
    label ("Chrome sur Android", as the trusted devices), then the login goes on. A refused
    attestation (PasskeyNotRegistered) keeps the offer."""
    if flow.step != OFFER or flow.account_id is None:
        raise FlowOutOfStep()
    if not challenge_id:
        raise PasskeyNotRegistered(reason="challenge")
    passkeys.verify_registration(
        flow.account_id, credential, challenge_id=challenge_id,
        label=messages.device_label(*devices.describe(user_agent)))
    return decide_offer(flow, "activated")


def decide_offer(flow: LoginFlow, answer: str, *, browser=None) -> Next:
    """offer → consent or done: "Plus tard" (``later``: offered again at the next login),
    "Ne plus me le rappeler" (``never``: stored on the account), or ``activated``;
    ``browser`` as for ``submit_credentials``."""
    if answer not in OFFER_ANSWERS:
        raise ValueError(f"offer answer: {answer!r}")
    if flow.step != OFFER or flow.result is None:
        raise FlowOutOfStep()
    result = interaction.AuthResult.from_json(flow.result)
    then = _consent_or_done(flow, result, allowed={OFFER}, browser=browser)
    if answer == "never":
        passkeys.set_offer(db.session.get(Account, result.account_id), "never")
    _events()("passkey_offer", account_id=result.account_id, outcome=answer)
    return then


def decide_consent(flow: LoginFlow, *, accepted: bool, browser=None) -> Next:
    """consent → done: accepted, the consent is kept and the result goes on; refused, the
    relying party gets ``access_denied`` (issue 13.4). ``browser`` as for
    ``submit_credentials``."""
    if flow.step != CONSENT or flow.result is None:
        raise FlowOutOfStep()
    details = interaction.details(flow.interaction_id)
    if details is None:
        raise FlowOutOfStep()
    result = interaction.AuthResult.from_json(flow.result)

    def accept():
        sessions.grant_consent(result.account_id, details.client_id, details.scope, commit=False)
        return _hand_on(flow, result, browser)
    answer = advance(flow, allowed={CONSENT}, to=DONE, then=accept if accepted else None)
    if not accepted:
        return Next(Next.REFUSED, url=details.refuse_url)
    return _handed_on(flow, result, answer)


def _hand_on(flow: LoginFlow, result: interaction.AuthResult, browser=None):
    """In the transaction that moves the flow to done: its result to the pending request;
    with ``browser`` (the Flask session of the page that posted the step), the request
    answered at once when the protocol can (``interaction.complete_here``): that answer,
    else None."""
    if flow.interaction_id is None:
        return None
    if browser is not None:
        return interaction.complete_here(flow.interaction_id, result, browser)
    interaction.complete(flow.interaction_id, result, commit=False)
    return None


def _handed_on(flow: LoginFlow, result: interaction.AuthResult, answer=None) -> Next:
    """A flow just done (``_hand_on``): where its result goes: the pending request (with its
    ``answer`` when the step gave it), the journey waiting, or (a login on our own pages) a
    provider session of its own."""
    if flow.interaction_id is not None:
        return Next(Next.RESUME, url=interaction.resume_url(flow.interaction_id), result=result,
                    answer=answer)
    if flow.then_endpoint is not None:
        return Next(Next.THEN, url=flow.then_endpoint, result=result)
    return Next(Next.ACCOUNT, result=result)


def result_for(flow_id: str | None, then_endpoint: str) -> interaction.AuthResult | None:
    """The result of a done login started for ``then_endpoint``; the journey that takes it
    makes sure it takes it once (its own compare-and-set)."""
    flow = load(flow_id)
    if flow is None or flow.step != DONE or flow.then_endpoint != then_endpoint \
            or flow.result is None:
        return None
    return interaction.AuthResult.from_json(flow.result)
