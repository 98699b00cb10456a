"""WSGI entry point: ``gunicorn -w N wsgi:app`` or ``flask --app wsgi …``."""

from idp import create_app

app = create_app()
