"""Whether a service answers on this machine: the tests that need PostgreSQL or Redis skip
with a clear reason when it does not."""

from __future__ import annotations

import socket

POSTGRES_PORT, REDIS_PORT = 5432, 6379


def answers(port: int, host: str = "127.0.0.1") -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False
