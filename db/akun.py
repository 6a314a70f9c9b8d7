"""Queries over accounts (akun) and the attempt log used for rate limits."""

from __future__ import annotations

import time

from sqlite_utils import Database

from db.connection import write


def find_by_login(db: Database, login: str) -> dict | None:
    """An account by NIK, phone number or officer username."""
    row = db.execute(
        "SELECT * FROM akun WHERE nik = :l OR telepon = :l OR username = :l LIMIT 1", {"l": login}
    ).fetchone()
    return dict(row) if row else None


def get(db: Database, akun_id: int) -> dict | None:
    row = db.execute(
        """SELECT a.*, k.nama AS wilayah_nama, i.nama AS instansi_nama, i.jenis_kode AS instansi_jenis
           FROM akun a LEFT JOIN kabkota k ON k.kode = a.wilayah_kode
           LEFT JOIN instansi i ON i.id = a.instansi_id WHERE a.id = ?""",
        [akun_id],
    ).fetchone()
    return dict(row) if row else None


def bump_session_version(db: Database, akun_id: int) -> None:
    with write(db):
        db.execute("UPDATE akun SET sesi_versi = sesi_versi + 1 WHERE id = ?", [akun_id])


def count_attempts(db: Database, key: str, window_s: float) -> int:
    return db.execute(
        "SELECT count(*) FROM batas_laju WHERE kunci = ? AND waktu > ?", [key, time.time() - window_s]
    ).fetchone()[0]


def record_attempt(db: Database, key: str) -> None:
    with write(db):
        db.execute("INSERT INTO batas_laju (kunci, waktu) VALUES (?, ?)", [key, time.time()])


def clear_attempts(db: Database, key: str) -> None:
    with write(db):
        db.execute("DELETE FROM batas_laju WHERE kunci = ?", [key])
