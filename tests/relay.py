"""What the test relays share: accept each client on loopback and connect it to the upstream port."""

from __future__ import annotations

import socket
from collections.abc import Callable


def accept_relays(
    listener: socket.socket, upstream_port: int, relay: Callable[[socket.socket, socket.socket], None]
) -> None:
    """Until the listener closes, hand each client and its new upstream connection to ``relay``."""
    while True:
        try:
            client, _ = listener.accept()
        except OSError:
            return
        try:
            upstream = socket.create_connection(("127.0.0.1", upstream_port))
        except OSError:
            client.close()
            continue
        relay(client, upstream)
