"""GET and HEAD only read: the guard that makes it so, and says so when a change breaks it.

LiteFS serves reads on any machine and sends writes to the primary by their method: its proxy (and
``web/litefs.py`` where that proxy is not used) lets a GET run on a read-only replica. A GET that writes
would fail there, or its write would be lost. This middleware marks every GET/HEAD request
(``db.connection.READ_ONLY``); the ``Store``'s connections then report any write tried while it is marked
(an sqlite3 authorizer, plus ``db.connection.write``): refused with an error in the tests
(``MPP_GET_WRITES=raise``), logged with its stack in production (``log``), or not checked (``off``).

An access log that must be written when a page is only *read* (an officer opening a case) goes to the
local spool instead (``services/jejak.py``), which the primary's background job moves into the audit log.
"""

from __future__ import annotations

from starlette.routing import Match
from starlette.types import ASGIApp, Receive, Scope, Send

from db.connection import READ_ONLY, ReadOnly

READ_METHODS = ("GET", "HEAD")
KEPT = 200  # writes remembered per app for the tests and /metrics (the first ones: they name the bug)


def route_template(scope: Scope) -> str:
    """The route's template ("/petugas/permohonan/{id}"), never the concrete path (ids, tokens, NIKs)."""
    for route in scope["app"].router.routes:
        if route.matches(scope)[0] == Match.FULL:
            return getattr(route, "path", "?")
    return "(tidak ditemukan)"


class ReadOnlyGets:
    def __init__(self, app: ASGIApp, mode: str = "log", found: list[str] | None = None):
        self.app = app
        self.mode = mode  # "raise", "log" or "off"
        self.found = found if found is not None else []

    def _seen(self, what: str) -> None:
        if len(self.found) < KEPT:
            self.found.append(what)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in READ_METHODS or self.mode == "off":
            await self.app(scope, receive, send)
            return
        marked = ReadOnly(what=lambda: f"{scope['method']} {route_template(scope)}", mode=self.mode, seen=self._seen)
        token = READ_ONLY.set(marked)
        try:
            await self.app(scope, receive, send)
        finally:
            READ_ONLY.reset(token)
