"""Small helpers every route uses: the thread's database, rendering a template, and the one shape
of a POST endpoint (the body read on the event loop, everything else in the thread pool)."""

from __future__ import annotations

import functools
from collections.abc import Callable

from sqlite_utils import Database
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData, UploadFile
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Mount, Route


def db_of(request: Request) -> Database:
    return request.app.state.store.db


def spool_of(request: Request):
    """The machine's spool of what reads must record (db/spool.py; services/jejak.py writes and reads it)."""
    return request.app.state.deps.spool


def render(request: Request, name: str, context: dict | None = None, status_code: int = 200):
    return request.app.state.templates.TemplateResponse(request, name, context or {}, status_code=status_code)


def path_to(request: Request, name: str, **params) -> str:
    """The path of a named route ("/antrean/5"): links and redirects follow the route table, never a copy of it.

    A page makes dozens of links; ``app.url_path_for`` tries every route in turn for each, so the route of
    each name is looked up once per app (``_by_name``) and asked alone. An unknown name still raises."""
    route = _by_name(request.app).get(name)
    if route is None:
        return str(request.app.url_path_for(name, **params))  # raises NoMatchFound, naming the route
    return str(route.url_path_for(name, **params))


def _by_name(app) -> dict[str, BaseRoute]:
    found = getattr(app.state, "routes_by_name", None)
    if found is None:
        found = {r.name: r for r in app.routes if isinstance(r, Route | Mount) and r.name}
        app.state.routes_by_name = found
    return found


def limited(page: Response, wait_s: float) -> Response:
    """A form page refused by a rate limit: 429 and when to come back (``Retry-After``); else as it is."""
    if wait_s:
        page.status_code = 429
        page.headers["Retry-After"] = str(int(wait_s) + 1)
    return page


def with_form(handler: Callable[[Request, FormData], Response]):
    """Turns ``def handler(request, form)`` into a POST endpoint.

    Reading the body is the only thing a POST does on the event loop (it may trickle in over 2G);
    the handler, which checks, writes and renders, runs in the thread pool. Every route is then a
    plain ``def`` and no handler can wait for SQLite's write lock on the loop (db.connection's guard
    raises in the tests if one does). Uploads arrive as spooled files: read them with ``.file.read()``.
    """
    @functools.wraps(handler)
    async def endpoint(request: Request) -> Response:
        async with request.form() as form:  # uploads' temporary files are closed when the handler is done
            return await run_in_threadpool(handler, request, form)
    return endpoint


def read_upload(value) -> bytes | None:
    """A posted file's bytes, its spooled temporary file closed at once (a selfie's frames are freed before
    the face work starts); None when the field is not a file."""
    if not isinstance(value, UploadFile):
        return None
    with value.file as f:
        return f.read()
