"""The protocol: Authlib's authorization server, its endpoints, keys and client registry.

It meets the login journeys only through ``idp.interaction``."""

from __future__ import annotations

from flask import Flask

from idp.oidc.clients import ClientsFileError, RegistryHolder

__all__ = ["init_app", "ClientsFileError"]


def init_app(app: Flask) -> None:
    app.extensions["idp.clients"] = RegistryHolder(app.config["CLIENTS_FILE"],
                                                   rules=app.extensions["idp.policy"])
    from idp import interaction
    from idp.oidc.endpoints import answer_here, bp
    from idp.oidc.published import PublishedDocuments
    from idp.oidc.server import Server
    app.extensions["idp.server"] = Server(app)
    from idp.oidc.logout import notify_ended
    app.extensions["idp.sessions_ended"] = notify_ended     # sessions.end_all (issue 11.9)
    app.extensions[interaction.ANSWER_HERE] = answer_here    # a login's last step (issue 15)
    app.register_blueprint(bp)
    from idp.oidc.native import bp as native_bp
    app.register_blueprint(native_bp)
    from idp.oidc.challenge import bp as challenge_bp
    app.register_blueprint(challenge_bp)
    from idp.oidc.hot import HotEndpoints
    app.wsgi_app = PublishedDocuments(app, HotEndpoints(app, app.wsgi_app))
