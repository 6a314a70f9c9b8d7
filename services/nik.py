"""NIK (Nomor Induk Kependudukan) checks, with a message a citizen understands for each failure.

Structure: 6 digits kecamatan code + birth date DDMMYY (day + 40 for women) +
4-digit serial. A NIK keeps the code it was issued with, so codes of regencies
that moved in a province split (the Papua provinces of 2022) are accepted too:
see ``db/katalog/kode_lama.toml``.
"""

from __future__ import annotations

import datetime as dt
import functools
import re
from dataclasses import dataclass, field

from sqlite_utils import Database

from db import wilayah
from db.reference import read_toml
from services import angka

_NON_DIGIT = re.compile(r"[\s.\-]")


@dataclass
class NikCheck:
    nik: str
    errors: list[str] = field(default_factory=list)
    kecamatan_kode: str | None = None
    perempuan: bool | None = None
    tanggal: tuple[int, int, int] | None = None  # day, month, 2-digit year
    # a birth date or sex given with the NIK that the NIK itself contradicts: field -> message (also in errors)
    bertentangan: dict[str, str] = field(default_factory=dict)

    @property
    def valid(self) -> bool:
        return not self.errors


@functools.cache
def renamed_regencies() -> dict[str, str]:
    """Old 4-digit kabupaten/kota code → current code."""
    return {k["lama"]: k["baru"] for p in read_toml("kode_lama.toml")["pemekaran"] for k in p["kode"]}


def current_kecamatan_code(code: str) -> str:
    new = renamed_regencies().get(code[:4])
    return new + code[4:] if new else code


def check(db: Database, raw: str, birth_date: dt.date | None = None, sex: str | None = None) -> NikCheck:
    """Check a NIK's form; with ``birth_date`` and ``sex`` ('L'/'P'), check they agree with it."""
    nik = _NON_DIGIT.sub("", raw or "")
    result = NikCheck(nik=nik)
    if not nik:
        result.errors.append("Isi NIK Anda (16 angka, tertera di KTP-el atau Kartu Keluarga).")
        return result
    if not angka.is_digits(nik, 16):
        result.errors.append(f"NIK harus 16 angka; yang Anda isi {len(nik)} karakter." if len(nik) != 16 else
                             "NIK harus 16 angka 0–9; yang Anda isi memuat huruf atau tanda lain.")
        return result
    code = current_kecamatan_code(nik[:6])
    if wilayah.kecamatan_exists(db, code):
        result.kecamatan_kode = code
    else:
        result.errors.append("6 angka pertama NIK bukan kode kecamatan yang dikenal. Periksa kembali NIK Anda.")
    day, month, year = int(nik[6:8]), int(nik[8:10]), int(nik[10:12])
    result.perempuan = day > 40
    real_day = day - 40 if day > 40 else day
    if not _is_date(real_day, month, year):
        result.errors.append("Angka ke-7 sampai ke-12 NIK bukan tanggal lahir yang sah (format TTBBTT; "
                             "untuk perempuan tanggal ditambah 40).")
    else:
        result.tanggal = (real_day, month, year)
        if birth_date and (real_day, month, year) != (birth_date.day, birth_date.month, birth_date.year % 100):
            result.bertentangan["hari"] = ("Tanggal lahir yang Anda isi tidak sama dengan tanggal lahir di NIK "
                                           "(angka ke-7 sampai ke-12). Periksa tanggal lahir atau NIK Anda.")
            result.errors.append(result.bertentangan["hari"])
        if sex in ("L", "P") and result.perempuan != (sex == "P"):
            result.bertentangan["jenis_kelamin"] = ("Jenis kelamin tidak sesuai dengan NIK: pada NIK perempuan, "
                                                    "tanggal lahir ditambah 40. Periksa jenis kelamin atau NIK Anda.")
            result.errors.append(result.bertentangan["jenis_kelamin"])
    if nik[12:] == "0000":
        result.errors.append("4 angka terakhir NIK (nomor urut) tidak boleh 0000.")
    return result


def _is_date(day: int, month: int, yy: int) -> bool:
    # 29 February exists in some century for every yy divisible by 4 (e.g. 2000 for 00)
    for century in (2000, 1900):
        try:
            dt.date(century + yy, month, day)
            return True
        except ValueError:
            continue
    return False
