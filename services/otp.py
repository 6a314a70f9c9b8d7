"""One-time SMS codes that prove a person holds a phone number.

A 6-digit code goes to the number through the notifications outbox (the same
sender as every other SMS). Only a keyed hash of the code is stored. A code
lives 10 minutes (an SMS on a congested 2G cell can take minutes) and is used
once. Every purpose ("daftar:12", "telepon:5", "klaim:<nik>") has its own codes:

* sends: 3 per purpose per 30 minutes, 5 per number *and* address per hour,
  20 per address per hour. A resend issues a new code and leaves the earlier
  unexpired ones valid, so an SMS that arrives late still works;
* wrong entries: 5 per purpose per 30 minutes, then every code of that purpose
  is void and a new one must be asked for (which the send limit slows). The
  guessing budget is therefore ~15 tries in 30 minutes against a million codes.

No limit is keyed on the phone number alone, so nobody can lock another person's
number out by asking for codes to it from elsewhere.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass

from sqlite_utils import Database

from db import identitas as q
from db import notifikasi as outbox
from services import kalender, ratelimit
from services.samaran import mask_phone

CODE_TTL_S = 600
SEND_PER_PURPOSE = ratelimit.Limit("otp:kirim", 3, 1800)
SEND_PER_PHONE_AND_IP = ratelimit.Limit("otp:nomor", 5, 3600)
SEND_PER_IP = ratelimit.Limit("otp:ip", 20, 3600)
WRONG_PER_PURPOSE = ratelimit.Limit("otp:salah", 5, 1800)


@dataclass
class CodeResult:
    ok: bool
    message: str = ""


def _digest(key: bytes, tujuan: str, telepon: str, code: str) -> str:
    return hmac.new(key, f"otp|{tujuan}|{telepon}|{code}".encode(), hashlib.sha256).hexdigest()


def send_code(db: Database, key: bytes, tujuan: str, telepon: str, ip: str, *, akun_id: int | None = None,
              now: float | None = None) -> CodeResult:
    """Queue a new code to ``telepon`` unless a send limit is reached."""
    now = kalender.seconds() if now is None else now
    if ratelimit.blocked(db, SEND_PER_PURPOSE, tujuan) or \
            ratelimit.blocked(db, SEND_PER_PHONE_AND_IP, f"{telepon}|{ip}") or ratelimit.blocked(db, SEND_PER_IP, ip):
        return CodeResult(False, "Kode sudah dikirim beberapa kali. Tunggu 30 menit sebelum meminta kode baru; "
                                 "kode yang sudah terkirim tetap berlaku 10 menit.")
    code = f"{secrets.randbelow(10**6):06d}"
    q.store_code(db, tujuan, telepon, _digest(key, tujuan, telepon, code), now, CODE_TTL_S)
    outbox.enqueue(db, akun_id, "sms", telepon,
                   f"MPP Digital: kode verifikasi Anda {code}. Berlaku 10 menit. Jangan berikan kode ini "
                   "kepada siapa pun, termasuk petugas.", now)
    for limit, who in ((SEND_PER_PURPOSE, tujuan), (SEND_PER_PHONE_AND_IP, f"{telepon}|{ip}"), (SEND_PER_IP, ip)):
        ratelimit.record_failure(db, limit, who)
    return CodeResult(True, f"Kode 6 angka sudah dikirim lewat SMS ke {mask_phone(telepon)}.")


def check_code(db: Database, key: bytes, tujuan: str, telepon: str, code: str,
               now: float | None = None) -> CodeResult:
    """Use a code once. Wrong, expired and reused codes get a message that says which."""
    now = kalender.seconds() if now is None else now
    code = "".join(ch for ch in (code or "") if ch.isdigit())
    if ratelimit.blocked(db, WRONG_PER_PURPOSE, tujuan):
        return CodeResult(False, "Kode salah terlalu sering. Minta kode baru setelah 30 menit.")
    if len(code) != 6:
        return CodeResult(False, "Isi 6 angka kode dari SMS.")
    digest = _digest(key, tujuan, telepon, code)
    for row in q.live_codes(db, tujuan, now):
        if row["telepon"] == telepon and hmac.compare_digest(row["kode_hash"], digest):
            if not q.use_code(db, row["id"]):
                break
            ratelimit.reset(db, WRONG_PER_PURPOSE, tujuan)
            return CodeResult(True)
    ratelimit.record_failure(db, WRONG_PER_PURPOSE, tujuan)
    if ratelimit.blocked(db, WRONG_PER_PURPOSE, tujuan):
        q.void_codes(db, tujuan)
        return CodeResult(False, "Kode salah 5 kali. Semua kode yang terkirim tidak berlaku lagi; "
                                 "minta kode baru setelah 30 menit.")
    latest = q.latest_code(db, tujuan)
    if latest and latest["kedaluwarsa"] < now:
        return CodeResult(False, "Kode sudah kedaluwarsa (berlaku 10 menit). Tekan \u201cKirim kode baru\u201d.")
    return CodeResult(False, "Kode salah atau sudah dipakai. Periksa SMS terakhir dari MPP Digital.")
