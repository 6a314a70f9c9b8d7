"""Logging in and out: who the person is, and how long a session stays valid."""

from __future__ import annotations

from dataclasses import dataclass

from sqlite_utils import Database

from db import akun
from services import ratelimit
from services.passwords import dummy_verify, verify_password

SUSPENDED = ("Akun ini ditangguhkan karena pemilik NIK melaporkan bukan dia yang membuatnya. Datang ke gerai "
             "Disdukcapil di MPP dengan KTP-el asli untuk pemeriksaan.")
HOME_BY_ROLE = {"warga": "/akun", "petugas": "/petugas", "admin_wilayah": "/admin", "kementerian": "/admin"}


@dataclass
class LoginResult:
    akun: dict | None = None
    error: str | None = None


def login(db: Database, login_id: str, password: str, ip: str) -> LoginResult:
    """Check a login; rate-limited per account name and per IP address."""
    login_id = "".join(login_id.split())
    if not login_id or not password:
        return LoginResult(error="Isi NIK/nomor HP/nama pengguna dan kata sandi.")
    if ratelimit.blocked(db, ratelimit.LOGIN_PER_ACCOUNT, login_id) or \
            ratelimit.blocked(db, ratelimit.LOGIN_PER_IP, ip):
        return LoginResult(error="Terlalu banyak percobaan masuk. Tunggu 15 menit, lalu coba lagi.")
    found = akun.find_by_login(db, login_id)
    if found is None:
        dummy_verify()
    if found is None or not verify_password(password, found["kata_sandi"]):
        ratelimit.record_failure(db, ratelimit.LOGIN_PER_ACCOUNT, login_id)
        ratelimit.record_failure(db, ratelimit.LOGIN_PER_IP, ip)
        return LoginResult(error="NIK/nama pengguna atau kata sandi salah.")
    ratelimit.reset(db, ratelimit.LOGIN_PER_ACCOUNT, login_id)
    if found.get("status", "aktif") != "aktif":
        return LoginResult(error=SUSPENDED)
    return LoginResult(akun=found)


def from_session(db: Database, akun_id, version) -> dict | None:
    """The logged-in account, or None when the session was ended everywhere."""
    if not isinstance(akun_id, int):
        return None
    found = akun.get(db, akun_id)
    if found is None or found["sesi_versi"] != version or found.get("status", "aktif") != "aktif":
        return None
    return found


def logout_everywhere(db: Database, akun_id: int) -> None:
    akun.bump_session_version(db, akun_id)


def get(db: Database, akun_id: int) -> dict | None:
    return akun.get(db, akun_id)
