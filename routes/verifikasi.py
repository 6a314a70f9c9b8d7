"""Anyone checks an issued document: the QR code opens /verifikasi/<token>. No account needed."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from db import permohonan as q
from services import ttd
from web.render import db_of, render


def verify(request: Request):
    token = request.path_params["token"]
    payload = ttd.verify_token(request.app.state.signing_key, token)
    doc = q.document_by_number(db_of(request), payload["no"]) if payload else None
    valid = bool(payload and doc and doc["token"] == token)
    revoked = doc if valid and doc["dicabut"] else None
    return render(request, "verifikasi.html", {"valid": valid, "d": payload if valid else None, "cabut": revoked,
                                               "alasan_cabut": REVOCATION_REASONS},
                  status_code=200 if valid else 404)


REVOCATION_REASONS = {"identitas_diambil_alih": "pemegang akun bukan pemilik sah NIK (identitas diambil alih)"}


def public_key(request: Request):
    return PlainTextResponse(ttd.public_key_pem(request.app.state.signing_key),
                             headers={"Cache-Control": "public, max-age=86400"})


routes = [
    Route("/verifikasi/kunci-publik.pem", public_key, name="kunci_publik"),
    Route("/verifikasi/{token}", verify, name="verifikasi"),
]
