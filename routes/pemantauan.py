"""National monitoring (/pemantauan): the MPP rollout as public open data with a CSV for
each table; criteria, performance, the import of the real list and onboarding a region (penyiapan
daerah: its MPP profile, agencies and manager account) for the ministry only."""

from __future__ import annotations

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from services import pemantauan as svc
from services import pengaduan, penyiapan
from web import auth
from web.render import db_of, path_to, read_upload, render, with_form


def _csv(text: str, name: str) -> Response:
    return Response(text.encode("utf-8"), media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f'inline; filename="{name}"'})


def overview(request: Request):
    return render(request, "pemantauan.html", svc.overview_page(db_of(request)))


def provinces(request: Request):
    return render(request, "pemantauan_provinsi.html", svc.provinces_page(db_of(request)))


def region_list(request: Request):
    return render(request, "pemantauan_daftar.html", svc.list_page(db_of(request), dict(request.query_params)))


def region(request: Request):
    page = svc.region_page(db_of(request), request.path_params["kode"], request.scope.get("akun"))
    if page is None:
        raise HTTPException(404)
    return render(request, "pemantauan_wilayah.html", {**page, "status": svc.STATUS})


def csv_summary(request: Request):
    return _csv(svc.csv_summary(db_of(request)), "ringkasan.csv")


def csv_groups(request: Request):
    return _csv(svc.csv_breakdown(db_of(request), "kelompok"), "kelompok.csv")


def csv_provinces(request: Request):
    return _csv(svc.csv_breakdown(db_of(request), "provinsi"), "provinsi.csv")


def csv_regions(request: Request):
    return _csv(svc.csv_regions(db_of(request)), "wilayah.csv")


def _ministry(request: Request) -> dict:
    return auth.require(request, "kementerian")


def criteria(request: Request):
    _ministry(request)
    return render(request, "pemantauan_kriteria.html", svc.criteria_table(db_of(request)))


def csv_criteria(request: Request):
    _ministry(request)
    return _csv(svc.csv_criteria(db_of(request)), "kriteria.csv")


def performance(request: Request):
    _ministry(request)
    return render(request, "pemantauan_kinerja.html", svc.performance(db_of(request)))


def complaints(request: Request):
    """Complaints no MPP manager can forward yet (their region has no admin account): the ministry's to chase."""
    _ministry(request)
    db = db_of(request)
    return render(request, "pemantauan_pengaduan.html", {"daftar": pengaduan.unattended(db),
                                                         "status": pengaduan.STATUS, **svc.data_label(db)})


def csv_performance(request: Request):
    _ministry(request)
    return _csv(svc.csv_performance(db_of(request)), "kinerja.csv")


def import_form(request: Request, result: svc.ImportResult | None = None, status_code: int = 200):
    _ministry(request)
    return render(request, "pemantauan_impor.html", {**svc.import_page(db_of(request)), "hasil": result,
                                                      "pesan": request.session.pop("pesan", None)},
                  status_code=status_code)


@with_form
def import_upload(request: Request, form):
    akun = _ministry(request)
    upload = form.get("berkas")
    data, name = read_upload(upload) or b"", getattr(upload, "filename", None) or ""
    result = svc.import_rollout(db_of(request), akun, data, name)
    if not result.ok:
        return import_form(request, result, status_code=400)
    note = f" {result.missing} kab/kota tidak ada di berkas (tercatat tanpa data)." if result.missing else ""
    request.session["pesan"] = f"{result.rows} baris diimpor dan menggantikan data sebelumnya.{note}"
    return auth.redirect(path_to(request, "pemantauan_impor"))


# ------------------------------------------------------------------ onboarding a region (penyiapan daerah)

def new_regions(request: Request):
    """MPPs established but not on MPP Digital yet, and those onboarded that their manager has not opened."""
    _ministry(request)
    db = db_of(request)
    return render(request, "penyiapan.html", {**penyiapan.list_page(db), **svc.data_label(db),
                                              "pesan": request.session.pop("pesan", None)})


def new_region_form(request: Request, errors: dict | None = None, values: dict | None = None,
                    status_code: int = 200):
    _ministry(request)
    page = penyiapan.form_page(db_of(request), request.path_params["kode"], values)
    return render(request, "penyiapan_isi.html", {**page, "errors": errors or {}}, status_code=status_code)


@with_form
def new_region_save(request: Request, form):
    akun = _ministry(request)
    try:
        done = penyiapan.onboard(db_of(request), akun, request.path_params["kode"], form)
    except penyiapan.Refused as e:
        return new_region_form(request, e.errors, penyiapan.form_values(form), status_code=400)
    request.session["pesan"] = penyiapan.done_message(done)
    return auth.redirect(path_to(request, "pemantauan_daerah_baru"))


routes = [
    Route("/pemantauan", overview, name="pemantauan"),
    Route("/pemantauan/provinsi", provinces, name="pemantauan_provinsi"),
    Route("/pemantauan/daftar", region_list, name="pemantauan_daftar"),
    Route("/pemantauan/wilayah/{kode}", region, name="pemantauan_wilayah"),
    Route("/pemantauan/pengaduan", complaints, name="pemantauan_pengaduan"),
    Route("/pemantauan/ringkasan.csv", csv_summary, name="pemantauan_ringkasan_csv"),
    Route("/pemantauan/kelompok.csv", csv_groups, name="pemantauan_kelompok_csv"),
    Route("/pemantauan/provinsi.csv", csv_provinces, name="pemantauan_provinsi_csv"),
    Route("/pemantauan/wilayah.csv", csv_regions, name="pemantauan_wilayah_csv"),
    Route("/pemantauan/kriteria", criteria, name="pemantauan_kriteria"),
    Route("/pemantauan/kriteria.csv", csv_criteria, name="pemantauan_kriteria_csv"),
    Route("/pemantauan/kinerja", performance, name="pemantauan_kinerja"),
    Route("/pemantauan/kinerja.csv", csv_performance, name="pemantauan_kinerja_csv"),
    Route("/pemantauan/impor", import_form, name="pemantauan_impor"),
    Route("/pemantauan/impor", import_upload, methods=["POST"], name="pemantauan_impor_kirim"),
    Route("/pemantauan/daerah-baru", new_regions, name="pemantauan_daerah_baru"),
    Route("/pemantauan/daerah-baru/{kode}", new_region_form, name="pemantauan_daerah_baru_isi"),
    Route("/pemantauan/daerah-baru/{kode}", new_region_save, methods=["POST"], name="pemantauan_daerah_baru_kirim"),
]
