"""Accessibility beyond axe (issue 13.6), each checked in Chromium on http and https: the
field a wrong answer is about, the focus after an error, every empty required field, the
password rules in words, a focus outline one can see, the headings, the titles, the footer
a public service must have, the CGU, and no 404 (the favicon)."""

from __future__ import annotations

import re

import pytest

from idp import messages
from tests.helpers.browser import log_in, press, shown

pytestmark = pytest.mark.browser


def _described_text(page, selector: str) -> str:
    """The texts the field's aria-describedby points at, joined."""
    ids = (page.locator(selector).get_attribute("aria-describedby") or "").split()
    return " ".join(page.locator("#" + i).inner_text() for i in ids)


def _focused_id(page) -> str:
    return page.evaluate("document.activeElement && document.activeElement.id || ''")


def _reach_the_code_page(page, server, person):
    page.goto(server.url + "/login")
    page.fill("#nir", person.nir)
    page.fill("#password", person.password)
    press(page, "Me connecter")
    press(page, "Cliquez pour recevoir un code de sécurité")   # issue 13.2


def test_a_wrong_password_marks_its_field_and_the_focus_goes_to_the_error_summary(
        page, server, person):
    """issue 13.6: case 4 (a banner) marks the password field, tied to the banner's text,
    and the focus moves to that summary (tabindex=-1) once the page is loaded."""
    page.goto(server.url + "/login")
    page.fill("#nir", person.nir)
    page.fill("#password", "Mauvais2024!")
    press(page, "Me connecter")
    assert page.locator("#password").get_attribute("aria-invalid") == "true"
    banner = page.locator("[role=alert]").inner_text()
    assert "mot de passe" in banner.lower()
    assert banner in _described_text(page, "#password")
    assert page.locator("#form-error").get_attribute("tabindex") == "-1"
    assert _focused_id(page) == "form-error"


def test_a_wrong_code_marks_the_code_field_and_the_focus_goes_to_the_error_summary(
        page, server, person, smtp):
    """issue 13.6: case 5 marks the code field, tied to the message, focus on the summary."""
    _reach_the_code_page(page, server, person)
    right = smtp.code_for(person.email)
    page.fill("#code", "000000" if right != "000000" else "111111")
    press(page, "Me connecter")
    code = page.locator("#code")
    assert code.get_attribute("aria-invalid") == "true"
    banner = page.locator("[role=alert]").inner_text()
    assert banner and banner in _described_text(page, "#code")
    assert _focused_id(page) == "form-error"


def test_an_empty_login_flags_every_empty_required_field_and_focuses_the_first(
        page, server, person):
    """issue 13.6: an empty submit marks the NIR *and* the password, each with its message;
    with only field errors, the focus goes to the first field in error."""
    page.goto(server.url + "/login")
    press(page, "Me connecter")
    for field, sentence in (("#nir", messages.text("nir_invalid", reason="empty")),
                            ("#password", messages.text("field_required"))):
        assert page.locator(field).get_attribute("aria-invalid") == "true", field
        assert sentence in _described_text(page, field), field
    assert _focused_id(page) == "nir"

    # Only the password empty: only the password is flagged.
    page.fill("#nir", person.nir)
    press(page, "Me connecter")
    assert page.locator("#nir").get_attribute("aria-invalid") is None
    assert page.locator("#password").get_attribute("aria-invalid") == "true"
    assert _focused_id(page) == "password"


def _reset_link(page, server, person, smtp) -> str:
    page.goto(server.url + "/mot-de-passe-oublie")
    page.fill("#nir", person.nir)
    page.fill("#birthdate", "15/02/1969")
    press(page, "Valider")
    found = re.findall(r"^(https?://\S+)\s*$", smtp.last_text(person.email), re.M)
    assert found
    return found[-1]


def test_the_password_rules_are_announced_in_words(page, server, person, smtp):
    """issue 13.6: each rule says in text whether it is met ("respectée" / "non respectée",
    from messages.py), inside a polite live region, not only by a colour and a hidden tick."""
    page.goto(_reset_link(page, server, person, smtp))
    rules = page.locator("#password-rules")
    assert rules.get_attribute("aria-live") == "polite"
    met, unmet = messages.text("password_rule_met"), messages.text("password_rule_unmet")

    def state(rule: str) -> str:
        return page.locator(f"#password-rules li[data-rule='{rule}'] .rule-state").inner_text()

    assert state("length") == unmet and state("case") == unmet
    page.fill("#new_password", "abcdefgh")
    assert state("length") == met and state("case") == unmet
    page.fill("#new_password", "Abcdefgh")
    assert state("case") == met
    assert state("confirmation") == unmet
    page.fill("#confirmation", "Abcdefgh")
    assert state("confirmation") == met
    # The state is read out with its rule: visually hidden, but not aria-hidden.
    item = page.locator("#password-rules li[data-rule='length']")
    assert met in item.evaluate("li => li.textContent")
    assert page.locator("#password-rules li[data-rule='length'] .rule-state").evaluate(
        "s => s.closest('[aria-hidden=true]') === null")


