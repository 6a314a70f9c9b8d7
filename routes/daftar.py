"""Registration (daftar): registry data, the phone's SMS code, then a selfie; "bukan saya"; step-up selfies."""

from __future__ import annotations

import re
from urllib.parse import quote

from starlette.requests import Request
from starlette.routing import Route

from services import identitas, notifikasi, permohonan
from services.samaran import mask_phone
from web import auth, jobs
from web.identity import client_ip, identity_of
from web.pelayanan import pelayanan_of
from web.render import db_of, limited, path_to, read_upload, render, with_form

MAX_FRAMES = 4


def register_form(request: Request):
    return render(request, "daftar.html", {"f": identitas.RegistrationInput(), "errors": {}})


@with_form
def register(request: Request, form):
    data = identitas.RegistrationInput(
        **{k: str(form.get(k, ""))[:100] for k in ("nik", "nama", "hari", "bulan", "tahun", "jenis_kelamin",
                                                   "telepon", "kata_sandi")},
        setuju=form.get("setuju") == "ya",
    )
    idn = identity_of(request)
    pendaftaran_id = identitas.start_registration(idn, data, client_ip(request))
    if pendaftaran_id is None:
        data.kata_sandi = ""
        return limited(render(request, "daftar.html", {"f": data, "errors": data.errors}, status_code=400),
                       data.wait_s)
    request.session["pendaftaran"] = pendaftaran_id
    jobs.wake_outbox(request)
    return auth.redirect(path_to(request, "daftar_kode"))


@with_form
def check_nik(request: Request, form):
    """htmx: the NIK message while the citizen types (the same rules run again on submit)."""
    data = identitas.RegistrationInput(nik=str(form.get("nik", ""))[:40], hari=str(form.get("hari", "")),
                                       bulan=str(form.get("bulan", "")), tahun=str(form.get("tahun", "")),
                                       jenis_kelamin=str(form.get("jenis_kelamin", "")))
    idn = identity_of(request)
    result = identitas.check_nik(idn, data.nik, data.birth_date(), data.jenis_kelamin or None)
    return render(request, "_nik_pesan.html", {"errors": result.errors, "nik": result.nik})


def _code_page(request: Request, reg: dict, error: str = "", status_code: int = 200):
    demo_sms = None
    if request.app.state.settings.demo:
        demo_sms = notifikasi.latest_to(db_of(request), reg["telepon"])
    return render(request, "daftar_kode.html", {
        "telepon": mask_phone(reg["telepon"]), "error": error, "pesan": request.session.pop("pesan_kode", None),
        "demo_sms": demo_sms,
    }, status_code=status_code)


def _no_registration(request: Request):
    """No registration waiting for a code: the selfie step if the account exists already, else the start."""
    return auth.redirect(path_to(request, "daftar_wajah" if request.scope.get("akun") else "daftar"))


def code_form(request: Request):
    reg = identitas.pending_registration(identity_of(request), request.session.get("pendaftaran"))
    if reg is None:
        return _no_registration(request)
    return _code_page(request, reg)


@with_form
def code_submit(request: Request, form):
    idn = identity_of(request)
    reg = identitas.pending_registration(idn, request.session.get("pendaftaran"))
    if reg is None:
        return _no_registration(request)
    outcome = identitas.confirm_phone(idn, reg, str(form.get("kode", ""))[:20], request.app.state.settings.base_url)
    if outcome.status != "aktif":
        return _code_page(request, reg, outcome.message, 400)
    request.session.pop("pendaftaran", None)
    jobs.wake_outbox(request)
    auth.start_session(request, auth.account_by_id(idn.db, outcome.akun_id), client_ip(request))
    request.session["pesan_wajah_info"] = outcome.message
    return auth.redirect(path_to(request, "daftar_wajah"))


