"""``make screenshots`` (issue 13.10): each journey's screens, as a person sees them, at 360 px
(a phone) and 1280 px (a desktop), into ``docs/screens/``.

The provider runs in this process on a throw-away SQLite database with the demo accounts
(``idp demo``), mails to an outbox folder (the codes are read from there), and Debian's
Chromium (Playwright with ``executable_path``) walks the journeys. Nothing is mocked: the
screens are the provider's own pages, answering real requests.

    python -m tools.screenshots [--out docs/screens] [--only login,account]
"""

from __future__ import annotations

import argparse
import re
import socket
import sys
import tempfile
import threading
from email import message_from_bytes
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = "/usr/bin/chromium"
WIDTHS = {"phone": (360, 740), "desktop": (1280, 860)}
VALERIE = ("2690299341732", "Ameli2024!", "valerie.martin@yopmail.fr")
LOUIS = {"nir": "1860275056042", "family_name": "BERNARD", "given_name": "Louis",
         "birthdate": "11/02/1986", "postal_code": "75011", "email": "louis.bernard@yopmail.fr"}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Provider:
    """The provider on a loopback port, with the demo people and an outbox."""

    def __init__(self, folder: Path):
        from werkzeug.serving import make_server

        from idp import create_app, demo, keys
        port = _free_port()
        # localhost, not 127.0.0.1: a passkey's RP ID is a domain (the biometrics offer)
        self.url = f"http://localhost:{port}"
        self.outbox = folder / "outbox"
        self.app = create_app({
            "ISSUER": self.url, "SECRET_KEY": "s" * 40, "KEY_ENCRYPTION_KEY": "k" * 40,
            "SQLALCHEMY_DATABASE_URI": f"sqlite:///{folder / 'idp.db'}",
            "MAIL_OUTBOX": str(self.outbox), "SMS_OUTBOX": str(folder / "sms"),
            "MAIL_QUEUE": False, "RATELIMIT_ENABLED": False})
        with self.app.app_context():
            from flask_migrate import upgrade
            upgrade(directory=self.app.extensions["migrate"].directory, revision="heads")
            keys.ensure_keys()
            demo.load()
        self.server = make_server("127.0.0.1", port, self.app, threaded=True)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def last_mail(self, address: str) -> str:
        for path in sorted(self.outbox.glob("*.eml"), key=lambda p: p.stat().st_mtime,
                           reverse=True):
            message = message_from_bytes(path.read_bytes())
            if address in message["To"]:
                part = next(p for p in message.walk() if p.get_content_type() == "text/plain")
                return part.get_payload(decode=True).decode(part.get_content_charset() or "utf-8")
        raise LookupError(f"no mail to {address}")

    def code(self, address: str, digits: int = 6) -> str:
        return re.findall(rf"^\s*(\d{{{digits}}})\s*$", self.last_mail(address), re.M)[-1]

    def stop(self):
        self.server.shutdown()


class Camera:
    """One Chromium tab per width; ``shot(name)`` saves ``NN-name-<width>.png``."""

    def __init__(self, browser, out: Path, url: str):
        self.out, self.url, self.count = out, url, 0
        self.tabs = {}
        for label, (width, height) in WIDTHS.items():
            context = browser.new_context(viewport={"width": width, "height": height},
                                          locale="fr-FR")
            tab = context.new_page()
            # a platform authenticator with a fingerprint enrolled, as on the person's phone:
            # the provider then offers biometrics after a full login (issue 14)
            cdp = context.new_cdp_session(tab)
            cdp.send("WebAuthn.enable")
            cdp.send("WebAuthn.addVirtualAuthenticator", {"options": {
                "protocol": "ctap2", "transport": "internal", "hasResidentKey": True,
                "hasUserVerification": True, "isUserVerified": True,
                "automaticPresenceSimulation": True}})
            self.tabs[label] = tab

    def each(self, action):
        """Run one step of a journey in every tab (the same person, two screens)."""
        for tab in self.tabs.values():
            action(tab)

    def shot(self, name: str) -> None:
        self.count += 1
        for label, tab in self.tabs.items():
            path = self.out / f"{self.count:02d}-{name}-{label}.png"
            tab.screenshot(path=str(path), full_page=True)
            print(f"  {path.relative_to(ROOT) if path.is_relative_to(ROOT) else path}")


def press(tab, label: str) -> None:
    tab.locator("main").get_by_role("button", name=label, exact=True).click()
    tab.wait_for_load_state()


