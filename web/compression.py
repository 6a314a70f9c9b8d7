"""Compress HTML (and other text) responses with brotli or gzip per ``Accept-Encoding``.

Pages here are small (the budget is 14 KB compressed), so the whole body is
buffered and compressed in one go, at a low brotli quality (see ``BROTLI_QUALITY``):
this runs on the event loop for every page. A body past ``LOOP_MAX`` (a CSV
export) is compressed in the thread pool instead. Responses that already carry a
``Content-Encoding`` (static files, compressed once at start-up at quality 11)
and streamed files of other types pass through untouched.
"""

from __future__ import annotations

import gzip

import brotli
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import Headers, MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

TEXT_TYPES = ("text/html", "text/csv", "text/plain", "application/json", "image/svg+xml")
MIN_SIZE = 200
# Per request, on 6 pages of 7-15 KB (`/`, `/layanan`, `?q=akta`, a service, `/mpp/2171`, `/masuk`), median
# of 50 runs on the 2-core VM: brotli quality 9 took 7-10 ms a page (its large hasher is set up per call)
# for 2,450-4,119 bytes; quality 5 takes 0.12-0.3 ms for +0.0-0.3 % bytes (`/layanan` 3,834 against
# 3,822); quality 4 takes 0.1-0.2 ms but adds 5-8 % (`/layanan` 4,089). gzip levels 5 and 6 cost the
# same (0.06-0.14 ms) and differ by <10 bytes, so 6 stays.
BROTLI_QUALITY = 5
GZIP_LEVEL = 6
LOOP_MAX = 64 * 1024  # a larger body is compressed off the event loop (1.35 MB of CSV, quality 5: 83 ms)


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
        return brotli.compress(body, quality=BROTLI_QUALITY, mode=brotli.MODE_TEXT)
    return gzip.compress(body, compresslevel=GZIP_LEVEL, mtime=0)


async def compress_off_loop_if_large(body: bytes, encoding: str) -> bytes:
    if len(body) > LOOP_MAX:
        return await run_in_threadpool(compress, body, encoding)
    return compress(body, encoding)


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
                body = await compress_off_loop_if_large(body, encoding)
                headers["Content-Encoding"] = encoding
            headers["Content-Length"] = str(len(body))
            await send({**start, "headers": headers.raw})
            await send({"type": "http.response.body", "body": body})

        await self.app(scope, receive, wrapped)
