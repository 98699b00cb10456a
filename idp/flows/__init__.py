"""The journeys people walk: login, account page (and, later, registration, password)."""

from flask import Flask


def init_app(app: Flask) -> None:
    from .account import bp as account_bp
    from .views import bp as login_bp
    app.register_blueprint(login_bp)
    app.register_blueprint(account_bp)
    from .franceconnect import bp as franceconnect_bp
    app.register_blueprint(franceconnect_bp)
    from .password import bp as password_bp
    from .registration import bp as registration_bp
    app.register_blueprint(password_bp)
    app.register_blueprint(registration_bp)
    from .public import bp as public_bp
    app.register_blueprint(public_bp)
