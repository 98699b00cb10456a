"""The consent page in words (issue 13.4): a title and heading of its own, no "Tous les champs
sont obligatoires." over no field, what the service receives said in French, and what the
client is told when the person refuses."""

from __future__ import annotations

import html
import re
from urllib.parse import parse_qs, urlparse

from idp import messages
from tests.helpers.pages import visible
from tests.helpers.rp import to_consent


def decide(browser, decision: str):
    """Press "Accepter" or "Refuser"; the redirect that leaves the provider."""
    answer = browser.post_form("/login/consent", {"decision": decision}, allow_redirects=False)
    while answer.status_code in (302, 303) and answer.headers["Location"].startswith("/"):
        answer = browser.get(answer.headers["Location"], allow_redirects=False)
    return answer


def test_the_consent_page_has_its_own_title_and_no_required_fields_notice(
        rps, browser, person, smtp):
    """issue 13.4: not "J'accède à mon compte ameli" (the login's) but its own title and H1;
    no "Tous les champs sont obligatoires." where there is no field to fill."""
    _, page = to_consent(rps.thirdparty, browser, person, smtp, scope="openid profile")
    title = messages.text("consent_title")
    assert re.search(r"<title>\s*" + re.escape(title) + r"\s*</title>", html.unescape(page.text))
    h1 = re.search(r"<h1[^>]*>(.*?)</h1>", page.text, re.S).group(1)
    assert html.unescape(h1).strip() == title
    text = visible(page)
    assert "J'accède à mon compte ameli" not in text
    assert "Tous les champs sont obligatoires." not in text


def test_the_consent_page_says_in_words_what_the_service_receives(rps, browser, person, smtp):
    """issue 13.4: the service by name, each piece of information in French words (the
    identifier that is not the NIR included), no scope or claim name, no line said twice."""
    _, page = to_consent(rps.thirdparty, browser, person, smtp, scope="openid profile")
    text = visible(page)
    assert ("Le service « Service partenaire » souhaite recevoir les informations suivantes de "
            "votre compte ameli :") in text
    items = [visible(i) for i in re.findall(r"<li>(.*?)</li>", page.text, re.S)]
    assert items == [
        "Un identifiant qui vous désigne auprès de ce service (ce n'est pas votre numéro de "
        "sécurité sociale)",
        "Vos prénoms", "Votre nom de famille", "Votre date de naissance", "Votre sexe",
        "Votre nom d'usage"], items
    assert messages.text("consent_note") in text
    for raw in ("openid", "profile", "given_name", "family_name", "birthdate", "sub"):
        assert not re.search(rf"\b{raw}\b", text), raw


def test_refusing_tells_the_client_in_ascii_english_and_accepting_still_works(
        rps, browser, person, smtp):
    """issue 13.4: "Refuser" sends access_denied with an error_description for the client's
    developers (RFC 6749 §4.1.2.1: ASCII only, so not French) that says the person refused,
    distinct from a cancelled login; the state comes back."""
    pending, _ = to_consent(rps.thirdparty, browser, person, smtp, scope="openid profile")
    answer = decide(browser, "deny")
    query = parse_qs(urlparse(answer.headers["Location"]).query)
    assert query["error"] == ["access_denied"] and query["state"] == [pending.state]
    description = query["error_description"][0]
    assert description == "The user refused to share the requested information."
    assert all(0x20 <= ord(c) <= 0x7E and c not in '"\\' for c in description)
    _, page = to_consent(rps.thirdparty, browser, person, smtp, scope="openid profile")
    answer = decide(browser, "accept")
    assert "code" in parse_qs(urlparse(answer.headers["Location"]).query)
