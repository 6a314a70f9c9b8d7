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


def totals(db: Database, wilayah_kode: str) -> list[dict]:
    """Per agency of the region (``nama`` None: answers that name no agency): respondents and the sum of each
    element, from ``skm_ringkasan`` (kept by the triggers of migration 024), agencies by name."""
    return [dict(r) for r in db.execute(
        f"""SELECT r.instansi_id, i.nama, r.responden, {', '.join(f'r.u{i}' for i in range(1, 10))}
            FROM skm_ringkasan r LEFT JOIN instansi i ON i.id = r.instansi_id
            WHERE r.wilayah_kode = ? AND r.responden > 0 ORDER BY i.nama""", [wilayah_kode])]
