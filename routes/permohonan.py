"""The citizen's applications: start, fill (autosaved), upload, check, submit, track, get the document."""

from __future__ import annotations

from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from db import audit
from db import permohonan as q
from integrations.http import ServiceUnavailable
from services import angka, dokumen, identitas, skm
from services import permohonan as svc
from services.dokumen_pdf import qr_svg
from web import auth
from web.params import path_id
from web.pelayanan import pelayanan_of
from web.render import db_of, render


def _own(request: Request) -> tuple[dict, dict]:
    akun = auth.require(request, "warga")
    p = svc.for_citizen(db_of(request), akun, path_id(request))
    if p is None:
        raise HTTPException(404)
    return akun, p


def start(request: Request):
    akun = auth.require(request, "warga")
    slug = request.query_params.get("layanan", "")
    wilayah = request.query_params.get("wilayah", "") or akun["wilayah_kode"] or ""
    pid = svc.start(db_of(request), akun, slug, wilayah)
    if pid is None:
        raise HTTPException(404)
    return auth.redirect(f"/permohonan/{pid}/isi")


def mine(request: Request):
    akun = auth.require(request, "warga")
    return render(request, "permohonan_daftar.html",
                  {"daftar": q.for_citizen(db_of(request), akun["id"]), "status": svc.STATUS})


def _form_context(request: Request, p: dict, errors: dict | None = None) -> dict:
    # a document's message links to its file input (id "file-<name>"), a typed answer's to its input
    links = {f["nama"]: f"file-{f['nama']}" for f in p["formulir"] if f["jenis"] == "berkas"}
    return {"p": p, "berkas": q.files(db_of(request), p["id"]), "errors": errors or {}, "tautan": links,
            "perbaiki": svc.fields_needing_fix(p), "tersimpan": request.query_params.get("tersimpan")}


async def _answers_and_files(form) -> tuple[dict[str, str], dict[str, tuple[str, bytes]]]:
    """The typed answers and every chosen file of a posted form (the whole form is posted without
    JavaScript: the 'Unggah' button sends the typed answers with the file, so none is lost)."""
    answers, files = {}, {}
    for name, value in form.multi_items():
        if isinstance(value, str):
            answers.setdefault(name, value)
        elif isinstance(value, UploadFile) and value.filename and name not in files:
            files[name] = (value.filename, await value.read())
    return answers, files


def fill(request: Request):
    _, p = _own(request)
    if not svc.editable(p):
        return auth.redirect(f"/permohonan/{p['id']}")
    return render(request, "permohonan_isi.html", _form_context(request, p))


async def save(request: Request):
    """Save the text answers (htmx autosave on change, or the 'Simpan draf'/'Lanjut' buttons)."""
    _, p = _own(request)
    form = await request.form()
    answers, files = await _answers_and_files(form)
    await form.close()
    errors = await run_in_threadpool(svc.save, pelayanan_of(request), p, answers, files)
    if request.headers.get("hx-request"):
        return render(request, "_tersimpan.html", {"errors": errors})
    if errors:
        p = await run_in_threadpool(q.get, db_of(request), p["id"])
        return render(request, "permohonan_isi.html", _form_context(request, p, errors), status_code=400)
    if form.get("aksi") == "lanjut":
        return auth.redirect(f"/permohonan/{p['id']}/periksa")
    return auth.redirect(f"/permohonan/{p['id']}/isi?tersimpan=1")


async def upload(request: Request):
    """One requirement document. With JavaScript (unggah.js) the file alone, as ``berkas``, so a dropped
    line loses only this file; without, the whole form: the typed answers are saved with the file."""
    _, p = _own(request)
    kolom = request.path_params["kolom"]
    form = await request.form()
    answers, files = await _answers_and_files(form)
    await form.close()
    if "berkas" in files:
        files[kolom] = files.pop("berkas")
    chosen = files.get(kolom, ("", b""))
    errors = await run_in_threadpool(svc.save, pelayanan_of(request), p, answers, files)
    if not chosen[1] and kolom not in errors:
        errors = {kolom: "Pilih berkas terlebih dahulu, lalu tekan “Unggah”.", **errors}
    if errors:
        p = await run_in_threadpool(q.get, db_of(request), p["id"])
        return render(request, "permohonan_isi.html", _form_context(request, p, errors), status_code=400)
    then = f"/permohonan/{p['id']}/isi?tersimpan=1#berkas-{kolom}"
    return auth.go_to(request, then)


def review(request: Request):
    akun, p = _own(request)
    if not svc.editable(p):
        return auth.redirect(f"/permohonan/{p['id']}")
    errors = svc.check_answers(pelayanan_of(request), p)
    return render(request, "permohonan_periksa.html", {"p": p, "errors": errors, "berkas": q.files(db_of(request), p["id"]),
                                                       **_level_context(request, akun, p)})