@with_form
def code_resend(request: Request, form):
    idn = identity_of(request)
    reg = identitas.pending_registration(idn, request.session.get("pendaftaran"))
    if reg is None:
        return auth.redirect(path_to(request, "daftar"))
    result = identitas.resend_registration_code(idn, reg, client_ip(request))
    if not result.ok:
        return _code_page(request, reg, result.message, 429)
    request.session["pesan_kode"] = result.message
    jobs.wake_outbox(request)
    return auth.redirect(path_to(request, "daftar_kode"))


def _face_context(request: Request, judul: str, aksi: str, ch, **extra) -> dict:
    return {"judul": judul, "aksi": aksi, "nonce": ch.nonce, "pose": list(ch.poses),
            "warna": list(identitas.colours_of(ch)), "arahan": identitas.instructions(ch),
            "pesan": request.session.pop("pesan_wajah", None), **extra}


def face_form(request: Request):
    found = request.scope.get("akun")
    if found is None:
        return auth.redirect(path_to(request, "daftar_kode" if request.session.get("pendaftaran") else "daftar"))
    if found["peran"] != "warga" or found["templat_wajah"]:
        return auth.redirect(path_to(request, "akun"))
    ch = identitas.challenge_for(identity_of(request), f"akun:{found['id']}")
    return render(request, "wajah.html", _face_context(
        request, "Verifikasi wajah", path_to(request, "daftar_wajah_kirim"), ch, daftar=True,
        info=request.session.pop("pesan_wajah_info", None)))


def _frames(form) -> tuple[list[bytes], bytes | None]:
    """The selfie frames and the no-script photo, read and their spooled files closed before the face work."""
    frames = [read_upload(f) for f in form.getlist("frame")[:MAX_FRAMES]]
    return [f for f in frames if f is not None], read_upload(form.get("foto")) or None


@with_form
def face_submit(request: Request, form):
    found = auth.require(request, "warga")
    frames, photo = _frames(form)
    outcome = identitas.verify_face(identity_of(request), found, str(form.get("nonce", "")), frames, photo,
                                    client_ip(request))
    if outcome.status == "aktif":
        request.session["pesan"] = outcome.message
        return auth.go_to(request, path_to(request, "akun"))
    if outcome.status in ("ditinjau", "terkunci"):
        request.session["pesan_status"] = outcome.message
        return auth.go_to(request, path_to(request, "daftar_status"))
    request.session["pesan_wajah"] = outcome.message
    return auth.go_to(request, path_to(request, "daftar_wajah"))


def registration_status(request: Request):
    return render(request, "daftar_status.html", {"pesan": request.session.get("pesan_status", "")})


_APPLICATION = re.compile(r"^/permohonan/([0-9]{1,12})/periksa\Z")  # the id parser's own bound (services/angka)


def _application(request: Request, akun: dict, lanjut: str) -> dict | None:
    """The draft a step-up was asked for ("Ajukan" sends ``lanjut=/permohonan/<id>/periksa``), if it is theirs."""
    found = _APPLICATION.match(lanjut)
    p = permohonan.for_citizen(db_of(request), akun, int(found.group(1))) if found else None
    return p if p and permohonan.editable(p) else None


def step_up_form(request: Request):
    found = auth.require(request, "warga")
    nxt = auth.same_site(request.query_params.get("lanjut", ""))
    p = _application(request, found, nxt)
    loket = permohonan.counter_visit(db_of(request), p) if p else None
    if not found["templat_wajah"]:  # nothing to compare with: the counter is the way, say so
        return render(request, "daftar_status.html", {"pesan": identitas.COUNTER, "lanjut": nxt, "permohonan": p,
                                                      "loket": loket})
    ch = identitas.challenge_for(identity_of(request), f"akun:{found['id']}")
    action = path_to(request, "verifikasi_wajah_kirim")
    return render(request, "wajah.html", _face_context(request, "Verifikasi wajah ulang", action, ch,
                                                       lanjut=nxt, step_up=True, permohonan=p, loket=loket))