def login(cam: Camera, provider: Provider) -> None:
    nir, password, email = VALERIE
    cam.each(lambda t: t.goto(provider.url + "/login"))
    cam.shot("login")

    def wrong(t):
        t.fill("#nir", nir)
        t.fill("#password", "Mauvais2024!")
        press(t, "Me connecter")
    cam.each(wrong)
    cam.shot("login-wrong-password")

    def right(t):
        t.fill("#password", password)
        press(t, "Me connecter")
    cam.each(right)
    cam.shot("login-code-offer")

    def code(t):
        press(t, "Cliquez pour recevoir un code de sécurité")
        # passkey.js tells the server what the device can do, with the code
        t.wait_for_function("document.getElementById('biometrics').value !== ''")
        t.fill("#code", provider.code(email))
        press(t, "Me connecter")
    for tab in cam.tabs.values():           # one code per tab: each asks its own
        code(tab)
    cam.shot("biometrics-offer")
    cam.each(lambda t: press(t, "Plus tard"))
    cam.shot("account")


def consent(cam: Camera, provider: Provider) -> None:
    """The ameli app asks consent (no skip_consent): its request, PKCE S256, the live session."""
    import base64
    import hashlib
    import secrets
    from urllib.parse import urlencode
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=")
    query = urlencode({"client_id": "mobile-app", "redirect_uri": "fr.ameli.app:/oauth2redirect",
                       "response_type": "code", "scope": "openid profile email",
                       "state": secrets.token_urlsafe(8), "nonce": secrets.token_urlsafe(8),
                       "code_challenge": challenge.decode(), "code_challenge_method": "S256"})
    cam.each(lambda t: t.goto(provider.url + "/authorize?" + query))
    cam.shot("consent")


def logout(cam: Camera, provider: Provider) -> None:
    cam.each(lambda t: t.goto(provider.url + "/end_session"))
    cam.shot("logout")


def account(cam: Camera, provider: Provider) -> None:
    cam.each(lambda t: t.goto(provider.url + "/compte/mot-de-passe"))
    cam.shot("password-change")
    cam.each(lambda t: t.goto(provider.url + "/compte/resilier"))
    cam.shot("account-close")


def forgotten(cam: Camera, provider: Provider) -> None:
    cam.each(lambda t: t.context.clear_cookies())
    cam.each(lambda t: t.goto(provider.url + "/mot-de-passe-oublie"))
    cam.shot("password-forgotten")


def registration(cam: Camera, provider: Provider) -> None:
    cam.each(lambda t: t.context.clear_cookies())
    cam.each(lambda t: t.goto(provider.url + "/creer-un-compte"))
    cam.shot("registration")

    def ask(t):
        for field in ("family_name", "given_name", "nir", "postal_code"):
            t.fill(f"#{field}", LOUIS[field])
        t.fill("#birthdate", LOUIS["birthdate"])
        t.locator("main form").first.evaluate("form => form.requestSubmit()")
        t.wait_for_load_state()
    cam.each(ask)
    cam.shot("registration-requested")
    cam.each(lambda t: t.goto(provider.url + "/activer-mon-compte"))
    cam.shot("activation")


def public(cam: Camera, provider: Provider) -> None:
    cam.each(lambda t: t.goto(provider.url + "/accessibilite"))
    cam.shot("accessibility")


def english(cam: Camera, provider: Provider) -> None:
    """The account page in English (issue 13.7), through the switch, then back to French."""
    cam.each(lambda t: t.goto(provider.url + "/langue/en?next=/compte"))
    cam.shot("account-english")
    cam.each(lambda t: t.goto(provider.url + "/langue/fr?next=/compte"))


def english_login(cam: Camera, provider: Provider) -> None:
    cam.each(lambda t: t.context.clear_cookies())
    cam.each(lambda t: t.goto(provider.url + "/langue/en?next=/login"))
    cam.shot("login-english")


JOURNEYS = {"login": login, "english": english, "consent": consent, "account": account, "logout": logout, "forgotten": forgotten,
            "registration": registration, "public": public,
            "english-login": english_login}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "screens")
    parser.add_argument("--only", help="comma-separated journeys: " + ", ".join(JOURNEYS))
    args = parser.parse_args(argv)
    if not Path(CHROMIUM).exists():
        print(f"{CHROMIUM} is missing: install Debian's chromium (make browser)", file=sys.stderr)
        return 1
    names = args.only.split(",") if args.only else list(JOURNEYS)
    args.out.mkdir(parents=True, exist_ok=True)
    for old in args.out.glob("*.png"):
        old.unlink()
    from playwright.sync_api import sync_playwright
    with tempfile.TemporaryDirectory() as folder, sync_playwright() as p:
        provider = Provider(Path(folder))
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        cam = Camera(browser, args.out, provider.url)
        try:
            for name in names:
                print(name)
                JOURNEYS[name](cam, provider)
        finally:
            browser.close()
            provider.stop()
    print(f"{cam.count} screens, {len(WIDTHS)} widths each, in {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
