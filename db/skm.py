"""Survey answers (SKM), one row per transaction."""

from __future__ import annotations

import sqlite3

from sqlite_utils import Database

from db.connection import write

_U = ", ".join(f"u{i}" for i in range(1, 10))


def insert(db: Database, transaksi: str, wilayah_kode: str, instansi_id, layanan_id, values: dict) -> bool:
    """False when this transaction already has its survey (UNIQUE transaksi)."""
    try:
        with write(db):
            db.execute(f"INSERT INTO skm (transaksi, wilayah_kode, instansi_id, layanan_id, {_U}) "
                       f"VALUES (?, ?, ?, ?, {', '.join('?' * 9)})",
                       [transaksi, wilayah_kode, instansi_id, layanan_id, *[values[f"u{i}"] for i in range(1, 10)]])
        return True
    except sqlite3.IntegrityError:
        return False


def exists(db: Database, transaksi: str) -> bool:
    return db.execute("SELECT 1 FROM skm WHERE transaksi = ?", [transaksi]).fetchone() is not None


def answers(db: Database, wilayah_kode: str, instansi_id: int | None = None, layanan_id: int | None = None):
    sql, params = f"SELECT {_U} FROM skm WHERE wilayah_kode = ?", [wilayah_kode]
    if instansi_id:
        sql += " AND instansi_id = ?"
        params.append(instansi_id)
    if layanan_id:
        sql += " AND layanan_id = ?"
        params.append(layanan_id)
    return [dict(r) for r in db.execute(sql, params)]


def agencies_with_answers(db: Database, wilayah_kode: str) -> list[dict]:
    return [dict(r) for r in db.execute(
        "SELECT DISTINCT i.id, i.nama FROM skm s JOIN instansi i ON i.id = s.instansi_id WHERE s.wilayah_kode = ? "
        "ORDER BY i.nama", [wilayah_kode])]
