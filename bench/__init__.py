"""The speed benchmark of issues 6 and 15 (``make bench``), beside node-oidc-provider 9; not a test suite."""
