"""The consoles at /admin: the ministry's national overview, and a region admin's own MPP.

A region admin reaches only ``/admin/<their region>/…``; another region, or an object of
another region sent in a form, is a 404 — never a 403 that would say it exists.
"""

from __future__ import annotations

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.routing import Route

from services import admin_wilayah as svc
from services import angka, pemantauan, penyiapan
from web import auth
from web.params import query_id
from web.render import db_of, render, with_form


def home(request: Request):
    found = auth.require(request, "admin_wilayah", "kementerian")
    db = db_of(request)
    if found["peran"] == "kementerian":
        return render(request, "admin_nasional.html", pemantauan.console_overview(db))
    region = _own(request, found["wilayah_kode"])
    return render(request, "admin_dasbor.html", {"w": region, "bagian": "dasbor", **svc.dashboard(db, region["kode"])})


def _own(request: Request, kode: str) -> dict:
    admin = auth.require(request, "admin_wilayah")
    return svc.region(db_of(request), admin, kode)


def _page(request: Request, template: str, bagian: str, context: dict, status_code: int = 200):
    return render(request, template, {"bagian": bagian, "pesan": request.session.pop("pesan", None),
                                      "errors": {}, **context}, status_code=status_code)


def _post(request: Request, form, action, done_message: str, page):
    """Run one admin change; 404 for another region's object, the page again with errors on a refusal."""
    region = _own(request, request.path_params["kode"])
    admin = request.scope["akun"]
    try:
        action(db_of(request), admin, region["kode"], form)
    except svc.Refused as e:
        values = {**dict(form), "jabatan": form.getlist("jabatan")}
        return page(request, errors=e.errors, values=values, status_code=400)
    request.session["pesan"] = done_message
    return auth.redirect(request.url.path)


# ------------------------------------------------------------------ profile

def profile(request: Request, errors: dict | None = None, values: dict | None = None, status_code: int = 200):
    region = _own(request, request.path_params["kode"])
    v = values or svc.profile_values(db_of(request), region["kode"], region["nama"])
    return _page(request, "admin_profil.html", "profil", {"w": region, "v": v, "errors": errors or {}}, status_code)


@with_form
def profile_save(request: Request, form):
    return _post(request, form, svc.save_profile, "Profil MPP disimpan.", profile)


# ------------------------------------------------------------------ agencies

def agencies(request: Request, errors: dict | None = None, values: dict | None = None, status_code: int = 200):
    region = _own(request, request.path_params["kode"])
    return _page(request, "admin_instansi.html", "instansi",
                 {"w": region, **svc.agencies_page(db_of(request), region["kode"]), "v": values or {},
                  "errors": errors or {}}, status_code)


def _agency_action(db, admin, kode, form):
    if form.get("aksi") == "tambah":
        region = svc.region(db, admin, kode)
        return svc.add_agency(db, admin, kode, region["nama"], form)
    return svc.rename_agency(db, admin, kode, form)


@with_form
def agencies_save(request: Request, form):
    return _post(request, form, _agency_action, "Instansi disimpan.", agencies)


# ------------------------------------------------------------------ counters

def counters(request: Request, errors: dict | None = None, values: dict | None = None, status_code: int = 200):
    region = _own(request, request.path_params["kode"])
    page = svc.counters_page(db_of(request), region["kode"], query_id(request))
    if page is None:
        raise HTTPException(404)
    if values is not None:
        page["v"] = values
    return _page(request, "admin_gerai.html", "gerai", {"w": region, **page, "errors": errors or {}}, status_code)


@with_form
def counters_save(request: Request, form):
    return _post(request, form, svc.save_counter, "Gerai disimpan.", counters)


# ------------------------------------------------------------------ services

def services(request: Request, errors: dict | None = None, values: dict | None = None, status_code: int = 200):
    region = _own(request, request.path_params["kode"])
    db = db_of(request)
    chosen = query_id(request)
    if values is not None:
        chosen = angka.to_id(values.get("id"))
    edit = svc.service_values(db, region["kode"], chosen) if chosen is not None else None
    if chosen is not None and edit is None:
        raise HTTPException(404)
    if edit is not None and values is not None:
        edit = {**edit, "aktif": values.get("aktif") == "1", "biaya": values.get("biaya", ""),
                "biaya_keterangan": values.get("biaya_keterangan", ""),
                "persyaratan_tambahan": str(values.get("persyaratan_tambahan", "")).splitlines()}
    return _page(request, "admin_layanan.html", "layanan", {
        "w": region, "layanan": [] if edit else svc.services_page(db, region["kode"]), "edit": edit,
        "errors": errors or {}}, status_code)


