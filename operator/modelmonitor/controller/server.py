"""The operator's HTTP port: /metrics for Prometheus, /healthz and /readyz for probes, read-only pages and APIs."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from modelmonitor.controller.metrics import REGISTRY

Route = tuple[str, Callable[[web.Request], Awaitable[web.StreamResponse]]]


class ProbeServer:
    def __init__(
        self, port: int, host: str = "0.0.0.0", routes: Sequence[Route] = (), pages: Sequence[Route] = ()
    ) -> None:
        self.port, self.host, self.routes, self.pages = port, host, tuple(routes), tuple(pages)
        self.ready = asyncio.Event()
        self._runner: web.AppRunner | None = None

    async def start(self) -> None:
        app = web.Application()
        app.router.add_get("/metrics", self._metrics)
        app.router.add_get("/healthz", self._healthz)
        app.router.add_get("/readyz", self._readyz)
        for path, handler in self.routes:
            app.router.add_get(path, handler)
            app.router.add_post(path, handler)  # Flagger's webhooks POST; the body is not needed
        for path, handler in self.pages:
            app.router.add_get(path, handler)  # read-only: GET (and HEAD) only
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, self.host, self.port).start()

    async def stop(self) -> None:
        if self._runner:
            await self._runner.cleanup()

    async def _metrics(self, _: web.Request) -> web.Response:
        body = await asyncio.to_thread(generate_latest, REGISTRY)
        return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})

    async def _healthz(self, _: web.Request) -> web.Response:
        return web.Response(text="ok")  # answering at all shows the event loop is alive

    async def _readyz(self, _: web.Request) -> web.Response:
        if self.ready.is_set():
            return web.Response(text="ready")
        return web.Response(status=503, text="starting")
