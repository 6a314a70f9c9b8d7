"""The notifications outbox table."""

from __future__ import annotations

from sqlite_utils import Database

from db.connection import write


def enqueue(db: Database, akun_id: int | None, kanal: str, tujuan: str, isi: str, when: float) -> None:
    with write(db):
        db.execute("INSERT INTO notifikasi (akun_id, kanal, tujuan, isi, berikut) VALUES (?, ?, ?, ?, ?)",
                   [akun_id, kanal, tujuan, isi, when])


def due(db: Database, now: float, limit: int) -> list[dict]:
    return [dict(r) for r in db.execute(
        "SELECT * FROM notifikasi WHERE status = 'antri' AND berikut <= ? ORDER BY berikut LIMIT ?", [now, limit])]


def sent(db: Database, notifikasi_id: int, isi: str | None = None) -> None:
    """Sent; ``isi``: the text to keep from now on (without its secrets), when given."""
    with write(db):
        db.execute("UPDATE notifikasi SET status = 'terkirim', percobaan = percobaan + 1, isi = coalesce(?, isi) "
                   "WHERE id = ?", [isi, notifikasi_id])


def failed(db: Database, notifikasi_id: int, attempts: int, next_at: float, error: str, final: bool,
           isi: str | None = None) -> None:
    with write(db):
        db.execute("UPDATE notifikasi SET percobaan = ?, berikut = ?, galat = ?, status = ?, isi = coalesce(?, isi) "
                   "WHERE id = ?", [attempts, next_at, error, "gagal" if final else "antri", isi, notifikasi_id])


def recent(db: Database, limit: int = 50) -> list[dict]:
    return [dict(r) for r in db.execute("SELECT * FROM notifikasi ORDER BY id DESC LIMIT ?", [limit])]


def recent_in_region(db: Database, wilayah_kode: str, limit: int = 50) -> list[dict]:
    """The newest messages to accounts of one region (messages to no account are left out)."""
    return [dict(r) for r in db.execute(
        "SELECT n.* FROM notifikasi n JOIN akun a ON a.id = n.akun_id WHERE a.wilayah_kode = ? "
        "ORDER BY n.id DESC LIMIT ?", [wilayah_kode, limit])]


def latest_to(db: Database, tujuan: str) -> dict | None:
    """The newest message to one number (demo mode shows it where the SMS would arrive)."""
    row = db.execute("SELECT * FROM notifikasi WHERE tujuan = ? ORDER BY id DESC LIMIT 1", [tujuan]).fetchone()
    return dict(row) if row else None
