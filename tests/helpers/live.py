"""The app on real HTTP inside the test process (werkzeug's threaded server): ``LiveServer``,
``free_port`` and ``reserve_port``."""

from __future__ import annotations

import socket
import threading


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# Ports chosen before the app exists (its issuer names the port) and held, bound and listening,
# until the server takes the socket: between a free_port() and a later bind, another test
# process (an xdist worker, a benchmark) could take the same port.
_RESERVED: dict[int, socket.socket] = {}


def reserve_port() -> int:
    """A port bound now and kept for ``LiveServer`` (or handed back with ``release_port``)."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(128)
    port = sock.getsockname()[1]
    _RESERVED[port] = sock
    return port


def take_reserved(port: int) -> socket.socket | None:
    """The listening socket held for ``port`` (now the caller's), or None if none is held."""
    return _RESERVED.pop(port, None)


def release_port(port: int) -> None:
    """Close a reservation, for a server that binds the port itself (gunicorn)."""
    sock = _RESERVED.pop(port, None)
    if sock is not None:
        sock.close()


class LiveServer:
    def __init__(self, app, port):
        from werkzeug.serving import make_server
        self.app = app
        self.url = f"http://127.0.0.1:{port}"
        held = _RESERVED.pop(port, None)
        self.server = make_server("127.0.0.1", port, app, threaded=True,
                                  fd=held.fileno() if held is not None else None)
        self._held = held
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def stop(self):
        self.server.shutdown()
        self.server.server_close()
        if self._held is not None:
            self._held.close()


class SilentRelay:
    """An SMTP relay that accepts connections and never says a word (a hung relay)."""

    def __init__(self):
        self.socket = socket.socket()
        self.socket.bind(("127.0.0.1", 0))
        self.socket.listen(8)
        self.port = self.socket.getsockname()[1]

    def stop(self):
        self.socket.close()
