"""/metrics: Prometheus text, not public by default (loopback only, or a bearer token)."""


def test_metrics_answer_a_loopback_caller_with_request_latency(app):
    client = app.test_client()
    client.get("/healthz")
    response = client.get("/metrics", environ_base={"REMOTE_ADDR": "127.0.0.1"})
    assert response.status_code == 200
    assert b'idp_request_seconds_count{endpoint="ops.healthz"}' in response.data


def test_metrics_refuse_a_remote_caller_when_no_token_is_set(app):
    response = app.test_client().get("/metrics", environ_base={"REMOTE_ADDR": "203.0.113.9"})
    assert response.status_code == 403 and b"idp_" not in response.data


def test_metrics_need_the_bearer_token_when_one_is_set(app):
    app.config["METRICS_TOKEN"] = "s3cret-scrape-token"
    client = app.test_client()
    remote = {"REMOTE_ADDR": "203.0.113.9"}
    assert client.get("/metrics", environ_base={"REMOTE_ADDR": "127.0.0.1"}).status_code == 401
    assert client.get("/metrics", environ_base=remote,
                      headers={"Authorization": "Bearer wrong"}).status_code == 401
    response = client.get("/metrics", environ_base=remote,
                          headers={"Authorization": "Bearer s3cret-scrape-token"})
    assert response.status_code == 200 and b"idp_logins_total" in response.data


def test_a_token_event_counts_in_the_metrics_and_leaves_an_audit_row(app):
    import sqlalchemy as sa

    from idp.extensions import db
    from idp.models import AuditEvent
    with app.app_context():
        app.extensions["idp.events"]("token_issued", client_id="portal", account_id=None)
        assert db.session.scalar(sa.select(AuditEvent.client_id)) == "portal"
    body = app.extensions["idp.metrics"].exposition()
    assert b'idp_tokens_total{action="issued"} 1.0' in body


def _hash_cpu(app) -> float:
    for line in app.extensions["idp.metrics"].exposition().decode().splitlines():
        if line.startswith("idp_password_hash_cpu_seconds_total "):
            return float(line.split()[1])
    raise AssertionError("idp_password_hash_cpu_seconds_total is not exposed")


def test_the_cpu_of_every_password_verification_is_counted(app):
    """argon2's lanes run in threads of their own: the count is the process's CPU around the
    verification (an unknown NIR's dummy one too), not the calling thread's few ms."""
    import time

    from idp.domain import accounts
    with app.app_context():
        before = _hash_cpu(app)
        stored = accounts.hasher().hash("Ameli2024!")
        hashed = _hash_cpu(app)
        assert hashed > before
        started = time.process_time()
        assert accounts.verify_password(stored, "Ameli2024!") is True
        assert accounts.verify_password(None, "Ameli2024!") is False
        spent = time.process_time() - started
    assert 0 < _hash_cpu(app) - hashed <= spent
