"""Logging in and out: who the person is, how often they may guess, and how long a session stays valid.

Limits on wrong passwords never lock the real owner out from elsewhere:

* the hard limit (5 per 15 minutes) is keyed on the pair (account, client address): someone
  guessing from their address blocks only themselves;
* per account, from all addresses together, the attempts after the first 10 in an hour each wait
  a delay that doubles up to 5 minutes (the page says how long) — except from an address the
  account logged in from in the last 30 days, where the owner usually is;
* per client address, 30 wrong attempts in 15 minutes over all accounts (password spraying)
  stop that address, again except for accounts it logged in to before.

Everything is keyed on the *resolved* account: its NIK, phone number and username are one
account. An identifier that names no account is keyed on what was typed, so probing is
limited the same way and the answers do not tell which identifiers exist.

A session is a random id in the signed cookie whose sha256 is a row of ``sesi``: "Keluar" ends
that row, so a copied cookie stops working with it; "keluar dari semua perangkat" (and a
suspension or a reclaim at the counter) bumps the account's ``sesi_versi``.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass

from sqlite_utils import Database

from db import akun
from db.connection import write
from services import kalender, ratelimit
from services.passwords import dummy_verify, verify_password

SUSPENDED = ("Akun ini ditangguhkan karena pemilik NIK melaporkan bukan dia yang membuatnya. Datang ke gerai "
             "Disdukcapil di MPP dengan KTP-el asli untuk pemeriksaan.")
HOME_BY_ROLE = {"warga": "/akun", "petugas": "/petugas", "admin_wilayah": "/admin", "kementerian": "/admin"}
WRONG = "NIK/nama pengguna atau kata sandi salah."
# A registration without an account, told only to someone who typed its password.
REGISTRATION = {
    "menunggu_wajah": "Pendaftaran Anda belum selesai: nomor HP belum dibuktikan dengan kode SMS. Masukkan kode "
                      "yang dikirim ke nomor HP Anda, atau minta kode baru.",
    "ditinjau": "Pendaftaran Anda menunggu pemeriksaan petugas MPP, jadi akun Anda belum aktif. Datang ke gerai "
                "Disdukcapil di MPP dengan KTP-el asli: petugas memverifikasi Anda di tempat, lalu Anda dapat "
                "masuk dengan kata sandi ini.",
    "ditolak": "Pendaftaran Anda ditolak petugas MPP, jadi belum ada akun. Datang ke gerai Disdukcapil di MPP dengan "
               "KTP-el asli untuk penjelasan dan pembuatan akun di tempat.",
}
KNOWN_CLIENT_S = 30 * 86400
SESSION_REFRESH_S = 86400  # a session in use has its expiry pushed on at most once a day


@dataclass
class LoginResult:
    akun: dict | None = None
    error: str | None = None
    wait_s: float = 0.0  # > 0: refused by a limit, try again after this many seconds
    pendaftaran_id: int | None = None  # a registration still waiting for its SMS code: continue it


def _too_many(seconds: float) -> LoginResult:
    return LoginResult(error=f"Terlalu banyak percobaan masuk yang salah. Demi keamanan akun, coba lagi dalam "
                             f"{ratelimit.wait_message(seconds)}.", wait_s=seconds)


def login(db: Database, login_id: str, password: str, ip: str, now: float | None = None) -> LoginResult:
    """Check a login under the limits above; the answer never tells whether the identifier exists."""
    now = kalender.seconds() if now is None else now
    login_id = "".join(login_id.split())
    if not login_id or not password:
        return LoginResult(error="Isi NIK/nomor HP/nama pengguna dan kata sandi.")
    found = akun.find_by_login(db, login_id)
    subject = str(found["id"]) if found else "x:" + ratelimit.digest(login_id.lower())
    pair = f"{subject}|{ip}"
    wait = ratelimit.wait_s(db, ratelimit.LOGIN_PER_ACCOUNT_AND_CLIENT, pair, now)
    if not (found and akun.logged_in_from(db, found["id"], ip, now - KNOWN_CLIENT_S)):
        wait = max(wait, ratelimit.wait_s(db, ratelimit.LOGIN_PER_CLIENT, ip, now),
                   ratelimit.slow_down_s(db, ratelimit.LOGIN_PER_ACCOUNT, subject, now))
    if wait > 0:
        return _too_many(wait)
    if found is None:
        waiting = _registration_of(db, login_id, password)
        if waiting is not None:  # the right password of a registration with no account yet: say where it is
            return LoginResult(error=REGISTRATION[waiting["status"]],
                               pendaftaran_id=waiting["id"] if waiting["status"] == "menunggu_wajah" else None)
    if found is None or not verify_password(password, found["kata_sandi"]):
        with write(db):  # one transaction for the three counts
            ratelimit.record_failure(db, ratelimit.LOGIN_PER_ACCOUNT_AND_CLIENT, pair, now)
            ratelimit.record_failure(db, ratelimit.LOGIN_PER_CLIENT, ip, now)
            ratelimit.record_failure(db, ratelimit.LOGIN_PER_ACCOUNT, subject, now)
        return LoginResult(error=WRONG)
    ratelimit.reset(db, ratelimit.LOGIN_PER_ACCOUNT_AND_CLIENT, pair)  # this client's count only
    if found.get("status", "aktif") != "aktif":
        return LoginResult(error=SUSPENDED)
    return LoginResult(akun=found)


def _registration_of(db: Database, login_id: str, password: str) -> dict | None:
    """A registration of this NIK or number without an account whose password this is (at least one password
    check either way, so the answer's timing does not tell whether a registration exists)."""
    rows = [r for r in akun.registrations_without_account(db, login_id) if r["status"] in REGISTRATION]
    if not rows:
        dummy_verify()
    return next((r for r in rows if verify_password(password, r["kata_sandi"])), None)


def _hash(sesi_id: str) -> str:
    return hashlib.sha256(sesi_id.encode()).hexdigest()


def open_session(db: Database, akun_id: int, ip: str, max_age_s: int, now: float | None = None) -> str:
    """A new server-side session for a login; its id goes into the signed cookie."""
    now = kalender.seconds() if now is None else now
    sesi_id = secrets.token_urlsafe(24)
    akun.create_session(db, _hash(sesi_id), akun_id, ip, now, now + max_age_s)
    return sesi_id


def from_session(db: Database, akun_id, version, sesi_id, max_age_s: int, now: float | None = None,
                 refresh: bool = True) -> dict | None:
    """The logged-in account, or None when the session ended (Keluar, expiry, everywhere, suspension).

    With ``refresh`` (a POST, which reaches the primary) a session in use has its expiry pushed on, at most once a
    day; a GET only reads, so a session that is only read from ends ``max_age_s`` after its last POST or login."""
    if not isinstance(akun_id, int) or not isinstance(sesi_id, str) or not sesi_id:
        return None
    now = kalender.seconds() if now is None else now
    found = akun.account_of_session(db, _hash(sesi_id), now)
    if found is None or found["id"] != akun_id or found["sesi_versi"] != version \
            or found.get("status", "aktif") != "aktif":
        return None
    if found.pop("sesi_kedaluwarsa") < now + max_age_s - SESSION_REFRESH_S and refresh:
        akun.extend_session(db, _hash(sesi_id), now + max_age_s)
    return found


def end_session(db: Database, sesi_id, now: float | None = None) -> None:
    """Keluar: this session stops working, wherever its cookie is."""
    if isinstance(sesi_id, str) and sesi_id:
        akun.end_session(db, _hash(sesi_id), kalender.seconds() if now is None else now)


def logout_everywhere(db: Database, akun_id: int) -> None:
    akun.bump_session_version(db, akun_id, kalender.seconds())


def get(db: Database, akun_id: int) -> dict | None:
    return akun.get(db, akun_id)
