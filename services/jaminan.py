"""Assurance levels (tingkat jaminan identitas): how sure we are that an account is its NIK's owner.

Three levels, each reached through its own evidence and recorded with how,
when and by whom (table ``jaminan``):

1. ``terdaftar`` — the NIK, name and birth date match the population registry,
   and the phone number was proven by a one-time SMS code. Anyone who knows a
   KTP's data *and* has some phone can get this far, so it opens only what
   harms nobody if an impostor does it (see the catalogue defaults below).
2. ``terverifikasi_wajah`` — a selfie with liveness matched the registry's photo.
3. ``terverifikasi_petugas`` — an officer checked the KTP-el in person at the counter.

Each service declares in the catalogue the level needed to submit
(``tingkat_ajukan``) and before its document is issued (``tingkat_terbit``);
the README explains the defaults.
"""

from __future__ import annotations

from db.reference import LEVELS  # the catalogue loader checks service data against the same names

RANK = {"dasar": 0, **{name: i + 1 for i, name in enumerate(LEVELS)}}
NAMES = {
    "dasar": "Belum terverifikasi",
    "terdaftar": "Terdaftar (data Dukcapil cocok, nomor HP terbukti)",
    "terverifikasi_wajah": "Terverifikasi wajah (dicocokkan dengan foto KTP-el)",
    "terverifikasi_petugas": "Terverifikasi tatap muka (KTP-el diperiksa petugas MPP)",
}
SHORT = {"dasar": "belum terverifikasi", "terdaftar": "Terdaftar", "terverifikasi_wajah": "Terverifikasi wajah",
         "terverifikasi_petugas": "Terverifikasi tatap muka"}
CHANNELS = {
    "sms": "Data cocok dengan Dukcapil, nomor HP dibuktikan dengan kode SMS",
    "selfie": "Swafoto dengan pemeriksaan keaktifan dicocokkan dengan foto KTP-el",
    "gerai": "KTP-el diperiksa langsung oleh petugas di gerai",
    "klaim_gerai": "Pemilik sah NIK diverifikasi di gerai dan mengambil alih NIK",
    "sebelum_riwayat": "Tercatat sebelum riwayat jaminan dimulai",
}
# A face check's result (verifikasi_wajah.hasil), as an officer reads it.
FACE_RESULTS = {"match": "cocok", "review": "zona tinjauan (belum pasti cocok)", "no_match": "tidak cocok",
                "ditolak": "tidak dapat diperiksa", "tanpa_foto": "tanpa foto rujukan di data kependudukan"}
# What a face check was for (verifikasi_wajah.tujuan).
FACE_PURPOSES = {"daftar": "verifikasi wajah", "step_up": "swafoto ulang sebelum mengajukan",
                 "aktivasi": "pemeriksaan di gerai"}
# How to reach a level, for a citizen who is below what a service needs.
HOW_TO_REACH = {
    "terdaftar": "buktikan nomor HP Anda dengan kode SMS di halaman Akun",
    "terverifikasi_wajah": "lakukan verifikasi wajah dengan kamera ponsel, atau datang ke MPP dengan KTP-el",
    "terverifikasi_petugas": "datang ke gerai Disdukcapil di MPP dengan KTP-el asli",
}


def rank(level: str | None) -> int:
    return RANK.get(level or "", 0)


def meets(level: str | None, required: str | None) -> bool:
    """True when ``level`` is at least ``required`` (no requirement: always)."""
    return not required or rank(level) >= rank(required)


def higher(a: str | None, b: str | None) -> str:
    """The higher of two levels: a new check never lowers what an account has reached."""
    return a if rank(a) >= rank(b) else b  # type: ignore[return-value]


def shortfall_message(required: str, purpose: str) -> str:
    """What a citizen below ``required`` reads: what is needed and how to get there."""
    return (f"{purpose} memerlukan tingkat verifikasi \u201c{SHORT[required]}\u201d. "
            f"Untuk mencapainya, {HOW_TO_REACH[required]}.")
