"""The application service of a request, as wired once by ``web.wiring``, for the client's address."""

from __future__ import annotations

from starlette.requests import Request

from services.permohonan import Pelayanan
from web.identity import client_ip


def pelayanan_of(request: Request) -> Pelayanan:
    return request.app.state.deps.pelayanan_for(client_ip(request))
