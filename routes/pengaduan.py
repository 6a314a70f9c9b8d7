"""Complaints: the public form (/pengaduan), tracking, and the officers' and region admin's handling;
and the satisfaction survey (SKM) after a finished transaction."""

from __future__ import annotations

from urllib.parse import quote

from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.routing import Route

from db import antrean as antrean_q
from db import katalog as katalog_q
from db import pengaduan as q
from db import permohonan as permohonan_q
from services import angka, kalender, skm
from services import pengaduan as svc
from web import auth
from web.identity import client_ip
from web.params import path_id
from web.render import db_of, render


def _form_context(request: Request, values: dict, errors: dict) -> dict:
    db = db_of(request)
    return {"v": values, "errors": errors, "daerah": svc.regions(db),
            "layanan": katalog_q.list_services(db)}


def complaint_form(request: Request):
    akun = request.scope.get("akun")
    permohonan_id = request.query_params.get("permohonan", "")
    values = {"isi": svc.prefill(db_of(request), akun, permohonan_id), "permohonan": permohonan_id,
              "wilayah": (akun or {}).get("wilayah_kode") or "", "layanan": "", "kontak": ""}
    chosen = angka.to_id(permohonan_id)
    if chosen is not None and akun and (p := permohonan_q.get(db_of(request), chosen)) and p["akun_id"] == akun["id"]:
        values.update(wilayah=p["wilayah_kode"], layanan=str(p["layanan_id"]))
    return render(request, "pengaduan.html", _form_context(request, values, {}))


async def complaint(request: Request):
    form = await request.form()
    values = {k: str(form.get(k, ""))[:4000] for k in ("isi", "wilayah", "layanan", "permohonan", "kontak")}
    sent = svc.already_filed(request.session.get("pengaduan_terkirim"), values)
    if sent is not None:  # the same complaint again from this browser: its page, not a second one
        request.session["pesan"] = (f"Pengaduan ini sudah terkirim dengan nomor {sent['nomor']}; "
                                    "tidak dikirim dua kali.")
        return auth.redirect(f"/pengaduan/{sent['nomor']}?kode={sent['kode']}")
    try:
        row = await run_in_threadpool(svc.file, db_of(request), values, request.scope.get("akun"), client_ip(request))
    except svc.ComplaintRefused as e:
        return render(request, "pengaduan.html", _form_context(request, values, e.errors), status_code=400)
    request.session["pengaduan_terkirim"] = svc.filed_note(row, values)
    return auth.redirect(f"/pengaduan/{row['nomor']}?kode={row['kode_lacak']}")


def _tracked(request: Request, kode: str) -> dict:
    """The complaint named in the path if ``kode`` is its tracking code; 404 otherwise, 429 after many wrong codes."""
    try:
        row = svc.track(db_of(request), request.path_params["nomor"], kode, client_ip(request))
    except svc.TrackingPaused:
        raise HTTPException(429) from None
    if row is None:
        raise HTTPException(404)
    return row


def open_by_number(request: Request):
    """The "Lacak pengaduan" form on /pengaduan: number and code typed by hand lead to the complaint's page."""
    nomor = svc.normalise_number(request.query_params.get("nomor", ""))
    kode = svc.normalise_code(request.query_params.get("kode", ""))
    if not nomor or not kode:
        values = {"isi": "", "permohonan": "", "wilayah": "", "layanan": "", "kontak": "",
                  "lacak_nomor": nomor, "lacak_kode": kode}
        missing = {"lacak-nomor" if not nomor else "lacak-kode":
                   "Isi nomor pengaduan dan kode pelacakan yang Anda terima saat mengadu."}
        return render(request, "pengaduan.html", {**_form_context(request, values, {}), "galat_lacak": missing},
                      status_code=400)
    return auth.redirect(f"/pengaduan/{quote(nomor, safe='')}?kode={quote(kode, safe='')}")


def tracking(request: Request):
    row = _tracked(request, request.query_params.get("kode", ""))
    return render(request, "pengaduan_lacak.html", {"a": row, "status": svc.STATUS,
                                                    "pesan": request.session.pop("pesan", None)})


async def confirm(request: Request):
    form = await request.form()
    row = await run_in_threadpool(_tracked, request, str(form.get("kode", "")))
    await run_in_threadpool(svc.confirm, db_of(request), row)
    return auth.redirect(f"/pengaduan/{row['nomor']}?kode={row['kode_lacak']}")


