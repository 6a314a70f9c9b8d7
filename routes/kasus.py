"""Officers' cases: the agency inbox with SLA badges, a case page, and the actions on it."""

from __future__ import annotations

import logging

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.routing import Route

import services
from routes.permohonan import file_response
from services import angka, dokumen, jaminan
from services import permohonan as svc
from web import auth, jobs
from web.params import path_id
from web.pelayanan import pelayanan_of
from web.render import db_of, path_to, render, spool_of, with_form

PAGE = 50
log = logging.getLogger("mpp.kasus")
SISDMK_DOWN = ("SISDMK (data STR tenaga kesehatan) sedang tidak dapat dihubungi, sehingga tindakan ini belum "
               "dijalankan; status permohonan tidak berubah. Coba lagi beberapa menit lagi.")


def inbox_context(request: Request, officer: dict) -> dict:
    """The officer's inbox: their agency in their region only, oldest first, filterable."""
    params = request.query_params
    status = params.get("status") if params.get("status") in svc.STATUS else None
    layanan_id = angka.to_id(params.get("layanan", "")) or None
    page = angka.to_int(params.get("hal", ""), 1, 10_000) or 1
    overdue_only = params.get("terlambat") == "1"
    # the page links name the case they continue from (keyset); ``hal`` alone still pages by counting
    after, before = angka.to_id(params.get("setelah", "")), angka.to_id(params.get("sebelum", ""))
    found = svc.inbox(db_of(request), officer, status, layanan_id, overdue_only, page, PAGE, after, before)
    kept = {"status": status or "", "layanan": layanan_id or "", "terlambat": "1" if overdue_only else ""}
    return {**found, "status": svc.STATUS, "hal": page, "saring": "".join(f"&{k}={v}" for k, v in kept.items() if v),
            "filter": {"status": status or "", "layanan": layanan_id or "", "terlambat": overdue_only}}


def _case(request: Request) -> tuple[dict, dict]:
    officer = auth.require(request, "petugas")
    p = svc.for_officer(db_of(request), officer, path_id(request))
    if p is None:
        raise HTTPException(404)  # another agency's or region's case does not exist for this officer
    return officer, p


def case_page(request: Request):
    """The case page; opening it is recorded in the audit log (the citizen sees who opened their application)."""
    officer, p = _case(request)
    page = svc.open_case(db_of(request), spool_of(request), officer, p)
    jobs.wake_spool(request)  # into the audit log now (on a replica: to the primary), not at the next round
    return _render_case(request, page)


def _refused(request: Request, officer: dict, p: dict, message: str, status_code: int = 400,
             entered: dict | None = None, galat: dict | None = None, revoking: dict | None = None):
    """The case page again after a refused POST: the message, what was typed, and (when the message is about
    one field) the message beside that field. Not audited as an opening."""
    return _render_case(request, svc.case_page(db_of(request), officer, p, spool_of(request)), message, status_code,
                        entered=entered, galat=galat, revoking=revoking)


def _render_case(request: Request, page: dict, message: str | None = None, status_code: int = 200, *,
                 entered: dict | None = None, galat: dict | None = None, revoking: dict | None = None):
    return render(request, "kasus.html", {
        **page, "status": svc.STATUS, "pesan": message, "nama_tingkat": jaminan.SHORT, "kanal": jaminan.CHANNELS,
        "hasil_wajah": jaminan.FACE_RESULTS, "tujuan_wajah": jaminan.FACE_PURPOSES,
        "alasan_cabut": dokumen.OFFICER_REASONS, "isian_cabut": revoking or {},
        "isian_tindakan": entered or {}, "galat": galat or {},
    }, status_code=status_code)


@with_form
def act(request: Request, form):
    officer, p = _case(request)
    entered = {"aksi": str(form.get("aksi", "")), "alasan": str(form.get("alasan", "")),
               "kolom": [str(v) for v in form.getlist("kolom")]}
    try:
        new_status = svc.officer_action(pelayanan_of(request), officer, p, entered["aksi"], entered["alasan"],
                                        entered["kolom"])
    except svc.ActionRefused as e:
        galat = {f"{e.field}-{entered['aksi']}": e.message} if e.field else {}  # by the id of the field's element
        return _refused(request, officer, p, e.message, entered=entered, galat=galat)
    except services.Unavailable:  # SISDMK (the STR check) did not answer: nothing changed
        return _refused(request, officer, p, SISDMK_DOWN, status_code=503, entered=entered)
    if new_status == "selesai":
        _seal_now(request, p["id"])
    request.session["pesan"] = f"Permohonan {p['nomor']}: {svc.STATUS[new_status].lower()}."
    return auth.redirect(path_to(request, "petugas"))


def _seal_now(request: Request, permohonan_id: int) -> None:
    """The issued document's PDF, sealed and kept now (its download, a GET, only reads); when the seal service or
    storage is down, the primary's background job does it (``dokumen.seal_waiting``)."""
    settings = request.app.state.settings
    try:
        dokumen.keep_sealed(db_of(request), request.app.state.tte, request.app.state.deps.objects, permohonan_id,
                            lambda token: settings.url(path_to(request, "verifikasi", token=token)))
    except services.Unavailable:
        log.warning("PDF permohonan %s belum disegel; dicoba lagi oleh tugas latar", permohonan_id)


@with_form
def revoke(request: Request, form):
    officer, p = _case(request)
    entered = {"kategori": str(form.get("kategori", "")), "catatan": str(form.get("catatan", ""))}
    try:
        request.session["pesan"] = dokumen.revoke(db_of(request), officer, p, entered["kategori"], entered["catatan"])
    except dokumen.Refused as e:
        galat = {f"{e.field}-cabut": e.message} if e.field else {}
        return _refused(request, officer, p, e.message, revoking=entered, galat=galat)
    return auth.redirect(path_to(request, "petugas"))


def case_file(request: Request):
    _, p = _case(request)
    return file_response(request, p)


routes = [
    Route("/petugas/permohonan/{id}", case_page, name="kasus"),
    Route("/petugas/permohonan/{id}/tindakan", act, methods=["POST"], name="kasus_tindakan"),
    Route("/petugas/permohonan/{id}/cabut", revoke, methods=["POST"], name="kasus_cabut"),
    Route("/petugas/permohonan/{id}/berkas/{berkas_id}", case_file, name="kasus_berkas"),
]
