"""The collector's HTTP server over a raw socket: keep-alive, chunked bodies, pipelining in order, bounds."""

from __future__ import annotations

import asyncio

import pytest

from modelmonitor.collector import http
from modelmonitor.collector.http import Reply, Respond


def _serve(handler: http.Handler, exchange: bytes, *, reads: int = 1) -> bytes:
    """Send raw bytes to a server running ``handler``; what came back until the server closed or went quiet."""

    async def run() -> bytes:
        server = http.HttpServer(handler)
        await server.start("127.0.0.1", 0)
        assert server._listening is not None
        port = server._listening.sockets[0].getsockname()[1]
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(exchange)
        await writer.drain()
        received = b""
        while True:
            try:
                chunk = await asyncio.wait_for(reader.read(65536), timeout=0.5)
            except TimeoutError:
                break
            if not chunk:
                break
            received += chunk
        writer.close()
        await server.stop()
        return received

    return asyncio.run(run())


def _echo(
    method: str, path: str, query: dict[str, str], headers: dict[str, str], body: bytes, respond: Respond
) -> None:
    respond(Reply(200, f"{method} {path} {headers.get('x-n', '')} {len(body)}".encode()))


def test_keep_alive_requests_each_get_their_answer() -> None:
    requests = b"".join(
        f"POST /a HTTP/1.1\r\nHost: x\r\nX-N: {n}\r\nContent-Length: 3\r\n\r\nabc".encode() for n in range(3)
    )
    received = _serve(_echo, requests)
    assert received.count(b"HTTP/1.1 200 OK") == 3
    assert [f"POST /a {n} 3".encode() in received for n in range(3)] == [True] * 3


def test_a_chunked_body_is_read_whole() -> None:
    body = b"5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n"
    received = _serve(_echo, b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n" + body)
    assert received.endswith(b"POST /  11")


def test_pipelined_requests_are_answered_in_order_though_answered_out_of_order() -> None:
    """The second request's answer is ready first (an event durable sooner): it still goes out second."""
    held: list[Respond] = []

    def later_first(
        method: str, path: str, query: dict[str, str], headers: dict[str, str], body: bytes, respond: Respond
    ) -> None:
        if headers["x-n"] == "0":
            held.append(respond)
            return
        respond(Reply(200, b"second"))
        held.pop()(Reply(200, b"first"))

    requests = b"".join(f"GET / HTTP/1.1\r\nHost: x\r\nX-N: {n}\r\n\r\n".encode() for n in range(2))
    received = _serve(later_first, requests)
    assert received.index(b"first") < received.index(b"second")


def test_a_body_over_the_bound_and_garbage_are_refused_and_the_connection_closed(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(http, "MAX_BODY_BYTES", 10)
    received = _serve(_echo, b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 20\r\n\r\n" + b"x" * 20)
    assert received.startswith(b"HTTP/1.1 413 Content Too Large") and b"a body over 10 bytes" in received
    assert b"Connection: close" in received
    chunked = b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n" + b"8\r\n12345678\r\n" * 3
    assert _serve(_echo, chunked).startswith(b"HTTP/1.1 413")
    assert _serve(_echo, b"NOT HTTP AT ALL\r\n\r\n").startswith(b"HTTP/1.1 400 Bad Request")


def test_connection_close_is_honoured() -> None:
    received = _serve(_echo, b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\nGET / HTTP/1.1\r\n\r\n")
    assert received.count(b"HTTP/1.1 200") == 1 and b"Connection: close" in received
