"""Public pages (no login): home, catalogue, a service, a region's MPP, health."""

from __future__ import annotations

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from services import katalog, operasi, permohonan, wilayah
from web.pelayanan import pelayanan_of
from web.render import db_of, render


def home(request: Request):
    return render(request, "index.html", wilayah.home_page(db_of(request)))


def _catalogue_context(request: Request) -> dict:
    q = request.query_params.get("q", "")
    kode = request.query_params.get("wilayah", "").strip()
    result = katalog.search(db_of(request), q, kode or None)
    result["wilayah_tidak_dikenal"] = bool(kode) and result["wilayah"] is None
    return result


def catalogue(request: Request):
    return render(request, "layanan.html", _catalogue_context(request))


def catalogue_results(request: Request):
    """The result list alone, for htmx search-as-you-type (its own URL, never the page's)."""
    return render(request, "_layanan_hasil.html", _catalogue_context(request))


def service(request: Request):
    """``?wilayah=`` shows that region's terms; a logged-in citizen sees their own region's by default."""
    akun = request.scope.get("akun")
    kode = request.query_params.get("wilayah", "").strip() or (akun or {}).get("wilayah_kode")
    page = katalog.service_page(db_of(request), request.path_params["slug"], kode)
    if page is None:
        raise HTTPException(404)
    citizen = akun is not None and akun["peran"] == "warga"
    family = permohonan.family_members(pelayanan_of(request), akun) if citizen and page.get("wilayah") else []
    return render(request, "layanan_detail.html", {"s": page, "keluarga": family})


def mpp(request: Request):
    page = wilayah.mpp_page(db_of(request), request.path_params["kode"])
    if page is None:
        raise HTTPException(404)
    return render(request, "mpp.html", page)


def healthz(request: Request):
    """200 when the database answers; ``?siap=wajah`` also waits (up to 60 s) for the face models."""
    operasi.database_answers(db_of(request))
    if request.query_params.get("siap") == "wajah" and not request.app.state.faces.ready.wait(60):
        return PlainTextResponse("model wajah belum siap", status_code=503)
    return PlainTextResponse("ok")


def favicon(request: Request):
    """No icon (pages declare an empty one); browsers that ask anyway get 0 bytes, cached for a year."""
    return Response(status_code=204, headers={"Cache-Control": "public, max-age=31536000, immutable"})


routes = [
    Route("/", home, name="home"),
    Route("/layanan", catalogue, name="layanan"),
    Route("/fragmen/layanan", catalogue_results, name="layanan_hasil"),
    Route("/layanan/{slug}", service, name="layanan_detail"),
    Route("/mpp/{kode}", mpp, name="mpp"),
    Route("/healthz", healthz, name="healthz"),
    Route("/favicon.ico", favicon, name="favicon"),
]
