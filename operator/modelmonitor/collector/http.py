"""A lean HTTP/1.1 server for the collector: an asyncio protocol around httptools' parser (the one uvicorn uses).

Each event is one small POST, thousands a second, so the per-request cost is the budget:
a web framework's routing, request objects and middleware cost more than the event's own
work. This serves only what the collector needs: keep-alive, Content-Length and chunked
bodies, pipelined requests answered in order, and a bounded body.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import cast
from urllib.parse import parse_qsl

import httptools

MAX_BODY_BYTES = 16 << 20
_REASONS = {200: "OK", 400: "Bad Request", 404: "Not Found", 405: "Method Not Allowed", 413: "Content Too Large"}


@dataclass(frozen=True)
class Reply:
    status: int
    body: bytes = b""
    content_type: str = "text/plain; charset=utf-8"


Respond = Callable[[Reply], None]
# method, path, query parameters, headers (lowercase names), body, and how to answer: now, or later
Handler = Callable[[str, str, dict[str, str], dict[str, str], bytes, Respond], None]


def _encoded(reply: Reply, keep_alive: bool) -> bytes:
    head = f"HTTP/1.1 {reply.status} {_REASONS.get(reply.status, 'Error')}\r\nContent-Length: {len(reply.body)}\r\n"
    if reply.body:
        head += f"Content-Type: {reply.content_type}\r\n"
    if not keep_alive:
        head += "Connection: close\r\n"
    return head.encode() + b"\r\n" + reply.body


class Connection(asyncio.Protocol):
    def __init__(self, handler: Handler, server: HttpServer) -> None:
        self.handler = handler
        self.server = server
        self.parser = httptools.HttpRequestParser(self)
        self.transport: asyncio.Transport | None = None
        self._url = b""
        self._headers: dict[str, str] = {}
        self._body: list[bytes] = []
        self._size = 0
        self._replies: deque[list[Reply | None]] = deque()  # a slot per request read, answered in that order

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # uvloop's transports are not asyncio's subclasses
        self.server.connections.add(self)

    def data_received(self, data: bytes) -> None:
        if self.transport is None or self.transport.is_closing():
            return  # refused already: the rest is not read
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserUpgrade:
            self._refuse(Reply(400, b"upgrades are not served\n"))
        except httptools.HttpParserError as error:
            self._refuse(Reply(400, f"malformed HTTP: {error}\n".encode()))

    def _refuse(self, reply: Reply) -> None:
        if self.transport is not None and not self.transport.is_closing():
            self.transport.write(_encoded(reply, keep_alive=False))
            self.transport.close()

    # httptools calls these as it parses
    def on_message_begin(self) -> None:
        self._url, self._headers, self._body, self._size = b"", {}, [], 0

    def on_url(self, url: bytes) -> None:
        self._url += url

    def on_header(self, name: bytes, value: bytes) -> None:
        self._headers[name.decode("latin-1").lower()] = value.decode("latin-1")

    def on_headers_complete(self) -> None:
        length = self._headers.get("content-length", "")
        if length.isdigit() and int(length) > MAX_BODY_BYTES:
            self._refuse(Reply(413, f"a body over {MAX_BODY_BYTES} bytes\n".encode()))

    def on_body(self, body: bytes) -> None:
        self._size += len(body)
        if self._size > MAX_BODY_BYTES:  # chunked, so not known before
            self._refuse(Reply(413, f"a body over {MAX_BODY_BYTES} bytes\n".encode()))
        elif self.transport is not None and not self.transport.is_closing():
            self._body.append(body)

    def on_message_complete(self) -> None:
        if self.transport is None or self.transport.is_closing():
            return
        method = self.parser.get_method().decode()
        url = httptools.parse_url(self._url)
        path = url.path.decode()
        query = dict(parse_qsl(url.query.decode())) if url.query else {}
        keep_alive = self.parser.should_keep_alive()
        slot: list[Reply | None] = [None]
        self._replies.append(slot)
        self.server.pending += 1

        def respond(reply: Reply) -> None:
            slot[0] = reply
            self._write_ready(keep_alive)

        self.handler(method, path, query, self._headers, b"".join(self._body), respond)

    def _write_ready(self, keep_alive: bool) -> None:
        """Write the replies that are ready and have none unready before them (pipelined requests keep their order)."""
        while self._replies and self._replies[0][0] is not None:
            reply = self._replies.popleft()[0]
            self.server.pending -= 1
            if self.transport is not None and not self.transport.is_closing():
                self.transport.write(_encoded(reply, keep_alive))
                if not keep_alive:
                    self.transport.close()

    def connection_lost(self, exc: Exception | None) -> None:
        self.transport = None
        self.server.connections.discard(self)
        self.server.pending -= len(self._replies)  # nobody to answer: its sender retries
        self._replies.clear()


class HttpServer:
    def __init__(self, handler: Handler) -> None:
        self.handler = handler
        self.connections: set[Connection] = set()
        self.pending = 0  # requests read and not yet answered
        self._listening: asyncio.Server | None = None

    async def start(self, host: str, port: int) -> None:
        loop = asyncio.get_running_loop()
        self._listening = await loop.create_server(
            lambda: Connection(self.handler, self), host, port, backlog=1024, reuse_address=True
        )

    async def stop(self) -> None:
        """Take no more connections, answer the requests under way, then close every connection."""
        if self._listening is not None:
            self._listening.close()
        for connection in self.connections:
            if connection.transport is not None:
                connection.transport.pause_reading()  # a request not yet read is not taken: its sender retries
        while self.pending > 0:
            await asyncio.sleep(0.01)
        for connection in list(self.connections):
            if connection.transport is not None:
                connection.transport.close()
