"""Small helpers every route uses: the thread's database and rendering a template."""

from __future__ import annotations

from sqlite_utils import Database
from starlette.requests import Request


def db_of(request: Request) -> Database:
    return request.app.state.store.db


def render(request: Request, name: str, context: dict | None = None, status_code: int = 200):
    return request.app.state.templates.TemplateResponse(request, name, context or {}, status_code=status_code)
