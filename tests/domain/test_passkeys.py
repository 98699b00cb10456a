"""idp.domain.passkeys on the real databases, against a software authenticator
(tests/helpers/authenticator.py): what logs in, and every assertion an attacker or a broken
device may send, each refused (issue 14)."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
import sqlalchemy as sa
from cryptography.hazmat.primitives.asymmetric import ec

from idp import errors
from tests.helpers.authenticator import Authenticator, b64url, unb64url

NIR = "2690299341732"          # the person fixture's; its key is 85
NEW_PASSWORD = "Nouveau2024!"


@pytest.fixture
def ctx(app):
    with app.app_context():
        yield app


@pytest.fixture
def account(ctx, clock, person):
    """The person's account; the clock stands still from here on (every row below is made
    at the moved clock's time)."""
    from idp.domain import accounts
    return accounts.by_nir(person.nir)


@pytest.fixture
def device(ctx):
    """The person's phone, before any registration."""
    return Authenticator(origin=ctx.config["PASSKEY_ORIGINS"][0], rp_id=ctx.config["PASSKEY_RP_ID"])


def register(account, device, label="iPhone", **spoil):
    from idp.domain import passkeys
    options = passkeys.registration_options(account)
    return passkeys.verify_registration(account.id, device.register(options.public_key, **spoil),
                                        label=label, challenge_id=options.challenge_id)


@pytest.fixture
def registered(account, device):
    """The person's phone after "Activer": a passkey of the account."""
    return register(account, device)


def login(device, **spoil):
    """One biometric sign-in: fresh request options, the device's assertion, the verdict."""
    from idp.domain import passkeys
    options = passkeys.authentication_options()
    return passkeys.verify_authentication(device.assertion(options.public_key, **spoil),
                                          challenge_id=options.challenge_id)


def row(passkey_id):
    from idp.extensions import db
    from idp.models import Passkey
    db.session.expire_all()
    return db.session.get(Passkey, passkey_id)


def events(name):
    from idp.extensions import db
    from idp.models import AuditEvent
    return list(db.session.scalars(sa.select(AuditEvent).where(AuditEvent.event == name)))


# -- what logs in ------------------------------------------------------------------------------

def test_a_registered_passkey_logs_in_with_pop_and_mfa(account, device, clock):
    passkey = register(account, device, label="Chrome sur Android")
    assert passkey.label == "Chrome sur Android"
    assert passkey.created_at == clock.now()
    assert passkey.expires_at == clock.now() + timedelta(days=183)
    assert passkey.credential_id == b64url(device.credential_id)
    assert events("passkey_registered")[0].account_id == account.id
    clock.shift(timedelta(days=1))
    done = login(device)
    assert (done.account_id, done.passkey_id, done.method) == (account.id, passkey.id, "passkey")
    assert list(done.amr) == ["pop", "mfa"]
    stored = row(passkey.id)
    assert stored.last_used_at == clock.now() and stored.sign_count == device.counter == 2


def test_a_synced_passkey_that_never_counts_logs_in_again_and_again(account, ctx):
    synced = Authenticator(origin=ctx.config["PASSKEY_ORIGINS"][0],
                           rp_id=ctx.config["PASSKEY_RP_ID"], step=0)
    passkey = register(account, synced)
    for _ in range(3):
        assert login(synced).passkey_id == passkey.id
    assert row(passkey.id).sign_count == 0


def test_validity_is_the_trusted_devices_183_days_in_one_place(ctx):
    from idp.policy import policy
    assert policy().biometric_validity == policy().device_trust == timedelta(days=183)
    assert policy().passkey_challenge_ttl == timedelta(minutes=5)


# -- what the options say ------------------------------------------------------------------------

def test_the_user_entity_holds_a_random_handle_and_a_masked_nir_never_the_nir(account, ctx):
    from idp.domain import passkeys
    user = passkeys.registration_options(account).public_key["user"]
    handle = unb64url(user["id"])
    assert len(handle) == 32 and NIR.encode() not in handle and NIR not in user["id"]
    assert user["name"] == user["displayName"] == "2 ** ** ** *** *** 85"
    assert NIR[1:] not in user["name"].replace(" ", "")
    # random: before any passkey, each options call draws its own (a registered one stays)
    assert passkeys.registration_options(account).public_key["user"]["id"] != user["id"]


