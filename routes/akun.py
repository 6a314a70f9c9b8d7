"""Logging in and out, and the citizen's own account page."""

from __future__ import annotations

from starlette.requests import Request
from starlette.routing import Route

from services import akun as akun_service
from services import antrean, identitas, jaminan
from services.samaran import mask_phone
from web import auth, jobs
from web.identity import client_ip, identity_of
from web.render import db_of, limited, path_to, render, with_form

ROLE_NAMES = {"warga": "Warga", "petugas": "Petugas", "admin_wilayah": "Pengelola MPP daerah",
              "kementerian": "Kementerian (pemantauan nasional)"}


def login_form(request: Request):
    return render(request, "masuk.html", {"errors": {}, "login": "",
                                          "lanjut": auth.same_site(request.query_params.get("lanjut", ""))})


@with_form
def login(request: Request, form):
    login_id, password = str(form.get("login", ""))[:64], str(form.get("kata_sandi", ""))[:128]
    ip = client_ip(request)
    result = akun_service.login(db_of(request), login_id, password, ip)
    if result.pendaftaran_id is not None:  # the SMS code was never entered: continue the registration there
        request.session["pendaftaran"] = result.pendaftaran_id
        request.session["pesan_kode"] = result.error
        return auth.redirect(path_to(request, "daftar_kode"))
    if result.error:
        return limited(render(request, "masuk.html", {"errors": {"login": result.error}, "login": login_id,
                                                      "lanjut": auth.same_site(str(form.get("lanjut", "")))},
                              status_code=400), result.wait_s)
    auth.start_session(request, result.akun, ip)
    return auth.redirect(auth.same_site(str(form.get("lanjut", ""))) or akun_service.HOME_BY_ROLE[result.akun["peran"]])


@with_form
def logout(request: Request, form):
    """Ends this session on the server, not only in this browser: a copied cookie stops working too."""
    akun_service.end_session(db_of(request), request.session.get("sid"))
    auth.log_out(request)
    return auth.redirect(path_to(request, "home"))


@with_form
def logout_everywhere(request: Request, form):
    found = auth.require(request)
    akun_service.logout_everywhere(db_of(request), found["id"])
    auth.log_out(request)
    return auth.redirect(path_to(request, "home"))


def _account_page(request: Request, found: dict, errors: dict | None = None, status_code: int = 200):
    citizen = found["peran"] == "warga"
    return render(request, "akun.html", {
        "peran": ROLE_NAMES[found["peran"]], "pesan": request.session.pop("pesan", None),
        "tingkat": jaminan.NAMES.get(found["tingkat"]) if citizen else None,
        "riwayat": identitas.assurance(db_of(request), found["id"])["riwayat"] if citizen else [],
        "kanal": jaminan.CHANNELS, "telepon": mask_phone(found["telepon"]),
        "telepon_baru": mask_phone(request.session.get("telepon_baru")) if citizen else "",
        "tiket": antrean.tickets_of(db_of(request), found) if citizen else [],
        "errors": errors or {},
    }, status_code=status_code)


def account(request: Request):
    return _account_page(request, auth.require(request))


@with_form
def phone_start(request: Request, form):
    """A new number gets a code first; the account keeps the old one until the code comes back."""
    found = auth.require(request, "warga")
    phone, result = identitas.start_phone_change(identity_of(request), found, str(form.get("telepon", ""))[:40],
                                                 client_ip(request))
    if not result.ok:
        return _account_page(request, found, {"telepon": result.message}, 400)
    request.session["telepon_baru"] = phone
    request.session["pesan"] = result.message
    jobs.wake_outbox(request)
    return auth.redirect(path_to(request, "akun") + "#ganti-telepon")


@with_form
def phone_confirm(request: Request, form):
    found = auth.require(request, "warga")
    phone = request.session.get("telepon_baru") or ""
    outcome = identitas.confirm_phone_change(identity_of(request), found, phone, str(form.get("kode", ""))[:20])
    if outcome.status != "aktif":
        return _account_page(request, found, {"kode": outcome.message}, 400)
    request.session.pop("telepon_baru", None)
    request.session["pesan"] = outcome.message
    return auth.redirect(path_to(request, "akun"))


routes = [
    Route("/masuk", login_form, name="masuk"),
    Route("/masuk", login, methods=["POST"], name="masuk_kirim"),
    Route("/keluar", logout, methods=["POST"], name="keluar"),
    Route("/keluar/semua", logout_everywhere, methods=["POST"], name="keluar_semua"),
    Route("/akun", account, name="akun"),
    Route("/akun/telepon", phone_start, methods=["POST"], name="akun_telepon"),
    Route("/akun/telepon/kode", phone_confirm, methods=["POST"], name="akun_telepon_kode"),
]
