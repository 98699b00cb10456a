"""A gate on the wire between the provider and a real service (PostgreSQL, Redis): open, it
forwards every byte; closed, it cuts the live connections and refuses new ones, as a service
that went down does. Opened again, the service is back without anything restarted."""

from __future__ import annotations

import socket
import threading


class Gate:
    def __init__(self, target_port: int, host: str = "127.0.0.1"):
        self.target = (host, target_port)
        self.listener = socket.create_server((host, 0))
        self.port = self.listener.getsockname()[1]
        self.is_open = True
        self.pairs: list[tuple[socket.socket, socket.socket]] = []
        self.lock = threading.Lock()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return                                  # the gate was stopped
            if not self.is_open:
                _close(client)
                continue
            try:
                upstream = socket.create_connection(self.target, timeout=5)
            except OSError:
                _close(client)
                continue
            upstream.settimeout(None)
            with self.lock:
                self.pairs.append((client, upstream))
            threading.Thread(target=_pipe, args=(client, upstream), daemon=True).start()
            threading.Thread(target=_pipe, args=(upstream, client), daemon=True).start()

    def close(self):
        """The service goes down: live connections are cut, new ones refused."""
        self.is_open = False
        with self.lock:
            pairs, self.pairs = self.pairs, []
        for a, b in pairs:
            _close(a)
            _close(b)

    def open(self):
        self.is_open = True

    def stop(self):
        self.close()
        _close(self.listener)


def _pipe(source: socket.socket, sink: socket.socket):
    try:
        while data := source.recv(65536):
            sink.sendall(data)
    except OSError:
        pass
    finally:
        _close(source)
        _close(sink)


def _close(sock: socket.socket):
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
    sock.close()
