"""An HTTP relay that keeps a log of the requests passing through it: which objects a client read.

Bytes are relayed untouched, the Host header included, so a signed S3 request stays valid. The
log is the request line of each request sent to the server, as an access log shows it.
"""

from __future__ import annotations

import contextlib
import re
import socket
import threading

from tests.relay import accept_relays

_REQUEST_LINE = re.compile(rb"(GET|HEAD|PUT|POST|DELETE) (\S+) HTTP/1\.[01]\r\n")


class RequestLog:
    def __init__(self, upstream_port: int, port: int = 0) -> None:
        """``port``: where to listen (0: any free port); a relay opened again on a closed one's port brings the
        storage back for its clients."""
        self.upstream_port = upstream_port
        self._listener = socket.create_server(("127.0.0.1", port))
        self.port = self._listener.getsockname()[1]
        self._requests: list[tuple[str, str]] = []
        self._sockets: set[socket.socket] = set()
        self._lock = threading.Lock()
        threading.Thread(target=self._accept, daemon=True).start()

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def requests(self) -> list[tuple[str, str]]:
        """(method, path and query) of each request so far."""
        with self._lock:
            return list(self._requests)

    def clear(self) -> None:
        with self._lock:
            self._requests.clear()

    def _accept(self) -> None:
        accept_relays(self._listener, self.upstream_port, self._started)

    def _started(self, client: socket.socket, upstream: socket.socket) -> None:
        with self._lock:
            self._sockets |= {client, upstream}
        threading.Thread(target=self._relay, args=(client, upstream, True), daemon=True).start()
        threading.Thread(target=self._relay, args=(upstream, client, False), daemon=True).start()

    def _relay(self, source: socket.socket, target: socket.socket, requests: bool) -> None:
        try:
            while data := source.recv(65536):
                if requests:  # reads carry no body, so each request line starts a chunk the client sends
                    with self._lock:
                        self._requests.extend(
                            (m.group(1).decode(), m.group(2).decode()) for m in _REQUEST_LINE.finditer(data)
                        )
                target.sendall(data)
        except OSError:
            pass
        finally:
            source.close()
            target.close()

    def close(self) -> None:
        """Stop relaying: no new connection, and the open ones cut, as a storage that went away."""
        with contextlib.suppress(OSError):
            self._listener.shutdown(socket.SHUT_RDWR)  # wakes the accepting thread: a close alone leaves it listening
        self._listener.close()
        with self._lock:
            open_now, self._sockets = self._sockets, set()
        for end in open_now:
            with contextlib.suppress(OSError):  # already closed by its other side
                end.shutdown(socket.SHUT_RDWR)
            end.close()
