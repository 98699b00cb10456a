"""Issue 12: every sentence a person sees is in idp.messages, templates included. Render-free:
each template's text (outside Jinja tags, outside HTML tags, plus the attributes a person
sees or hears: ``alt``, ``title``, ``aria-label``, ``placeholder``) and each string literal of
its Jinja code must hold no word, except brand names; the words come from ``msg(...)`` and
its siblings, whose ids must exist."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path

import jinja2
import pytest
from jinja2 import nodes

import idp
from idp.messages import MESSAGES

TEMPLATES = Path(idp.__file__).parent / "templates"
ALL = sorted(p.relative_to(TEMPLATES).as_posix() for p in TEMPLATES.rglob("*")
             if p.suffix in (".html", ".txt"))

# Words that are names, not French: the logos and the DSFR button's brand.
BRANDS = {"ameli", "FranceConnect"}
VISIBLE_ATTRIBUTES = {"alt", "title", "aria-label", "placeholder"}
# The template functions that print a sentence of idp.messages; their first argument is an id.
MESSAGE_CALLS = {"msg", "msg_links", "msg_html", "help_text"}
# Blocks of base.html that fill an attribute (``<body class="...">``), not the page's text.
ATTRIBUTE_BLOCKS = ("body_class",)
# Templates whose sentences are not yet in messages.py (none). ``strict``: once they are
# moved, the mark fails and is to be removed.
PENDING: dict[str, str] = {}

_WORD = re.compile(r"[^\W\d_]+(?:['’-][^\W\d_]+)*")
_ENV = jinja2.Environment()


class _Visible(HTMLParser):
    """The text of an HTML page and its visible attributes' values."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.chunks: list[str] = []
        self._hidden = 0

    def handle_starttag(self, tag, attrs):
        if tag in ("script", "style"):
            self._hidden += 1
        self.chunks.extend(value for name, value in attrs
                           if name in VISIBLE_ATTRIBUTES and value)

    def handle_endtag(self, tag):
        if tag in ("script", "style"):
            self._hidden -= 1

    def handle_data(self, data):
        if not self._hidden:
            self.chunks.append(data)


def _template_text(source: str) -> str:
    """The template's own text: Jinja tags and comments each become one space."""
    for block in ATTRIBUTE_BLOCKS:
        source = re.sub(r"{%-?\s*block " + block + r"\s*-?%}.*?{%-?\s*endblock\b.*?%}", " ",
                        source, flags=re.S)
    out, inside = [], False
    for _, kind, value in _ENV.lex(source):
        if kind == "data":
            out.append(value)
            inside = False
        elif not inside:
            out.append(" ")
            inside = True
    return "".join(out)


def _words(chunk: str) -> list[str]:
    return [w for w in _WORD.findall(chunk) if w not in BRANDS]


def _is_prose(literal: str) -> bool:
    """A string literal of Jinja code that reads as words, not as a name of code (an id, an
    endpoint, an input type, a file): spaces, accents or a capital."""
    words = _words(literal)
    return bool(words) and (bool(re.search(r"\s", literal.strip()))
                            or any(not w.isascii() or w[0].isupper() for w in words))


def _ids_and_literals(tree: nodes.Template) -> tuple[set[str], list[str]]:
    """The message ids the template asks for, and its other string literals that read as
    words."""
    ids: set[str] = set()
    skipped: set[int] = set()
    for call in tree.find_all(nodes.Call):
        if isinstance(call.node, nodes.Name) and call.node.name in MESSAGE_CALLS and call.args:
            first = call.args[0]
            if isinstance(first, nodes.Const) and isinstance(first.value, str):
                ids.add(first.value)
            skipped.update(id(c) for c in first.find_all(nodes.Const))
            if isinstance(first, nodes.Const):
                skipped.add(id(first))
    prose = [c.value for c in tree.find_all(nodes.Const)
             if id(c) not in skipped and isinstance(c.value, str) and _is_prose(c.value)]
    return ids, prose


def prose_in(source: str, *, html: bool = True) -> list[str]:
    """Every word of ``source`` that a person would read and that no ``msg(...)`` gives."""
    text = _template_text(source)
    if html:
        parser = _Visible()
        parser.feed(text)
        parser.close()
        chunks = parser.chunks
    else:
        chunks = [text]
    found = [w for chunk in chunks for w in _words(chunk)]
    _, literals = _ids_and_literals(_ENV.parse(source))
    return found + literals


def _source(name: str) -> str:
    return (TEMPLATES / name).read_text(encoding="utf-8")


@pytest.mark.parametrize("name", [
    pytest.param(n, marks=pytest.mark.xfail(reason=PENDING[n], strict=True))
    if n in PENDING else n for n in ALL])
def test_a_template_says_nothing_outside_messages(name):
    left = prose_in(_source(name), html=name.endswith(".html"))
    assert not left, f"{name}: French words outside msg(...): {' '.join(left)[:400]}"


@pytest.mark.parametrize("name", ALL)
def test_every_message_id_a_template_asks_for_exists(name):
    ids, _ = _ids_and_literals(_ENV.parse(_source(name)))
    assert not ids - MESSAGES.keys(), f"{name}: unknown ids {sorted(ids - MESSAGES.keys())}"


def test_templates_were_found():
    assert "flows/login.html" in ALL and "mail/security_code.txt" in ALL and len(ALL) > 20


# -- the scanner itself can fail -------------------------------------------------------------

def test_words_in_text_attributes_and_literals_are_found():
    assert prose_in("<p>Bonjour {{ name }}</p>") == ["Bonjour"]
    assert prose_in('<a title="Nouvelle fenêtre" href="/x">{{ msg("link_back") }}</a>') == [
        "Nouvelle", "fenêtre"]
    assert prose_in('{{ field("nir", "Mon numéro", errors) }}') == ["Mon numéro"]
    assert prose_in('{% block title %}Connexion{% endblock %}') == ["Connexion"]
    assert prose_in("Bonjour,\n\n{{ code }}\n", html=False) == ["Bonjour"]


def test_messages_brands_code_names_and_hidden_parts_are_not_prose():
    assert prose_in('{#- a comment -#}<p class="muted" id="x">{{ msg("link_back") }}</p>') == []
    assert prose_in('<span aria-hidden="true">ameli</span> FranceConnect') == []
    assert prose_in('{{ field("nir", msg("link_back"), errors, type="text", '
                    'autocomplete="one-time-code") }}{% if step == "consent" %}{% endif %}') == []
    assert prose_in('{{ help_text("a" if x else "Deux mots") }}') == []
    assert prose_in('<script>var a = "Texte";</script>') == []
    assert prose_in('{% block body_class %}{% if x %}fc-branding{% endif %}{% endblock %}') == []
