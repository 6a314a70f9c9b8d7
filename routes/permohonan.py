"""The citizen's applications: start, fill (autosaved), upload, check, submit, track, get the document."""

from __future__ import annotations

from urllib.parse import quote

from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route

import services
from services import dokumen, penyimpanan, skm
from services import permohonan as svc
from services.dokumen_pdf import qr_svg
from web import auth
from web.identity import identity_of
from web.params import path_id
from web.pelayanan import pelayanan_of
from web.render import db_of, path_to, read_upload, render, spool_of, with_form


def _own(request: Request) -> tuple[dict, dict]:
    akun = auth.require(request, "warga")
    p = svc.for_citizen(db_of(request), akun, path_id(request))
    if p is None:
        raise HTTPException(404)
    return akun, p


def _start_choice(request: Request, values) -> tuple[dict, str, str, str]:
    """(account, service slug, region, whom it is for) from a query or a posted form."""
    akun = auth.require(request, "warga")
    slug = str(values.get("layanan", ""))[:100]
    wilayah = str(values.get("wilayah", "")).strip()[:10] or akun["wilayah_kode"] or ""
    return akun, slug, wilayah, str(values.get("untuk", ""))[:32]


def start_page(request: Request):
    """``/permohonan/baru?layanan=…&wilayah=…[&untuk=…]`` (old links, bookmarks): reading only. The open draft for
    exactly that, if there is one; else a small page with one button that starts it (a POST)."""
    akun, slug, wilayah, untuk = _start_choice(request, request.query_params)
    found = svc.find_start(pelayanan_of(request), akun, slug, wilayah, untuk)
    if found is None:
        raise HTTPException(404)
    if found.draf_id is not None:
        return auth.redirect(path_to(request, "permohonan_isi", id=found.draf_id))
    return render(request, "permohonan_mulai.html", {"mulai": found, "slug": slug, "untuk": untuk})


@with_form
def start(request: Request, form):
    """Start (or find) the draft: "Ajukan permohonan" on a service's page, or the button of ``start_page``.
    "Lihat ketentuan daerah" on the service's page posts here too (the form carries the CSRF token, which must not
    go into a URL) and is sent on to that region's terms, with nothing written."""
    akun, slug, wilayah, untuk = _start_choice(request, form)
    if form.get("aksi") == "ketentuan":
        kode = str(form.get("wilayah", "")).strip()[:10]
        return auth.redirect(path_to(request, "layanan_detail", slug=quote(slug, safe="")) +
                             (f"?wilayah={quote(kode, safe='')}" if kode else ""))
    pid = svc.start(pelayanan_of(request), akun, slug, wilayah, untuk)
    if pid is None:
        raise HTTPException(404)
    return auth.redirect(path_to(request, "permohonan_isi", id=pid))


def mine(request: Request):
    akun = auth.require(request, "warga")
    return render(request, "permohonan_daftar.html",
                  {"daftar": svc.citizen_applications(db_of(request), akun), "status": svc.STATUS})


def _form_page(request: Request, p: dict, errors: dict | None = None, reload: bool = False):
    page = svc.form_page(pelayanan_of(request), p, reload)
    # a document's message links to its file input (id "file-<name>"), a typed answer's to its input
    links = {f["nama"]: f"file-{f['nama']}" for f in page["p"]["formulir"] if f["jenis"] == "berkas"}
    return render(request, "permohonan_isi.html", {
        **page, "errors": errors or {}, "tautan": links, "tersimpan": request.query_params.get("tersimpan")},
        status_code=400 if errors else 200)


def _answers_and_files(form) -> tuple[dict[str, str], dict[str, tuple[str, bytes]]]:
    """The typed answers and every chosen file of a posted form (the whole form is posted without
    JavaScript: the 'Unggah' button sends the typed answers with the file, so none is lost)."""
    answers, files = {}, {}
    for name, value in form.multi_items():
        if isinstance(value, str):
            answers.setdefault(name, value)
        elif isinstance(value, UploadFile) and value.filename and name not in files:
            files[name] = (value.filename, read_upload(value))
    return answers, files


def fill(request: Request):
    _, p = _own(request)
    if not svc.editable(p):
        return auth.redirect(path_to(request, "permohonan", id=p["id"]))
    return _form_page(request, p)


@with_form
def save(request: Request, form):
    """Save the text answers (htmx autosave on change, or the 'Simpan draf'/'Lanjut' buttons)."""
    _, p = _own(request)
    answers, files = _answers_and_files(form)
    errors = svc.save(pelayanan_of(request), p, answers, files)
    if request.headers.get("hx-request"):
        return render(request, "_tersimpan.html", {"errors": errors})
    if errors:
        return _form_page(request, p, errors, reload=True)
    if form.get("aksi") == "lanjut":
        return auth.redirect(path_to(request, "permohonan_periksa", id=p["id"]))
    return auth.redirect(path_to(request, "permohonan_isi", id=p["id"]) + "?tersimpan=1")


@with_form
def upload(request: Request, form):
    """One requirement document. With JavaScript (unggah.js) the file alone, as ``berkas``, so a dropped
    line loses only this file; without, the whole form: the typed answers are saved with the file."""
    _, p = _own(request)
    kolom = request.path_params["kolom"]
    answers, files = _answers_and_files(form)
    if "berkas" in files:
        files[kolom] = files.pop("berkas")
    chosen = files.get(kolom, ("", b""))
    errors = svc.save(pelayanan_of(request), p, answers, files)
    if not chosen[1] and kolom not in errors:
        errors = {kolom: "Pilih berkas terlebih dahulu, lalu tekan “Unggah”.", **errors}
    if errors:
        return _form_page(request, p, errors, reload=True)
    return auth.go_to(request, path_to(request, "permohonan_isi", id=p["id"]) + f"?tersimpan=1#berkas-{kolom}")


