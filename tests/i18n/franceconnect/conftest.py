"""The FranceConnect pages in both languages: our provider with a clients file naming
FranceConnect, and its stand-in (tests/helpers/fc.py), as tests/flows/franceconnect has."""

from tests.helpers.fc import (  # noqa: F401 - fixtures, registered by name
    app_config,
    fc_callback_port,
    fc_keys,
    registered,
    upstream,
)
