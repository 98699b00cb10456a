"""The app on real HTTP inside the test process (werkzeug's threaded server): ``LiveServer``,
and ``free_port``. A module of its own, so that any test module can import it by name
(``from conftest import …`` means a different file in each test folder)."""

from __future__ import annotations

import socket
import threading


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class LiveServer:
    def __init__(self, app, port):
        from werkzeug.serving import make_server
        self.app = app
        self.url = f"http://127.0.0.1:{port}"
        self.server = make_server("127.0.0.1", port, app, threaded=True)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def stop(self):
        self.server.shutdown()
