"""Issue 15: the relay connection is kept for the thread's next mail (a new connection per
mail cost about as much CPU as the rest of it), and a kept connection never costs a mail nor
changes an answer: closed by the relay meanwhile, the mail goes once through a new one; any
other failure is MailNotSent, as with a new connection, and the connection is let go."""

from __future__ import annotations

import smtplib

import pytest

from idp import mail
from idp.errors import MailNotSent
from tests.helpers.live import free_port

TO = "valerie.martin@example.fr"


class Relay:
    """aiosmtpd noting the client's address of each mail: one address, one connection."""

    def __init__(self):
        self.peers: list = []
        self.port = free_port()
        outer = self

        class Handler:
            async def handle_DATA(self, server, session, envelope):
                outer.peers.append(session.peer)
                return "250 OK"

        self.handler = Handler()
        self.start()

    def start(self):
        from aiosmtpd.controller import Controller
        self.controller = Controller(self.handler, hostname="127.0.0.1", port=self.port)
        self.controller.start()

    def stop(self):
        self.controller.stop()


@pytest.fixture
def relay():
    server = Relay()
    yield server
    server.stop()


@pytest.fixture
def app_config(app_config, relay):
    return {**app_config, "MAIL_PORT": relay.port}


@pytest.fixture(autouse=True)
def _no_kept_connection():
    """Each test starts, and leaves this thread, without a kept connection."""
    _forget()
    yield
    _forget()


def _forget():
    host = getattr(mail._KEPT, "host", None)
    if host is not None:
        mail._drop(host)


def _send(app):
    with app.test_request_context("/"):
        mail.send("security_code", TO, secret="123456", code="123456", ttl_minutes=15)


class Dropped(smtplib.SMTP):
    """A kept connection that the relay closes at the next command (a 421 and goodbye that
    arrive only then), or that fails otherwise (``error``)."""

    error: Exception = smtplib.SMTPServerDisconnected("Connection unexpectedly closed")

    def sendmail(self, *args, **kwargs):
        raise self.error


def _keep_a(kind, app, relay):
    with app.app_context():
        settings = mail._settings(app.config)
    host = kind("127.0.0.1", relay.port, timeout=2)
    mail._KEPT.host, mail._KEPT.settings = host, settings
    return host


def test_the_next_mail_of_the_thread_goes_on_the_same_connection(app, relay):
    _send(app)
    _send(app)
    assert len(relay.peers) == 2 and relay.peers[0] == relay.peers[1]


def test_a_connection_the_relay_closed_meanwhile_is_replaced_before_use(app, relay):
    _send(app)
    relay.stop()
    relay.start()                   # the relay restarted: the kept connection is at its end
    _send(app)
    assert len(relay.peers) == 2 and relay.peers[0] != relay.peers[1]


def test_a_connection_dropped_at_the_first_command_sends_the_mail_once_on_a_new_one(app, relay):
    kept = _keep_a(Dropped, app, relay)
    _send(app)
    assert len(relay.peers) == 1
    assert kept.sock is None and mail._KEPT.host is not kept      # let go, closed


def test_any_other_failure_of_a_kept_connection_is_mail_not_sent_and_lets_it_go(app, relay):
    class Refused(Dropped):
        error = smtplib.SMTPDataError(554, b"refused")
    kept = _keep_a(Refused, app, relay)
    with pytest.raises(MailNotSent):
        _send(app)
    assert relay.peers == [] and mail._KEPT.host is None and kept.sock is None


def test_with_the_relay_gone_a_kept_connection_gives_mail_not_sent(app, relay):
    _send(app)
    relay.stop()
    with pytest.raises(MailNotSent):
        _send(app)
    relay.start()
    _send(app)
    assert len(relay.peers) == 2
