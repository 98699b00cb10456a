"""The journeys people walk: login, account page (and, later, registration, password)."""

from flask import Flask


def init_app(app: Flask) -> None:
    from .account import bp as account_bp
    from .views import bp as login_bp
    app.register_blueprint(login_bp)
    app.register_blueprint(account_bp)
