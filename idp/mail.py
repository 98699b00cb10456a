"""Compose and send the mails: through SMTP (Flask-Mail) when ``MAIL_SERVER`` is set,
otherwise into the outbox folder (``instance/outbox/*.eml``) with the code printed in the log
so that a newcomer can log in with no mail server. Outside that demo outbox, no code or
link is ever logged. A mail is in the language of the request that sends it (its subject
and its sentences, ``idp.i18n``); outside a request, French.
"""

from __future__ import annotations

import logging
import os
import queue
import quopri
import select
import smtplib
import socket
import ssl
import threading
import time
from collections.abc import Callable
from email.message import EmailMessage
from email.utils import formataddr, formatdate, make_msgid, parseaddr
from functools import lru_cache
from pathlib import Path

from flask import current_app, render_template
from flask_mail import sanitize_address, sanitize_subject

from idp.errors import MailNotSent

log = logging.getLogger("idp.mail")


def send(template: str, to: str, *, secret: str | None = None, **context) -> None:
    """Render ``mail/<template>.txt`` and send it; raise MailNotSent when our relay fails.
    ``secret`` is the code or link the mail carries (printed only in outbox mode)."""
    from idp.messages import subject as subject_of
    body = render_template(f"mail/{template}.txt", **context)
    subject = subject_of(template)
    sender = current_app.config["MAIL_DEFAULT_SENDER"]
    if not current_app.config.get("MAIL_SERVER"):
        _to_outbox(template, subject, sender, to, body, secret)
        return
    try:
        _relay(Composed(subject, to, body, sender))
    except (TimeoutError, smtplib.SMTPException, OSError, ssl.SSLError) as exc:
        log.warning("mail %s not sent: %s", template, exc.__class__.__name__)
        raise MailNotSent() from None
    current_app.extensions["idp.metrics"].mail_sent(template)


def send_later(template: str, to: str, *, on_failure: Callable[[], None] | None = None,
               secret: str | None = None, **context) -> None:
    """Render now, send from this process's mail worker (issue 11.11): the answer of the
    page that asked for the mail (registration, forgotten password) leaves at once, so its
    timing tells neither whether a mail was sent nor how slow the relay is. ``on_failure``
    runs in the worker, in an app context, when the relay refuses or times out (it gives
    the quota back). ``MAIL_QUEUE`` false (and the outbox folder) send in the request."""
    app = current_app._get_current_object()
    if not app.config.get("MAIL_SERVER") or not app.config.get("MAIL_QUEUE"):
        try:
            send(template, to, secret=secret, **context)
        except MailNotSent:
            if on_failure is not None:
                on_failure()
        return
    from idp.messages import subject
    body = render_template(f"mail/{template}.txt", **context)
    message = Composed(subject(template), to, body, app.config["MAIL_DEFAULT_SENDER"])
    mail_queue(app).put((template, message, on_failure))


def mail_queue(app) -> queue.Queue:
    """This process's queue of mails to send, and its worker thread (started on first use,
    so that each gunicorn worker, after the fork, has its own). ``join()`` waits until every
    mail queued so far has been handled."""
    with _WORKER_LOCK:
        pending = app.extensions.get("idp.mail_queue")
        if pending is None:
            pending = app.extensions["idp.mail_queue"] = queue.Queue()
            threading.Thread(target=_worker, args=(app, pending), name="idp-mail",
                             daemon=True).start()
    return pending


_WORKER_LOCK = threading.Lock()


def _worker(app, pending: queue.Queue) -> None:
    while True:
        template, message, on_failure = pending.get()
        try:
            with app.app_context():
                try:
                    _relay(message)
                    app.extensions["idp.metrics"].mail_sent(template)
                except (TimeoutError, smtplib.SMTPException, OSError, ssl.SSLError) as exc:
                    log.warning("mail %s not sent: %s", template, exc.__class__.__name__)
                    app.extensions["idp.metrics"].mail_failures.inc()
                    if on_failure is not None:
                        on_failure()
        except Exception:                       # never let one mail stop the worker
            log.exception("mail %s: failure handling failed", template)
        finally:
            pending.task_done()


SMTP_LINE = 998          # bytes in a line, CRLF aside (RFC 5321 §4.5.3.1.6)


class Composed:
    """A plain-text mail with the headers Flask-Mail's ``Message`` writes, what ``_relay``
    needs of it: ``sender``, ``send_to``, ``as_bytes()``. Flask-Mail builds it through the
    ``email`` package's SMTP policy, which parses and folds every header again: ~1 ms of CPU
    per mail, fifty times this. The body goes in 8bit utf-8, or quoted-printable when one of
    its lines is longer than SMTP allows (Flask-Mail would send it as is)."""

    def __init__(self, subject: str, to: str, body: str, sender: str):
        self.sender, self.send_to = sender, {to}
        lines = body.replace("\r\n", "\n").split("\n")
        encoded = [line.encode("utf-8") for line in lines]
        if any(len(line) > SMTP_LINE for line in encoded):
            encoding = "quoted-printable"
            content = quopri.encodestring(b"\n".join(encoded)).replace(b"\n", b"\r\n")
        else:
            encoding, content = "8bit", b"\r\n".join(encoded)
        headers = (f"Subject: {_subject(subject)}", f"From: {_address(sender)}",
                   f"To: {_address(to)}", f"Date: {formatdate(localtime=True)}",
                   f"Message-ID: {make_msgid(domain=_fqdn())}",
                   'Content-Type: text/plain; charset="utf-8"', "MIME-Version: 1.0",
                   f"Content-Transfer-Encoding: {encoding}")
        self._bytes = "\r\n".join((*(h.replace("\n", "\r\n") for h in headers), "", "")
                                   ).encode("ascii") + content

    def as_bytes(self) -> bytes:
        return self._bytes


