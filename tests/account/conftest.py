import pytest


@pytest.fixture
def app_config(app_config, tmp_path):
    return {**app_config, "SMS_OUTBOX": str(tmp_path / "sms-outbox")}