def handling(request: Request, message: str | None = None, status_code: int = 200):
    """Region admins see all complaints of the region (and forward them); officers their agency's."""
    who = auth.require(request, "petugas", "admin_wilayah")
    db = db_of(request)
    rows = q.for_region(db, who["wilayah_kode"], who["instansi_id"] if who["peran"] == "petugas" else None)
    today = kalender.region_today(db, who["wilayah_kode"])
    for r in rows:
        r["terlambat"] = svc.overdue(r, today)
    agencies = db.execute("SELECT id, nama FROM instansi WHERE wilayah_kode = ? ORDER BY nama",
                          [who["wilayah_kode"]]).fetchall()
    return render(request, "pengaduan_kelola.html", {"daftar": rows, "status": svc.STATUS, "instansi": agencies,
                                                     "galat": message}, status_code=status_code)


def handling_detail(request: Request):
    who = auth.require(request, "petugas", "admin_wilayah")
    row = _handled(request, who)
    return render(request, "pengaduan_detail.html", {"a": row, "status": svc.STATUS, "instansi": db_of(request).execute(
        "SELECT id, nama FROM instansi WHERE wilayah_kode = ? ORDER BY nama", [who["wilayah_kode"]]).fetchall()})


def _handled(request: Request, who: dict) -> dict:
    row = q.get(db_of(request), path_id(request))
    if row is None or row["wilayah_kode"] != who["wilayah_kode"] or \
            (who["peran"] == "petugas" and row["instansi_id"] != who["instansi_id"]):
        raise HTTPException(404)
    return row


async def handling_action(request: Request):
    who = auth.require(request, "petugas", "admin_wilayah")
    row = _handled(request, who)
    form = await request.form()
    try:
        if who["peran"] == "admin_wilayah":
            await run_in_threadpool(svc.forward, db_of(request), who, row["id"], angka.to_id(form.get("instansi")) or 0)
        else:
            await run_in_threadpool(svc.answer, db_of(request), who, row["id"], str(form.get("jawaban", "")))
    except svc.ComplaintRefused as e:
        return handling(request, next(iter(e.errors.values())), status_code=400)
    return auth.redirect("/petugas/pengaduan")


async def survey(request: Request):
    """One SKM per finished transaction: an application (selesai) or a served queue ticket."""
    akun = auth.require(request, "warga")
    form = await request.form()
    db = db_of(request)
    kind, _, ident = str(form.get("transaksi", "")).partition(":")
    target, back = None, "/akun"
    number = angka.to_id(ident)
    if kind == "permohonan" and number is not None:
        p = permohonan_q.get(db, number)
        if p and p["akun_id"] == akun["id"] and p["status"] == "selesai":
            target, back = (p["wilayah_kode"], p["instansi_id"], p["layanan_id"]), f"/permohonan/{p['id']}"
    elif kind == "tiket" and number is not None:
        t = antrean_q.get(db, number)
        if t and t["akun_id"] == akun["id"] and t["status"] == "dilayani":
            target, back = (t["wilayah_kode"], t["instansi_id"], t["layanan_id"]), f"/antrean/{t['id']}"
    if target is None:
        raise HTTPException(404)
    answers = {k: v for k, v in form.items() if isinstance(v, str)}
    try:
        await run_in_threadpool(skm.submit, db, f"{kind}:{number}", answers, *target)
        request.session["pesan"] = "Terima kasih, penilaian Anda tercatat."
    except skm.SurveyRefused as e:
        if e.errors:  # some left unanswered: the form again, with the answers given, naming each one missing
            return render(request, "skm.html", {
                "kembali": back, "transaksi": f"{kind}:{number}", "unsur": skm.ELEMENTS, "nilai": skm.ANSWERS,
                "skm_galat": e.errors, "skm_pilih": skm.given(answers)}, status_code=400)
        request.session["pesan"] = e.message
    return auth.redirect(back)


routes = [
    Route("/pengaduan", complaint_form, name="pengaduan"),
    Route("/pengaduan", complaint, methods=["POST"], name="pengaduan_kirim"),
    Route("/pengaduan/lacak", open_by_number, name="pengaduan_buka"),
    Route("/pengaduan/{nomor}", tracking, name="pengaduan_lacak"),
    Route("/pengaduan/{nomor}/selesai", confirm, methods=["POST"], name="pengaduan_selesai"),
    Route("/petugas/pengaduan", handling, name="pengaduan_kelola"),
    Route("/petugas/pengaduan/{id}", handling_detail, name="pengaduan_detail"),
    Route("/petugas/pengaduan/{id}", handling_action, methods=["POST"], name="pengaduan_tindakan"),
    Route("/skm", survey, methods=["POST"], name="skm"),
]
