"""Checks every POST before a route sees it: CSRF token, size, time, and idempotency.

Cheapest first, so that a hostile body costs next to nothing:

- **CSRF before the body:** a POST whose session holds no token (a client that never loaded a
  form: a script, a forged cross-site post) or whose ``X-CSRF-Token`` header is wrong is refused
  with 403 before one byte of its body is read. A token sent as a form field is checked as soon
  as that field has arrived (``_csrf.html`` puts it first), not after a 12 MB upload.
- **Size:** a multipart upload may be ``max_body`` (12 MB); any other body (urlencoded forms,
  htmx posts) only ``form_max_body`` (64 KB). A declared Content-Length over the limit is refused
  with 413 before reading, one that is not plain digits with 400.
- **Time:** a body that stays silent for ``idle_seconds`` (30 s), or is not complete after
  ``total_seconds`` (600 s), is answered 408. An idle limit rather than a short deadline for the
  whole body: a 350 KB photo on 2G at 2-5 KB/s takes 70-175 s but never goes quiet for long,
  while a client that stopped sending is cut off after the idle time whatever the size; the
  total limit caps a client trickling a byte now and then.
- **Memory:** the body goes to a temporary file once past 64 KB (never one bytes object of 12 MB)
  and the route reads it from there. CSRF and idempotency fields are parsed as it streams in.
- **Idempotency:** forms carry a one-time key ``_idem``. The first answer to (session, key, path,
  form content) is kept; a retry of the same submit (a double tap, the browser resending after
  the line dropped) gets that same answer instead of doing the work twice, and a retry arriving
  while the first is still running waits for it (in this process by an event; across the
  machine's worker processes by a lock the kernel holds, web/proses.py). When the first answer
  changed the session (a login, a flash message), the replay restores that session too. Only
  answers worth replaying are kept, compressed, for MPP_IDEM_HOURS (web/jobs.py purges older
  ones): a success (2xx/3xx) or a form shown again with its messages (400) of a route that exists.
  A refused POST (403, 404, 405, 408, 413, 429, 5xx) writes nothing to the database.
"""

from __future__ import annotations

import asyncio
import functools
import hashlib
from tempfile import SpooledTemporaryFile
from urllib.parse import parse_qsl

from python_multipart.exceptions import FormParserError
from python_multipart.multipart import MultipartParser, parse_options_header
from starlette.datastructures import Headers
from starlette.requests import ClientDisconnect, Request
from starlette.routing import Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from services import idempotensi
from web import csrf

IDEM_FIELD = "_idem"
SAFE_METHODS = ("GET", "HEAD", "OPTIONS")
MAX_STORED_BODY = 256 * 1024  # a page bigger than this is not kept (none is: pages are ~10-40 KB)
WAIT_SECONDS = 15.0           # a retry waits this long for the first attempt still running
CLAIM_POLL_SECONDS = 0.05     # how often a retry looks whether another worker's attempt has finished
SPOOL_IN_MEMORY = 64 * 1024   # a body past this goes to a temporary file
CHUNK = 64 * 1024             # pieces the route is handed the body in
FIELD_KEPT = 512              # of the two fields read here, no more than this is kept


def _kept(status: int) -> bool:
    """A retried submit must get the same answer: a success, or the form shown again with its messages."""
    return 200 <= status < 400 or status == 400


class _Refused(Exception):
    def __init__(self, status: int):
        self.status = status


