import pytest


def pytest_configure(config):
    config.addinivalue_line("markers", "config(**values): extra app configuration for a test")


@pytest.fixture
def app_config(app_config, tmp_path, request):
    """The shared configuration with an SMS outbox, plus a test's ``@pytest.mark.config``."""
    marker = request.node.get_closest_marker("config")
    extra = dict(marker.kwargs) if marker is not None else {}
    return {**app_config, "SMS_OUTBOX": str(tmp_path / "sms-outbox"), **extra}
