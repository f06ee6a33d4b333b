"""A TCP relay whose open connections can be made to go silent: a stalled watch, a dropped NAT entry.

Bytes pass through untouched (TLS included). ``stall()`` stops relaying on every connection
open at that moment without closing it, as a network that loses packets does; connections
made afterwards relay normally.
"""

from __future__ import annotations

import socket
import threading
from dataclasses import dataclass, field

from tests.relay import accept_relays


@dataclass
class _Connection:
    client: socket.socket
    upstream: socket.socket
    stalled: threading.Event = field(default_factory=threading.Event)


class StallProxy:
    def __init__(self, upstream_port: int) -> None:
        self.upstream_port = upstream_port
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        self._connections: list[_Connection] = []
        self._silenced: list[_Connection] = []
        self._lock = threading.Lock()
        self._closed = threading.Event()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        accept_relays(self._listener, self.upstream_port, self._started)

    def _started(self, client: socket.socket, upstream: socket.socket) -> None:
        connection = _Connection(client, upstream)
        with self._lock:
            self._connections.append(connection)
        for source, target in ((client, upstream), (upstream, client)):
            threading.Thread(target=self._relay, args=(connection, source, target), daemon=True).start()

    def _relay(self, connection: _Connection, source: socket.socket, target: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                if connection.stalled.is_set():
                    self._closed.wait()  # hold the bytes, and the socket, until the proxy closes: silence
                    return
                target.sendall(data)
        except OSError:
            pass
        finally:
            if not connection.stalled.is_set():
                for end in (connection.client, connection.upstream):
                    end.close()

    def stall(self) -> int:
        """Silence every connection open now; the number silenced."""
        with self._lock:
            open_now, self._connections = self._connections, []
            self._silenced.extend(open_now)
        for connection in open_now:
            connection.stalled.set()
        return len(open_now)

    def close(self) -> None:
        self._closed.set()
        self._listener.close()
        with self._lock:
            every = self._connections + self._silenced
            self._connections, self._silenced = [], []
        for connection in every:
            for end in (connection.client, connection.upstream):
                end.close()