def _step_up_due(request: Request, akun: dict, p: dict) -> bool:
    """Whether "Ajukan" first asks for a fresh selfie (a document service, an account with face data)."""
    minutes = request.app.state.settings.stepup_minutes
    return bool(p["terbitkan_dokumen"] and minutes and identitas.needs_step_up(akun, minutes))


def _level_context(request: Request, akun: dict, p: dict) -> dict:
    """What the check-answers page says about identity: a selfie follows "Ajukan", or the counter checks it."""
    notes = svc.level_notes(akun, p)
    counter = "loket" in notes or p["ditahan"] == svc.COUNTER_CHECK
    return {"tingkat": notes, "swafoto": not notes.get("ajukan") and _step_up_due(request, akun, p),
            "loket": svc.counter_visit(db_of(request), p) if counter or _step_up_due(request, akun, p) else None}


async def submit(request: Request):
    akun, p = _own(request)
    form = await request.form()
    without_selfie = form.get("tanpa_swafoto") == "1"  # "Saya tidak bisa swafoto": the counter checks instead
    if svc.editable(p) and not without_selfie and _step_up_due(request, akun, p):
        return auth.redirect(f"/verifikasi-wajah?lanjut=/permohonan/{p['id']}/periksa")
    errors = await run_in_threadpool(svc.submit, pelayanan_of(request), akun, p, None,
                                     without_selfie and svc.editable(p) and _step_up_due(request, akun, p))
    if errors:
        errors = {k: v for k, v in errors.items() if k != "tingkat"}
        files = await run_in_threadpool(q.files, db_of(request), p["id"])
        context = await run_in_threadpool(_level_context, request, akun, p)
        return render(request, "permohonan_periksa.html", {"p": p, "errors": errors, "berkas": files, **context},
                      status_code=400)
    return auth.redirect(f"/permohonan/{p['id']}")


def status_page(request: Request):
    _, p = _own(request)
    db = db_of(request)
    opened = [a for a in audit.for_object(db, f"permohonan:{p['id']}")]
    return render(request, "permohonan.html", {
        "p": p, "status": svc.STATUS, "langkah": svc.NEXT_STEP[p["status"]], "riwayat": q.timeline(db, p["id"]),
        "dibuka": opened, "dokumen": dokumen.of_application(db, p["id"]), "perbaiki": svc.fields_needing_fix(p),
        "skm_selesai": skm.done(db, f"permohonan:{p['id']}"), "unsur": skm.ELEMENTS, "nilai": skm.ANSWERS,
        "pesan": request.session.pop("pesan", None),
        "loket": svc.counter_visit(db, p) if p["ditahan"] == svc.COUNTER_CHECK else None,
    })


def _document(request: Request) -> tuple[dict, dokumen.DocumentView, str]:
    _, p = _own(request)
    view = dokumen.of_application(db_of(request), p["id"])
    if view is None:
        raise HTTPException(404)
    return p, view, request.app.state.settings.url(request.app.url_path_for("verifikasi", token=view.token))


def document(request: Request, galat: str = "", status_code: int = 200):
    p, view, url = _document(request)
    return render(request, "dokumen.html", {"p": p, "dok": view, "url": url, "qr": qr_svg(url), "galat": galat},
                  status_code=status_code)


def document_pdf(request: Request):
    """The sealed PDF; a revoked document is shown with its revocation instead of handed out."""
    p, view, url = _document(request)
    try:
        pdf = dokumen.sealed_pdf(db_of(request), request.app.state.tte, view, url)
    except ServiceUnavailable:
        return document(request, "Layanan tanda tangan elektronik sedang tidak dapat dihubungi, sehingga PDF belum "
                                 "dapat dibuat; coba unduh PDF lagi beberapa menit lagi. Halaman ini dan kode QR-nya "
                                 "tetap dapat dipakai.", status_code=503)
    if pdf is None:
        return document(request, "Dokumen ini sudah dicabut, sehingga PDF-nya tidak diberikan lagi.", status_code=410)
    return Response(pdf, media_type="application/pdf",
                    headers={"Content-Disposition": f'inline; filename="{view.nomor.replace("/", "-")}.pdf"',
                             "Cache-Control": "private, no-store"})


def file_download(request: Request):
    _, p = _own(request)
    return _file_response(db_of(request), p["id"], request.path_params["berkas_id"])


def _file_response(db, permohonan_id: int, berkas_id: str):
    file_id = angka.to_id(berkas_id)
    found = q.file_content(db, permohonan_id, file_id) if file_id is not None else None
    if found is None:
        raise HTTPException(404)
    return Response(found["isi"], media_type=found["jenis"],
                    headers={"Content-Disposition": f'inline; filename="{found["nama_file"]}"',
                             "Cache-Control": "private, no-store"})


routes = [
    Route("/permohonan", mine, name="permohonan_saya"),
    Route("/permohonan/baru", start, name="permohonan_baru"),
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
