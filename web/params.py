"""Ids in URLs: through the one strict parser (services.angka), and a 404 for anything else."""

from __future__ import annotations

from starlette.exceptions import HTTPException
from starlette.requests import Request

from services import angka


def path_id(request: Request, name: str = "id") -> int:
    """The id in the path; a 404 for '²', '١٢', ' 1', '-1', a number past 12 digits or anything not digits."""
    found = angka.to_id(request.path_params.get(name))
    if found is None:
        raise HTTPException(404)
    return found


def query_id(request: Request, name: str = "id") -> int | None:
    """An optional id in the query string: None when absent or empty, a 404 when malformed."""
    raw = request.query_params.get(name, "")
    if not raw:
        return None
    found = angka.to_id(raw)
    if found is None:
        raise HTTPException(404)
    return found
