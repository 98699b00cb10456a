"""The pages a French public service links from every page (issue 13.6): the accessibility
statement, the legal notice, personal data, and the terms of use the activation asks to
accept; the favicon; and the language switch of every page (issue 13.7). Their texts are in ``idp.messages``; each page points to ameli.fr
for the full text."""

from __future__ import annotations

from flask import Blueprint, abort, redirect, render_template, request, url_for

from idp import i18n, messages

bp = Blueprint("public", __name__)

# path -> the message-id stem of the page ("public_<stem>_title", "public_<stem>_body")
PAGES = {
    "/accessibilite": "accessibility",
    "/mentions-legales": "legal",
    "/donnees-personnelles": "privacy",
    "/cgu": "cgu",
}


def _view(stem: str):
    def view():
        return render_template(
            "flows/public_page.html", title=messages.text(f"public_{stem}_title"),
            paragraphs=messages.text(f"public_{stem}_body").split("\n\n"))
    view.__name__ = stem
    return view


for _path, _stem in PAGES.items():
    bp.add_url_rule(_path, _stem, _view(_stem))


@bp.get("/favicon.ico")
def favicon():
    """Browsers and tools that ask the conventional path get the page's declared icon."""
    return redirect(url_for("static", filename="favicon.svg"), 301)


@bp.get("/langue/<lang>")
def language(lang: str):
    """The switch: keep the person's choice (``idp.i18n``) and go back to the page, only when
    ``next`` is a path of this site (no open redirect); else to the home page."""
    if lang not in i18n.SUPPORTED:
        abort(404)
    i18n.choose(lang)
    return redirect(i18n.local_path(request.args.get("next")) or url_for("account.index"), 303)