def _submit_after_face(request: Request, akun: dict, p: dict, outcome: identitas.Outcome):
    """"Ajukan" led here: submit now, with no second press; a face check that cannot settle it online sends
    the application on all the same, its identity to be checked at the counter before the document is issued."""
    routed = outcome.status != "aktif"
    errors = permohonan.submit(pelayanan_of(request), akun, p, counter_check=routed)
    if errors:  # the answers changed meanwhile: the check-answers page says what to fix
        return auth.go_to(request, path_to(request, "permohonan_periksa", id=p["id"]))
    request.session["pesan"] = (f"{outcome.message} Permohonan Anda sudah diajukan." if routed
                                else "Wajah terverifikasi. Permohonan Anda sudah diajukan.")
    return auth.go_to(request, path_to(request, "permohonan", id=p["id"]))


@with_form
def step_up(request: Request, form):
    found = auth.require(request, "warga")
    frames, photo = _frames(form)
    outcome = identitas.step_up(identity_of(request), found, str(form.get("nonce", "")), frames, photo,
                                client_ip(request))
    safe = auth.same_site(str(form.get("lanjut", "")))
    p = _application(request, found, safe)
    if p is not None and outcome.status != "ulang":
        return _submit_after_face(request, found, p, outcome)
    if outcome.status == "aktif":
        return auth.go_to(request, safe or path_to(request, "akun"))
    if outcome.status != "ulang":
        request.session["pesan_status"] = f"{outcome.message} {identitas.COUNTER}"
        return auth.go_to(request, path_to(request, "daftar_status"))
    request.session["pesan_wajah"] = outcome.message
    again = path_to(request, "verifikasi_wajah")
    return auth.go_to(request, again + (f"?lanjut={quote(safe, safe='/')}" if safe else ""))


def not_me_form(request: Request):
    idn = identity_of(request)
    found = identitas.account_of_not_me(idn, request.path_params["token"])
    if found is None:
        return render(request, "bukan_saya.html", {"galat": "Tautan tidak sah atau sudah kedaluwarsa (berlaku "
                                                            "30 hari). " + identitas.COUNTER}, status_code=404)
    return render(request, "bukan_saya.html", {"pemilik": found, "telepon": mask_phone(found["telepon"]),
                                               "token": request.path_params["token"]})


@with_form
def not_me(request: Request, form):
    outcome = identitas.suspend_not_me(identity_of(request), request.path_params["token"])
    status = 404 if outcome.akun_id is None else 200
    return render(request, "bukan_saya.html", {"selesai": outcome.message if outcome.akun_id else "",
                                               "galat": "" if outcome.akun_id else outcome.message},
                  status_code=status)


routes = [
    Route("/daftar", register_form, name="daftar"),
    Route("/daftar", register, methods=["POST"], name="daftar_kirim"),
    Route("/fragmen/cek-nik", check_nik, methods=["POST"], name="cek_nik"),
    Route("/daftar/kode", code_form, name="daftar_kode"),
    Route("/daftar/kode", code_submit, methods=["POST"], name="daftar_kode_kirim"),
    Route("/daftar/kode/ulang", code_resend, methods=["POST"], name="daftar_kode_ulang"),
    Route("/daftar/wajah", face_form, name="daftar_wajah"),
    Route("/daftar/wajah", face_submit, methods=["POST"], name="daftar_wajah_kirim"),
    Route("/daftar/status", registration_status, name="daftar_status"),
    Route("/verifikasi-wajah", step_up_form, name="verifikasi_wajah"),
    Route("/verifikasi-wajah", step_up, methods=["POST"], name="verifikasi_wajah_kirim"),
    Route("/bukan-saya/{token}", not_me_form, name="bukan_saya"),
    Route("/bukan-saya/{token}", not_me, methods=["POST"], name="bukan_saya_kirim"),
]
