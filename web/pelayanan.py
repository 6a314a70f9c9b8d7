"""Builds the application service for a request."""

from __future__ import annotations

from starlette.requests import Request

from integrations.sisdmk import EmbeddedSisdmk
from services.permohonan import Pelayanan
from web.identity import client_ip, identity_of


def pelayanan_of(request: Request) -> Pelayanan:
    idn = identity_of(request)
    return Pelayanan(db=idn.db, registry=idn.registry, sisdmk=EmbeddedSisdmk(idn.db),
                     signing_key=request.app.state.signing_key, klien=client_ip(request))
