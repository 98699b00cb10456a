"""What every command shares: one way to fail, one way to read a NIR."""

from __future__ import annotations

import sys

import click

from idp.domain.nir import parse_nir
from idp.errors import InvalidNir


def fail(message: str) -> None:
    """Print one clear line on stderr and exit non-zero (nothing was written)."""
    click.echo(f"error: {message}", err=True)
    sys.exit(1)


def nir_number(raw: str) -> str:
    """The 13-digit NIR of ``raw``, or fail naming what is wrong."""
    try:
        return parse_nir(raw).number
    except InvalidNir as exc:
        fail(f"invalid NIR ({exc.reason}): 13 digits, or 15 with a valid key")
