"""The FranceConnect pages in a browser: the same app and stand-ins as tests/flows/franceconnect."""

from tests.helpers.fc import (  # noqa: F401 - fixtures, registered by name
    app_config,
    fc_callback_port,
    fc_keys,
    registered,
    upstream,
)
