"""The demo account portal for ``make run``: a small, real relying party (Authlib's Flask
client, code flow with PKCE) on http://127.0.0.1:5001. It logs a person in through the
provider, then shows what a portal shows: the person's name and their information read from
``/userinfo`` with the access token, the portal's tabs, a link to the account page
("Mes informations" on the provider) and the logout (RP-initiated, ``id_token_hint``); and a
page on the ameli app's biometric sign-in, passkeys (``/connexion-biometrique``, issue 14).

Its words are in ``idp.messages`` (ids ``portal_*``), like the provider's.
"""

from __future__ import annotations

import os
import secrets
from datetime import date
from urllib.parse import urlsplit, urlunsplit

from authlib.integrations.flask_client import OAuth
from flask import Flask, abort, redirect, render_template, send_from_directory, session, url_for

from idp import config, messages

ISSUER = os.environ.get("IDP_ISSUER", "http://127.0.0.1:5000").rstrip("/")
BASE_URL = config.DEMO_PORTAL_URL        # the provider's PORTAL_URL in development
PROVIDER_STATIC = os.path.join(os.path.dirname(os.path.dirname(__file__)), "static")

# The portal's tabs (seed 000, step 0): (path, message id of its name); "" is the home page.
# "Mes informations" is the provider's account page, whose own tabs lead here (issue 13.3).
TABS = config.PORTAL_TABS
TAB_PAGES = dict(TABS[1:])
# What each tab page shows: seed 000's examples, made-up demo data.
PAYMENTS = ((date(2026, 5, 18), "portal_payment_third_party", "1,68 €"),
            (date(2026, 4, 13), "portal_payment_third_party", "25,00 €"),
            (date(2026, 4, 1), "portal_payment_third_party", "0,09 €"),
            (date(2026, 3, 19), "portal_payment_care", "22,66 €"))
PROCEDURES = ("portal_procedure_rights", "portal_procedure_daily", "portal_procedure_ceam")
# What /userinfo answers, in the order a person reads it: (claim, message id of its label)
ROWS = (("family_name", "portal_family_name"), ("given_name", "portal_given_name"),
        ("birthdate", "portal_birthdate"), ("gender", "portal_gender"),
        ("email", "portal_email"))
GENDERS = {"female": "portal_gender_female", "male": "portal_gender_male"}


def _value(claim: str, info: dict) -> str | None:
    raw = info.get(claim)
    if raw in (None, ""):
        return None
    if claim == "birthdate":
        try:
            return messages.fmt_date(date.fromisoformat(str(raw)))
        except ValueError:
            return str(raw)
    if claim == "gender":
        return messages.text(GENDERS[raw]) if raw in GENDERS else str(raw)
    if claim == "email" and info.get("email_verified") is False:
        return messages.text("portal_email_unverified", email=raw)
    return str(raw)


def passkey_provider(issuer: str) -> str:
    """The provider's pages where passkeys work: the issuer, on ``localhost`` when it is a
    loopback IP (``make run``: http://localhost:5000), as the provider's default passkey
    origin (``idp.config``)."""
    parts = urlsplit(issuer)
    if parts.hostname in ("127.0.0.1", "::1"):
        port = f":{parts.port}" if parts.port else ""
        return urlunsplit((parts.scheme, f"localhost{port}", parts.path, "", "")).rstrip("/")
    return issuer


def create_portal(issuer: str = ISSUER, base_url: str = BASE_URL,
                  secret: str | None = None) -> Flask:
    """The portal, as the provider at ``issuer`` knows it (client ``portal`` of clients.yaml,
    redirect ``{base_url}/callback``)."""
    config.load_demo_env()          # issue 13.9: the demo secret, outside make too
    issuer, base_url = issuer.rstrip("/"), base_url.rstrip("/")
    app = Flask("portal", template_folder="templates", static_folder="static",
                root_path=os.path.dirname(__file__))
    app.secret_key = secrets.token_hex(32)
    app.config["SESSION_COOKIE_NAME"] = "portal_session"
    oauth = OAuth(app)
    oauth.register(
        "ameli", client_id="portal", client_secret=secret or os.environ["IDP_PORTAL_SECRET"],
        server_metadata_url=f"{issuer}/.well-known/openid-configuration",
        client_kwargs={"scope": "openid profile email", "code_challenge_method": "S256"})

    @app.context_processor
    def _words():
        return {"msg": messages.text, "account_url": f"{issuer}/compte"}

    def _page(template: str, **values):
        return render_template(template, user=session.get("user"), tabs=TABS, **values)

    @app.get("/")
    def home():
        user = session.get("user")
        if not user:
            return _page("portal_home.html", rows=[], current="home")
        rows = [(messages.text(label), value) for claim, label in ROWS
                if (value := _value(claim, user)) is not None]
        return _page("portal_home.html", rows=rows, current="home")

    @app.get("/connexion-biometrique")
    def biometrics():
        """Issue 14: what biometric sign-in (a passkey) is, and how to try it with make run,
        on the provider's pages served on ``localhost`` (a WebAuthn RP ID is never an IP)."""
        provider = passkey_provider(issuer)
        return _page("portal_biometrics.html", current="biometrics", ip_url=issuer,
                     provider=provider, step_login=messages.with_links(
                         "portal_biometrics_step_login", login=f"{provider}/login"),
                     step_list=messages.with_links("portal_biometrics_step_list",
                                                   account=f"{provider}/compte"))

    @app.get("/<name>")
    def tab(name: str):
        if name not in TAB_PAGES:
            abort(404)
        if not session.get("user"):
            # From the provider's tabs: log in (at once when the provider's session is
            # open), then this tab.
            session["next"] = name
            return redirect(url_for("login"))
        return _page("portal_tab.html", title_id=TAB_PAGES[name], current=name,
                     payments=[(messages.fmt_date(on), messages.text(what), amount)
                               for on, what, amount in PAYMENTS],
                     procedures=[messages.text(p) for p in PROCEDURES])

    @app.get("/favicon.svg")
    def favicon():
        return send_from_directory(PROVIDER_STATIC, "favicon.svg")   # the provider's own icon

    @app.get("/login")
    def login():
        return oauth.ameli.authorize_redirect(f"{base_url}/callback")

    @app.get("/callback")
    def callback():
        token = oauth.ameli.authorize_access_token()
        # What the portal shows comes from /userinfo, read with the access token.
        session["user"] = dict(oauth.ameli.userinfo(token=token))
        session["id_token"] = token["id_token"]
        after = session.pop("next", None)
        return redirect(url_for("tab", name=after) if after in TAB_PAGES else url_for("home"))

    @app.get("/logout")
    def logout():
        hint = session.pop("id_token", "")
        session.clear()
        return redirect(f"{issuer}/end_session?id_token_hint={hint}"
                        f"&post_logout_redirect_uri={base_url}/")

    return app


if __name__ == "__main__":
    create_portal().run(host="127.0.0.1", port=5001)
