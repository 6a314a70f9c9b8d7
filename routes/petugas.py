"""The officers' workspace (petugas) and the admins' consoles."""

from __future__ import annotations

from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.routing import Route

from routes import kasus
from routes.akun import ROLE_NAMES
from services import identitas
from web import auth
from web.identity import identity_of
from web.render import db_of, render

REVIEW_REASONS = {
    "tanpa_foto": "Data kependudukan belum memiliki foto rujukan",
    "zona_tinjauan": "Kemiripan wajah di zona tinjauan",
    "duplikat_wajah": "Wajah mirip akun dengan NIK lain",
    "tanpa_liveness": "Foto tunggal tanpa pemeriksaan gerakan (tanpa kamera langsung)",
}


def _identity_officer(request: Request) -> dict:
    """Assisted activation is Disdukcapil's work: other officers do not see it (404)."""
    found = auth.require(request, "petugas")
    if found["instansi_jenis"] != "disdukcapil":
        raise HTTPException(404)
    return found


def officer_home(request: Request):
    found = auth.require(request, "petugas")
    reviews = []
    if found["instansi_jenis"] == "disdukcapil":
        reviews = identitas.q.reviews_for_region(db_of(request), found["wilayah_kode"])
    return render(request, "petugas.html", {"peran": ROLE_NAMES[found["peran"]], "tinjauan": reviews,
                                            "alasan": REVIEW_REASONS, "pesan": request.session.pop("pesan", None),
                                            **kasus.inbox_context(request, found)})


def _review(request: Request, officer: dict) -> dict:
    try:
        tinjauan_id = int(request.path_params["id"])
    except ValueError:
        raise HTTPException(404) from None
    review = identitas.q.get_review(db_of(request), tinjauan_id, officer["wilayah_kode"])
    if review is None:
        raise HTTPException(404)
    return review


def review_page(request: Request, pesan: str | None = None, status_code: int = 200):
    officer = _identity_officer(request)
    review = _review(request, officer)
    return render(request, "petugas_aktivasi.html", {"t": review, "alasan": REVIEW_REASONS, "pesan": pesan},
                  status_code=status_code)


async def activate(request: Request):
    officer = _identity_officer(request)
    review = _review(request, officer)
    form = await request.form()
    photo = form.get("foto")
    data = await photo.read() if isinstance(photo, UploadFile) else b""
    await form.close()
    outcome = await run_in_threadpool(identitas.activate_at_counter, identity_of(request), officer, review["id"],
                                      data, form.get("ktp_diperiksa") == "ya")
    if outcome.status != "aktif":
        return review_page(request, outcome.message, status_code=400)
    request.session["pesan"] = outcome.message
    return auth.redirect("/petugas")


async def reject(request: Request):
    officer = _identity_officer(request)
    review = _review(request, officer)
    form = await request.form()
    outcome = await run_in_threadpool(identitas.reject_at_counter, identity_of(request), officer, review["id"],
                                      str(form.get("alasan", ""))[:500])
    if outcome.message != "Pendaftaran ditolak.":
        return review_page(request, outcome.message, status_code=400)
    request.session["pesan"] = outcome.message
    return auth.redirect("/petugas")


routes = [
    Route("/petugas", officer_home, name="petugas"),
    Route("/petugas/aktivasi/{id}", review_page, name="petugas_aktivasi"),
    Route("/petugas/aktivasi/{id}", activate, methods=["POST"], name="petugas_aktivasi_kirim"),
    Route("/petugas/aktivasi/{id}/tolak", reject, methods=["POST"], name="petugas_aktivasi_tolak"),
]
