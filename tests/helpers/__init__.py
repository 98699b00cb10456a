"""What the tests share, importable as ``tests.helpers.<module>`` (fixtures stay in the
conftest files; the fixtures of one folder that another needs live here and are imported by
both folders' conftest):

* ``pages`` — what a person reads: ``text_of``, ``says``, ``field_error``, ``visible``
* ``accounts`` — people in the registry, the usual walks through the login and account pages
* ``browser`` — Chromium through Playwright; ``live``, ``tls``, ``gunicorn``, ``services``,
  ``gate`` — the provider on real HTTP(S) and processes, and the real services under it
* ``rp``, ``parties``, ``oidc`` — relying parties driving the protocol; ``fc`` — the
  FranceConnect stand-ins; ``instances`` — several provider instances
"""
