"""What is wrong with a translation catalogue (issue 13.7), for the tests of tests/i18n."""

from __future__ import annotations

import re
import string

from babel.messages.catalog import Catalog

from tools import translations

# Entries whose English is the French word itself: names, and a word both languages use.
SAME_IN_BOTH = {"brand_name", "info_fc_title", "info_email", "info_channel_email"}
_LINK = re.compile(r"\[[^\]]+\]\((\w+)\)")


def _fields(sentence: str) -> list[tuple[str, str]]:
    """The ``{name:spec}`` placeholders of a sentence and the names of its links."""
    found = [(name, spec or "") for _, name, spec, _ in string.Formatter().parse(sentence)
             if name is not None]
    return sorted(found + [("link", name) for name in _LINK.findall(sentence)])


def problems(catalog: Catalog, mo: bytes, wanted: dict[str, str] | None = None) -> list[str]:
    """Every fault of ``catalog`` against ``wanted`` (the sentences of ``idp.messages``),
    and of its compiled ``mo``."""
    wanted = translations.entries() if wanted is None else wanted
    have = {m.context: m for m in catalog if m.id}
    out = [f"{ctx}: missing from the catalogue (make translations)" for ctx in wanted
           if ctx not in have]
    out += [f"{ctx}: not a sentence of idp.messages any more" for ctx in have
            if ctx not in wanted]
    for ctx, entry in have.items():
        if ctx not in wanted:
            continue
        if entry.id != wanted[ctx]:
            out.append(f"{ctx}: translates an old French sentence (make translations)")
        if not entry.string:
            out.append(f"{ctx}: untranslated")
        elif entry.fuzzy:
            out.append(f"{ctx}: fuzzy (check the translation, then remove the flag)")
        elif _fields(entry.string) != _fields(entry.id):
            out.append(f"{ctx}: placeholders or links differ from the French")
        elif entry.string == entry.id and ctx not in SAME_IN_BOTH:
            out.append(f"{ctx}: the English is the French sentence")
    if mo != translations.compile_mo(catalog):
        out.append("messages.mo is stale: compile it (make translations)")
    return out
