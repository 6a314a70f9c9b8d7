"""The officers' workspace (petugas) and the admins' consoles."""

from __future__ import annotations

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.routing import Route

from routes import kasus
from routes.akun import ROLE_NAMES
from services import identitas, jaminan
from services.samaran import mask_phone
from web import auth, jobs
from web.identity import client_ip, identity_of
from web.params import path_id
from web.render import db_of, path_to, read_upload, render, with_form

REVIEW_REASONS = {
    "tanpa_foto": "Data kependudukan belum memiliki foto rujukan",
    "zona_tinjauan": "Kemiripan wajah di zona tinjauan",
    "duplikat_wajah": "Wajah mirip akun dengan NIK lain",
    "tanpa_liveness": "Foto tunggal tanpa pemeriksaan gerakan (tanpa kamera langsung)",
    "pad_tinjauan": "Pemeriksaan keaktifan meragukan (mungkin foto, cetakan, atau layar)",
}


def _identity_officer(request: Request) -> dict:
    """Assisted activation is Disdukcapil's work: other officers do not see it (404)."""
    return auth.require_agency(request, "disdukcapil")


def officer_home(request: Request):
    found = auth.require(request, "petugas")
    reviews = []
    if found["instansi_jenis"] == "disdukcapil":
        reviews = identitas.reviews_waiting(db_of(request), found["wilayah_kode"])
    return render(request, "petugas.html", {"peran": ROLE_NAMES[found["peran"]], "tinjauan": reviews,
                                            "alasan": REVIEW_REASONS, "pesan": request.session.pop("pesan", None),
                                            **kasus.inbox_context(request, found)})


def _review(request: Request, officer: dict) -> dict:
    review = identitas.review_in_region(db_of(request), path_id(request), officer["wilayah_kode"])
    if review is None:
        raise HTTPException(404)
    return review


def review_page(request: Request, pesan: str | None = None, status_code: int = 200):
    officer = _identity_officer(request)
    review = _review(request, officer)
    return render(request, "petugas_aktivasi.html", {"t": review, "alasan": REVIEW_REASONS, "pesan": pesan},
                  status_code=status_code)


def _photo(form, name: str = "foto") -> bytes:
    """The counter's photo, read and its spooled file closed before the face work (b"" when none was sent)."""
    return read_upload(form.get(name)) or b""


@with_form
def activate(request: Request, form):
    officer = _identity_officer(request)
    review = _review(request, officer)
    outcome = identitas.activate_at_counter(identity_of(request), officer, review["id"], _photo(form),
                                            form.get("ktp_diperiksa") == "ya")
    if outcome.status != "aktif":
        return review_page(request, outcome.message, status_code=400)
    request.session["pesan"] = outcome.message
    return auth.redirect(path_to(request, "petugas"))


@with_form
def reject(request: Request, form):
    officer = _identity_officer(request)
    review = _review(request, officer)
    outcome = identitas.reject_at_counter(identity_of(request), officer, review["id"],
                                          str(form.get("alasan", ""))[:500])
    if outcome.status != "ditolak":
        return review_page(request, outcome.message, status_code=400)
    request.session["pesan"] = outcome.message
    return auth.redirect(path_to(request, "petugas"))


def _desk_page(request: Request, view=None, pesan: str | None = None, status_code: int = 200):
    return render(request, "petugas_identitas.html", {
        "v": view, "galat": pesan, "tingkat": jaminan.NAMES, "kanal": jaminan.CHANNELS,
        "telepon": mask_phone(view.akun["telepon"]) if view and view.akun else "",
        "info": request.session.pop("pesan", None)}, status_code=status_code)


def desk(request: Request):
    _identity_officer(request)
    return _desk_page(request)


@with_form
def desk_lookup(request: Request, form):
    """Looking a NIK up is itself recorded: who looked at whose identity, when."""
    officer = _identity_officer(request)
    view = identitas.desk_lookup_audited(identity_of(request), officer, str(form.get("nik", ""))[:40])
    if view.resident is None:
        return _desk_page(request, None, "NIK tidak ditemukan di data kependudukan. Periksa 16 angka pada KTP-el.",
                          400)
    return _desk_page(request, view)


def _desk_action(request: Request, form, action, photo: bool = False):
    """Run one identity-desk action (a service call giving ``(ok, message)``) and show the NIK again."""
    officer = _identity_officer(request)
    data = _photo(form) if photo else b""
    fields = {k: str(v)[:128] for k, v in form.items() if isinstance(v, str)}
    idn = identity_of(request)
    ok, message = action(idn, officer, fields, data, client_ip(request))
    view = identitas.desk_lookup(idn, fields.get("nik", ""))
    if not ok:
        return _desk_page(request, view if view.resident else None, message, 400)
    request.session["pesan"] = message
    jobs.wake_outbox(request)
    return _desk_page(request, view)


def _in_person(idn, officer, f: dict, photo: bytes, ip: str) -> tuple[bool, str]:
    out = identitas.verify_in_person(idn, officer, f.get("nik", ""), photo, f.get("ktp_diperiksa") == "ya")
    return out.status == "aktif", out.message


def _send_code(idn, officer, f: dict, photo: bytes, ip: str) -> tuple[bool, str]:
    out = identitas.send_counter_code(idn, officer, f.get("nik", ""), f.get("telepon", ""), ip)
    return out.ok, out.message


def _reclaim(idn, officer, f: dict, photo: bytes, ip: str) -> tuple[bool, str]:
    out = identitas.reclaim(idn, officer, identitas.ReclaimInput(
        nik=f.get("nik", ""), telepon=f.get("telepon", ""), kode=f.get("kode", ""),
        kata_sandi=f.get("kata_sandi", ""), photo=photo, ktp_checked=f.get("ktp_diperiksa") == "ya"))
    return out.status == "aktif", out.message


@with_form
def desk_in_person(request: Request, form):
    return _desk_action(request, form, _in_person, photo=True)


@with_form
def desk_code(request: Request, form):
    return _desk_action(request, form, _send_code)


@with_form
def desk_reclaim(request: Request, form):
    return _desk_action(request, form, _reclaim, photo=True)


routes = [
    Route("/petugas", officer_home, name="petugas"),
    Route("/petugas/aktivasi/{id}", review_page, name="petugas_aktivasi"),
    Route("/petugas/aktivasi/{id}", activate, methods=["POST"], name="petugas_aktivasi_kirim"),
    Route("/petugas/aktivasi/{id}/tolak", reject, methods=["POST"], name="petugas_aktivasi_tolak"),
    Route("/petugas/identitas", desk, name="petugas_identitas"),
    Route("/petugas/identitas", desk_lookup, methods=["POST"], name="petugas_identitas_cari"),
    Route("/petugas/identitas/tatap-muka", desk_in_person, methods=["POST"], name="petugas_identitas_tatap_muka"),
    Route("/petugas/identitas/kode", desk_code, methods=["POST"], name="petugas_identitas_kode"),
    Route("/petugas/identitas/klaim", desk_reclaim, methods=["POST"], name="petugas_identitas_klaim"),
]
