"""What a person reads on a page: its visible text, a sentence on it, the error tied to a
field, and the parameters of a URL."""

from __future__ import annotations

import html
import re
from urllib.parse import parse_qs, urlsplit

_TAG = re.compile(r"<[^>]+>")
_SPACE = re.compile(r"\s+")


def text_of(page) -> str:
    """The visible text of a page with whitespace normalised: sentences in idp.messages carry
    "\\n" between sentences (rendered with white-space: pre-line), which becomes one space."""
    body = page.text if hasattr(page, "text") else str(page)
    body = re.sub(r"<(script|style)\b.*?</\1>", " ", body, flags=re.S)
    return _SPACE.sub(" ", html.unescape(_TAG.sub(" ", body))).strip()


def visible(page) -> str:
    """A page's text as a person reads it: scripts, styles and drawings dropped, tags
    dropped, entities decoded, spaces folded."""
    body = page.text if hasattr(page, "text") else str(page)
    body = re.sub(r"<(script|style|svg)\b.*?</\1>", " ", body, flags=re.S)
    return " ".join(html.unescape(_TAG.sub(" ", body)).split())


def says(page, sentence: str) -> bool:
    return _SPACE.sub(" ", sentence).strip() in text_of(page)


def field_error(page, field: str) -> str | None:
    """The error tied to a field: aria-invalid on the input and its aria-describedby target."""
    body = page.text
    tag = re.search(rf'<input[^>]*\bid="{field}"[^>]*>', body, re.S)
    assert tag, f"no field {field}"
    if 'aria-invalid="true"' not in tag.group(0):
        return None
    described = re.search(r'aria-describedby="([^"]+)"', tag.group(0)).group(1).split()
    for target in described:
        found = re.search(rf'id="{target}"[^>]*>(.*?)</', body, re.S)
        if found and "error" in target:
            return _SPACE.sub(" ", html.unescape(_TAG.sub("", found.group(1)))).strip()
    return None


def query_of_url(url: str) -> dict:
    """The query parameters of a URL, one value each."""
    return {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}


_ROW = re.compile(r"<dt\b[^>]*>(.*?)</dt>\s*<dd\b[^>]*>(.*?)</dd>", re.S)


def rows_of(page) -> dict[str, str]:
    """The rows of a page's definition lists as a person reads them: {term: description},
    tags dropped (a link keeps its words), lines and spaces folded."""
    return {text_of(term): text_of(value) for term, value in _ROW.findall(page.text)}
