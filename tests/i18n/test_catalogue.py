"""Issue 13.7: the English catalogue is complete, compiled and faithful to idp.messages: a
sentence added to messages.py without its English, a fuzzy entry, a translation that loses a
placeholder or a link, or a messages.mo not rebuilt from messages.po, fails here."""

from __future__ import annotations

import copy

import pytest

from tests.i18n.catalogue import problems
from tools import translations


@pytest.fixture(scope="module")
def english():
    path = translations.po_path("en")
    return translations.read(path), path.with_suffix(".mo").read_bytes()


def test_english_is_complete_compiled_and_faithful(english):
    catalog, mo = english
    assert problems(catalog, mo) == []


def test_every_language_of_the_provider_has_its_catalogue():
    from idp import i18n
    assert translations.languages() == [lang for lang in i18n.SUPPORTED if lang != i18n.DEFAULT]


# -- the checks themselves can fail ---------------------------------------------------------

def _edited(english, context, **changes):
    catalog = copy.deepcopy(english[0])
    entry = next(m for m in catalog if m.context == context)
    for name, value in changes.items():
        setattr(entry, name, value)
    return catalog


def test_an_untranslated_a_fuzzy_or_an_unfaithful_entry_is_found(english):
    catalog, mo = english
    assert "wrong_password: untranslated" in problems(_edited(english, "wrong_password", string=""), mo)
    fuzzy = _edited(english, "code_quota")
    next(m for m in fuzzy if m.context == "code_quota").flags.add("fuzzy")
    assert any(p.startswith("code_quota: fuzzy") for p in problems(fuzzy, mo))
    lost = _edited(english, "code_quota", string="Blocked until later (Paris time).")
    assert "code_quota: placeholders or links differ from the French" in problems(lost, mo)
    link = _edited(english, "help_needed", string="Need help? Watch our tutorial.")
    assert "help_needed: placeholders or links differ from the French" in problems(link, mo)
    same = _edited(english, "link_back", string="Retour")
    assert "link_back: the English is the French sentence" in problems(same, mo)


def test_a_stale_mo_and_a_sentence_added_without_its_english_are_found(english):
    catalog, mo = english
    changed = _edited(english, "link_back", string="Go back")
    assert "messages.mo is stale: compile it (make translations)" in problems(changed, mo)
    wanted = {**translations.entries(), "new_sentence": "Une phrase nouvelle."}
    assert "new_sentence: missing from the catalogue (make translations)" in problems(
        catalog, mo, wanted)
    wanted["link_back"] = "Revenir"
    assert "link_back: translates an old French sentence (make translations)" in problems(
        catalog, mo, wanted)


def test_the_template_is_the_sentences_of_messages_py():
    """``messages.pot`` is what ``make translations`` extracts today."""
    pot = translations.read(translations.TEMPLATE)
    assert {m.context: m.id for m in pot if m.id} == translations.entries()
