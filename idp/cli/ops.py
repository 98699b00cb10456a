"""Operations commands: ``idp purge``, ``idp audit show NIR`` (issue 6), and ``idp demo``."""

from __future__ import annotations

import json

import click
from flask.cli import AppGroup, with_appcontext

from idp.cli.common import nir_number
from idp.ops import audit, purge


@click.command("purge", help="Send the back-channel logouts due again, then delete expired "
                              "codes, flows, sessions and tokens in batches.")
@click.option("--batch-size", default=500, show_default=True, type=click.IntRange(1, 100_000))
@with_appcontext
def purge_command(batch_size: int) -> None:
    from idp.oidc import logout
    # A failed delivery is retried by the next logout on any instance, or here: from cron,
    # no retry waits longer than the purge's period past its delay.
    click.echo(f"backchannel logouts delivered: {logout.deliver_due()}")
    counts = purge.purge(batch_size)
    for name, count in counts.items():
        click.echo(f"{name}: {count}")


audit_cli = AppGroup("audit", help="Read the security audit trail.")


@audit_cli.command("show", help="One person's security events, oldest first.")
@click.argument("nir")
def audit_show(nir: str) -> None:
    number = nir_number(nir)
    for row in audit.trail(number):
        click.echo(json.dumps({"at": row.at.isoformat(), "event": row.event,
                               "account_id": row.account_id, "client_id": row.client_id,
                               "outcome": row.outcome, "request_id": row.request_id,
                               **(row.details or {})}, default=str, ensure_ascii=False))


@click.command("demo")
@with_appcontext
def demo():
    """Load the demo accounts (make run); safe to run twice."""
    from idp import demo as demo_data
    for line in demo_data.load():
        click.echo(line)
