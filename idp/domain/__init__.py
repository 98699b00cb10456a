"""The rules of the ameli account, pure or over storage, with no Flask request in sight.

They take arguments and return values or raise ``idp.errors``; they never import
``idp.oidc`` or ``idp.flows`` (an import-linter contract in ``setup.cfg``)."""
