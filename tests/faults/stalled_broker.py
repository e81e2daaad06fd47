"""A broker that accepts the connection and then never acknowledges: a stalled link.

It speaks just enough MQTT to count what a client sends on each connection:
it reads packets by their fixed header, answers CONNECT with a CONNACK (or
not at all) and then, if asked, with bytes of the test's choosing, and never
sends a PUBACK or a PINGRESP.
"""

from __future__ import annotations

import contextlib
import socket
import threading
from dataclasses import dataclass
from typing import BinaryIO

CONNECT, PUBLISH = 1, 3
CONNACK_ACCEPTED = b"\x20\x02\x00\x00"


@dataclass
class Connection:
    publishes: int = 0
    closed: bool = False


class StalledBroker:
    def __init__(self, connack: bool, then: bytes = b"") -> None:
        self._connack = connack
        self._then = then
        self._server = socket.create_server(("127.0.0.1", 0))
        self.port: int = self._server.getsockname()[1]
        self.connections: list[Connection] = []
        self._lock = threading.Lock()
        self._threads: list[threading.Thread] = []
        threading.Thread(target=self._accept, daemon=True).start()

    @property
    def url(self) -> str:
        return f"mqtt://127.0.0.1:{self.port}"

    def counts(self) -> list[int]:
        with self._lock:
            return [c.publishes for c in self.connections]

    def close(self) -> None:
        self._server.close()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self._server.accept()
            except OSError:
                return
            connection = Connection()
            with self._lock:
                self.connections.append(connection)
            thread = threading.Thread(target=self._serve, args=(client, connection), daemon=True)
            thread.start()

    def _serve(self, client: socket.socket, connection: Connection) -> None:
        with client, contextlib.suppress(ConnectionError):  # a reset is a close
            stream = client.makefile("rb")
            while True:
                header = stream.read(1)
                length = _remaining_length(stream)
                if not header or length is None or len(stream.read(length)) != length:
                    break
                kind = header[0] >> 4
                if kind == CONNECT and self._connack:
                    client.sendall(CONNACK_ACCEPTED + self._then)
                elif kind == PUBLISH:
                    with self._lock:
                        connection.publishes += 1
        with self._lock:
            connection.closed = True


def _remaining_length(stream: BinaryIO) -> int | None:
    """MQTT's variable-length integer: 7 bits per byte, high bit set while more follow."""
    value, shift = 0, 0
    for _ in range(4):
        byte = stream.read(1)
        if not byte:
            return None
        value |= (byte[0] & 0x7F) << shift
        if not byte[0] & 0x80:
            return value
        shift += 7
    return None