def test_options_ask_a_resident_key_and_user_verification_and_exclude_the_live_passkeys(
        account, device, registered, ctx):
    from idp.domain import passkeys
    creation = passkeys.registration_options(account).public_key
    selection = creation["authenticatorSelection"]
    assert selection["residentKey"] == "required" and selection["requireResidentKey"] is True
    assert selection["userVerification"] == "required"
    assert creation["attestation"] == "none"
    assert creation["rp"] == {"id": ctx.config["PASSKEY_RP_ID"], "name": "Compte ameli"}
    assert [c["id"] for c in creation["excludeCredentials"]] == [b64url(device.credential_id)]
    assert creation["user"]["id"] == b64url(device.user_handle)    # one handle per account
    assert creation["timeout"] == 300000
    request = passkeys.authentication_options().public_key
    assert request.get("allowCredentials", []) == []
    assert request["userVerification"] == "required"
    assert request["rpId"] == ctx.config["PASSKEY_RP_ID"]


def test_a_second_passkey_of_the_account_has_the_same_user_handle(account, registered, ctx):
    second = Authenticator(origin=ctx.config["PASSKEY_ORIGINS"][0],
                           rp_id=ctx.config["PASSKEY_RP_ID"])
    passkey = register(account, second, label="Safari sur macOS")
    assert passkey.user_handle == registered.user_handle
    assert login(second).passkey_id == passkey.id


# -- refused assertions ----------------------------------------------------------------------------

def test_user_verification_not_done_is_refused(registered, device):
    with pytest.raises(errors.PasskeyRefused):
        login(device, uv=False)


def test_user_presence_not_set_is_refused(registered, device):
    with pytest.raises(errors.PasskeyRefused):
        login(device, up=False)


def test_another_origin_is_refused(registered, device):
    with pytest.raises(errors.PasskeyRefused):
        login(device, origin="https://ameli.example.com")


def test_another_rp_id_is_refused(registered, device):
    with pytest.raises(errors.PasskeyRefused):
        login(device, rp_id="ameli.example.com")


def test_a_challenge_is_used_once(registered, device):
    from idp.domain import passkeys
    options = passkeys.authentication_options()
    first = device.assertion(options.public_key)
    passkeys.verify_authentication(first, challenge_id=options.challenge_id)
    with pytest.raises(errors.PasskeyRefused) as replayed:
        passkeys.verify_authentication(first, challenge_id=options.challenge_id)
    assert replayed.value.reason == "challenge"
    # ... even signed again with a higher counter: the challenge is spent
    with pytest.raises(errors.PasskeyRefused) as again:
        passkeys.verify_authentication(device.assertion(options.public_key),
                                       challenge_id=options.challenge_id)
    assert again.value.reason == "challenge"
    # ... and a sign-in names its challenge: the id it was issued with (no row to look up)
    with pytest.raises(errors.PasskeyRefused) as unnamed:
        passkeys.verify_authentication(device.assertion(passkeys.authentication_options()
                                                        .public_key))
    assert unnamed.value.reason == "challenge"


def test_a_refused_assertion_spends_its_challenge_too(registered, device):
    from idp.domain import passkeys
    options = passkeys.authentication_options()
    with pytest.raises(errors.PasskeyRefused):
        passkeys.verify_authentication(device.assertion(options.public_key, uv=False))
    with pytest.raises(errors.PasskeyRefused) as again:
        passkeys.verify_authentication(device.assertion(options.public_key))
    assert again.value.reason == "challenge"


