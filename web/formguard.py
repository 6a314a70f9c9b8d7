"""Checks every POST before a route sees it: size, CSRF token, and idempotency.

- **Size:** a body over the limit is refused with 413 before it is read whole.
- **CSRF:** the token must match the session's (403 otherwise).
- **Idempotency:** forms carry a one-time key ``_idem``. The first response to
  (session, key, body) is stored; a retry of the same submit — a double tap, or
  the browser resending after the line dropped — gets that same response
  instead of doing the work twice. A retry arriving while the first is still
  running waits for it. When the first response changed the session (a login,
  a flash message), the replay restores that session too, so the retry gets
  the same cookie the lost answer carried.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
from urllib.parse import parse_qs

from starlette.concurrency import run_in_threadpool
from starlette.datastructures import Headers
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from db import idempotensi
from web import csrf

IDEM_FIELD = "_idem"
MAX_STORED_BODY = 256 * 1024
WAIT_SECONDS = 15.0


class FormGuardMiddleware:
    def __init__(self, app: ASGIApp, max_body: int, error_page):
        self.app = app
        self.max_body = max_body
        self.error_page = error_page  # (request, status, title, message) -> Response

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] in ("GET", "HEAD", "OPTIONS"):
            await self.app(scope, receive, send)
            return
        request = Request(scope, receive)
        declared = request.headers.get("content-length")
        if declared and declared.isdigit() and int(declared) > self.max_body:
            await self._refuse(scope, receive, send, 413)
            return
        body = b""
        async for chunk in request.stream():
            body += chunk
            if len(body) > self.max_body:
                await self._refuse(scope, receive, send, 413)
                return
        replay = _replaying_receive(body)
        fields, fingerprint = await _form_fields(scope, body)
        session = scope.get("session", {})
        sent = request.headers.get(csrf.HEADER) or fields.get(csrf.FIELD)
        if not csrf.valid(session, sent):
            await self._refuse(scope, replay, send, 403)
            return
        idem = fields.get(IDEM_FIELD)
        if not idem:
            await self.app(scope, replay, send)
            return
        key = hashlib.sha256(
            "\0".join([session[csrf.SESSION_KEY], idem, scope["path"], fingerprint]).encode()
        ).hexdigest()
        await self._once(key, scope, replay, send)

    async def _once(self, key: str, scope: Scope, receive: Receive, send: Send) -> None:
        store = scope["app"].state.store
        claimed = await run_in_threadpool(idempotensi.claim, store.db, key)
        if not claimed:
            stored = await _wait_for(store, key)
            if stored is None:
                await self._refuse(scope, receive, send, 409)
                return
            if stored["sesi"] is not None:
                session = scope.setdefault("session", {})
                session.clear()
                session.update(stored["sesi"])
            await _send_stored(send, stored)
            return
        before = dict(scope.get("session", {}))
        start: dict = {}
        chunks: list[bytes] = []

        async def capture(message: Message) -> None:
            if message["type"] == "http.response.start":
                start.update(message)
            elif message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))
            await send(message)

        try:
            await self.app(scope, receive, capture)
        except BaseException:
            await run_in_threadpool(idempotensi.release, store.db, key)
            raise
        body = b"".join(chunks)
        status = start.get("status", 500)
        if status >= 500 or len(body) > MAX_STORED_BODY:
            await run_in_threadpool(idempotensi.release, store.db, key)
        else:
            headers = [[k.decode("latin-1"), v.decode("latin-1")] for k, v in start.get("headers", [])]
            after = dict(scope.get("session", {}))
            await run_in_threadpool(idempotensi.complete, store.db, key, status, headers, body,
                                    None if after == before else after)

    async def _refuse(self, scope: Scope, receive: Receive, send: Send, status: int) -> None:
        response = self.error_page(Request(scope, receive), status)
        await response(scope, receive, send)


def _replaying_receive(body: bytes) -> Receive:
    sent = False

    async def receive() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return {"type": "http.disconnect"}

    return receive


async def _form_fields(scope: Scope, body: bytes) -> tuple[dict[str, str], str]:
    """The CSRF token and idempotency key, and a fingerprint of the whole form.

    The fingerprint covers every field and file *content* (not the multipart
    boundary, which a browser draws anew on each retry), so the same submit
    retried is recognised, and an edited form counts as a new submit.
    """
    ctype = Headers(scope=scope).get("content-type", "")
    pairs: list[tuple[str, str]] = []
    if ctype.startswith("application/x-www-form-urlencoded"):
        parsed = parse_qs(body.decode("utf-8", "replace"), keep_blank_values=True)
        pairs = [(k, v) for k, values in parsed.items() for v in values]
    elif ctype.startswith("multipart/form-data"):
        try:
            form = await Request({**scope, "type": "http"}, _replaying_receive(body)).form(
                max_files=64, max_fields=256)
        except Exception:  # a malformed body is the route's to report; no token here → 403
            return {}, ""
        try:
            for k, v in form.multi_items():
                if isinstance(v, str):
                    pairs.append((k, v))
                else:
                    pairs.append((k, "file:" + hashlib.sha256(await v.read()).hexdigest()))
        finally:
            await form.close()
    small = {k: v for k, v in pairs if k in (csrf.FIELD, IDEM_FIELD)}
    fingerprint = hashlib.sha256(repr(sorted(p for p in pairs if p[0] != csrf.FIELD)).encode()).hexdigest()
    return small, fingerprint


async def _wait_for(store, key: str) -> dict | None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + WAIT_SECONDS
    while loop.time() < deadline:
        stored = await run_in_threadpool(idempotensi.get, store.db, key)
        if stored is None:  # the first attempt failed and was released: nothing to replay
            return None
        if stored["status"]:
            return stored
        await asyncio.sleep(0.2)
    return None


async def _send_stored(send: Send, stored: dict) -> None:
    headers = [(k.encode("latin-1"), v.encode("latin-1")) for k, v in json.loads(stored["header"])]
    headers.append((b"x-idempotent-replay", b"1"))
    await send({"type": "http.response.start", "status": stored["status"], "headers": headers})
    await send({"type": "http.response.body", "body": stored["isi"]})
