"""Logging in and out, and the citizen's own account page."""

from __future__ import annotations

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.routing import Route

from services import akun as akun_service
from web import auth
from web.identity import client_ip
from web.render import db_of, render

ROLE_NAMES = {"warga": "Warga", "petugas": "Petugas", "admin_wilayah": "Pengelola MPP daerah",
              "kementerian": "Kementerian (pemantauan nasional)"}


def _safe_next(value: str) -> str:
    """Only same-site paths: never send someone to another site after login."""
    return value if value.startswith("/") and not value.startswith("//") else ""


def login_form(request: Request):
    return render(request, "masuk.html", {"errors": {}, "login": "",
                                          "lanjut": _safe_next(request.query_params.get("lanjut", ""))})


async def login(request: Request):
    form = await request.form()
    login_id, password = str(form.get("login", ""))[:64], str(form.get("kata_sandi", ""))[:128]
    ip = client_ip(request)
    result = await run_in_threadpool(akun_service.login, db_of(request), login_id, password, ip)
    if result.error:
        return render(request, "masuk.html", {"errors": {"login": result.error}, "login": login_id,
                                              "lanjut": _safe_next(str(form.get("lanjut", "")))},
                      status_code=400)
    auth.log_in(request, result.akun)
    return auth.redirect(_safe_next(str(form.get("lanjut", ""))) or akun_service.HOME_BY_ROLE[result.akun["peran"]])


async def logout(request: Request):
    auth.log_out(request)
    return auth.redirect("/")


async def logout_everywhere(request: Request):
    found = auth.require(request)
    await run_in_threadpool(akun_service.logout_everywhere, db_of(request), found["id"])
    auth.log_out(request)
    return auth.redirect("/")


LEVEL_NAMES = {"terverifikasi_wajah": "Terverifikasi wajah (dicocokkan dengan foto KTP-el)",
               "terverifikasi_petugas": "Terverifikasi petugas MPP (KTP-el diperiksa langsung)",
               "dasar": "Belum terverifikasi"}


def account(request: Request):
    found = auth.require(request)
    return render(request, "akun.html", {"peran": ROLE_NAMES[found["peran"]], "pesan": request.session.pop("pesan", None),
                                         "tingkat": LEVEL_NAMES.get(found["tingkat"]) if found["peran"] == "warga" else None})


routes = [
    Route("/masuk", login_form, name="masuk"),
    Route("/masuk", login, methods=["POST"], name="masuk_kirim"),
    Route("/keluar", logout, methods=["POST"], name="keluar"),
    Route("/keluar/semua", logout_everywhere, methods=["POST"], name="keluar_semua"),
    Route("/akun", account, name="akun"),
]
