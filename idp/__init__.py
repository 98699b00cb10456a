"""idp — the OpenID Connect provider of the ameli login.

``create_app(test_config=None)``: config → extensions → protocol and journeys → CLI.
"""

from __future__ import annotations

from pathlib import Path

from flask import Flask

from idp import config, i18n, web
from idp.extensions import csrf, db, limiter, migrate, tune_engine
from idp.extensions import mail as mail_extension
from idp.ops import events
from idp.ops.metrics import Metrics
from idp.policy import Policy

MIGRATIONS = str(Path(__file__).parent / "migrations")


def create_app(test_config: dict | None = None) -> Flask:
    app = Flask(__name__, instance_relative_config=True)
    try:
        config.load(app, test_config)
        app.extensions["idp.policy"] = Policy.from_mapping(app.config.get("POLICY"))
    except (config.ConfigError, ValueError) as exc:
        raise SystemExit(f"idp: configuration error: {exc}") from None

    config.configure_logging()
    db.init_app(app)
    migrate.init_app(app, db, directory=MIGRATIONS)
    mail_extension.init_app(app)
    csrf.init_app(app)
    limiter.init_app(app)
    with app.app_context():
        tune_engine(db.engine)
    app.extensions["idp.events"] = events.record
    from idp.ops import audit
    audit.init_app(app)
    app.extensions["idp.metrics"] = Metrics()

    from idp import oidc
    from idp.flows import init_app as init_flows
    try:
        oidc.init_app(app)
    except oidc.ClientsFileError as exc:
        raise SystemExit("idp: clients file refused:\n  " + "\n  ".join(exc.errors)) from None
    init_flows(app)
    # Outermost, so that the published documents ahead of Flask see the client's scheme too
    # (HSTS on HTTPS only). Unset, X-Forwarded-* is never read: the peer's address is the
    # one the per-IP limits and /metrics' loopback rule judge (issue 11.15).
    if app.config.get("PROXY_FIX"):
        from werkzeug.middleware.proxy_fix import ProxyFix
        app.wsgi_app = ProxyFix(app.wsgi_app, **app.config["PROXY_FIX"])

    from idp.ops import endpoints as ops
    app.register_blueprint(ops.bp)
    web.init_app(app)
    i18n.init_app(app)

    from idp.cli import idp_cli
    app.cli.add_command(idp_cli)
    return app
