"""Issue 15: ``idp.mail.Composed`` writes a plain-text mail as bytes itself, where Flask-Mail's
``Message`` goes through the ``email`` package's SMTP policy (~1 ms a mail). What a mail
reader gets must be the same: each header decoded, the body's text, its charset; and no line
longer than SMTP allows (RFC 5321 §4.5.3.1.6: 998 bytes), which Flask-Mail would send."""

from __future__ import annotations

from email import message_from_bytes
from email.policy import default

import pytest
from flask_mail import Message

from idp.mail import Composed

SENDER = "Votre Assurance Maladie <ne-pas-repondre@app.assurance-maladie.fr>"
LONG = "https://login.example/" + "é" * 700
CASES = {
    "ascii": ("Your security code", "person@example.org", "Hello,\n\nYour code: 123456\n"),
    "accents": ("Votre code de sécurité", "assure@example.org",
                "Bonjour,\n\nVotre code de sécurité : 123456, valable 15 minutes.\r\nÀ bientôt.\n"),
    "a display name": ("Création de votre compte", "Élodie Müller <elodie@example.org>", "Bonjour,\n"),
    "a long line": ("Lien", "person@example.org", f"Bonjour,\n{LONG}\n"),
}


def _read(raw: bytes):
    return message_from_bytes(raw, policy=default)


@pytest.mark.parametrize("case", list(CASES))
def test_a_composed_mail_reads_as_flask_mails_message(case, app):
    subject, to, body = CASES[case]
    ours = Composed(subject, to, body, SENDER)
    with app.app_context():           # Flask-Mail's Message reads the app's settings
        theirs = Message(subject=subject, recipients=[to], body=body, sender=SENDER).as_bytes()
    raw = ours.as_bytes()
    assert all(len(line) <= 998 for line in raw.split(b"\r\n"))
    assert b"\n" not in raw.replace(b"\r\n", b"")              # CRLF line ends only
    got, want = _read(raw), _read(theirs)
    for header in ("Subject", "From", "To", "MIME-Version"):
        assert str(got[header]) == str(want[header]), header
    assert got.get_content_type() == want.get_content_type() == "text/plain"
    assert got.get_content_charset() == want.get_content_charset() == "utf-8"
    assert got.get_content().replace("\r\n", "\n") == want.get_content().replace("\r\n", "\n")
    assert got["Date"] and got["Message-ID"]
    assert ours.sender == SENDER and ours.send_to == {to}


def test_a_line_too_long_for_8bit_goes_quoted_printable():
    assert Composed(*CASES["a long line"], SENDER).as_bytes().count(
        b"Content-Transfer-Encoding: quoted-printable") == 1
    assert b"Content-Transfer-Encoding: 8bit" in Composed(*CASES["accents"], SENDER).as_bytes()