@lru_cache(maxsize=64)
def _subject(subject: str) -> str:
    return sanitize_subject(subject)


@lru_cache(maxsize=64)
def _address(address: str) -> str:
    """The address with its display name encoded only when it is not ASCII."""
    name, addr = parseaddr(address)
    if not addr.isascii():
        return sanitize_address(address)        # an internationalised address
    return formataddr((name, addr), charset="utf-8")


@lru_cache(maxsize=1)
def _fqdn() -> str:
    """This host's name, looked up once (``make_msgid`` and ``smtplib`` ask the resolver at
    every mail)."""
    return socket.getfqdn()


def _relay(message: Composed) -> None:
    """Send through ``MAIL_SERVER`` (issue 11.11), where Flask-Mail would open the connection
    with no timeout and STARTTLS without verifying the relay: here every step must finish
    within ``MAIL_TIMEOUT`` seconds in all, and TLS (STARTTLS or implicit) verifies the
    relay's certificate and name against the system's trust store, or ``MAIL_CA_FILE``.

    The connection stays open for this thread's next mail (a new one, with its TLS
    handshake, cost about as much CPU as the rest of the mail). One that the relay has
    closed meanwhile (idle timeout, restart) is seen before use, or when the relay drops it
    at the first command: the mail then goes once through a new connection. Any other
    failure closes it and is the caller's, as with a new connection."""
    cfg = current_app.config
    deadline = time.monotonic() + float(cfg["MAIL_TIMEOUT"])

    def left() -> float:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError("mail relay too slow")
        return remaining

    settings = _settings(cfg)
    host = _kept(settings)
    if host is not None:
        try:
            _send_on(host, message, left)
            return
        except (smtplib.SMTPServerDisconnected, ConnectionError):
            _drop(host)         # closed by the relay after all: once more, on a new one
        except BaseException:
            _drop(host)
            raise
    host = _connect(settings, left)
    try:
        _send_on(host, message, left)
    except BaseException:
        _drop(host)
        raise
    _KEPT.host, _KEPT.settings = host, settings


_KEPT = threading.local()       # this thread's open relay connection, and its settings


def _settings(cfg) -> tuple:
    """What a relay connection is opened for: a kept one serves only the same."""
    return (cfg["MAIL_SERVER"], int(cfg["MAIL_PORT"]), bool(cfg.get("MAIL_USE_SSL")),
            bool(cfg.get("MAIL_USE_TLS")), cfg.get("MAIL_CA_FILE") or None,
            cfg.get("MAIL_USERNAME"), cfg.get("MAIL_PASSWORD"))


def _kept(settings: tuple) -> smtplib.SMTP | None:
    """This thread's connection to the relay of ``settings``, if it is still open: an idle
    connection that has something to read has been closed by the relay (or is being told
    so: a 421), and is closed here."""
    host = getattr(_KEPT, "host", None)
    if host is None:
        return None
    if _KEPT.settings != settings or host.sock is None:
        _drop(host)
        return None
    try:
        readable, _, _ = select.select([host.sock], [], [], 0)
    except (OSError, ValueError):
        readable = True
    if readable:
        _drop(host)
        return None
    return host


def _drop(host: smtplib.SMTP) -> None:
    """Close ``host`` without a word to the relay, and forget it if it was kept."""
    if getattr(_KEPT, "host", None) is host:
        _KEPT.host = None
    host.close()


def _connect(settings: tuple, left: Callable[[], float]) -> smtplib.SMTP:
    server, port, use_ssl, use_tls, cafile, username, password = settings
    context = _tls_context(cafile)
    if use_ssl:
        host = smtplib.SMTP_SSL(server, port, local_hostname=_fqdn(), timeout=left(),
                                context=context)
    else:
        host = smtplib.SMTP(server, port, local_hostname=_fqdn(), timeout=left())
    try:
        if use_tls:
            host.sock.settimeout(left())
            host.starttls(context=context)
        if username and password:
            host.sock.settimeout(left())
            host.login(username, password)
    except BaseException:
        host.close()
        raise
    return host


def _send_on(host: smtplib.SMTP, message: Composed, left: Callable[[], float]) -> None:
    host.sock.settimeout(left())
    host.sendmail(message.sender, message.send_to, message.as_bytes())


@lru_cache(maxsize=4)
def _tls_context(cafile: str | None) -> ssl.SSLContext:
    """The verifying TLS context of the relay, built once per trust store: loading the
    system's CA bundle costs ~10 ms of CPU, more than the rest of a mail."""
    return ssl.create_default_context(cafile=cafile)


def _to_outbox(template, subject, sender, to, body, secret) -> None:
    folder = Path(current_app.config["MAIL_OUTBOX"])
    folder.mkdir(parents=True, exist_ok=True)
    message = EmailMessage()
    message["Subject"] = subject
    message["From"] = sender
    message["To"] = to
    message.set_content(body)
    path = folder / f"{time.time_ns()}-{os.getpid()}-{template}.eml"
    path.write_bytes(bytes(message))
    # Demo only: the outbox stands in for a mailbox, so its codes are shown.
    log.warning("outbox: %s to %s saved as %s%s", template, to, path.name,
                f" — code/link: {secret}" if secret else "")
