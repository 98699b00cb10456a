"""Schema, signing keys and the relying parties: ``init-db``, ``keys rotate``, ``clients check``."""

from __future__ import annotations

import os
import sys

import click
from flask import current_app
from flask.cli import AppGroup, with_appcontext


@click.command("init-db")
@with_appcontext
def init_db():
    """Create or upgrade the schema (safe to run twice), and make signing keys."""
    from flask_migrate import upgrade

    from idp import keys
    upgrade(directory=current_app.extensions["migrate"].directory, revision="heads")
    made = keys.ensure_keys()
    click.echo(f"database at the latest schema; signing keys created: {len(made)}")



keys_cli = AppGroup("keys", help="Signing keys.")


@keys_cli.command("rotate")
@click.option("--now", "at_once", is_flag=True,
              help="Sign with the new keys at once (a key believed compromised): relying "
                   "parties holding a copy of /jwks refuse tokens until they fetch it again.")
def keys_rotate(at_once):
    """Add new signing keys, published at once and signing once every copy of /jwks can hold
    them; the old ones sign until then and stay published until their tokens expire."""
    from idp import clock, keys
    kids, starts, encryption = keys.rotate(at_once=at_once)
    wait = int((starts - clock.now()).total_seconds())
    click.echo("new signing keys: " + ", ".join(kids)
               + f"; published now, they start signing at {starts:%Y-%m-%d %H:%M:%S} UTC"
               + (f" (in {wait} s)" if wait > 0 else ""))
    click.echo("new FranceConnect+ encryption keys (/franceconnect/jwks): " + ", ".join(encryption))


clients_cli = AppGroup("clients", help="The relying parties in clients.yaml.")


@clients_cli.command("check")
@click.argument("path", required=False)
def clients_check(path):
    """Validate a clients file and name each error with its line."""
    from idp.oidc.clients import check_clients_file
    path = path or current_app.config["CLIENTS_FILE"]
    errors = check_clients_file(path, os.environ)
    for line in errors:
        click.echo(line, err=True)
    if errors:
        sys.exit(1)
    click.echo(f"{path}: valid")
