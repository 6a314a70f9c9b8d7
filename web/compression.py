"""Compress HTML (and other text) responses with brotli or gzip per ``Accept-Encoding``.

Pages here are small (the budget is 14 KB compressed), so the whole body is
buffered and compressed in one go. Responses that already carry a
``Content-Encoding`` (static files, compressed at start-up) and streamed files
of other types pass through untouched.
"""

from __future__ import annotations

import gzip

import brotli
from starlette.datastructures import Headers, MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

TEXT_TYPES = ("text/html", "text/csv", "text/plain", "application/json", "image/svg+xml")
MIN_SIZE = 200


def choose_encoding(accept: str, available) -> str:
    """Prefer brotli, then gzip, among what the client accepts and we have."""
    offered = {}
    for part in accept.lower().split(","):
        token, _, params = part.strip().partition(";")
        q = 1.0
        if params.strip().startswith("q="):
            try:
                q = float(params.strip()[2:])
            except ValueError:
                q = 0.0
        offered[token.strip()] = q
    for enc in ("br", "gzip"):
        if offered.get(enc, 0) > 0 and enc in available:
            return enc
    return "identity"


def compress(body: bytes, encoding: str) -> bytes:
    if encoding == "br":
        return brotli.compress(body, quality=9, mode=brotli.MODE_TEXT)
    return gzip.compress(body, compresslevel=6, mtime=0)


class CompressionMiddleware:
    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        encoding = choose_encoding(Headers(scope=scope).get("accept-encoding", ""), ("br", "gzip"))
        if encoding == "identity":
            await self.app(scope, receive, send)
            return
        start: Message | None = None
        chunks: list[bytes] = []
        passthrough = False

        async def wrapped(message: Message) -> None:
            nonlocal start, passthrough
            if message["type"] == "http.response.start":
                headers = Headers(raw=message["headers"])
                ctype = headers.get("content-type", "")
                if "content-encoding" in headers or not ctype.startswith(TEXT_TYPES):
                    passthrough = True
                    await send(message)
                else:
                    start = message
                return
            if passthrough or start is None:
                await send(message)
                return
            chunks.append(message.get("body", b""))
            if message.get("more_body"):
                return
            body = b"".join(chunks)
            headers = MutableHeaders(raw=list(start["headers"]))
            headers.add_vary_header("Accept-Encoding")
            if len(body) >= MIN_SIZE and start["status"] != 304:
                body = compress(body, encoding)
                headers["Content-Encoding"] = encoding
            headers["Content-Length"] = str(len(body))
            await send({**start, "headers": headers.raw})
            await send({"type": "http.response.body", "body": body})

        await self.app(scope, receive, wrapped)
