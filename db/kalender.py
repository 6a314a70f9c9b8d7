"""Holidays (libur nasional, cuti bersama, and a region's own) for working-day arithmetic."""

from __future__ import annotations

from sqlite_utils import Database

from db.connection import write


def load_national_holidays(db: Database) -> int:
    """National holidays and cuti bersama from lokal-id (SKB 3 Menteri), upserted at every start."""
    import lokal

    rows = [(h.date, h.name) for year in lokal.HOLIDAY_YEARS for h in lokal.get_holidays(year).holidays]
    with write(db):
        for date, name in rows:
            db.execute("INSERT INTO libur (tanggal, wilayah_kode, nama) VALUES (?, '', ?) "
                       "ON CONFLICT DO UPDATE SET nama = excluded.nama", [date, name])
    return len(rows)


def holidays_between(db: Database, wilayah_kode: str, start: str, end: str) -> set[str]:
    return {r[0] for r in db.execute(
        "SELECT tanggal FROM libur WHERE tanggal BETWEEN ? AND ? AND wilayah_kode IN ('', ?)",
        [start, end, wilayah_kode],
    )}


def add_regional_holiday(db: Database, wilayah_kode: str, tanggal: str, nama: str) -> None:
    with write(db):
        db.execute("INSERT OR REPLACE INTO libur (tanggal, wilayah_kode, nama) VALUES (?, ?, ?)",
                   [tanggal, wilayah_kode, nama])