def _luminance(rgb) -> float:
    def channel(c):
        c = c / 255
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4
    r, g, b = (channel(c) for c in rgb)
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def _contrast(a, b) -> float:
    high, low = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (high + 0.05) / (low + 0.05)


def _rgb(css: str):
    return tuple(int(float(x)) for x in re.findall(r"[\d.]+", css)[:3])


def test_the_focus_outline_contrasts_3_to_1_with_white_and_the_page_background(page, server):
    """issue 13.6 (WCAG 1.4.11): the outline of a focused field, button and link, from the
    computed style, against white (the card) and the page's background."""
    page.goto(server.url + "/login")
    background = _rgb(page.evaluate("getComputedStyle(document.body).backgroundColor"))
    for selector in ("#nir", "main button.btn", "main a"):
        page.locator(selector).first.focus()
        style = page.evaluate("""() => { const s = getComputedStyle(document.activeElement);
            return [s.outlineStyle, s.outlineWidth, s.outlineColor]; }""")
        assert style[0] != "none" and float(style[1].rstrip("px")) >= 2, (selector, style)
        colour = _rgb(style[2])
        assert _contrast(colour, (255, 255, 255)) >= 3, (selector, style)
        assert _contrast(colour, background) >= 3, (selector, style)


def test_headings_titles_and_required_marks_agree(page, server, person, smtp):
    """issue 13.6: on "Mes informations" the H1 is not smaller than any H2; the logout
    page's title is its H1; "Code à 4 chiffres (obligatoire)" says required once."""
    log_in(page, server, person, smtp)
    assert "Mes informations" in shown(page)
    sizes = page.evaluate("""() => ({h1: parseFloat(getComputedStyle(document.querySelector('h1')).fontSize),
        h2: Math.max(...[...document.querySelectorAll('h2')].map(h => parseFloat(getComputedStyle(h).fontSize)))})""")
    assert sizes["h1"] >= sizes["h2"], sizes

    press(page, "Mon mot de passe")           # sends the code at once (seed 000, issue 13.2)
    label = page.locator("label[for=code]").inner_text()
    assert "obligatoire" in label
    assert "*" not in label, label
    assert page.locator("#code").get_attribute("required") is not None

    page.goto(server.url + "/end_session")          # the confirmation, then the logged-out page
    assert page.title() == page.locator("h1").inner_text()
    press(page, "Me déconnecter")
    assert page.title() == page.locator("h1").inner_text()


PUBLIC_PAGES = {"footer_accessibility": "public_accessibility_title",
                "footer_legal": "public_legal_title", "footer_privacy": "public_privacy_title"}


def test_the_footer_links_the_pages_a_public_service_must_have(page, server):
    """issue 13.6: accessibilité (with its conformity status), mentions légales, données
    personnelles: each link of the footer opens a page of ours that says something."""
    page.goto(server.url + "/login")
    footer = page.locator("footer")
    for key, title in PUBLIC_PAGES.items():
        link = footer.get_by_role("link", name=messages.text(key), exact=True)
        assert link.count() == 1, key
        with page.expect_navigation():
            link.click()
        assert page.locator("h1").inner_text() == messages.text(title)
        assert page.title() == messages.text(title)
        assert len(shown(page)) > len(messages.text(title)) + 80
        page.go_back()


def test_no_page_answers_404_to_the_browser_and_there_is_a_favicon(page, server, person, smtp):
    """issue 13.6: the favicon is declared and served; along a whole login and the public
    pages, no request the browser makes gets a 404."""
    statuses: list[tuple[int, str]] = []
    page.on("response", lambda r: statuses.append((r.status, r.url)))
    page.goto(server.url + "/login")
    icon = page.locator("link[rel=icon]").get_attribute("href")
    assert icon
    assert page.request.get(server.url + icon).status == 200
    log_in(page, server, person, smtp, start="")
    for path in ("/accessibilite", "/mentions-legales", "/donnees-personnelles", "/cgu",
                 "/mot-de-passe-oublie", "/creer-un-compte"):
        page.goto(server.url + path)
    page.wait_for_load_state("networkidle")
    missing = [url for status, url in statuses if status == 404]
    assert missing == [], missing
