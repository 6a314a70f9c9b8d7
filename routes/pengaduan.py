"""Complaints: the public form (/pengaduan), tracking, and the officers' and region admin's handling;
and the satisfaction survey (SKM) after a finished transaction."""

from __future__ import annotations

from urllib.parse import quote

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.routing import Route

from services import angka, skm
from services import pengaduan as svc
from web import auth
from web.identity import client_ip
from web.params import path_id
from web.render import db_of, path_to, render, spool_of, with_form


def _tracking_path(request: Request, nomor: str, kode: str) -> str:
    """The complaint's own page, its tracking code in the query."""
    return f"{path_to(request, 'pengaduan_lacak', nomor=quote(nomor, safe=''))}?kode={quote(kode, safe='')}"


def complaint_form(request: Request):
    context = svc.new_form(db_of(request), request.scope.get("akun"), request.query_params.get("permohonan", ""))
    return render(request, "pengaduan.html", context)


@with_form
def complaint(request: Request, form):
    values = {k: str(form.get(k, ""))[:4000] for k in ("isi", "wilayah", "layanan", "permohonan", "kontak")}
    sent = svc.already_filed(request.session.get("pengaduan_terkirim"), values)
    if sent is not None:  # the same complaint again from this browser: its page, not a second one
        request.session["pesan"] = (f"Pengaduan ini sudah terkirim dengan nomor {sent['nomor']}; "
                                    "tidak dikirim dua kali.")
        return auth.redirect(_tracking_path(request, sent["nomor"], sent["kode"]))
    try:
        row = svc.file(db_of(request), values, request.scope.get("akun"), client_ip(request))
    except svc.ComplaintRefused as e:
        return render(request, "pengaduan.html", svc.form_page(db_of(request), values, e.errors), status_code=400)
    request.session["pengaduan_terkirim"] = svc.filed_note(row, values)
    return auth.redirect(_tracking_path(request, row["nomor"], row["kode_lacak"]))


def _tracked(request: Request, find, kode: str) -> dict:
    """``find(db, nomor, kode, client)`` on the complaint named in the path: 404 when the code is not its
    tracking code, 429 after many wrong codes."""
    try:
        row = find(db_of(request), request.path_params["nomor"], kode, client_ip(request))
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
        return render(request, "pengaduan.html", {**svc.form_page(db_of(request), values, {}), "galat_lacak": missing},
                      status_code=400)
    return auth.redirect(_tracking_path(request, nomor, kode))


def tracking(request: Request):
    """The complaint's page (a GET: a wrong code is counted in the spool, not in SQLite; services/jejak.py)."""
    spool = spool_of(request)
    row = _tracked(request, lambda db, nomor, kode, client: svc.track(db, nomor, kode, client, spool),
                   request.query_params.get("kode", ""))
    return render(request, "pengaduan_lacak.html", {"a": row, "status": svc.STATUS,
                                                    "pesan": request.session.pop("pesan", None)})


@with_form
def confirm(request: Request, form):
    row = _tracked(request, svc.confirm_tracked, str(form.get("kode", "")))
    return auth.redirect(_tracking_path(request, row["nomor"], row["kode_lacak"]))


def handling(request: Request, message: str | None = None, status_code: int = 200):
    """Region admins see all complaints of the region (and forward them); officers their agency's."""
    who = auth.require(request, "petugas", "admin_wilayah")
    return render(request, "pengaduan_kelola.html", {**svc.handling_page(db_of(request), who), "galat": message},
                  status_code=status_code)


def handling_detail(request: Request):
    who = auth.require(request, "petugas", "admin_wilayah")
    context = svc.detail_page(db_of(request), who, path_id(request))
    return render(request, "pengaduan_detail.html", context)


@with_form
def handling_action(request: Request, form):
    who = auth.require(request, "petugas", "admin_wilayah")
    try:
        svc.handle(db_of(request), who, path_id(request), angka.to_id(form.get("instansi")) or 0,
                   str(form.get("jawaban", "")))
    except svc.ComplaintRefused as e:
        return handling(request, next(iter(e.errors.values())), status_code=400)
    return auth.redirect(path_to(request, "pengaduan_kelola"))


_SURVEYED = {"permohonan": "permohonan", "tiket": "tiket"}  # a transaction's kind -> the route of its page


@with_form
def survey(request: Request, form):
    """One SKM per finished transaction: an application (selesai) or a served queue ticket."""
    akun = auth.require(request, "warga")
    answers = {k: v for k, v in form.items() if isinstance(v, str)}
    target, refused = skm.rate(db_of(request), akun, str(form.get("transaksi", "")), answers)  # else 404
    back = path_to(request, _SURVEYED[target.jenis], id=target.id)
    if refused is not None and refused.errors:  # some left unanswered: the form again, naming each one missing
        return render(request, "skm.html", {
            "kembali": back, "transaksi": target.key, "unsur": skm.ELEMENTS, "nilai": skm.ANSWERS,
            "skm_galat": refused.errors, "skm_pilih": skm.given(answers)}, status_code=400)
    request.session["pesan"] = refused.message if refused else "Terima kasih, penilaian Anda tercatat."
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
