"""The language of a page (issue 13.7): French, the reference, and English.

Chosen per request, first match wins:

1. ``ui_locales`` of the current authorization (or logout) request: a space-separated list
   of BCP 47 tags, the first supported one wins (``en-GB`` is ``en``). It is remembered for
   the rest of the flow in the language cookie below.
2. The person's choice with the switch on every page (``/langue/<fr|en>``), kept in the
   cookie ``idp_lang`` (``__Host-idp_lang``, Secure, on an https issuer) for
   ``Policy.language_choice``.
3. ``Accept-Language``, best match.
4. French.

Flask-Babel holds the catalogue (``idp/translations/en/LC_MESSAGES/messages.po``): each
sentence of ``idp.messages`` is translated with its message id as ``msgctxt`` and the
French sentence as ``msgid`` (``make translations`` extracts, updates and compiles). Outside
a request (the CLI, the demo portal's app, which has no Babel) everything is French.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Flask, current_app, g, has_request_context, request, url_for
from flask_babel import Babel, force_locale, get_locale, pgettext, refresh

from idp.config import secure_cookie_name
from idp.policy import policy

SUPPORTED = ("fr", "en")
DEFAULT = "fr"
COOKIE_NAME = "idp_lang"          # plain http (make run); over https: __Host-idp_lang
# The word each language is named by in the switch, in that language (WCAG 3.1.2: the
# link carries its own ``lang``).
NAMES = {"fr": "Français", "en": "English"}


def init_app(app: Flask) -> None:
    Babel(app, locale_selector=_select, default_locale=DEFAULT,
          default_timezone="Europe/Paris")
    app.after_request(_remember)
    app.add_template_global(language, "lang")
    app.add_template_global(switch_targets, "language_switch")


def cookie_name() -> str:
    return secure_cookie_name(COOKIE_NAME)


def supported(tag: str | None) -> str | None:
    """The supported language a BCP 47 tag names (``en-GB`` → ``en``), else None."""
    primary = (tag or "").strip().replace("_", "-").split("-")[0].lower()
    return primary if primary in SUPPORTED else None


def from_ui_locales(value: str | None) -> str | None:
    """The first supported language of an OIDC ``ui_locales`` list, else None."""
    for tag in (value or "").split():
        found = supported(tag)
        if found:
            return found
    return None


def use_ui_locales(value: str | None) -> None:
    """The request's ``ui_locales`` (OIDC Core 3.1.2.1): this page's language, and the
    flow's, remembered in the language cookie. An unsupported list changes nothing."""
    found = from_ui_locales(value)
    if found:
        g.idp_lang_request = found
        g.idp_lang_remember = found
        refresh()


def choose(lang: str) -> None:
    """The person's choice with the switch, kept in the cookie from this answer on."""
    g.idp_lang_request = lang
    g.idp_lang_remember = lang
    refresh()


def _select() -> str:
    if not has_request_context():
        return DEFAULT
    return (g.get("idp_lang_request")
            or supported(request.cookies.get(cookie_name()))
            or _accepted()
            or DEFAULT)


def _accepted() -> str | None:
    """The first language of ``Accept-Language`` (by quality) that we have, ``fr-FR`` as
    ``fr``: werkzeug's ``best_match`` would prefer an exact ``en;q=0.5`` to ``fr-FR;q=1``."""
    for tag, quality in request.accept_languages:
        found = supported(tag) if quality > 0 else None
        if found:
            return found
    return None


def language() -> str:
    """The current page's language: "fr" or "en". Asked a dozen times by each page: the
    locale flask_babel keeps for the request (``get_locale``'s own cache, which ``refresh``
    and ``force_locale`` replace) is read in one look-up, and its tag kept beside it, for as
    long as that very locale is the request's."""
    if not has_request_context():
        return DEFAULT
    state = g.get("_flask_babel")
    locale = getattr(state, "babel_locale", None)
    if locale is None:
        if "babel" not in current_app.extensions:
            return DEFAULT
        locale = get_locale()
        state = g.get("_flask_babel")
    named = getattr(state, "idp_language", None)
    if named is not None and named[0] is locale:
        return named[1]
    tag = str(locale or DEFAULT)
    if state is not None:
        state.idp_language = (locale, tag)
    return tag


def translate(message_id: str, french: str) -> str:
    """The sentence of ``message_id`` in the current language (``french`` when the catalogue
    has none: the test of the catalogue keeps it complete)."""
    if language() == DEFAULT:
        return french
    return pgettext(message_id, french)


def forced(lang: str):
    """A context manager: everything inside it in ``lang`` (tests, a mail in another
    language than the page)."""
    return force_locale(lang)


def _remember(response):
    lang = g.get("idp_lang_remember")
    if lang:
        response.set_cookie(
            cookie_name(), lang, max_age=int(policy().language_choice.total_seconds()),
            path="/", secure=current_app.config["SESSION_COOKIE_SECURE"], httponly=True,
            samesite="Lax")
    return response


def local_path(target: str | None) -> str | None:
    """``target`` when it is a path of this site ("/compte?x=1"), else None: no scheme, no
    host, no ``//`` or backslash (which browsers read as ``//``), no control character."""
    if not target or not target.startswith("/") or target.startswith("//"):
        return None
    if "\\" in target or any(ord(c) < 0x20 or ord(c) == 0x7F for c in target):
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return None
    return target


def come_back_to(path: str) -> None:
    """The address (a path of this site) the language switch of this page comes back to,
    when it is not the request's own: the login page that answers GET /authorize comes back
    to its /login?interaction=<id>, not to a new authorization request."""
    g.idp_lang_back_to = path


def switch_targets(page_lang: str | None = None) -> list[tuple[str, str, str]]:
    """(language, its name, the switch's URL) for each language other than the page's
    (``page_lang`` when the caller knows it): the switch comes back to this very page
    (``come_back_to``, else the request's address)."""
    here = g.get("idp_lang_back_to") or (
        request.full_path.rstrip("?") if request.query_string else request.path)
    page_lang = page_lang or language()
    return [(lang, NAMES[lang], url_for("public.language", lang=lang, next=here))
            for lang in SUPPORTED if lang != page_lang]
