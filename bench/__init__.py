"""The speed benchmark of issue 6 (``make bench``); not a test suite."""
