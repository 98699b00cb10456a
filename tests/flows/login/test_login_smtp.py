"""Issue 11.11: the login code's mail goes through a relay with a timeout and STARTTLS that
verifies the relay's certificate (the system's trust store, or ``MAIL_CA_FILE``). A relay
that cannot be trusted or never answers: nothing sent, the quota given back, and the page
says so (the login code's mail stays synchronous)."""

from __future__ import annotations

import datetime as dt
import ipaddress
import socket
import ssl
import time

import pytest

from tests.helpers.accounts import rows
from tests.helpers.live import SilentRelay
from tests.helpers.pages import says, text_of

MAIL_DOWN = ("Le mail contenant votre code de sécurité n'a pas pu être envoyé. Aucune demande n'a "
             "été décomptée : merci de réessayer dans quelques instants.")


def _certificate(folder):
    """A self-signed certificate for 127.0.0.1 (IP SAN), made here with ``cryptography``."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "relay.test")])
    now = dt.datetime.now(dt.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(days=1)).not_valid_after(now + dt.timedelta(days=2))
            .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                           critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    cert_path, key_path = folder / "relay.pem", folder / "relay.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                           serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_path, key_path


class TlsSmtp:
    """aiosmtpd asking STARTTLS before any mail, with the test's certificate."""

    def __init__(self, folder):
        from aiosmtpd.controller import Controller
        self.cert, key = _certificate(folder)
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(self.cert, key)
        self.messages = []
        outer = self

        class Handler:
            async def handle_DATA(self, server, session, envelope):
                outer.messages.append(envelope.content)
                return "250 OK"

        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self.controller = Controller(Handler(), hostname="127.0.0.1", port=self.port,
                                     tls_context=context, require_starttls=True)
        self.controller.start()

    def stop(self):
        self.controller.stop()


def _kind(request) -> str:
    marker = request.node.get_closest_marker("config")
    return marker.kwargs.get("_RELAY", "untrusted") if marker else "untrusted"


@pytest.fixture
def relay(request, tmp_path):
    server = SilentRelay() if _kind(request) == "silent" else TlsSmtp(tmp_path)
    yield server
    server.stop()


@pytest.fixture
def app_config(app_config, relay, request):
    extra = {"MAIL_PORT": relay.port, "MAIL_USE_TLS": True, "MAIL_TIMEOUT": 1}
    if _kind(request) == "trusted":
        extra["MAIL_CA_FILE"] = str(relay.cert)
    return {**app_config, **extra}


def _ask_code(browser, person):
    browser.get("/login")
    browser.submit_credentials(person.nir, person.password)
    return browser.ask_code()


def test_an_untrusted_relay_certificate_sends_nothing_and_gives_the_quota_back(
        app, browser, person, relay):
    """issue 11.11: STARTTLS verifies the relay (a man in the middle would read codes)."""
    from idp.models import OneTimeCode, QuotaEvent
    page = _ask_code(browser, person)
    assert says(page, MAIL_DOWN), text_of(page)[:500]
    assert relay.messages == []
    assert rows(app, QuotaEvent) == [] and rows(app, OneTimeCode) == []


@pytest.mark.config(_RELAY="trusted")
def test_a_relay_trusted_through_the_configured_ca_file_gets_the_code(app, browser, person, relay):
    """issue 11.11: ``MAIL_CA_FILE`` names the relay's CA: the mail leaves over TLS."""
    from idp.models import QuotaEvent
    page = _ask_code(browser, person)
    assert 'name="code"' in page.text, text_of(page)[:500]
    assert len(relay.messages) == 1 and b"valerie.martin@example.fr" in relay.messages[0]
    assert len(rows(app, QuotaEvent)) == 1


@pytest.mark.config(_RELAY="silent")
def test_a_relay_that_never_answers_is_given_up_within_the_timeout(app, browser, person, relay):
    """issue 11.11: ``MAIL_TIMEOUT`` (1 s here) bounds the request; the quota is given back."""
    from idp.models import OneTimeCode, QuotaEvent
    browser.get("/login")
    browser.submit_credentials(person.nir, person.password)
    started = time.monotonic()
    page = browser.ask_code()
    assert time.monotonic() - started < 3
    assert says(page, MAIL_DOWN), text_of(page)[:500]
    assert rows(app, QuotaEvent) == [] and rows(app, OneTimeCode) == []
