"""The protocol tests' app and relying parties (tests/helpers/oidc.py)."""

from tests.helpers.oidc import (  # noqa: F401 - fixtures, registered by name
    app_config,
    other_browser,
    other_person,
    receiver,
    rps,
)
