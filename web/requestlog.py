"""One structured log line per request, and the figures behind /metrics.

The line names the route *template* (``/permohonan/{id}``), never the concrete
path, so no NIK, token or number ends up in logs; plus status, milliseconds and
response bytes. The same figures are kept in memory for ``/metrics``, one entry
per (method, template): a method we do not serve counts as ``LAIN`` and a path no
route knows as ``(tidak ditemukan)``, so invented methods and paths cannot grow it.
``configure_logging`` (called by the app factory) sends the lines to stderr.
"""

from __future__ import annotations

import json
import logging
import sys
import time
from collections import defaultdict

from starlette.routing import Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

log = logging.getLogger("mpp.request")

METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")
OTHER_METHOD = "LAIN"
NOT_FOUND = "(tidak ditemukan)"
GONE = 499  # the client left before an answer (a dropped 2G upload): logged, never counted as an error


class _Stderr(logging.StreamHandler):
    """Writes to whatever ``sys.stderr`` is at the time (as logging's own last-resort handler does)."""

    @property
    def stream(self):
        return sys.stderr

    @stream.setter
    def stream(self, value) -> None:
        pass


def configure_logging(level: str = "info") -> None:
    """The app's log lines (loggers under ``mpp``) on stderr, each as its bare message (the request
    lines are JSON already). Once per process however many apps are made; the request lines at
    ``level``, everything else under ``mpp`` from WARNING (so no SMS text of the logging sender)."""
    root = logging.getLogger("mpp")
    if not any(isinstance(h, _Stderr) for h in root.handlers):
        handler = _Stderr()
        handler.setFormatter(logging.Formatter("%(message)s"))
        root.addHandler(handler)
    root.setLevel(logging.WARNING)
    log.setLevel(level.upper())
    logging.getLogger("mpp.proses").setLevel(logging.INFO)  # one line: which worker process runs the job


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
        """The template of the route that answers the path (also when not for this method: a 405)."""
        partial = None
        for route in scope["app"].router.routes:
            match, _ = route.matches(scope)
            if match == Match.FULL:
                return getattr(route, "path", "?")
            if match == Match.PARTIAL and partial is None:
                partial = getattr(route, "path", "?")
        return partial or NOT_FOUND

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        status, size = None, 0

        async def wrapped(message: Message) -> None:
            nonlocal status, size
            if message["type"] == "http.response.start":
                status = message["status"]
            elif message["type"] == "http.response.body":
                size += len(message.get("body", b""))
            await send(message)

        try:
            await self.app(scope, receive, wrapped)
        except BaseException:
            status = status or 500
            raise
        finally:
            ms = (time.perf_counter() - start) * 1000
            path = self.template_of(scope)
            method = scope["method"] if scope["method"] in METHODS else OTHER_METHOD
            status = status or GONE
            self.stats[f"{method} {path}"].add(status, ms, size)
            log.info(json.dumps({"method": method, "path": path, "status": status,
                                 "ms": round(ms, 1), "bytes": size}))
