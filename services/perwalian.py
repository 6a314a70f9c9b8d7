"""Guardianship verified at the counter (issue 17, families): a parent acts for a child on their Kartu
Keluarga as the registry lists it; anyone else's child only after an identity-desk officer has seen the
guardianship papers (a court's decision, or the registry's record of a guardian) and the guardian's
KTP-el, and recorded it here. The record names the officer and the papers, and is audited."""

from __future__ import annotations

from sqlite_utils import Database

from db import audit
from db import identitas as identitas_q
from db import perwalian as q
from db.connection import write
from integrations.dukcapil import Dukcapil, Member
from services import jaminan, kalender
from services import nik as nik_rules


class Refused(ValueError):
    def __init__(self, errors: dict[str, str]):
        super().__init__("; ".join(errors.values()))
        self.errors = errors


def wards(db: Database, akun: dict) -> list[Member]:
    """The people this citizen is the recorded guardian of, as family members they may apply for."""
    return [Member(nik=w["nik"], nama=w["nama"], tanggal_lahir="", jenis_kelamin="")
            for w in q.wards_of(db, akun["id"])]


def record_id(db: Database, akun: dict, nik: str) -> int | None:
    """The active guardianship of this citizen for ``nik``."""
    return next((w["id"] for w in q.wards_of(db, akun["id"]) if w["nik"] == nik), None)


def desk_page(db: Database, officer: dict) -> dict:
    return {"perwalian": q.recent_in_region(db, officer["wilayah_kode"])}


def record(db: Database, registry: Dukcapil, officer: dict, form) -> str:
    """Record that the citizen with ``wali_nik`` is the guardian of ``nik``; the ward's name. Raises Refused
    with a message per field; a record made already is not made twice."""
    errors: dict[str, str] = {}
    wali_nik, ward_nik = str(form.get("wali_nik", "")).strip()[:32], str(form.get("nik", "")).strip()[:32]
    dasar = " ".join(str(form.get("dasar", "")).split())[:301]
    guardian = None
    checked = nik_rules.check(db, wali_nik)
    if checked.errors:
        errors["wali_nik"] = f"NIK wali: {checked.errors[0]}"
    else:
        guardian = identitas_q.account_by_nik(db, checked.nik)
        if guardian is None:
            errors["wali_nik"] = "NIK wali belum memiliki akun MPP Digital: buatkan akunnya dulu di meja identitas."
        elif guardian["status"] != "aktif" or not jaminan.meets(guardian["tingkat"], "terverifikasi_wajah"):
            # a merely registered account may be an impostor's: the ward's papers must not go there
            errors["wali_nik"] = ("Akun wali belum terverifikasi. Verifikasi tatap muka dulu di Meja identitas (KTP-el "
                                  "asli), lalu catat perwaliannya.")
            guardian = None
    ward = None
    checked_ward = nik_rules.check(db, ward_nik)
    if checked_ward.errors:
        errors["nik"] = f"NIK anak/orang yang diwakili: {checked_ward.errors[0]}"
    elif guardian and checked_ward.nik == guardian["nik"]:
        errors["nik"] = "NIK ini sama dengan NIK wali."
    else:
        ward = registry.lookup(checked_ward.nik)  # ServiceUnavailable: the page says the registry is down
        if ward is None:
            errors["nik"] = "NIK ini tidak ditemukan di data kependudukan (Dukcapil)."
    if len(dasar) < 10 or len(dasar) > 300:
        errors["dasar"] = "Tulis dasar perwalian: jenis, nomor dan tanggal dokumen (10 sampai 300 karakter)."
    if form.get("diperiksa") != "1":
        errors["diperiksa"] = "Centang bila Anda sudah memeriksa dokumen asli dan KTP-el wali."
    if errors:
        raise Refused(errors)
    stamp = kalender.stamp()
    with write(db):
        new_id, created = q.add(db, guardian["id"], checked_ward.nik, ward.nama, dasar, officer["id"],
                                officer["wilayah_kode"], stamp)
        if created:
            audit.append(db, officer["id"], "catat_perwalian", f"perwalian:{new_id}",
                         {"wali": guardian["id"], "nik": checked_ward.nik, "dasar": dasar}, waktu=stamp)
    return ward.nama
