"""``flask --app wsgi idp …``: the operators' and the front desk's commands.

Each prints what it did; bad input exits non-zero with one clear line and writes nothing.
One group per concern: ``accounts`` (user, registry, letters), ``keys`` (init-db, keys,
clients), ``ops`` (purge, audit, demo). Only ``create_app`` imports this package.
"""

from __future__ import annotations

import sys

from flask.cli import AppGroup

from idp.cli import accounts, keys, ops

idp_cli = AppGroup("idp", help="Operate the ameli identity provider.")
for command in (keys.init_db, accounts.user_cli, accounts.registry_cli, accounts.letters_cli,
                keys.keys_cli, keys.clients_cli, ops.purge_command, ops.audit_cli, ops.demo):
    idp_cli.add_command(command)


def main() -> None:
    """``idp …`` console entry point: the same commands as ``flask --app wsgi idp …``."""
    from flask.cli import FlaskGroup

    from idp import create_app
    FlaskGroup(create_app=create_app)(args=["idp", *sys.argv[1:]])
