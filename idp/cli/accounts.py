"""The front desk's and operators' commands of the account's life (CONTRACT.md):
``registry import FILE``, ``letters export``, ``user provisional-code NIR``, ``user reset NIR``.
Each prints what it did; bad input exits non-zero with one line and writes nothing."""

from __future__ import annotations

import csv
import sys
from pathlib import Path

import click
from flask import current_app
from flask.cli import AppGroup
from sqlalchemy import delete

from idp import keyed
from idp.cli.common import fail, nir_number
from idp.domain import accounts, dates, limits, registration, registry
from idp.errors import MailNotSent
from idp.extensions import db
from idp.models import AccountAction, OneTimeCode

user_cli = AppGroup("user", help="Accounts, as the front desk handles them.")
registry_cli = AppGroup("registry", help="The registry of insured persons (RFI).")
letters_cli = AppGroup("letters", help="Postal letters carrying provisional codes.")


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
    number = nir_number(nir)
    if accounts.by_nir(number) is not None:
        fail("an account already exists for this NIR")
    if not no_email and not email:
        fail("--email is required (or --no-email)")
    if not dates.valid_stored(birthdate):
        fail("--birthdate: expected YYYY-MM-DD, YYYY-MM-00 or YYYY-00-00")
    account = accounts.create(
        nir=number, password=password, email=None if no_email else email.strip().lower(),
        given_name=given_name, family_name=family_name, birthdate=birthdate, gender=gender,
        birthplace=birthplace, birthcountry=birthcountry, email_verified=not email_unverified,
        status=status)
    db.session.commit()
    click.echo(f"account {account.id} created ({status})")


@user_cli.command("unlock")
@click.argument("nir")
def user_unlock(nir):
    """Lift every lock on the account."""
    number = nir_number(nir)
    lifted = limits.clear(keyed.nir_key(number))
    current_app.extensions["idp.events"]("lock_lifted", nir_key=keyed.nir_key(number)[:16],
                                         by="front_desk")
    click.echo(f"locks lifted: {lifted}")


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
    number = nir_number(nir)
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
    number = nir_number(nir)
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
