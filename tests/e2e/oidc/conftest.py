"""The protocol journeys in a browser: the same app and relying parties as tests/oidc."""

from tests.helpers.oidc import (  # noqa: F401 - fixtures, registered by name
    app_config,
    other_browser,
    other_person,
    receiver,
    rps,
)
