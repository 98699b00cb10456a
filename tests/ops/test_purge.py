"""The purge: expired rows go, live ones stay, in bounded batches (moved clock)."""

from datetime import timedelta

import sqlalchemy as sa


def _seed(app, now):
    from idp.extensions import db
    from idp.models import (
        Account,
        AuthorizationCode,
        BackchannelLogout,
        Interaction,
        LoginFlow,
        OneTimeCode,
        ProviderSession,
        QuotaEvent,
        Throttle,
        Token,
    )
    account_id = db.session.scalar(sa.select(Account.id))
    past, future = now - timedelta(minutes=1), now + timedelta(hours=1)
    for i, at in enumerate([past] * 5 + [future]):
        tag = f"{'old' if at == past else 'live'}{i}"
        db.session.add(OneTimeCode(purpose="login", subject=tag, code_hash="h", created_at=now,
                                   expires_at=at))
        db.session.add(LoginFlow(id=tag, step="password", created_at=now, expires_at=at))
        db.session.add(Interaction(id=tag, client_id="portal", params={}, created_at=now, expires_at=at))
        db.session.add(ProviderSession(id=tag, account_id=account_id, auth_time=now, amr=["pwd"],
                                       created_at=now, expires_at=at, clients=[]))
        db.session.add(AuthorizationCode(code_hash=tag, client_id="portal", account_id=account_id,
                                         redirect_uri="x", scope="openid", auth_time=now, amr=[],
                                         created_at=now, expires_at=at))
        db.session.add(Token(family=tag, client_id="portal", account_id=account_id, scope="openid",
                             access_token_hash="a" + tag, refresh_token_hash="r" + tag, issued_at=now,
                             access_expires_at=past, refresh_expires_at=at, auth_time=now, amr=[]))
    db.session.add(QuotaEvent(key="k", kind="code_quota", at=now - timedelta(days=1)))
    db.session.add(QuotaEvent(key="k", kind="code_quota", at=now - timedelta(minutes=5)))
    db.session.add(Throttle(key="expired", kind="password", attempts=3, locked_until=past))
    db.session.add(Throttle(key="idle", kind="password", attempts=0, locked_until=None))
    db.session.add(Throttle(key="counting", kind="password", attempts=2, locked_until=None))
    db.session.add(Throttle(key="locked", kind="password", attempts=3, locked_until=future))
    db.session.add(BackchannelLogout(client_id="portal", uri="u", logout_token="t", next_attempt_at=now,
                                     delivered_at=now))
    db.session.add(BackchannelLogout(client_id="portal", uri="u", logout_token="t", next_attempt_at=now))
    db.session.commit()


def test_the_purge_deletes_expired_rows_in_batches_and_keeps_live_ones(app, person, clock):
    from idp import clock as idp_clock
    from idp.extensions import db
    from idp.models import (
        AuthorizationCode,
        BackchannelLogout,
        Interaction,
        LoginFlow,
        OneTimeCode,
        ProviderSession,
        QuotaEvent,
        Throttle,
        Token,
    )
    with app.app_context():
        _seed(app, idp_clock.now())
    clock.shift(timedelta(seconds=1))
    result = app.test_cli_runner().invoke(args=["idp", "purge", "--batch-size", "2"])
    assert result.exit_code == 0, result.output
    assert "login_flow: 5" in result.output and "token: 5" in result.output
    with app.app_context():
        for model, column in [(OneTimeCode, OneTimeCode.subject), (LoginFlow, LoginFlow.id),
                              (Interaction, Interaction.id), (ProviderSession, ProviderSession.id),
                              (AuthorizationCode, AuthorizationCode.code_hash), (Token, Token.family)]:
            assert db.session.scalars(sa.select(column)).all() == ["live5"], model.__name__
        assert len(db.session.scalars(sa.select(QuotaEvent.id)).all()) == 1
        assert sorted(db.session.scalars(sa.select(Throttle.key))) == ["counting", "locked"]
        assert db.session.scalars(sa.select(BackchannelLogout.delivered_at)).all() == [None]


def test_a_second_purge_finds_nothing_left_to_delete(app, person, clock):
    from idp import clock as idp_clock
    with app.app_context():
        _seed(app, idp_clock.now())
    clock.shift(timedelta(seconds=1))
    app.test_cli_runner().invoke(args=["idp", "purge"])
    result = app.test_cli_runner().invoke(args=["idp", "purge"])
    assert result.exit_code == 0
    assert all(line.endswith(": 0") for line in result.output.splitlines()), result.output


def test_expired_passkey_challenges_go_and_live_ones_stay(app, person, clock):
    """issue 14: a WebAuthn registration challenge lives Policy.passkey_challenge_ttl; the
    purge takes it once that is over, used or not (a sign-in's has no row until used: its
    record is a throttle row, forgotten at the same end)."""
    from idp.domain import accounts, passkeys
    from idp.extensions import db
    from idp.models import PasskeyChallenge
    with app.app_context():
        account = accounts.by_nir(person.nir)
        old = passkeys.registration_options(account).challenge_id
        clock.shift(timedelta(minutes=4))
        live = passkeys.registration_options(account).challenge_id
    clock.shift(timedelta(minutes=1))
    result = app.test_cli_runner().invoke(args=["idp", "purge"])
    assert result.exit_code == 0 and "passkey_challenge: 1" in result.output, result.output
    with app.app_context():
        assert db.session.scalars(sa.select(PasskeyChallenge.id)).all() == [live] != [old]
