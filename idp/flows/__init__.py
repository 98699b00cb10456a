"""The journeys people walk: login, account page (and, later, registration, password)."""

from flask import Flask


def init_app(app: Flask) -> None:
    from idp.flows.account.views import bp as account_bp
    from idp.flows.login.views import bp as login_bp
    app.register_blueprint(login_bp)
    app.register_blueprint(account_bp)
    from idp.flows.franceconnect.views import bp as franceconnect_bp
    app.register_blueprint(franceconnect_bp)
    from idp.flows.password.views import bp as password_bp
    from idp.flows.registration.views import bp as registration_bp
    app.register_blueprint(password_bp)
    app.register_blueprint(registration_bp)
    from idp.flows.public import bp as public_bp
    app.register_blueprint(public_bp)