class FormGuardMiddleware:
    def __init__(self, app: ASGIApp, max_body: int, error_page, form_max_body: int = 64 * 1024,
                 idle_seconds: float = 30.0, total_seconds: float = 600.0):
        self.app = app
        self.max_body = max_body
        self.form_max_body = form_max_body
        self.idle_seconds = idle_seconds
        self.total_seconds = total_seconds
        self.error_page = error_page  # (request, status) -> Response
        self._running: dict[bytes, asyncio.Event] = {}

    @staticmethod
    async def _in_store_thread(scope: Scope, fn, *args):
        """The stored answers are read and written by threads of their own (``Deps.idempotency_threads``), not
        the request thread pool: during a login burst its 40 threads wait for the 4 scrypt slots, and a submit's
        short look-up or save would queue behind them for seconds, holding its connection's task open."""
        threads = scope["app"].state.deps.idempotency_threads.pool()
        return await asyncio.get_running_loop().run_in_executor(threads, functools.partial(fn, *args))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] in SAFE_METHODS:
            await self.app(scope, receive, send)
            return
        session = scope.get("session") or {}
        headers = Headers(scope=scope)
        header_token = headers.get(csrf.HEADER)
        if not session.get(csrf.SESSION_KEY) or (header_token is not None and not csrf.valid(session, header_token)):
            await self._refuse(scope, receive, send, 403)
            return
        content_type, options = parse_options_header(headers.get("content-type", ""))
        limit = self.max_body if content_type == b"multipart/form-data" else self.form_max_body
        declared = headers.get("content-length")
        if declared is not None:
            declared = declared.strip()
            if not (declared.isascii() and declared.isdigit()):
                await self._refuse(scope, receive, send, 400)
                return
            if len(declared) > 12 or int(declared) > limit:
                await self._refuse(scope, receive, send, 413)
                return
        body = _Body(content_type, options, session, header_token)
        try:
            try:
                await self._read(receive, body, limit)
                fields, fingerprint = body.finish()
            except _Refused as refused:
                await self._refuse(scope, receive, send, refused.status)
                return
            except ClientDisconnect:
                return  # nobody is left to answer
            if not csrf.valid(session, header_token or fields.get(csrf.FIELD)):
                await self._refuse(scope, receive, send, 403)
                return
            replay = body.replay(receive)
            idem = fields.get(IDEM_FIELD)
            if not idem or not _routed(scope):
                await self.app(scope, replay, send)
                return
            key = hashlib.sha256(
                "\0".join([session[csrf.SESSION_KEY], idem, scope["path"], fingerprint]).encode()
            ).digest()
            await self._once(key, scope, replay, send)
        finally:
            body.close()

    async def _read(self, receive: Receive, body: _Body, limit: int) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.total_seconds
        while True:
            wait = min(self.idle_seconds, deadline - loop.time())
            if wait <= 0:
                raise _Refused(408)
            try:
                message = await asyncio.wait_for(receive(), wait)
            except TimeoutError:
                raise _Refused(408) from None
            if message["type"] == "http.disconnect":
                raise ClientDisconnect()
            chunk = message.get("body", b"")
            if body.size + len(chunk) > limit:
                raise _Refused(413)
            body.feed(chunk)
            if not message.get("more_body", False):
                return

    async def _once(self, key: bytes, scope: Scope, receive: Receive, send: Send) -> None:
        """Run a submit once: a retry waits for the first attempt (in this process by its event, in another worker
        process by the machine's claim, web/proses.py) and is sent the first answer, when it was kept."""
        store, claims = scope["app"].state.store, scope["app"].state.deps.claims
        loop = asyncio.get_running_loop()
        deadline = loop.time() + WAIT_SECONDS
        while (running := self._running.get(key)) is not None:
            try:
                await asyncio.wait_for(running.wait(), max(0.0, deadline - loop.time()))
            except TimeoutError:
                await self._refuse(scope, receive, send, 409)
                return
        done = self._running[key] = asyncio.Event()
        claimed = False
        try:
            while not (claimed := claims.take(key)):  # another worker runs it: its answer is kept, then replayed
                if loop.time() >= deadline:
                    await self._refuse(scope, receive, send, 409)
                    return
                await asyncio.sleep(CLAIM_POLL_SECONDS)
            # looked up only once the claim is held: an attempt that finished meanwhile has kept its answer
            stored = await self._in_store_thread(scope, idempotensi.recall, store.db, key)
            if stored is not None:
                if stored["sesi"] is not None:
                    session = scope.setdefault("session", {})
                    session.clear()
                    session.update(stored["sesi"])
                await _send_stored(send, stored)
                return
            await self._run_and_keep(key, scope, receive, send, store)
        finally:
            if claimed:  # after the answer is kept (committed), never before
                claims.release(key)
            del self._running[key]
            done.set()

    async def _run_and_keep(self, key: bytes, scope: Scope, receive: Receive, send: Send, store) -> None:
        before = dict(scope.get("session", {}))
        start: dict = {}
        chunks: list[bytes] = []
        size = 0

        async def capture(message: Message) -> None:
            nonlocal size
            if message["type"] == "http.response.start":
                start.update(message)
            elif message["type"] == "http.response.body":
                piece = message.get("body", b"")
                size += len(piece)
                if size <= MAX_STORED_BODY:
                    chunks.append(piece)
            await send(message)

        await self.app(scope, receive, capture)
        status = start.get("status", 500)
        if not _kept(status) or size > MAX_STORED_BODY:
            return
        headers = [[k.decode("latin-1"), v.decode("latin-1")] for k, v in start.get("headers", [])]
        after = dict(scope.get("session", {}))
        await self._in_store_thread(scope, idempotensi.keep, store.db, key, status, headers, b"".join(chunks),
                                    None if after == before else after)

    async def _refuse(self, scope: Scope, receive: Receive, send: Send, status: int) -> None:
        response = self.error_page(Request(scope, receive), status)
        await response(scope, receive, send)


def _routed(scope: Scope) -> bool:
    """Whether a route answers this path *and* method (no answer of a 404 or 405 is worth keeping)."""
    return any(route.matches(scope)[0] == Match.FULL for route in scope["app"].router.routes)


