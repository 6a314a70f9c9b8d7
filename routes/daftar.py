"""Registration (daftar) with a selfie, and the fresh selfie asked before sensitive actions."""

from __future__ import annotations

from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.routing import Route

from services import identitas
from web import auth
from web.identity import client_ip, identity_of
from web.render import render

MAX_FRAMES = 4


def register_form(request: Request):
    return render(request, "daftar.html", {"f": identitas.RegistrationInput(), "errors": {}})


async def register(request: Request):
    form = await request.form()
    data = identitas.RegistrationInput(
        **{k: str(form.get(k, ""))[:100] for k in ("nik", "nama", "hari", "bulan", "tahun", "jenis_kelamin",
                                                   "telepon", "kata_sandi")},
        setuju=form.get("setuju") == "ya",
    )
    idn = identity_of(request)
    pendaftaran_id = await run_in_threadpool(identitas.start_registration, idn, data)
    if pendaftaran_id is None:
        data.kata_sandi = ""
        return render(request, "daftar.html", {"f": data, "errors": data.errors}, status_code=400)
    request.session["pendaftaran"] = pendaftaran_id
    return auth.redirect("/daftar/wajah")


async def check_nik(request: Request):
    """htmx: the NIK message while the citizen types (the same rules run again on submit)."""
    form = await request.form()
    data = identitas.RegistrationInput(nik=str(form.get("nik", ""))[:40], hari=str(form.get("hari", "")),
                                       bulan=str(form.get("bulan", "")), tahun=str(form.get("tahun", "")),
                                       jenis_kelamin=str(form.get("jenis_kelamin", "")))
    idn = identity_of(request)
    result = await run_in_threadpool(
        identitas.nik_rules.check, idn.db, data.nik, data.birth_date(), data.jenis_kelamin or None)
    return render(request, "_nik_pesan.html", {"errors": result.errors, "nik": result.nik})


def face_form(request: Request):
    pendaftaran_id = request.session.get("pendaftaran")
    if not isinstance(pendaftaran_id, int):
        return auth.redirect("/daftar")
    idn = identity_of(request)
    ch = identitas.challenge_for(idn, f"pendaftaran:{pendaftaran_id}")
    return render(request, "wajah.html", {
        "judul": "Verifikasi wajah", "aksi": "/daftar/wajah", "nonce": ch.nonce, "pose": list(ch.poses),
        "arahan": identitas.instructions(ch), "pesan": request.session.pop("pesan_wajah", None),
    })


async def _frames(form) -> tuple[list[bytes], bytes | None]:
    frames = [await f.read() for f in form.getlist("frame")[:MAX_FRAMES] if isinstance(f, UploadFile)]
    photo = form.get("foto")
    photo_bytes = await photo.read() if isinstance(photo, UploadFile) else None
    return frames, photo_bytes or None


async def face_submit(request: Request):
    pendaftaran_id = request.session.get("pendaftaran")
    if not isinstance(pendaftaran_id, int):
        return auth.redirect("/daftar")
    form = await request.form()
    frames, photo = await _frames(form)
    await form.close()
    idn = identity_of(request)
    outcome = await run_in_threadpool(identitas.verify_registration, idn, pendaftaran_id,
                                      str(form.get("nonce", "")), frames, photo, client_ip(request))
    if outcome.status == "aktif":
        request.session.pop("pendaftaran", None)
        found = await run_in_threadpool(auth.account_by_id, idn.db, outcome.akun_id)
        auth.log_in(request, found)
        request.session["pesan"] = outcome.message
        return auth.redirect("/akun")
    if outcome.status in ("ditinjau", "terkunci"):
        request.session["pesan_status"] = outcome.message
        return auth.redirect("/daftar/status")
    request.session["pesan_wajah"] = outcome.message
    return auth.redirect("/daftar/wajah")


def registration_status(request: Request):
    return render(request, "daftar_status.html", {"pesan": request.session.get("pesan_status", "")})


def step_up_form(request: Request):
    found = auth.require(request, "warga")
    idn = identity_of(request)
    ch = identitas.challenge_for(idn, f"akun:{found['id']}")
    return render(request, "wajah.html", {
        "judul": "Verifikasi wajah ulang", "aksi": "/verifikasi-wajah", "nonce": ch.nonce, "pose": list(ch.poses),
        "arahan": identitas.instructions(ch), "pesan": request.session.pop("pesan_wajah", None),
        "lanjut": request.query_params.get("lanjut", ""), "step_up": True,
    })


async def step_up(request: Request):
    found = auth.require(request, "warga")
    form = await request.form()
    frames, photo = await _frames(form)
    await form.close()
    idn = identity_of(request)
    outcome = await run_in_threadpool(identitas.step_up, idn, found, str(form.get("nonce", "")), frames, photo,
                                      client_ip(request))
    if outcome.status == "aktif":
        nxt = str(form.get("lanjut", ""))
        return auth.redirect(nxt if nxt.startswith("/") and not nxt.startswith("//") else "/akun")
    request.session["pesan_wajah"] = outcome.message
    return auth.redirect("/verifikasi-wajah")


routes = [
    Route("/daftar", register_form, name="daftar"),
    Route("/daftar", register, methods=["POST"], name="daftar_kirim"),
    Route("/fragmen/cek-nik", check_nik, methods=["POST"], name="cek_nik"),
    Route("/daftar/wajah", face_form, name="daftar_wajah"),
    Route("/daftar/wajah", face_submit, methods=["POST"], name="daftar_wajah_kirim"),
    Route("/daftar/status", registration_status, name="daftar_status"),
    Route("/verifikasi-wajah", step_up_form, name="verifikasi_wajah"),
    Route("/verifikasi-wajah", step_up, methods=["POST"], name="verifikasi_wajah_kirim"),
]