def test_two_concurrent_assertions_with_one_challenge_cannot_both_pass(app, registered, device):
    from idp.domain import passkeys
    with app.app_context():
        options = passkeys.authentication_options()
    assertion = device.assertion(options.public_key)
    outcomes, start = [], threading.Barrier(2)

    def attempt():
        with app.app_context():
            start.wait()
            try:
                passkeys.verify_authentication(assertion, challenge_id=options.challenge_id)
                outcomes.append("in")
            except errors.PasskeyRefused as refused:
                outcomes.append(refused.reason)

    threads = [threading.Thread(target=attempt) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["challenge", "in"]


def test_a_challenge_past_5_minutes_is_refused(registered, device, clock):
    from idp.domain import passkeys
    options = passkeys.authentication_options()
    clock.shift(timedelta(minutes=5))
    with pytest.raises(errors.PasskeyRefused) as late:
        passkeys.verify_authentication(device.assertion(options.public_key),
                                       challenge_id=options.challenge_id)
    assert late.value.reason == "challenge"
    options = passkeys.authentication_options()
    clock.shift(timedelta(minutes=5) - timedelta(microseconds=1))
    passkeys.verify_authentication(device.assertion(options.public_key),
                                   challenge_id=options.challenge_id)


def test_a_challenge_of_another_purpose_or_id_is_refused(account, registered, device):
    from idp.domain import passkeys
    creation = passkeys.registration_options(account)
    with pytest.raises(errors.PasskeyRefused):      # a registration challenge, asserted
        passkeys.verify_authentication(device.assertion(creation.public_key))
    request = passkeys.authentication_options()
    other = passkeys.authentication_options()
    with pytest.raises(errors.PasskeyRefused):      # the session holds another challenge
        passkeys.verify_authentication(device.assertion(request.public_key),
                                       challenge_id=other.challenge_id)
    with pytest.raises(errors.PasskeyRefused):      # a "webauthn.create" client data
        login(device, kind="webauthn.create")
    fresh = Authenticator(origin=device.origin, rp_id=device.rp_id)
    with pytest.raises(errors.PasskeyNotRegistered):    # an assertion challenge, registered
        passkeys.verify_registration(account.id, fresh.register(
            creation.public_key, challenge=request.public_key["challenge"]), label="x")


def test_a_challenge_we_never_issued_is_refused(registered, device):
    with pytest.raises(errors.PasskeyRefused) as refused:
        login(device, challenge=b64url(b"0" * 32))
    assert refused.value.reason == "challenge"


def test_an_unknown_credential_is_refused(registered, device):
    with pytest.raises(errors.PasskeyRefused) as refused:
        login(device, credential_id=b"\x01" * 32)
    assert refused.value.reason == "unknown"


def test_a_malformed_assertion_is_refused(registered, device):
    from idp.domain import passkeys
    for bad in ("{", {}, {"id": "x", "rawId": "x", "type": "public-key", "response": {}},
                "[]"):
        with pytest.raises(errors.PasskeyRefused):
            passkeys.verify_authentication(bad)


@pytest.mark.parametrize("part, value", [("signature", b"garbage"),
                                         ("signature", b""),
                                         ("authenticatorData", b"\x00" * 10)])
def test_a_garbled_signature_or_authenticator_data_is_refused_and_counted(
        registered, device, part, value):
    from idp import keyed
    from idp.domain import limits, passkeys
    options = passkeys.authentication_options()
    assertion = device.assertion(options.public_key)
    assertion["response"][part] = b64url(value)
    with pytest.raises(errors.PasskeyRefused) as refused:
        passkeys.verify_authentication(assertion, challenge_id=options.challenge_id)
    assert refused.value.reason == "invalid"
    key = keyed.digest("passkey", registered.credential_id)
    assert limits.reserve(key, "passkey", max_attempts=5,
                          lock_for=timedelta(minutes=15)).attempt == 2


def test_a_signature_by_another_key_is_refused(registered, device):
    with pytest.raises(errors.PasskeyRefused):
        login(device, signing_key=ec.generate_private_key(ec.SECP256R1()))


def test_another_user_handle_is_refused(registered, device):
    with pytest.raises(errors.PasskeyRefused) as refused:
        login(device, user_handle=b"\x02" * 32)
    assert refused.value.reason == "user_handle"


def test_a_revoked_passkey_is_refused(account, registered, device):
    from idp.domain import passkeys
    assert passkeys.revoke(account.id + 1, registered.id) is False   # not another's
    assert passkeys.revoke(account.id, registered.id) is True
    assert row(registered.id).revoked_reason == "person"
    assert passkeys.list_for(account.id) == []
    assert events("passkey_revoked")[0].account_id == account.id
    with pytest.raises(errors.PasskeyRefused) as refused:
        login(device)
    assert refused.value.reason == "revoked"
    assert [e.outcome for e in events("passkey_login_failed")] == ["revoked"]


def test_a_passkey_past_183_days_has_expired(account, registered, device, clock):
    from idp.domain import passkeys
    clock.shift(timedelta(days=183) - timedelta(microseconds=1))
    assert login(device).account_id == account.id
    clock.shift(timedelta(microseconds=1))
    assert passkeys.list_for(account.id) == []
    with pytest.raises(errors.PasskeyExpired):
        login(device)
    assert [e.outcome for e in events("passkey_login_failed")] == ["expired"]


@pytest.mark.parametrize("back", [1, 0], ids=["lower", "equal"])
def test_a_counter_that_does_not_go_up_is_a_cloned_key_revoked_and_audited(
        account, registered, device, back):
    from idp.domain import passkeys
    login(device)
    login(device)                                   # the stored count is now 3
    with pytest.raises(errors.PasskeyCloned):
        login(device, counter=device.counter - back)
    stored = row(registered.id)
    assert stored.revoked_at is not None and stored.revoked_reason == "cloned"
    audited = events("passkey_cloned")
    assert len(audited) == 1 and audited[0].account_id == account.id
    assert audited[0].details["passkey_id"] == registered.id
    with pytest.raises(errors.PasskeyRefused):
        login(device)                               # the original is revoked with it
    assert passkeys.list_for(account.id) == []


def test_a_lower_counter_without_the_key_revokes_nothing(registered, device):
    login(device)
    with pytest.raises(errors.PasskeyRefused):
        login(device, counter=1, signing_key=ec.generate_private_key(ec.SECP256R1()))
    assert row(registered.id).revoked_at is None and events("passkey_cloned") == []
    login(device)


# -- registration refused ---------------------------------------------------------------------------

@pytest.mark.parametrize("spoil", [{"uv": False}, {"up": False},
                                   {"origin": "https://ameli.example.com"},
                                   {"rp_id": "ameli.example.com"},
                                   {"challenge": b64url(b"1" * 32)}],
                         ids=["uv", "up", "origin", "rp_id", "challenge"])
def test_a_bad_attestation_registers_nothing(account, device, spoil):
    from idp.domain import passkeys
    with pytest.raises(errors.PasskeyNotRegistered):
        register(account, device, **spoil)
    assert passkeys.list_for(account.id) == []


def test_a_registration_challenge_belongs_to_its_account(account, device):
    from idp.domain import accounts, passkeys
    from idp.extensions import db
    other = accounts.create(nir="1840175056123", password=NEW_PASSWORD,
                            email="jean.dupont@example.fr", given_name="Jean",
                            family_name="DUPONT", birthdate="1984-01-22", gender="male").id
    db.session.commit()
    options = passkeys.registration_options(account)
    with pytest.raises(errors.PasskeyNotRegistered):
        passkeys.verify_registration(other, device.register(options.public_key), label="x")
    assert passkeys.list_for(other) == [] and passkeys.list_for(account.id) == []


def test_a_credential_registered_twice_is_refused(account, device, registered):
    with pytest.raises(errors.PasskeyNotRegistered) as refused:
        register(account, device)
    assert refused.value.reason == "known"


# -- a password change or reset revokes them all ------------------------------------------------------

def test_a_password_change_revokes_every_passkey(account, registered, device, person, ctx):
    from idp.domain import passkeys, password_change
    second = Authenticator(origin=device.origin, rp_id=device.rp_id)
    register(account, second)
    password_change.change(account, current=person.password, new=NEW_PASSWORD,
                           confirmation=NEW_PASSWORD, keep_sid=None)
    assert passkeys.list_for(account.id) == []
    assert row(registered.id).revoked_reason == "password"
    for phone in (device, second):
        with pytest.raises(errors.PasskeyRefused):
            login(phone)


def test_a_password_reset_revokes_every_passkey(account, registered, device, person, ctx):
    from idp.domain import passkeys, password_reset
    links = []
    password_reset.request(person.nir, "15/02/1969", make_link=links.append)
    assert password_reset.reset(links[0], new=NEW_PASSWORD, confirmation=NEW_PASSWORD)
    assert passkeys.list_for(account.id) == []
    assert row(registered.id).revoked_reason == "password"
    with pytest.raises(errors.PasskeyRefused):
        login(device)


# -- invalid assertions are counted per credential ----------------------------------------------------

def test_five_invalid_assertions_lock_the_passkey_for_15_minutes(account, registered, device, clock):
    for _ in range(4):
        with pytest.raises(errors.PasskeyRefused):
            login(device, uv=False)
    with pytest.raises(errors.PasskeyLocked) as locked:
        login(device, uv=False)
    assert locked.value.until == clock.now() + timedelta(minutes=15)
    with pytest.raises(errors.PasskeyLocked):       # even a valid one, while it lasts
        login(device)
    clock.shift(timedelta(minutes=15))
    assert login(device).account_id == account.id


def test_a_valid_assertion_starts_the_count_again(registered, device):
    for _ in range(4):
        with pytest.raises(errors.PasskeyRefused):
            login(device, uv=False)
    login(device)
    for _ in range(4):
        with pytest.raises(errors.PasskeyRefused):
            login(device, uv=False)
    login(device)


def test_the_count_is_per_credential(account, registered, device):
    second = Authenticator(origin=device.origin, rp_id=device.rp_id)
    register(account, second)
    for _ in range(5):
        with pytest.raises((errors.PasskeyRefused, errors.PasskeyLocked)):
            login(device, uv=False)
    with pytest.raises(errors.PasskeyLocked):
        login(device)
    assert login(second).account_id == account.id


def test_a_fault_of_ours_does_not_consume_an_attempt(registered, device, monkeypatch):
    from idp.domain import passkeys

    def broken(**_kw):
        raise RuntimeError("our fault")

    for _ in range(4):
        with pytest.raises(errors.PasskeyRefused):
            login(device, uv=False)
    with monkeypatch.context() as patched:
        patched.setattr(passkeys, "verify_authentication_response", broken)
        for _ in range(3):
            with pytest.raises(RuntimeError):
                login(device)
    assert login(device).passkey_id == registered.id    # the 5th judged one, and it is right


# -- the offer's choice --------------------------------------------------------------------------------

def test_the_offer_is_asked_until_the_person_says_never_again(account):
    from idp.domain import passkeys
    assert account.passkey_offer == "ask"           # also every account made before it
    passkeys.set_offer(account, "never")            # "Ne plus me le rappeler"
    assert row_account(account.id).passkey_offer == "never"
    passkeys.set_offer(account, "ask")
    assert row_account(account.id).passkey_offer == "ask"
    with pytest.raises(ValueError):
        passkeys.set_offer(account, "later")        # "Plus tard" stores nothing: it is "ask"


def row_account(account_id):
    from idp.extensions import db
    from idp.models import Account
    db.session.expire_all()
    return db.session.get(Account, account_id)


# -- the settings -----------------------------------------------------------------------------------

def test_a_loopback_ip_issuer_serves_passkeys_on_localhost(ctx):
    port = ctx.config["ISSUER"].rsplit(":", 1)[1]
    assert ctx.config["ISSUER"].startswith("http://127.0.0.1:")
    assert ctx.config["PASSKEY_RP_ID"] == "localhost"
    assert ctx.config["PASSKEY_ORIGINS"] == [f"http://localhost:{port}"]


@pytest.mark.parametrize("settings, rp_id, origins", [
    ({"ISSUER": "https://connexion.ameli.fr"}, "connexion.ameli.fr",
     ["https://connexion.ameli.fr"]),
    ({"ISSUER": "https://connexion.ameli.fr", "PASSKEY_RP_ID": "ameli.fr",
      "PASSKEY_ORIGINS": "https://connexion.ameli.fr, android:apk-key-hash:abc"}, "ameli.fr",
     ["https://connexion.ameli.fr", "android:apk-key-hash:abc"]),
])
def test_the_rp_id_and_origins_follow_the_configuration(app_config, settings, rp_id, origins):
    from idp import create_app
    app = create_app({**app_config, **settings})
    assert app.config["PASSKEY_RP_ID"] == rp_id and app.config["PASSKEY_ORIGINS"] == origins


@pytest.mark.parametrize("settings, named", [
    ({"PASSKEY_RP_ID": "10.0.0.1"}, "IDP_PASSKEY_RP_ID"),
    ({"PASSKEY_RP_ID": "ameli.fr", "ISSUER": "https://connexion.ameli.fr",
      "PASSKEY_ORIGINS": ["https://evil.example"]}, "IDP_PASSKEY_ORIGINS"),
    ({"PASSKEY_ORIGINS": ["http://127.0.0.1:5000"]}, "IDP_PASSKEY_ORIGINS"),
])
def test_a_wrong_passkey_setting_stops_the_start_named(app_config, settings, named):
    from idp import create_app
    with pytest.raises(SystemExit, match=named):
        create_app({**app_config, **settings})
