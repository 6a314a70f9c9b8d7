"""Queries over counters (gerai) and queue tickets (tiket)."""

from __future__ import annotations

import sqlite3

from sqlite_utils import Database

from db.connection import write


class AlreadyHeld(Exception):
    """The citizen already holds an active ticket at this counter on this day (index ``tiket_satu_aktif``)."""


def counters(db: Database, wilayah_kode: str) -> list[dict]:
    return [dict(r) for r in db.execute(
        """SELECT g.*, i.nama AS instansi_nama, i.jenis_kode FROM gerai g JOIN instansi i ON i.id = g.instansi_id
           WHERE g.wilayah_kode = ? ORDER BY g.nomor""", [wilayah_kode])]


def counter(db: Database, gerai_id: int) -> dict | None:
    row = db.execute("SELECT g.*, i.nama AS instansi_nama FROM gerai g JOIN instansi i ON i.id = g.instansi_id "
                     "WHERE g.id = ?", [gerai_id]).fetchone()
    return dict(row) if row else None


def booked(db: Database, gerai_id: int, tanggal: str) -> dict[tuple[str, str], int]:
    """(slot time, kind) → tickets that hold a place (cancelled ones free theirs)."""
    return {(r[0], r[1]): r[2] for r in db.execute(
        "SELECT jam, jenis, count(*) FROM tiket WHERE gerai_id = ? AND tanggal = ? AND status != 'batal' "
        "GROUP BY jam, jenis", [gerai_id, tanggal])}


def take_place(db: Database, g: dict, tanggal: str, jam: str, jenis: str, akun_id: int | None,
               layanan_id: int | None) -> dict | None:
    """Insert a ticket if the slot still has room — inside BEGIN IMMEDIATE, so two
    bookings can never both take the last place. None when it has none; ``AlreadyHeld``
    when the citizen's active ticket at this counter that day is already there."""
    quota = g["kuota_daring"] if jenis == "daring" else g["kuota_langsung"]
    try:
        with write(db):
            taken = db.execute("SELECT count(*) FROM tiket WHERE gerai_id = ? AND tanggal = ? AND jam = ? "
                               "AND jenis = ? AND status != 'batal'", [g["id"], tanggal, jam, jenis]).fetchone()[0]
            if taken >= quota:
                return None
            nomor = db.execute("SELECT coalesce(max(nomor), 0) + 1 FROM tiket WHERE gerai_id = ? AND tanggal = ?",
                               [g["id"], tanggal]).fetchone()[0]
            kode = f"{g['nomor']}-{nomor:03d}"
            tiket_id = db.execute(
                """INSERT INTO tiket (wilayah_kode, gerai_id, layanan_id, tanggal, jam, jenis, nomor, kode, akun_id,
                                      loket)
                   VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)""",
                [g["wilayah_kode"], g["id"], layanan_id, tanggal, jam, jenis, nomor, kode, akun_id, g["nomor"]],
            ).lastrowid
    except sqlite3.IntegrityError:
        if akun_id is not None and active_booking(db, akun_id, g["id"], tanggal):
            raise AlreadyHeld() from None
        raise
    return get(db, tiket_id)


def active_booking(db: Database, akun_id: int, gerai_id: int, tanggal: str) -> dict | None:
    row = db.execute("SELECT * FROM tiket WHERE akun_id = ? AND gerai_id = ? AND tanggal = ? "
                     "AND status IN ('menunggu', 'dipanggil')", [akun_id, gerai_id, tanggal]).fetchone()
    return dict(row) if row else None


def get(db: Database, tiket_id: int) -> dict | None:
    row = db.execute(
        """SELECT t.*, g.nama AS gerai_nama, g.nomor AS gerai_nomor, i.nama AS instansi_nama, g.instansi_id,
                  l.nama AS layanan_nama, l.slug AS layanan_slug, l.persyaratan, k.nama AS wilayah_nama,
                  lw.persyaratan_tambahan
           FROM tiket t JOIN gerai g ON g.id = t.gerai_id JOIN instansi i ON i.id = g.instansi_id
           JOIN kabkota k ON k.kode = t.wilayah_kode LEFT JOIN layanan l ON l.id = t.layanan_id
           LEFT JOIN layanan_wilayah lw ON lw.layanan_id = t.layanan_id AND lw.wilayah_kode = t.wilayah_kode
           WHERE t.id = ?""", [tiket_id]).fetchone()
    return dict(row) if row else None


def set_status(db: Database, tiket_id: int, status: str, **columns) -> None:
    sets = ", ".join(["status = :status", *[f"{k} = :{k}" for k in columns]])
    with write(db):
        db.execute(f"UPDATE tiket SET {sets} WHERE id = :id", {"status": status, "id": tiket_id, **columns})


def next_waiting(db: Database, gerai_id: int, tanggal: str) -> dict | None:
    row = db.execute("SELECT id FROM tiket WHERE gerai_id = ? AND tanggal = ? AND status = 'menunggu' "
                     "ORDER BY jam, nomor LIMIT 1", [gerai_id, tanggal]).fetchone()
    return get(db, row[0]) if row else None


def called(db: Database, wilayah_kode: str, tanggal: str, limit: int = 12) -> list[dict]:
    return [dict(r) for r in db.execute(
        """SELECT t.kode, t.loket, t.dipanggil, g.nama AS gerai_nama FROM tiket t JOIN gerai g ON g.nomor = t.loket
             AND g.wilayah_kode = t.wilayah_kode
           WHERE t.wilayah_kode = ? AND t.tanggal = ? AND t.status = 'dipanggil' ORDER BY t.dipanggil DESC LIMIT ?""",
        [wilayah_kode, tanggal, limit])]


def display_version(db: Database, wilayah_kode: str, tanggal: str) -> str:
    row = db.execute("SELECT count(*), coalesce(max(dipanggil), ''), coalesce(max(selesai), '') FROM tiket "
                     "WHERE wilayah_kode = ? AND tanggal = ?", [wilayah_kode, tanggal]).fetchone()
    return f"{row[0]}.{row[1]}.{row[2]}"


def waiting(db: Database, gerai_id: int, tanggal: str) -> list[dict]:
    return [dict(r) for r in db.execute(
        "SELECT id, kode, jam, jenis, status FROM tiket WHERE gerai_id = ? AND tanggal = ? "
        "AND status IN ('menunggu', 'dipanggil') ORDER BY status = 'dipanggil' DESC, jam, nomor", [gerai_id, tanggal])]


def for_citizen(db: Database, akun_id: int, limit: int = 20) -> list[dict]:
    """The citizen's tickets: the active ones (waiting or called) first, soonest first; then the rest, newest first."""
    return [dict(r) for r in db.execute(
        """SELECT t.id, t.kode, t.tanggal, t.jam, t.status, t.wilayah_kode, g.nama AS gerai_nama,
                  g.nomor AS gerai_nomor, i.nama AS instansi_nama, k.nama AS wilayah_nama
           FROM tiket t JOIN gerai g ON g.id = t.gerai_id JOIN instansi i ON i.id = g.instansi_id
           JOIN kabkota k ON k.kode = t.wilayah_kode
           WHERE t.akun_id = ?
           ORDER BY t.status IN ('menunggu', 'dipanggil') DESC,
                    CASE WHEN t.status IN ('menunggu', 'dipanggil') THEN t.tanggal || t.jam END,
                    t.tanggal DESC, t.jam DESC LIMIT ?""",
        [akun_id, limit])]
