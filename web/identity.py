"""The services of a request, as wired once by ``web.wiring``, and the client's address."""

from __future__ import annotations

import ipaddress

from starlette.requests import Request

from services.identitas import Identity


def identity_of(request: Request) -> Identity:
    return request.app.state.deps.identity


def client_ip(request: Request) -> str:
    """The citizen's address for rate limits: the proxy's header when one is configured
    (``MPP_CLIENT_IP_HEADER=fly-client-ip`` on Fly, which sets it itself and cannot be faked by the
    client), else the socket's peer. Nothing else is trusted: ``X-Forwarded-For`` is anyone's to write,
    and uvicorn must run without ``--proxy-headers`` so it never rewrites the peer from it. A header
    holding a list (``x-forwarded-for`` behind one proxy) counts by its last entry, the one the
    proxy itself appended."""
    header = request.app.state.settings.client_ip_header
    if header:
        value = request.headers.get(header, "").rsplit(",", 1)[-1].strip()
        if value:
            return _one_client(value[:64])
    return _one_client(request.client.host) if request.client else "?"


def _one_client(address: str) -> str:
    """An IPv6 address counts by its /64: one subscriber gets a whole /64 and could change the rest at will."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return address
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped:
            return str(ip.ipv4_mapped)
        return str(ipaddress.IPv6Network((ip, 64), strict=False))
    return str(ip)
