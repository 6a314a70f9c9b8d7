"""Multi-VM mode (LiteFS): which machine writes, and what the others do with a write.

LiteFS keeps one primary (it holds the lease) and read-only replicas. On a replica the LiteFS mount holds a
``.primary`` file naming the primary's host; on the primary there is none (nor where LiteFS is not configured:
``MPP_LITEFS_DIR`` unset, the single-VM Litestream mode). LiteFS's own HTTP proxy sends writes to the primary;
where that proxy is not in front of the app, ``ReplayWrites`` does what it would: a POST (any method but GET,
HEAD and OPTIONS) reaching a replica is answered at once with ``fly-replay: instance=<primary>``, before a byte
of its body is read and before any session, CSRF or database work, so nothing is half-applied; Fly's proxy then
sends the same request to the primary. GETs are served where they arrive (they only read: web/readonly.py).
When the file disappears (this machine became the primary) writes are served here again; the file is read on
every write, never cached. Fly's proxy cannot replay a body over 1 MB (a photo or scan sent without the page's
script; with it, photos are shrunk in the browser): such a body the replica reads itself and hands to the primary's
app over the private network (``MPP_PRIMARY_URL``), as it came — cookie, CSRF token, Host, client address — and
sends back the primary's answer, so a citizen on a weak line without JavaScript is never told to retry on a machine
that cannot take it. A body over the upload limit is refused (413) before it is read, as on the primary; a
primary that does not answer is a 503 page (nothing was written).

``SpoolReceiver`` is the primary's side of the spool hand-over (services/jejak.py): ``POST /_intern/jejak`` with
the deployment's internal token, from a replica's background job. A machine that is no longer the primary answers
409 and the replica keeps its batch until a primary took it.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from tempfile import SpooledTemporaryFile

from starlette.concurrency import run_in_threadpool
from starlette.datastructures import Headers
from starlette.requests import Request
from starlette.types import ASGIApp, Receive, Scope, Send

from integrations.http import ServiceUnavailable
from integrations.primer import FORWARDED, INTERNAL_PATH, PrimaryLink
from services import jejak
from services.passwords import same_secret

PRIMARY_FILE = ".primary"
READS = ("GET", "HEAD", "OPTIONS")
REPLAY_MAX_BODY = 1024 * 1024  # Fly's proxy replays bodies up to 1 MB
INTERNAL_MAX_BODY = 4 * 1024 * 1024


class Cluster:
    """This machine's place in a LiteFS cluster, read from the mount (``MPP_LITEFS_DIR``; '' = not clustered)."""

    def __init__(self, litefs_dir: str = ""):
        self.dir = Path(litefs_dir) if litefs_dir else None

    @property
    def clustered(self) -> bool:
        return self.dir is not None

    def primary(self) -> str | None:
        """The primary's host name when this machine is a replica; None on the primary, when LiteFS cannot reach the
        primary (it then lets this machine try to write: LiteFS's own rule) or when not clustered."""
        if self.dir is None:
            return None
        try:
            name = (self.dir / PRIMARY_FILE).read_text(encoding="utf-8", errors="replace").strip()
        except (FileNotFoundError, NotADirectoryError):
            return None
        return name or None

    def is_primary(self) -> bool:
        return self.primary() is None


def _replay_value(host: str) -> str:
    """``instance=<machine>``: LiteFS names the primary by its host name, which on Fly is the Machine's id."""
    return "instance=" + "".join(c for c in host if c.isalnum() or c in "-._")[:100]


async def _answer(send: Send, status: int, body: bytes, headers: list[tuple[bytes, bytes]]) -> None:
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"text/plain; charset=utf-8"), (b"cache-control", b"no-store"),
                            (b"content-length", str(len(body)).encode()), *headers]})
    await send({"type": "http.response.body", "body": body})