class _Body:
    """A request body as it arrives: spooled (memory, then a temporary file), the CSRF and
    idempotency fields, and a fingerprint of the form's content.

    The fingerprint covers every field and file *content* (not the multipart boundary, which a
    browser draws anew on each retry), so the same submit retried is recognised, and an edited
    form counts as a new submit.
    """

    def __init__(self, content_type: bytes, options: dict, session: dict, header_token: str | None):
        self.kind = {b"multipart/form-data": "multipart",
                     b"application/x-www-form-urlencoded": "form"}.get(content_type, "other")
        self.file = SpooledTemporaryFile(max_size=SPOOL_IN_MEMORY)
        self.size = 0
        self._session = session
        self._header_token = header_token
        self._raw = hashlib.sha256()
        self._parts: _MultipartFields | None = None
        if self.kind == "multipart" and options.get(b"boundary"):
            self._parts = _MultipartFields(options[b"boundary"])

    def close(self) -> None:
        self.file.close()

    def feed(self, chunk: bytes) -> None:
        self.file.write(chunk)
        self.size += len(chunk)
        self._raw.update(chunk)
        if self._parts is not None:
            self._parts.write(chunk)
            token = self._parts.values.get(csrf.FIELD)
            if self._header_token is None and token is not None and not csrf.valid(self._session, token):
                raise _Refused(403)  # the token came first and is wrong: the rest need not arrive

    def finish(self) -> tuple[dict[str, str], str]:
        """The CSRF and idempotency fields, and the fingerprint."""
        pairs: list[tuple[str, str]] = []
        fields: dict[str, str] = {}
        if self.kind == "form":
            self.file.seek(0)
            pairs = parse_qsl(self.file.read().decode("utf-8", "replace"), keep_blank_values=True)
            for k, v in pairs:
                if k in (csrf.FIELD, IDEM_FIELD):
                    fields.setdefault(k, v[:FIELD_KEPT])
        elif self._parts is not None:
            pairs = self._parts.finish()  # (name, hash of the content)
            fields = self._parts.values
        if not pairs:  # a malformed or unknown body: the route reports it; no token here means 403
            return {}, self._raw.hexdigest()
        fingerprint = hashlib.sha256(repr(sorted(p for p in pairs if p[0] != csrf.FIELD)).encode()).hexdigest()
        return fields, fingerprint

    def replay(self, receive: Receive) -> Receive:
        """The body again, in pieces, for the route; after it, the client's own messages (disconnect)."""
        self.file.seek(0)
        left = self.size
        finished = False

        async def replaying() -> Message:
            nonlocal left, finished
            if finished:
                return await receive()
            piece = self.file.read(CHUNK)
            left -= len(piece)
            finished = left <= 0
            return {"type": "http.request", "body": piece, "more_body": not finished}

        return replaying


class _MultipartFields:
    """A multipart body parsed as it streams: per part its name and a hash of its content, and the
    (short) values of the CSRF and idempotency fields. Nothing else is held."""

    WANTED = (csrf.FIELD, IDEM_FIELD)

    def __init__(self, boundary: bytes):
        self.values: dict[str, str] = {}
        self.pairs: list[tuple[str, str]] = []
        self.broken = False
        self._header = [b"", b""]
        self._disposition = b""
        self._name = ""
        self._digest = hashlib.sha256()
        self._value = bytearray()
        self._parser = MultipartParser(boundary, {
            "on_part_begin": self._begin, "on_header_field": self._header_field,
            "on_header_value": self._header_value, "on_header_end": self._header_end,
            "on_headers_finished": self._headers_finished, "on_part_data": self._data, "on_part_end": self._end,
        })

    def write(self, chunk: bytes) -> None:
        if self.broken:
            return
        try:
            self._parser.write(chunk)
        except FormParserError:
            self.broken = True

    def finish(self) -> list[tuple[str, str]]:
        if not self.broken:
            try:
                self._parser.finalize()
            except FormParserError:
                self.broken = True
        return [] if self.broken else self.pairs

    def _begin(self) -> None:
        self._disposition, self._name, self._digest, self._value = b"", "", hashlib.sha256(), bytearray()

    def _header_field(self, data: bytes, start: int, end: int) -> None:
        self._header[0] += data[start:end]

    def _header_value(self, data: bytes, start: int, end: int) -> None:
        self._header[1] += data[start:end]

    def _header_end(self) -> None:
        if self._header[0].lower() == b"content-disposition":
            self._disposition = self._header[1]
        self._header = [b"", b""]

    def _headers_finished(self) -> None:
        _, options = parse_options_header(self._disposition)
        self._name = options.get(b"name", b"").decode("utf-8", "replace")

    def _data(self, data: bytes, start: int, end: int) -> None:
        piece = data[start:end]
        self._digest.update(piece)
        if self._name in self.WANTED and len(self._value) < FIELD_KEPT:
            self._value += piece[:FIELD_KEPT]

    def _end(self) -> None:
        self.pairs.append((self._name, self._digest.hexdigest()))
        if self._name in self.WANTED:
            self.values.setdefault(self._name, self._value.decode("utf-8", "replace"))


async def _send_stored(send: Send, stored: dict) -> None:
    headers = [(k.encode("latin-1"), v.encode("latin-1")) for k, v in stored["header"]]
    headers.append((b"x-idempotent-replay", b"1"))
    await send({"type": "http.response.start", "status": stored["status"], "headers": headers})
    await send({"type": "http.response.body", "body": stored["isi"]})
