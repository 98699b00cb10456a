"""The front desk's and operators' commands of the account's life (CONTRACT.md):
``registry import FILE``, ``letters export``, ``user provisional-code NIR``, ``user reset NIR``.
Each prints what it did; bad input exits non-zero with one line and writes nothing."""

from __future__ import annotations

import csv
import sys
from pathlib import Path

import click
from flask.cli import AppGroup
from sqlalchemy import delete

from . import accounts, keyed, limits, registration, registry
from .cli import _nir, fail, user_cli
from .errors import MailNotSent
from .extensions import db
from .models import AccountAction, OneTimeCode

registry_cli = AppGroup("registry", help="The registry of insured persons (RFI).")
letters_cli = AppGroup("letters", help="Postal letters carrying provisional codes.")


@registry_cli.command("import")
@click.argument("path", type=click.Path(dir_okay=False))
def registry_import(path):
    """Load insured persons from CSV; all or nothing, errors named with their line."""
    try:
        text = Path(path).read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        fail(f"{path}: cannot be read ({exc.__class__.__name__})")
    try:
        added, updated = registry.import_csv(text)
    except registry.RegistryFileError as exc:
        for line in exc.errors:
            click.echo(f"{path}: {line}", err=True)
        fail(f"{path}: nothing imported ({len(exc.errors)} error(s))")
    click.echo(f"registry: {added} person(s) added, {updated} updated")


@letters_cli.command("export")
@click.option("--output", "-o", type=click.Path(dir_okay=False), help="CSV file (default: stdout)")
def letters_export(output):
    """Export the queued letters, each with a new provisional code, as CSV."""
    if output and Path(output).exists():
        fail(f"{output}: already exists")
    rows = registration.export_letters()
    fields = ["nir", "family_name", "given_name", "postal_code", "code", "valid_until"]
    handle = open(output, "w", newline="", encoding="utf-8") if output else sys.stdout
    try:
        writer = csv.DictWriter(handle, fieldnames=fields)
        writer.writeheader()
        writer.writerows(rows)
    finally:
        if output:
            handle.close()
    click.echo(f"letters exported: {len(rows)}", err=bool(not output))


@user_cli.command("provisional-code")
@click.argument("nir")
@click.option("--channel", type=click.Choice(registration.CHANNELS), default="counter")
@click.option("--digits", type=click.Choice(["4", "8"]), default="8")
def user_provisional_code(nir, channel, digits):
    """Issue a provisional code, as a fund's front desk does."""
    number = _nir(nir)
    person = registry.by_nir(number)
    if person is None:
        fail("this NIR is not in the registry of insured persons")
    if not registration.may_create(number):
        fail("an account already exists for this NIR (use `user reset` first)")
    if channel == "email" and not person.email:
        fail("no e-mail address on file for this person")
    if channel == "sms" and not person.mobile:
        fail("no mobile number on file for this person")
    if digits == "4" and channel != "counter":
        fail("4-digit codes are only handed over at the counter; use --digits 8")
    try:
        code = registration.deliver(person, channel, digits=int(digits))
    except MailNotSent:
        fail("the mail could not be sent; no code issued")
    if channel == "counter":
        ttl = registration.messages.duration_text(registration.code_ttl(int(digits)))
        click.echo(f"provisional code (hand it over, valid {ttl}): {code}")
    elif channel == "post":
        click.echo("letter queued (the code is made by `letters export`)")
    else:
        click.echo(f"provisional code sent by {channel}")


@user_cli.command("reset")
@click.argument("nir")
def user_reset(nir):
    """Delete the account ("réinitialiser") so that the person creates it again."""
    number = _nir(nir)
    account = accounts.by_nir(number)
    if account is None:
        fail("no account for this NIR")
    db.session.execute(delete(AccountAction).where(AccountAction.account_id == account.id))
    db.session.execute(delete(OneTimeCode).where(OneTimeCode.purpose == "password_change",
                                                OneTimeCode.subject == str(account.id)))
    db.session.delete(account)
    db.session.commit()
    limits.clear(keyed.nir_key(number))
    click.echo(f"account {account.id} deleted; the person can create it again")
