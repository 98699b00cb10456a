"""``make translations`` (issue 13.7): the catalogue of ``idp.i18n`` from ``idp.messages``.

Every sentence of ``idp.messages.MESSAGES`` (and each mail's subject, context
``subject.<template>``) is one entry: ``msgctxt`` its message id, ``msgid`` the French
sentence, ``msgstr`` its translation. The steps, as ``pybabel extract / update / compile``:

1. extract: ``idp/translations/messages.pot`` from the dictionaries (no source scanning: the
   sentences are data, with their ids);
2. update: each ``idp/translations/<lang>/LC_MESSAGES/messages.po`` gains the new entries
   (untranslated), a changed French sentence keeps its old translation marked fuzzy, and
   removed entries go;
3. compile: ``messages.mo`` beside each ``.po`` (fuzzy entries left out).

To add a translation: ``make translations``, fill the empty (or fuzzy) ``msgstr`` of the
``.po``, run ``make translations`` again and commit both files. A new language also needs
``idp.i18n.SUPPORTED`` and a ``.po`` started from the ``.pot`` (``--init <lang>``).
``tests/i18n`` fails on an untranslated or fuzzy entry and on a ``.mo`` older than its ``.po``.

    python -m tools.translations [--init LANG]
"""

from __future__ import annotations

import argparse
from datetime import UTC, datetime
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po, write_po

import idp

TRANSLATIONS = Path(idp.__file__).parent / "translations"
TEMPLATE = TRANSLATIONS / "messages.pot"
# Sentences of the demo portal (``idp.demo``, another app, French only): kept out, except the
# names of its tabs, which the provider's "Mes informations" page shows.
DEMO_PREFIX = "portal_"
DEMO_SHOWN_BY_THE_PROVIDER = ("portal_nav", "portal_tab_")
STABLE_DATE = datetime(2026, 12, 1, tzinfo=UTC)


def entries() -> dict[str, str]:
    """{context: French sentence} of every entry of the catalogue."""
    from idp.messages import MAIL_SUBJECTS, MESSAGES
    found = {key: value for key, value in MESSAGES.items()
             if not key.startswith(DEMO_PREFIX) or key.startswith(DEMO_SHOWN_BY_THE_PROVIDER)}
    found.update({f"subject.{key}": value for key, value in MAIL_SUBJECTS.items()})
    return found


def template() -> Catalog:
    # Fixed dates: a run that changes no sentence changes no file.
    catalog = Catalog(project="idp", version="1", fuzzy=False, creation_date=STABLE_DATE,
                      revision_date=STABLE_DATE, last_translator="idp",
                      header_comment="# The sentences of idp.messages (tools/translations.py).")
    for context, french in entries().items():
        catalog.add(french, context=context)
    return catalog


def po_path(lang: str) -> Path:
    return TRANSLATIONS / lang / "LC_MESSAGES" / "messages.po"


def languages() -> list[str]:
    return sorted(p.parent.parent.name for p in TRANSLATIONS.glob("*/LC_MESSAGES/messages.po"))


def read(path: Path) -> Catalog:
    with path.open("rb") as f:
        return read_po(f)


def _write(path: Path, catalog: Catalog) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as f:
        write_po(f, catalog, width=100, omit_header=False, sort_output=False,
                 ignore_obsolete=True)


def compile_mo(catalog: Catalog) -> bytes:
    """The ``.mo`` bytes of ``catalog`` (fuzzy entries left out, as pybabel compile)."""
    import io
    out = io.BytesIO()
    write_mo(out, catalog, use_fuzzy=False)
    return out.getvalue()


def run(init: str | None = None) -> None:
    pot = template()
    _write(TEMPLATE, pot)
    if init and not po_path(init).exists():
        fresh = template()
        fresh.locale = init
        _write(po_path(init), fresh)
    for lang in languages():
        catalog = read(po_path(lang))
        catalog.update(pot)
        catalog.revision_date = STABLE_DATE
        catalog.project, catalog.version, catalog.last_translator = "idp", "1", "idp"
        _write(po_path(lang), catalog)
        po_path(lang).with_suffix(".mo").write_bytes(compile_mo(catalog))
        left = [m.context for m in catalog if m.id and (not m.string or m.fuzzy)]
        print(f"{lang}: {len(catalog) - 1} entries, {len(left)} to translate"
              + (f" ({', '.join(left[:8])}{'…' if len(left) > 8 else ''})" if left else ""))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--init", metavar="LANG", help="start the .po of a new language")
    run(parser.parse_args(argv).init)


if __name__ == "__main__":
    main()
