"""Guardianships recorded at the counter: a citizen may act for a person who is not on their Kartu Keluarga
(a ward under a court's or the registry's guardianship), once an identity-desk officer saw the papers."""

from __future__ import annotations

from sqlite_utils import Database


def add(db: Database, wali_akun_id: int, nik: str, nama: str, dasar: str, petugas_id: int, wilayah_kode: str,
        waktu: str) -> tuple[int, bool]:
    """(id, created): an active guardianship of this citizen for this NIK is recorded once."""
    row = db.execute("SELECT id FROM perwalian WHERE wali_akun_id = ? AND nik = ? AND dicabut IS NULL",
                     [wali_akun_id, nik]).fetchone()
    if row:
        return row[0], False
    new_id = db.execute("INSERT INTO perwalian (wali_akun_id, nik, nama, dasar, petugas_id, wilayah_kode, dibuat) "
                        "VALUES (?, ?, ?, ?, ?, ?, ?)",
                        [wali_akun_id, nik, nama, dasar, petugas_id, wilayah_kode, waktu]).lastrowid
    return new_id, True


def wards_of(db: Database, wali_akun_id: int) -> list[dict]:
    return [dict(r) for r in db.execute(
        "SELECT id, nik, nama, dasar, dibuat FROM perwalian WHERE wali_akun_id = ? AND dicabut IS NULL ORDER BY nama",
        [wali_akun_id])]


def recent_in_region(db: Database, wilayah_kode: str, limit: int = 20) -> list[dict]:
    return [dict(r) for r in db.execute(
        """SELECT w.id, w.nik, w.nama, w.dasar, w.dibuat, a.nama AS wali_nama, a.nik AS wali_nik, o.nama AS petugas
           FROM perwalian w JOIN akun a ON a.id = w.wali_akun_id JOIN akun o ON o.id = w.petugas_id
           WHERE w.wilayah_kode = ? AND w.dicabut IS NULL ORDER BY w.id DESC LIMIT ?""", [wilayah_kode, limit])]

