"""Text messages (the front desk's provisional code by SMS) through a small gateway
interface. The default gateway writes each message to a folder (``SMS_OUTBOX``, by default
``instance/sms-outbox``), as the mail outbox does; a real operator's gateway is an object
with ``send(number, text)`` placed in ``app.extensions["idp.sms"]``."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Protocol

from flask import current_app


class SmsGateway(Protocol):
    def send(self, number: str, text: str) -> None: ...


class OutboxGateway:
    def __init__(self, folder: str | Path):
        self.folder = Path(folder)

    def send(self, number: str, text: str) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        path = self.folder / f"{time.time_ns()}-{os.getpid()}.txt"
        path.write_text(f"To: {number}\n\n{text}\n", encoding="utf-8")


def gateway() -> SmsGateway:
    found = current_app.extensions.get("idp.sms")
    if found is None:
        folder = current_app.config.get("SMS_OUTBOX") or Path(current_app.instance_path) / "sms-outbox"
        found = current_app.extensions["idp.sms"] = OutboxGateway(folder)
    return found


def send(number: str, text: str) -> None:
    gateway().send(number, text)