@with_form
def services_save(request: Request, form):
    return _post(request, form, svc.save_service, "Pengaturan layanan disimpan.", services)


# ------------------------------------------------------------------ officers

def officers(request: Request, errors: dict | None = None, values: dict | None = None, status_code: int = 200):
    region = _own(request, request.path_params["kode"])
    chosen = query_id(request)
    if values and values.get("aksi") == "ubah" and angka.to_id(values.get("id")) is not None:
        chosen = angka.to_id(values["id"])
    page = svc.officers_page(db_of(request), region["kode"], chosen)
    if page is None:
        raise HTTPException(404)
    return _page(request, "admin_petugas.html", "petugas",
                 {"w": region, **page, "v": values or {}, "errors": errors or {}}, status_code)


def _officer_action(db, admin, kode, form):
    if form.get("aksi") == "ubah":
        return svc.update_officer(db, admin, kode, form)
    return svc.create_officer(db, admin, kode, form)


@with_form
def officers_save(request: Request, form):
    return _post(request, form, _officer_action, "Data petugas disimpan.", officers)


# ------------------------------------------------------------------ holidays

def holidays(request: Request, errors: dict | None = None, values: dict | None = None, status_code: int = 200):
    region = _own(request, request.path_params["kode"])
    return _page(request, "admin_libur.html", "libur", {
        "w": region, **svc.holidays_page(db_of(request), region["kode"]), "v": values or {},
        "errors": errors or {}}, status_code)


def _holiday_action(db, admin, kode, form):
    if form.get("aksi") == "hapus":
        return svc.delete_holiday(db, admin, kode, form)
    return svc.add_holiday(db, admin, kode, form)


@with_form
def holidays_save(request: Request, form):
    return _post(request, form, _holiday_action, "Kalender libur daerah disimpan.", holidays)


# ------------------------------------------------------------------ criteria

def criteria(request: Request, errors: dict | None = None, values: dict | None = None, status_code: int = 200):
    region = _own(request, request.path_params["kode"])
    return _page(request, "admin_kriteria.html", "kriteria", {
        "w": region, "kriteria": pemantauan.criteria_for(db_of(request), region["kode"]),
        "errors": errors or {}}, status_code)


@with_form
def criteria_save(request: Request, form):
    return _post(request, form, svc.attest, "Atestasi kriteria disimpan.", criteria)


# ------------------------------------------------------------------ opening the region to citizens

def open_page(request: Request, errors: dict | None = None, values: dict | None = None, status_code: int = 200):
    admin = auth.require(request, "admin_wilayah")
    page = penyiapan.open_page(db_of(request), admin, request.path_params["kode"])
    return _page(request, "penyiapan_buka.html", "buka", {**page, "errors": errors or {}}, status_code)


@with_form
def open_save(request: Request, form):
    return _post(request, form, penyiapan.open_to_citizens, "Layanan digital MPP dibuka untuk warga.", open_page)


routes = [
    Route("/admin", home, name="admin"),
    Route("/admin/{kode}/profil", profile, name="admin_profil"),
    Route("/admin/{kode}/profil", profile_save, methods=["POST"], name="admin_profil_kirim"),
    Route("/admin/{kode}/instansi", agencies, name="admin_instansi"),
    Route("/admin/{kode}/instansi", agencies_save, methods=["POST"], name="admin_instansi_kirim"),
    Route("/admin/{kode}/gerai", counters, name="admin_gerai"),
    Route("/admin/{kode}/gerai", counters_save, methods=["POST"], name="admin_gerai_kirim"),
    Route("/admin/{kode}/layanan", services, name="admin_layanan"),
    Route("/admin/{kode}/layanan", services_save, methods=["POST"], name="admin_layanan_kirim"),
    Route("/admin/{kode}/petugas", officers, name="admin_petugas"),
    Route("/admin/{kode}/petugas", officers_save, methods=["POST"], name="admin_petugas_kirim"),
    Route("/admin/{kode}/libur", holidays, name="admin_libur"),
    Route("/admin/{kode}/libur", holidays_save, methods=["POST"], name="admin_libur_kirim"),
    Route("/admin/{kode}/kriteria", criteria, name="admin_kriteria"),
    Route("/admin/{kode}/kriteria", criteria_save, methods=["POST"], name="admin_kriteria_kirim"),
    Route("/admin/{kode}/buka", open_page, name="admin_buka"),
    Route("/admin/{kode}/buka", open_save, methods=["POST"], name="admin_buka_kirim"),
]
