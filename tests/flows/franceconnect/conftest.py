"""FranceConnect's tests: our provider with a clients file naming FranceConnect, and the
stand-ins of FranceConnect (tests/helpers/fc.py)."""

from tests.helpers.fc import (  # noqa: F401 - fixtures, registered by name
    app_config,
    fc_callback_port,
    fc_keys,
    registered,
    upstream,
)
