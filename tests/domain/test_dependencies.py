"""What setup.cfg asks of the libraries the code leans on (issue 11.18)."""

from __future__ import annotations

import ast
import configparser
from importlib.metadata import version
from pathlib import Path

from packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parents[2]


def _requirements() -> dict[str, Requirement]:
    cfg = configparser.ConfigParser()
    cfg.read(ROOT / "setup.cfg")
    lines = [line.strip() for line in cfg["options"]["install_requires"].splitlines()]
    return {Requirement(line).name.lower(): Requirement(line) for line in lines if line}


def test_authlib_is_pinned_to_the_1_7_series_it_is_tested_with():
    """issue 11.18: the code uses Authlib 1.7's API and 1.6.x carries published CVEs
    (CVE-2026-41425 and CVE-2026-44681 are fixed in 1.7.2); the installed one satisfies it."""
    specifier = _requirements()["authlib"].specifier
    assert not specifier.contains("1.6.12") and not specifier.contains("1.7.1")
    assert specifier.contains("1.7.2") and not specifier.contains("1.8.0")
    assert specifier.contains(version("authlib"))


def test_pyotp_is_neither_required_nor_imported():
    """issue 11.18: pyotp was required and never imported."""
    assert "pyotp" not in _requirements()
    for path in (ROOT / "idp").rglob("*.py"):
        tree = ast.parse(path.read_text())
        names = [a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names]
        names += [n.module or "" for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)]
        assert not any(name.split(".")[0] == "pyotp" for name in names), path
