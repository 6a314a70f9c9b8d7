"""The embedded SISDMK's tables: STR records (``str_nakes``) and practice places (``tempat_praktik``)."""

from __future__ import annotations

from sqlite_utils import Database

from db.connection import write


def str_record(db: Database, nomor_str: str) -> dict | None:
    row = db.execute("SELECT * FROM str_nakes WHERE nomor_str = ?", [nomor_str]).fetchone()
    return dict(row) if row else None


def practice_places(db: Database, nomor_str: str, valid_on: str | None = None) -> list[dict]:
    """The practice places on an STR; with ``valid_on`` (ISO date) only those still valid that day."""
    sql = "SELECT nama_fasyankes, nomor_sip, berlaku_sampai FROM tempat_praktik WHERE nomor_str = ?"
    params = [nomor_str]
    if valid_on is not None:
        sql += " AND berlaku_sampai >= ?"
        params.append(valid_on)
    return [dict(r) for r in db.execute(sql + " ORDER BY id", params)]


def add_practice_place(db: Database, nomor_str: str, nama_fasyankes: str, nomor_sip: str,
                       berlaku_sampai: str) -> None:
    with write(db):
        db.execute("INSERT INTO tempat_praktik (nomor_str, nama_fasyankes, nomor_sip, berlaku_sampai) "
                   "VALUES (?, ?, ?, ?)", [nomor_str, nama_fasyankes, nomor_sip, berlaku_sampai])
