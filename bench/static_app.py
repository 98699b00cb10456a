"""The WSGI server's ceiling: a minimal Flask app answering fixed JSON bytes, served by the
same ``gunicorn -w 2`` as the provider and measured with the same load tool."""

from flask import Flask

app = Flask(__name__)
BODY = b'{"status":"ok","service":"static"}'


@app.get("/")
def static_json():
    return app.response_class(BODY, mimetype="application/json")
