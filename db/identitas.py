"""Queries for registration, face checks, liveness challenges and officer review."""

from __future__ import annotations

import json
import time

from sqlite_utils import Database

from db.connection import write


def create_registration(db: Database, nik: str, nama: str, telepon: str, kata_sandi: str, consent_at: str) -> int:
    with write(db):
        return db.execute(
            "INSERT INTO pendaftaran (nik, nama, telepon, kata_sandi, persetujuan_biometrik) VALUES (?, ?, ?, ?, ?)",
            [nik, nama, telepon, kata_sandi, consent_at],
        ).lastrowid


def get_registration(db: Database, pendaftaran_id: int) -> dict | None:
    row = db.execute("SELECT * FROM pendaftaran WHERE id = ?", [pendaftaran_id]).fetchone()
    return dict(row) if row else None


def set_registration_status(db: Database, pendaftaran_id: int, status: str, akun_id: int | None = None) -> None:
    with write(db):
        db.execute("UPDATE pendaftaran SET status = ?, akun_id = coalesce(?, akun_id) WHERE id = ?",
                   [status, akun_id, pendaftaran_id])


def account_exists_for(db: Database, nik: str, telepon: str | None = None) -> str | None:
    """'nik' or 'telepon' if an account already uses it."""
    if db.execute("SELECT 1 FROM akun WHERE nik = ?", [nik]).fetchone():
        return "nik"
    if telepon and db.execute("SELECT 1 FROM akun WHERE telepon = ?", [telepon]).fetchone():
        return "telepon"
    return None


def create_citizen(db: Database, reg: dict, tingkat: str, wilayah_kode: str | None) -> int:
    with write(db):
        return db.execute(
            """INSERT INTO akun (peran, nik, telepon, nama, kata_sandi, wilayah_kode, tingkat,
                                 persetujuan_biometrik, wajah_terakhir)
               VALUES ('warga', ?, ?, ?, ?, ?, ?, ?, strftime('%Y-%m-%dT%H:%M:%SZ', 'now'))""",
            [reg["nik"], reg["telepon"], reg["nama"], reg["kata_sandi"], wilayah_kode, tingkat,
             reg["persetujuan_biometrik"]],
        ).lastrowid


def set_account_template(db: Database, akun_id: int, sealed: bytes) -> None:
    with write(db):
        db.execute("UPDATE akun SET templat_wajah = ? WHERE id = ?", [sealed, akun_id])


def mark_face_checked(db: Database, akun_id: int) -> None:
    with write(db):
        db.execute("UPDATE akun SET wajah_terakhir = strftime('%Y-%m-%dT%H:%M:%SZ', 'now') WHERE id = ?", [akun_id])


def enrolled_templates(db: Database):
    """(akun id, nik, sealed template) of every enrolled citizen, streamed."""
    yield from db.execute("SELECT id, nik, templat_wajah FROM akun WHERE templat_wajah IS NOT NULL")


def registry_lacks_photo(db: Database, nik: str) -> bool:
    """True for a resident of the embedded registry who has no reference photo yet."""
    row = db.execute("SELECT templat_wajah IS NULL FROM penduduk WHERE nik = ?", [nik]).fetchone()
    return bool(row and row[0])


def set_registry_template(db: Database, nik: str, sealed: bytes) -> None:
    with write(db):
        db.execute("UPDATE penduduk SET templat_wajah = ? WHERE nik = ?", [sealed, nik])


def store_challenge(db: Database, nonce: str, subjek: str, poses: list[str], issued_at: float) -> None:
    with write(db):
        db.execute("DELETE FROM tantangan WHERE dibuat < ?", [time.time() - 3600])
        db.execute("INSERT INTO tantangan (nonce, subjek, pose, dibuat) VALUES (?, ?, ?, ?)",
                   [nonce, subjek, json.dumps(poses), issued_at])


def use_challenge(db: Database, nonce: str, subjek: str) -> dict | None:
    """Take a challenge once: a second use (a replay) finds nothing."""
    with write(db):
        row = db.execute("SELECT * FROM tantangan WHERE nonce = ? AND subjek = ? AND dipakai = 0",
                         [nonce, subjek]).fetchone()
        if row is None:
            return None
        db.execute("UPDATE tantangan SET dipakai = 1 WHERE nonce = ?", [nonce])
        return dict(row)


def latest_challenge(db: Database, subjek: str) -> dict | None:
    row = db.execute("SELECT * FROM tantangan WHERE subjek = ? AND dipakai = 0 ORDER BY dibuat DESC LIMIT 1",
                     [subjek]).fetchone()
    return dict(row) if row else None


def record_face_check(db: Database, subjek: str, tujuan: str, hasil: str, jarak: float | None, alasan: str) -> None:
    with write(db):
        db.execute("INSERT INTO verifikasi_wajah (subjek, tujuan, hasil, jarak, alasan) VALUES (?, ?, ?, ?, ?)",
                   [subjek, tujuan, hasil, jarak, alasan])


def open_review(db: Database, pendaftaran_id: int, wilayah_kode: str, alasan: str, detail: str) -> int:
    with write(db):
        existing = db.execute("SELECT id FROM tinjauan WHERE pendaftaran_id = ? AND status = 'menunggu'",
                              [pendaftaran_id]).fetchone()
        if existing:
            return existing[0]
        db.execute("UPDATE pendaftaran SET status = 'ditinjau' WHERE id = ?", [pendaftaran_id])
        return db.execute(
            "INSERT INTO tinjauan (pendaftaran_id, wilayah_kode, alasan, detail) VALUES (?, ?, ?, ?)",
            [pendaftaran_id, wilayah_kode, alasan, detail],
        ).lastrowid


def reviews_for_region(db: Database, wilayah_kode: str, status: str = "menunggu") -> list[dict]:
    return [dict(r) for r in db.execute(
        """SELECT t.*, p.nik, p.nama, p.telepon FROM tinjauan t JOIN pendaftaran p ON p.id = t.pendaftaran_id
           WHERE t.wilayah_kode = ? AND t.status = ? ORDER BY t.dibuat, t.id""",
        [wilayah_kode, status],
    ).fetchall()]


def get_review(db: Database, tinjauan_id: int, wilayah_kode: str) -> dict | None:
    row = db.execute(
        """SELECT t.*, p.nik, p.nama, p.telepon FROM tinjauan t JOIN pendaftaran p ON p.id = t.pendaftaran_id
           WHERE t.id = ? AND t.wilayah_kode = ?""",
        [tinjauan_id, wilayah_kode],
    ).fetchone()
    return dict(row) if row else None


def close_review(db: Database, tinjauan_id: int, status: str, petugas_id: int) -> None:
    with write(db):
        db.execute(
            """UPDATE tinjauan SET status = ?, petugas_id = ?, diputuskan = strftime('%Y-%m-%dT%H:%M:%SZ', 'now')
               WHERE id = ?""",
            [status, petugas_id, tinjauan_id],
        )


def last_face_check(db: Database, subjek: str) -> dict | None:
    row = db.execute("SELECT hasil, jarak, alasan, waktu, tujuan FROM verifikasi_wajah WHERE subjek = ? "
                     "ORDER BY id DESC LIMIT 1", [subjek]).fetchone()
    return dict(row) if row else None


def account_level(db: Database, akun_id: int) -> str:
    row = db.execute("SELECT tingkat FROM akun WHERE id = ?", [akun_id]).fetchone()
    return row[0] if row else ""
