"""``flask --app wsgi idp …``: the operators' and the front desk's commands.

Each prints what it did; bad input exits non-zero with one clear line and writes nothing.
"""

from __future__ import annotations

import os
import sys

import click
from flask import current_app
from flask.cli import AppGroup

from . import accounts, keyed, limits
from .errors import InvalidNir
from .extensions import db
from .nir import parse_nir

idp_cli = AppGroup("idp", help="Operate the ameli identity provider.")


def fail(message: str) -> None:
    click.echo(f"error: {message}", err=True)
    sys.exit(1)


def _nir(raw: str) -> str:
    try:
        return parse_nir(raw).number
    except InvalidNir as exc:
        fail(f"invalid NIR ({exc.reason}): 13 digits, or 15 with a valid key")


@idp_cli.command("init-db")
def init_db():
    """Create or upgrade the schema (safe to run twice), and make signing keys."""
    from flask_migrate import upgrade

    from .oidc import keys
    upgrade(directory=current_app.extensions["migrate"].directory, revision="heads")
    made = keys.ensure_keys()
    click.echo(f"database at the latest schema; signing keys created: {len(made)}")


# -- users ---------------------------------------------------------------------------------

user_cli = AppGroup("user", help="Accounts, as the front desk handles them.")
idp_cli.add_command(user_cli)


@user_cli.command("create")
@click.option("--nir", required=True)
@click.option("--password", required=True)
@click.option("--email")
@click.option("--given-name", required=True)
@click.option("--family-name", required=True)
@click.option("--birthdate", required=True, help="YYYY-MM-DD (00 for an unknown day or month)")
@click.option("--gender", type=click.Choice(["male", "female"]), required=True)
@click.option("--birthplace", default="")
@click.option("--birthcountry", default="99100")
@click.option("--no-email", is_flag=True, help="an account with no e-mail address (case 1)")
@click.option("--email-unverified", is_flag=True)
@click.option("--status", type=click.Choice(accounts.STATUSES), default="active")
def user_create(nir, password, email, given_name, family_name, birthdate, gender, birthplace,
                birthcountry, no_email, email_unverified, status):
    """Create an account."""
    number = _nir(nir)
    if accounts.by_nir(number) is not None:
        fail("an account already exists for this NIR")
    if not no_email and not email:
        fail("--email is required (or --no-email)")
    if not _birthdate_ok(birthdate):
        fail("--birthdate: expected YYYY-MM-DD, YYYY-MM-00 or YYYY-00-00")
    account = accounts.create(
        nir=number, password=password, email=None if no_email else email.strip().lower(),
        given_name=given_name, family_name=family_name, birthdate=birthdate, gender=gender,
        birthplace=birthplace, birthcountry=birthcountry, email_verified=not email_unverified,
        status=status)
    db.session.commit()
    click.echo(f"account {account.id} created ({status})")


def _birthdate_ok(value: str) -> bool:
    import re
    from datetime import date
    match = re.fullmatch(r"(\d{4})-(\d{2})-(\d{2})", value or "")
    if not match:
        return False
    y, m, d = (int(x) for x in match.groups())
    if m == 0:
        return d == 0
    if d == 0:
        return 1 <= m <= 12
    try:
        date(y, m, d)
    except ValueError:
        return False
    return True


@user_cli.command("unlock")
@click.argument("nir")
def user_unlock(nir):
    """Lift every lock on the account."""
    number = _nir(nir)
    lifted = limits.clear(keyed.nir_key(number))
    current_app.extensions["idp.events"]("lock_lifted", nir_key=keyed.nir_key(number)[:16],
                                         by="front_desk")
    click.echo(f"locks lifted: {lifted}")


# -- keys and clients ----------------------------------------------------------------------

keys_cli = AppGroup("keys", help="Signing keys.")
idp_cli.add_command(keys_cli)


@keys_cli.command("rotate")
@click.option("--now", "at_once", is_flag=True,
              help="Sign with the new keys at once (a key believed compromised): relying "
                   "parties holding a copy of /jwks refuse tokens until they fetch it again.")
def keys_rotate(at_once):
    """Add new signing keys, published at once and signing once every copy of /jwks can hold
    them; the old ones sign until then and stay published until their tokens expire."""
    from . import clock
    from .oidc import keys
    kids, starts, encryption = keys.rotate(at_once=at_once)
    wait = int((starts - clock.now()).total_seconds())
    click.echo("new signing keys: " + ", ".join(kids)
               + f"; published now, they start signing at {starts:%Y-%m-%d %H:%M:%S} UTC"
               + (f" (in {wait} s)" if wait > 0 else ""))
    click.echo("new FranceConnect+ encryption keys (/franceconnect/jwks): " + ", ".join(encryption))


clients_cli = AppGroup("clients", help="The relying parties in clients.yaml.")
idp_cli.add_command(clients_cli)


@clients_cli.command("check")
@click.argument("path", required=False)
def clients_check(path):
    """Validate a clients file and name each error with its line."""
    from .oidc.clients import check_clients_file
    path = path or current_app.config["CLIENTS_FILE"]
    errors = check_clients_file(path, os.environ)
    for line in errors:
        click.echo(line, err=True)
    if errors:
        sys.exit(1)
    click.echo(f"{path}: valid")


# -- demo ----------------------------------------------------------------------------------

@idp_cli.command("demo")
def demo():
    """Load the demo accounts (make run); safe to run twice."""
    from .demo import load_demo
    for line in load_demo():
        click.echo(line)


def main() -> None:
    """``idp …`` console entry point: the same commands as ``flask --app wsgi idp …``."""
    from flask.cli import FlaskGroup

    from . import create_app
    FlaskGroup(create_app=create_app)(args=["idp", *sys.argv[1:]])
from .account_cli import letters_cli, registry_cli; idp_cli.add_command(registry_cli); idp_cli.add_command(letters_cli)  # noqa: E402,E702,I001
from .ops_cli import audit_cli, purge_command; idp_cli.add_command(purge_command); idp_cli.add_command(audit_cli)  # noqa: E402,E702,I001