def review(request: Request):
    akun, p = _own(request)
    if not svc.editable(p):
        return auth.redirect(path_to(request, "permohonan", id=p["id"]))
    page = svc.review_page(pelayanan_of(request), akun, p, identity_of(request).stepup_minutes)
    return render(request, "permohonan_periksa.html", page)


@with_form
def submit(request: Request, form):
    akun, p = _own(request)
    without_selfie = form.get("tanpa_swafoto") == "1"  # "Saya tidak bisa swafoto": the counter checks instead
    done = svc.submit_from_review(pelayanan_of(request), akun, p, identity_of(request).stepup_minutes,
                                  without_selfie)
    if done.selfie_first:
        back = path_to(request, "permohonan_periksa", id=p["id"])
        return auth.redirect(f"{path_to(request, 'verifikasi_wajah')}?lanjut={back}")
    if done.page is not None:
        return render(request, "permohonan_periksa.html", done.page, status_code=400)
    return auth.redirect(path_to(request, "permohonan", id=p["id"]))


def status_page(request: Request):
    _, p = _own(request)
    return render(request, "permohonan.html", {
        "p": p, "status": svc.STATUS, "langkah": svc.NEXT_STEP[p["status"]], "unsur": skm.ELEMENTS,
        "nilai": skm.ANSWERS, "pesan": request.session.pop("pesan", None),
        **svc.status_page(db_of(request), p, spool_of(request)),
    })


def _document(request: Request) -> tuple[dict, dokumen.DocumentView, str]:
    _, p = _own(request)
    view = dokumen.of_application(db_of(request), p["id"])
    if view is None:
        raise HTTPException(404)
    return p, view, request.app.state.settings.url(path_to(request, "verifikasi", token=view.token))


def document(request: Request, galat: str = "", status_code: int = 200):
    p, view, url = _document(request)
    return render(request, "dokumen.html", {"p": p, "dok": view, "alamat": url, "qr": qr_svg(url), "galat": galat},
                  status_code=status_code)


def document_pdf(request: Request):
    """The sealed PDF; a revoked document is shown with its revocation instead of handed out."""
    p, view, url = _document(request)
    try:
        pdf = dokumen.sealed_pdf(db_of(request), request.app.state.tte, request.app.state.deps.objects, view, url,
                                 keep=False)  # a GET: sealed at issue, or for this answer only (services/dokumen)
    except services.Unavailable:
        return document(request, "Layanan tanda tangan elektronik atau penyimpanan berkas sedang tidak dapat "
                                 "dihubungi, sehingga PDF belum dapat diberikan; coba unduh PDF lagi beberapa menit "
                                 "lagi. Halaman ini dan kode QR-nya tetap dapat dipakai.", status_code=503)
    except penyimpanan.FileMissing:
        return document(request, MISSING_FILE, status_code=404)
    if pdf is None:
        return document(request, "Dokumen ini sudah dicabut, sehingga PDF-nya tidak diberikan lagi.", status_code=410)
    return streamed(pdf)


# a row whose object storage lost its bytes (reported by `make check-storage` and /metrics): said, never a 500
MISSING_FILE = ("Berkas ini tercatat, tetapi isinya tidak ditemukan di penyimpanan berkas. Pengelola sistem sudah "
                "dapat melihatnya di laporan pemeriksaan penyimpanan. Bila permohonan masih dapat diubah, unggah "
                "ulang berkas ini; bila tidak, hubungi petugas MPP.")


def streamed(found) -> Response:
    """A stored file (services.penyimpanan.Download), streamed from storage as it is read."""
    headers = {"Content-Disposition": f'inline; filename="{found.nama_file}"', "Cache-Control": "private, no-store"}
    if found.ukuran is not None:
        headers["Content-Length"] = str(found.ukuran)
    return StreamingResponse(found.chunks, media_type=found.jenis, headers=headers)


def file_download(request: Request):
    _, p = _own(request)
    return file_response(request, p)


def file_response(request: Request, p: dict) -> Response:
    """An uploaded file of the application (the citizen's or the officer's view of it); 404 when not its own."""
    try:
        found = svc.file_of(db_of(request), request.app.state.deps.objects, p, path_id(request, "berkas_id"))
    except penyimpanan.FileMissing:
        return render(request, "galat.html", {"judul": "Isi berkas tidak ditemukan", "pesan": MISSING_FILE,
                                              "status": 404}, status_code=404)
    if found is None:
        raise HTTPException(404)
    return streamed(found)


routes = [
    Route("/permohonan", mine, name="permohonan_saya"),
    Route("/permohonan/baru", start_page, name="permohonan_baru"),
    Route("/permohonan/baru", start, methods=["POST"], name="permohonan_mulai"),
    Route("/permohonan/{id}/isi", fill, name="permohonan_isi"),
    Route("/permohonan/{id}/simpan", save, methods=["POST"], name="permohonan_simpan"),
    Route("/permohonan/{id}/berkas/{kolom}", upload, methods=["POST"], name="permohonan_unggah"),
    Route("/permohonan/{id}/berkas/{berkas_id}", file_download, name="permohonan_berkas"),
    Route("/permohonan/{id}/periksa", review, name="permohonan_periksa"),
    Route("/permohonan/{id}/ajukan", submit, methods=["POST"], name="permohonan_ajukan"),
    Route("/permohonan/{id}/dokumen", document, name="permohonan_dokumen"),
    Route("/permohonan/{id}/dokumen.pdf", document_pdf, name="permohonan_dokumen_pdf"),
    Route("/permohonan/{id}", status_page, name="permohonan"),
]
