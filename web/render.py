"""Small helpers every route uses: the thread's database and rendering a template."""

from __future__ import annotations

from sqlite_utils import Database
from starlette.requests import Request
from starlette.responses import Response


def db_of(request: Request) -> Database:
    return request.app.state.store.db


def render(request: Request, name: str, context: dict | None = None, status_code: int = 200):
    return request.app.state.templates.TemplateResponse(request, name, context or {}, status_code=status_code)


def limited(page: Response, wait_s: float) -> Response:
    """A form page refused by a rate limit: 429 and when to come back (``Retry-After``); else as it is."""
    if wait_s:
        page.status_code = 429
        page.headers["Retry-After"] = str(int(wait_s) + 1)
    return page
