"""Builds the identity service for a request: this thread's database, the process's face engine."""

from __future__ import annotations

import ipaddress
import threading

from starlette.requests import Request

from biometrics.engine import FaceEngine
from biometrics.matching import Thresholds
from biometrics.models import get_landmarks_68, get_models
from biometrics.templates import parse_key
from integrations.dukcapil import EmbeddedDukcapil, HttpDukcapil
from services.identitas import Identity
from web.render import db_of


class FaceServices:
    """Created once per process: the engine shares the models loaded once."""

    def __init__(self, settings):
        self.settings = settings
        self.engine = FaceEngine()
        self.key = parse_key(settings.template_key)
        self.thresholds = Thresholds.from_env()
        self.ready = threading.Event()

    def warm_up(self) -> None:
        """Load the models once, off the event loop, so the first selfie is not slowed."""
        def load():
            get_models()
            get_landmarks_68()  # liveness only, but the first selfie should not wait for it
            self.ready.set()
        threading.Thread(target=load, name="face-models", daemon=True).start()


def identity_of(request: Request) -> Identity:
    faces: FaceServices = request.app.state.faces
    db = db_of(request)
    s = faces.settings
    registry = HttpDukcapil(s.dukcapil_url, s.dukcapil_token) if s.dukcapil_url else EmbeddedDukcapil(db, faces.key)
    return Identity(db=db, registry=registry, engine=faces.engine, key=faces.key,
                    thresholds=faces.thresholds, stepup_minutes=s.stepup_minutes)


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
