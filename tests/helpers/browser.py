"""What a person does in a real browser (the ``page`` fixture of ``tests/conftest.py``): fill
the provider's forms and press their buttons, read what the page says; and what the browser
keeps of our cookies, which over HTTPS must all be ``__Host-``, ``Secure``, ``Path=/`` and
host-only (issue 10, issue 11.15); and ``ClientSite``, a relying party's pages on a loopback
port, where the browser lands at the end of a journey; ``axe_violations``, axe-core's
WCAG 2.1 AA verdict on a page at 360 and 1280 px.
"""

from __future__ import annotations

import re
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlparse

from tests.helpers.live import free_port

# axe-core (issue 13.6), from npm into node_modules by the Makefile's ``axe`` target.

_SPACE = re.compile(r"\s+")

AXE = Path(__file__).resolve().parents[2] / "node_modules" / "axe-core" / "axe.min.js"
WCAG21AA = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
WIDTHS = (360, 1280)


def axe_violations(page) -> list[str]:
    """axe's WCAG 2.1 AA violations of the page as it is, at each width. The script is run
    through the DevTools protocol (``evaluate``), which the page's CSP does not apply to."""
    found = []
    for width in WIDTHS:
        page.set_viewport_size({"width": width, "height": 800})
        if not page.evaluate("typeof window.axe !== 'undefined'"):
            page.evaluate(AXE.read_text() + "\n;undefined")
        result = page.evaluate("tags => axe.run(document, {runOnly: {type: 'tag', values: tags}})"
                               ".then(r => ({passes: r.passes.length, violations: r.violations.map("
                               "v => v.id + ': ' + v.nodes.map(n => n.target.join(' ')).join(', '))}))",
                               WCAG21AA)
        assert result["passes"] > 5, result           # axe did run its WCAG rules
        found += [f"{width}px {v}" for v in result["violations"]]
    page.set_viewport_size({"width": 360, "height": 740})
    return found


def press(page, label: str, *, within: str = "main") -> None:
    """Press the button of that label (the only one in ``within``) and wait for the page."""
    with page.expect_navigation():
        page.locator(within).get_by_role("button", name=label, exact=True).click()


def shown(page) -> str:
    """The visible text of the page's main part, whitespace normalised."""
    return _SPACE.sub(" ", page.inner_text("main")).strip()


def says(page, sentence: str) -> bool:
    return _SPACE.sub(" ", sentence).strip() in shown(page)


def log_in(page, server, person, smtp, *, password: str | None = None, remember: bool = False,
           start: str = "/login", ready: str | None = None) -> None:
    """NIR and password, "Cliquez pour recevoir un code de sécurité", the code read from the mail.
    ``start`` is a path on the server or a whole URL (the passkey pages' ``localhost``);
    ``ready`` a JavaScript condition the code page must meet before its last submit."""
    if start:
        page.goto(start if "://" in start else server.url + start)
    page.fill("#nir", person.nir)
    page.fill("#password", password or person.password)
    press(page, "Me connecter")
    press(page, "Cliquez pour recevoir un code de sécurité")   # issue 13.2
    page.fill("#code", smtp.code_for(person.email))
    if remember:
        page.check("#remember_device")
    if ready:
        page.wait_for_function(ready)
    press(page, "Me connecter")


def provider_cookies(page, server) -> dict:
    """The provider's cookies in the browser, by name (Playwright's cookie dicts)."""
    host = server.url.split("://", 1)[1].rsplit(":", 1)[0]
    return {c["name"]: c for c in page.context.cookies() if c["domain"].lstrip(".") == host}


def assert_cookies_fit_the_scheme(page, server, *names: str) -> None:
    """Each named cookie is there; over HTTPS under its ``__Host-`` name and ``Secure``,
    ``Path=/``, no ``Domain`` (Chromium shows a host-only cookie without a leading dot); on
    plain HTTP under the plain name. Every other cookie of ours obeys the same rule."""
    cookies = provider_cookies(page, server)
    secure = server.url.startswith("https://")
    expected = {("__Host-" + n if secure else n) for n in names}
    assert expected <= set(cookies), (expected, sorted(cookies))
    for name, cookie in cookies.items():
        if secure:
            assert name.startswith("__Host-"), name
            assert cookie["secure"] and cookie["path"] == "/", cookie
            assert not cookie["domain"].startswith("."), cookie
        else:
            assert not name.startswith("__Host-"), name


class ClientSite:
    """The relying party's pages: records what the browser brings (query or form body)."""

    def __init__(self, port: int | None = None):
        self.port = port or free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.arrivals: list[tuple[str, str, dict]] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def _arrive(self, params: dict):
                outer.arrivals.append((self.command, self.path.split("?")[0], params))
                body = b"<!doctype html><title>client</title><main>client</main>"
                self.send_response(200)
                self.send_header("Content-Type", "text/html")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_GET(self):
                self._arrive({k: v[0] for k, v in parse_qs(urlparse(self.path).query).items()})

            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0)).decode()
                self._arrive({k: v[0] for k, v in parse_qs(body).items()})

            def log_message(self, *args):
                pass

        self.httpd = HTTPServer(("127.0.0.1", self.port), Handler)
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def stop(self):
        self.httpd.shutdown()
        self.httpd.server_close()
