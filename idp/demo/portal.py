"""The demo account portal for ``make run``: a real relying party (Authlib's Flask client)
on http://127.0.0.1:5001 that logs a person in through the provider and shows the claims."""

from __future__ import annotations

import os
import secrets

from authlib.integrations.flask_client import OAuth
from flask import Flask, redirect, session, url_for
from markupsafe import escape

from idp import config

ISSUER = os.environ.get("IDP_ISSUER", "http://127.0.0.1:5000").rstrip("/")


def create_portal() -> Flask:
    config.load_demo_env()          # issue 13.9: the demo secret, outside make too
    app = Flask("portal")
    app.secret_key = secrets.token_hex(32)
    app.config["SESSION_COOKIE_NAME"] = "portal_session"
    oauth = OAuth(app)
    oauth.register(
        "ameli", client_id="portal", client_secret=os.environ["IDP_PORTAL_SECRET"],
        server_metadata_url=f"{ISSUER}/.well-known/openid-configuration",
        client_kwargs={"scope": "openid profile email", "code_challenge_method": "S256"})

    @app.get("/")
    def home():
        user = session.get("user")
        if not user:
            return ('<h1>Mon compte ameli (portail de démonstration)</h1>'
                    '<p><a href="/login">Me connecter</a></p>')
        rows = "".join(f"<tr><th>{escape(k)}</th><td>{escape(v)}</td></tr>" for k, v in user.items())
        return f'<h1>Connecté</h1><table>{rows}</table><p><a href="/logout">Me déconnecter</a></p>'

    @app.get("/login")
    def login():
        return oauth.ameli.authorize_redirect(url_for("callback", _external=True))

    @app.get("/callback")
    def callback():
        token = oauth.ameli.authorize_access_token()
        session["user"] = dict(token["userinfo"])
        session["id_token"] = token["id_token"]
        return redirect("/")

    @app.get("/logout")
    def logout():
        hint = session.pop("id_token", "")
        session.clear()
        return redirect(f"{ISSUER}/end_session?id_token_hint={hint}"
                        f"&post_logout_redirect_uri=http://127.0.0.1:5001/")

    return app


if __name__ == "__main__":
    create_portal().run(host="127.0.0.1", port=5001)
