"""One structured log line per request, and the figures behind /metrics.

The line names the route *template* (``/permohonan/{id}``), never the concrete
path, so no NIK, token or number ends up in logs; plus status, milliseconds and
response bytes. The same figures are kept in memory for ``/metrics``.
"""

from __future__ import annotations

import json
import logging
import time
from collections import defaultdict

from starlette.routing import Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

log = logging.getLogger("mpp.request")


class RouteStats:
    def __init__(self):
        self.count = 0
        self.errors = 0
        self.bytes = 0
        self.samples: list[float] = []  # last 1,000 durations in ms

    def add(self, status: int, ms: float, size: int) -> None:
        self.count += 1
        self.errors += status >= 500
        self.bytes += size
        self.samples.append(ms)
        if len(self.samples) > 1000:
            del self.samples[:500]

    def percentile(self, q: float) -> float:
        if not self.samples:
            return 0.0
        ordered = sorted(self.samples)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def new_stats() -> dict[str, RouteStats]:
    return defaultdict(RouteStats)


class RequestLogMiddleware:
    def __init__(self, app: ASGIApp, stats: dict[str, RouteStats]):
        self.app = app
        self.stats = stats

    def template_of(self, scope: Scope) -> str:
        for route in scope["app"].router.routes:
            match, _ = route.matches(scope)
            if match == Match.FULL:
                return getattr(route, "path", "?")
        return "(tidak ditemukan)"

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        status, size = 500, 0

        async def wrapped(message: Message) -> None:
            nonlocal status, size
            if message["type"] == "http.response.start":
                status = message["status"]
            elif message["type"] == "http.response.body":
                size += len(message.get("body", b""))
            await send(message)

        try:
            await self.app(scope, receive, wrapped)
        finally:
            ms = (time.perf_counter() - start) * 1000
            path = self.template_of(scope)
            key = f"{scope['method']} {path}"
            self.stats[key].add(status, ms, size)
            log.info(json.dumps({"method": scope["method"], "path": path, "status": status,
                                 "ms": round(ms, 1), "bytes": size}))
