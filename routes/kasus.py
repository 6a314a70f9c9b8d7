"""Officers' cases: the agency inbox with SLA badges, a case page, and the actions on it."""

from __future__ import annotations

import datetime as dt

from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.routing import Route

from db import audit
from db import permohonan as q
from integrations.http import ServiceUnavailable
from routes.permohonan import _file_response
from services import angka, dokumen, identitas, jaminan, kalender
from services import permohonan as svc
from web import auth
from web.params import path_id
from web.pelayanan import pelayanan_of
from web.render import db_of, render

PAGE = 50


def inbox_context(request: Request, officer: dict) -> dict:
    """The officer's inbox: their agency in their region only, oldest first, filterable."""
    db = db_of(request)
    params = request.query_params
    status = params.get("status") if params.get("status") in svc.STATUS else None
    layanan_id = angka.to_id(params.get("layanan", "")) or None
    page = angka.to_int(params.get("hal", ""), 1, 10_000) or 1
    today = kalender.region_today(db, officer["wilayah_kode"])
    rows = q.inbox(db, officer["instansi_id"], status, layanan_id,
                   today.isoformat() if params.get("terlambat") == "1" else None, PAGE, (page - 1) * PAGE)
    for r in rows:
        r["terlambat"] = svc.overdue(r, today)
        r["sisa"] = kalender.working_days_between(db, officer["wilayah_kode"], today,
                                                  dt.date.fromisoformat(r["tenggat"])) if r["tenggat"] else None
    return {"kasus": rows, "status": svc.STATUS, "layanan": q.services_of_agency(db, officer["instansi_id"]),
            "filter": {"status": status or "", "layanan": layanan_id or "", "terlambat": params.get("terlambat") == "1"},
            "hal": page, "ada_berikut": len(rows) == PAGE}


def _case(request: Request) -> tuple[dict, dict]:
    officer = auth.require(request, "petugas")
    p = svc.for_officer(db_of(request), officer, path_id(request))
    if p is None:
        raise HTTPException(404)  # another agency's or region's case does not exist for this officer
    return officer, p


def case_page(request: Request, message: str | None = None, status_code: int = 200, revoking: dict | None = None):
    officer, p = _case(request)
    db = db_of(request)
    if message is None:
        audit.append(db, officer["id"], "buka", f"permohonan:{p['id']}", {})
    known = identitas.assurance(db, p["akun_id"])
    return render(request, "kasus.html", {
        "p": p, "status": svc.STATUS, "berkas": q.files(db, p["id"]), "riwayat": q.timeline(db, p["id"]),
        "audit": audit.for_object(db, f"permohonan:{p['id']}"), "wajah": known["wajah"], "pesan": message,
        "tingkat": jaminan.NAMES.get(p["pemohon_tingkat"], p["pemohon_tingkat"]), "nama_tingkat": jaminan.SHORT,
        "jaminan": known["riwayat"], "kanal": jaminan.CHANNELS,
        "cukup_terbit": jaminan.meets(p["pemohon_tingkat"], svc.issue_level(p)),
        "hasil_wajah": jaminan.FACE_RESULTS, "tujuan_wajah": jaminan.FACE_PURPOSES,
        "jabatan": officer["jabatan"].split(","),
        "dokumen": dokumen.of_application(db, p["id"]), "alasan_cabut": dokumen.OFFICER_REASONS,
        "isian_cabut": revoking or {},
    }, status_code=status_code)


async def act(request: Request):
    officer, p = _case(request)
    form = await request.form()
    try:
        await run_in_threadpool(svc.officer_action, pelayanan_of(request), officer, p, str(form.get("aksi", "")),
                                str(form.get("alasan", "")), [str(v) for v in form.getlist("kolom")])
    except svc.ActionRefused as e:
        return case_page(request, e.message, status_code=400)
    except ServiceUnavailable:  # SISDMK (the STR check) did not answer: nothing changed
        return case_page(request, "SISDMK (data STR tenaga kesehatan) sedang tidak dapat dihubungi, sehingga "
                                  "tindakan ini belum dijalankan; status permohonan tidak berubah. Coba lagi "
                                  "beberapa menit lagi.", status_code=503)
    request.session["pesan"] = f"Permohonan {p['nomor']}: {svc.STATUS[q.get(db_of(request), p['id'])['status']].lower()}."
    return auth.redirect("/petugas")


async def revoke(request: Request):
    form = await request.form()
    entered = {"kategori": str(form.get("kategori", "")), "catatan": str(form.get("catatan", ""))}
    return await run_in_threadpool(_revoke, request, entered)


def _revoke(request: Request, entered: dict):
    officer, p = _case(request)
    try:
        request.session["pesan"] = dokumen.revoke(db_of(request), officer, p, entered["kategori"], entered["catatan"])
    except dokumen.Refused as e:
        return case_page(request, e.message, status_code=400, revoking=entered)
    return auth.redirect("/petugas")


def case_file(request: Request):
    _, p = _case(request)
    return _file_response(db_of(request), p["id"], request.path_params["berkas_id"])


routes = [
    Route("/petugas/permohonan/{id}", case_page, name="kasus"),
    Route("/petugas/permohonan/{id}/tindakan", act, methods=["POST"], name="kasus_tindakan"),
    Route("/petugas/permohonan/{id}/cabut", revoke, methods=["POST"], name="kasus_cabut"),
    Route("/petugas/permohonan/{id}/berkas/{berkas_id}", case_file, name="kasus_berkas"),
]
