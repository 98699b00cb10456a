"""The protocol tests' app: the clients of tests/helpers/parties.py in a clients file of the
test's own (their secret from the environment, ``${VAR}``), two acr levels to ask between,
and a tiny HTTP receiver standing for the back-channel logout endpoints."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, HTTPServer
from urllib.parse import parse_qs

import pytest

from tests.helpers.live import free_port
from tests.helpers.parties import SECRET, SECRET_ENV, clients_yaml, relying_parties


class Receiver:
    """A relying party's back-channel logout endpoint: records each logout token; answers
    500 to the first ``fail_first`` deliveries."""

    def __init__(self):
        self.tokens: list[str] = []
        self.attempts = 0
        self.fail_first = 0
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0)).decode()
                outer.attempts += 1
                if outer.attempts <= outer.fail_first:
                    self.send_response(500)
                else:
                    outer.tokens.extend(parse_qs(body).get("logout_token", []))
                    self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.httpd = HTTPServer(("127.0.0.1", free_port()), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_port}/backchannel-logout"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def stop(self):
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def receiver():
    r = Receiver()
    yield r
    r.stop()


@pytest.fixture
def app_config(app_config, tmp_path, receiver, monkeypatch):
    monkeypatch.setenv(SECRET_ENV, SECRET)
    path = tmp_path / "clients.yaml"
    path.write_text(clients_yaml(receiver.url))
    # A code e-mailed is a stronger login than a trusted device: two levels to ask between.
    acr = {"pwd_mail": "eidas2", "pwd_device": "eidas1", "pwd": "eidas1"}
    return {**app_config, "CLIENTS_FILE": str(path), "ACR_BY_METHOD": acr}


@pytest.fixture
def rps(server):
    return relying_parties(server)


@pytest.fixture
def other_browser(browser, server):
    """A second browser, with cookies of its own (tests/conftest.py's Browser: this folder's
    conftest shadows that one's name, so it is not imported by name)."""
    return type(browser)(server.url)


@pytest.fixture
def other_person(app):
    """A second account, beside tests/conftest.py's ``person``."""
    from idp.domain import accounts
    from idp.extensions import db

    class Other:
        nir = "1840175056123"
        password = "Ameli2024!"
        email = "jean.dupont@example.fr"

    with app.app_context():
        accounts.create(nir=Other.nir, password=Other.password, email=Other.email,
                        given_name="Jean Pierre", family_name="DUPONT", birthdate="1984-01-17",
                        gender="male", birthplace="75056", fund="CPAM de Paris")
        db.session.commit()
    return Other