class ReplayWrites:
    def __init__(self, app: ASGIApp, cluster: Cluster, link: PrimaryLink | None = None, error_page=None,
                 max_body: int = 12 * 1024 * 1024, idle_seconds: float = 30.0):
        self.app = app
        self.cluster = cluster
        self.link = link
        self.error_page = error_page  # (request, status) -> Response, as the app's own error pages
        self.max_body = max_body
        self.idle_seconds = idle_seconds

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] in READS or not self.cluster.clustered:
            await self.app(scope, receive, send)
            return
        primary = await run_in_threadpool(self.cluster.primary)  # a file on the FUSE mount: off the event loop
        if primary is None:
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        declared = headers.get("content-length", "").strip()
        if declared.isascii() and declared.isdigit() and int(declared) > REPLAY_MAX_BODY:
            if int(declared) > self.max_body:
                await self._refuse(scope, receive, send, 413)
            elif self.link is None or headers.get(FORWARDED):  # handed on once already: a primary moving
                await self._refuse(scope, receive, send, 503)
            else:
                await self._hand_on(scope, receive, send, primary, int(declared))
            return
        await _answer(send, 409, b"replay\n", [(b"fly-replay", _replay_value(primary).encode())])

    async def _hand_on(self, scope: Scope, receive: Receive, send: Send, primary: str, length: int) -> None:
        """Read the body here (to a temporary file past 64 KB), send it to the primary's app, answer its answer."""
        body = SpooledTemporaryFile(max_size=64 * 1024)  # noqa: SIM115 - closed below
        try:
            got = 0
            while True:
                try:
                    message = await asyncio.wait_for(receive(), self.idle_seconds)
                except TimeoutError:
                    await self._refuse(scope, receive, send, 408)
                    return
                if message["type"] == "http.disconnect":
                    return
                chunk = message.get("body", b"")
                got += len(chunk)
                if got > length:  # more than it declared: not a browser's form
                    await self._refuse(scope, receive, send, 400)
                    return
                body.write(chunk)
                if not message.get("more_body", False):
                    break
            body.seek(0)
            target = scope.get("raw_path") or scope["path"].encode()
            if scope.get("query_string"):
                target += b"?" + scope["query_string"]
            try:
                status, answer_headers, data = await run_in_threadpool(
                    self.link.forward, primary, scope["method"], target.decode("latin-1"), scope["headers"], body, got)
            except ServiceUnavailable:
                await self._refuse(scope, receive, send, 503)
                return
            await send({"type": "http.response.start", "status": status, "headers": answer_headers})
            await send({"type": "http.response.body", "body": data})
        finally:
            body.close()

    async def _refuse(self, scope: Scope, receive: Receive, send: Send, status: int) -> None:
        if self.error_page is None:
            await _answer(send, status, b"Kiriman tidak dapat diteruskan; coba lagi sebentar lagi.\n",
                          [(b"retry-after", b"30")])
            return
        response = self.error_page(Request(scope, receive), status)
        if status == 503:
            response.headers["Retry-After"] = "30"
        await response(scope, receive, send)


class SpoolReceiver:
    """``POST /_intern/jejak`` on the primary: a replica's spooled entries, written like the primary's own. It is
    reached at a Machine's private address (``<id>.vm.<app>.internal``), not the site's name, so it sits before the
    Host check and is opened by the internal bearer token alone; a machine that is not the primary answers 409
    and takes nothing (the replica keeps its batch and asks again)."""

    def __init__(self, app: ASGIApp, token: str, cluster: Cluster | None = None):
        self.app = app
        self.token = token
        self.cluster = cluster or Cluster("")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] != INTERNAL_PATH:
            await self.app(scope, receive, send)
            return
        sent = Headers(scope=scope).get("authorization", "").removeprefix("Bearer ")
        if scope["method"] != "POST" or not self.token or not same_secret(sent, self.token):
            await _answer(send, 404, b"", [])
            return
        if await run_in_threadpool(self.cluster.primary) is not None:
            await _answer(send, 409, b"bukan primer\n", [])
            return
        body = bytearray()
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            body += message.get("body", b"")
            if len(body) > INTERNAL_MAX_BODY:
                await _answer(send, 413, b"", [])
                return
            if not message.get("more_body", False):
                break
        try:
            entries = json.loads(body)["entri"]
            if not isinstance(entries, list):
                raise ValueError("entri")
        except (ValueError, KeyError, TypeError):
            await _answer(send, 400, b"", [])
            return
        taken = await run_in_threadpool(jejak.take_in, scope["app"].state.store.db, entries)
        await _answer(send, 200, json.dumps({"diterima": taken}).encode(), [])
