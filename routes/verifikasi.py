"""Anyone checks an issued document: the QR code opens /verifikasi/<token>. No account needed."""

from __future__ import annotations

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from services import dokumen, ttd
from web.render import db_of, path_to, render

_PUBLIC = {"Cache-Control": "public, max-age=86400"}


def verify(request: Request):
    token = request.path_params["token"]
    found = dokumen.check(db_of(request), request.app.state.signing_key, token)
    url = request.app.state.settings.url(path_to(request, "verifikasi", token=token))
    return render(request, "verifikasi.html", {"dok": found, "alamat": url,
                                               "ada_ca": bool(request.app.state.tte.ca_pem())},
                  status_code=200 if found else 404)


def public_key(request: Request):
    return PlainTextResponse(ttd.public_key_pem(request.app.state.signing_key), headers=_PUBLIC)


def ca_certificate(request: Request):
    """The local CA that signs the PDFs, for PDF readers to trust (none when BSrE signs)."""
    pem = request.app.state.tte.ca_pem()
    if not pem:
        raise HTTPException(404)
    return PlainTextResponse(pem, media_type="application/x-pem-file", headers=_PUBLIC)


routes = [
    Route("/verifikasi/kunci-publik.pem", public_key, name="kunci_publik"),
    Route("/verifikasi/sertifikat-ca.pem", ca_certificate, name="sertifikat_ca"),
    Route("/verifikasi/{token}", verify, name="verifikasi"),
]
