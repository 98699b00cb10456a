"""Issue 13.9: the demo secrets live in one committed file, ``demo.env``, which the CLI (and
the demo portal) read on a development machine, so that ``flask --app wsgi idp …`` works
outside ``make``; an https issuer (production) never reads it and stays strict."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
FLASK = Path(sys.executable).with_name("flask")


def _cli(tmp_path, *args, **env):
    """The CLI as a newcomer runs it from a fresh shell: no IDP_* variable set but ``env``."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith("IDP_")}
    clean.update(IDP_SQLALCHEMY_DATABASE_URI=f"sqlite:///{tmp_path / 'idp.db'}",
                 IDP_SECRET_KEY="s" * 40, IDP_KEY_ENCRYPTION_KEY="k" * 40, **env)
    return subprocess.run([str(FLASK), "--app", "wsgi", "idp", *args], cwd=ROOT, env=clean,
                          capture_output=True, text=True, timeout=120)


def test_the_cli_works_outside_make_with_the_demo_secrets_of_demo_env(tmp_path):
    """issue 13.9: a fresh shell, no IDP_PORTAL_SECRET: the commands start and work."""
    done = _cli(tmp_path, "clients", "check")
    assert done.returncode == 0, done.stderr
    assert "valid" in done.stdout
    done = _cli(tmp_path, "init-db")
    assert done.returncode == 0, done.stderr


def test_demo_env_holds_the_secrets_the_shipped_clients_file_asks(tmp_path):
    """issue 13.9: every ${IDP_…} of clients.yaml is given by demo.env, and nowhere else is
    needed (the Makefile no longer carries them)."""
    wanted = set(re.findall(r"\$\{(IDP_\w+)\}", (ROOT / "clients.yaml").read_text()))
    given = {line.split("=", 1)[0] for line in (ROOT / "demo.env").read_text().splitlines()
             if line and not line.startswith("#")}
    assert wanted and wanted <= given
    assert not any(name in (ROOT / "Makefile").read_text() for name in wanted)


def test_an_https_issuer_never_reads_demo_env(tmp_path):
    """issue 13.9: production stays strict: the missing secret stops the start, named."""
    done = _cli(tmp_path, "clients", "check", IDP_ISSUER="https://idp.example")
    assert done.returncode != 0
    assert "IDP_PORTAL_SECRET" in done.stderr
    assert "Traceback" not in done.stderr


def test_the_readme_lists_the_demo_peoples_birth_dates_and_the_registry_people():
    """issue 13.9: "Mot de passe oublié" needs a birth date, "Créer un compte" a person of
    the registry: the README gives both, and says where the demo secrets are."""
    from idp.demo.accounts import DEMO_ACCOUNTS
    from idp.demo.people import NEW_PEOPLE
    readme = (ROOT / "README.md").read_text()
    for nir, *_, birthdate, _gender, _place, _email, _status, _verified in DEMO_ACCOUNTS:
        day = "/".join(reversed(birthdate.split("-")))
        assert re.search(rf"\| {nir} \|[^\n]*\| {day} \|", readme), nir
    for nir, family, given, birthdate, _g, _p, postal, *_ in NEW_PEOPLE:
        day = "/".join(reversed(birthdate.split("-")))
        assert re.search(rf"\| {nir} \| {given} {family} \| {day} \| {postal} \|", readme), nir
    assert "demo.env" in readme
