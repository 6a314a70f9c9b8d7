"""A region admin designs the region's own services: /admin/<region>/layanan-daerah.

Plain forms (add a field, move it up or down, edit, remove); every page works without JavaScript. Another
region's service is a 404.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.routing import Route

from services import rancang as svc
from services.admin_wilayah import Refused
from web import auth
from web.params import path_id
from web.render import db_of, path_to, render, with_form


def _admin(request: Request) -> tuple[dict, str]:
    return auth.require(request, "admin_wilayah"), request.path_params["kode"]


def _page(request: Request, template: str, context: dict, errors: dict | None = None, status_code: int = 200):
    return render(request, template, {"bagian": "rancang", "pesan": request.session.pop("pesan", None),
                                      "errors": errors or {}, **context}, status_code=status_code)


def index(request: Request, errors: dict | None = None, values: dict | None = None, status_code: int = 200):
    admin, kode = _admin(request)
    w = svc.region(db_of(request), admin, kode)
    return _page(request, "rancang_daftar.html", {"w": w, "v": values or {}, **svc.list_page(db_of(request), kode)},
                 errors, status_code)


@with_form
def create(request: Request, form):
    admin, kode = _admin(request)
    try:
        new_id = svc.create(db_of(request), admin, kode, form)
    except Refused as e:
        return index(request, e.errors, dict(form), status_code=400)
    return auth.redirect(path_to(request, "admin_rancang_ubah", kode=kode, id=new_id))


def edit(request: Request, errors: dict | None = None, values: dict | None = None, status_code: int = 200):
    admin, kode = _admin(request)
    db = db_of(request)
    page = svc.edit_page(db, admin, kode, path_id(request))
    chosen = (values or {}).get("kolom") or request.query_params.get("kolom", "")
    page["ubah_kolom"] = next((f for f in page["s"]["formulir"] if f["nama"] == chosen), None)
    return _page(request, "rancang_ubah.html", {"w": svc.region(db, admin, kode), "v": values or {}, **page},
                 errors, status_code)


def _change(request: Request, form, action, done: str):
    admin, kode = _admin(request)
    rancangan_id = path_id(request)
    try:
        action(db_of(request), admin, kode, rancangan_id, form)
    except Refused as e:
        return edit(request, e.errors, dict(form), status_code=400)
    request.session["pesan"] = done
    return auth.redirect(path_to(request, "admin_rancang_ubah", kode=kode, id=rancangan_id))


@with_form
def save(request: Request, form):
    return _change(request, form, svc.save_general, "Rancangan disimpan. Terbitkan bila sudah siap.")


@with_form
def field(request: Request, form):
    return _change(request, form, svc.change_field, "Formulir rancangan disimpan.")


@with_form
def publish(request: Request, form):
    admin, kode = _admin(request)
    rancangan_id = path_id(request)
    try:
        versi = svc.publish(db_of(request), admin, kode, rancangan_id)
    except Refused as e:
        return edit(request, e.errors, {}, status_code=400)
    request.session["pesan"] = f"Versi {versi} terbit: warga kini dapat menemukan dan mengajukan layanan ini. " \
                               "Permohonan yang sudah dimulai tetap memakai versi sebelumnya."
    return auth.redirect(path_to(request, "admin_rancang_ubah", kode=kode, id=rancangan_id))


@with_form
def retire(request: Request, form):
    return _change(request, form, svc.retire, "Layanan dihentikan. Permohonan yang sedang berjalan tetap diproses; "
                                              "riwayatnya tetap tersimpan.")


def preview(request: Request):
    admin, kode = _admin(request)
    page = svc.preview(db_of(request), admin, kode, path_id(request))
    back = path_to(request, "admin_rancang_ubah", kode=kode, id=page["r"]["id"])
    if request.query_params.get("bagian") == "formulir":
        return render(request, "permohonan_isi.html", {"p": page["p"], "berkas": {}, "perbaiki": [], "errors": {},
                                                       "tautan": {}, "pratinjau": back, "dukcapil": page["dukcapil"]})
    return render(request, "layanan_detail.html", {"s": page["s"], "keluarga": [], "pratinjau": back})


routes = [
    Route("/admin/{kode}/layanan-daerah", index, name="admin_rancang"),
    Route("/admin/{kode}/layanan-daerah", create, methods=["POST"], name="admin_rancang_buat"),
    Route("/admin/{kode}/layanan-daerah/{id}", edit, name="admin_rancang_ubah"),
    Route("/admin/{kode}/layanan-daerah/{id}", save, methods=["POST"], name="admin_rancang_simpan"),
    Route("/admin/{kode}/layanan-daerah/{id}/kolom", field, methods=["POST"], name="admin_rancang_kolom"),
    Route("/admin/{kode}/layanan-daerah/{id}/terbitkan", publish, methods=["POST"], name="admin_rancang_terbitkan"),
    Route("/admin/{kode}/layanan-daerah/{id}/hentikan", retire, methods=["POST"], name="admin_rancang_hentikan"),
    Route("/admin/{kode}/layanan-daerah/{id}/pratinjau", preview, name="admin_rancang_pratinjau"),
]
