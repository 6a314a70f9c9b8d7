"""Queries over the rows that name objects in storage (``berkas``, ``dokumen_pdf``) and the storage check.

The rules (what is an orphan, what is missing, how blobs move out) are in services/penyimpanan.py.
"""

from __future__ import annotations

import json

from sqlite_utils import Database

from db.connection import write

# the tables whose rows name objects, by the key prefix of their objects; the column that identifies a row
TABLES = {"berkas/": ("berkas", "id"), "dokumen/": ("dokumen_pdf", "dokumen_id")}


def keys_after(db: Database, table: str, after: str, limit: int) -> list[tuple[str, int]]:
    """(key, size) of rows whose object key sorts after ``after``, in key order (byte order, as S3 lists)."""
    return [(r[0], r[1]) for r in db.execute(
        f"SELECT kunci, ukuran FROM {table} WHERE kunci IS NOT NULL AND kunci > ? ORDER BY kunci LIMIT ?",
        [after, limit])]


def key_in_use(db: Database, kunci: str) -> bool:
    return db.execute("SELECT EXISTS (SELECT 1 FROM berkas WHERE kunci = ?) "
                      "OR EXISTS (SELECT 1 FROM dokumen_pdf WHERE kunci = ?)", [kunci, kunci]).fetchone()[0] == 1


def claim_check(db: Database, now: float, every_s: float) -> bool:
    """Take the turn of the periodic check when the last one started ``every_s`` or more ago (one at a time,
    whatever the number of processes)."""
    with write(db):
        return db.execute("UPDATE penyimpanan_cek SET mulai = ?, selesai = NULL, galat = '' "
                          "WHERE id = 1 AND mulai <= ?", [now, now - every_s]).rowcount == 1


def record_check(db: Database, mulai: float, selesai: str, objek: int, hilang: list[str], yatim: int,
                 dihapus: int, galat: str = "") -> None:
    with write(db):
        db.execute("UPDATE penyimpanan_cek SET mulai = ?, selesai = ?, objek = ?, hilang = ?, contoh = ?, yatim = ?, "
                   "dihapus = ?, galat = ? WHERE id = 1",
                   [mulai, selesai, objek, len(hilang), json.dumps(hilang[:20]), yatim, dihapus, galat])


def record_failure(db: Database, galat: str) -> None:
    with write(db):
        db.execute("UPDATE penyimpanan_cek SET galat = ? WHERE id = 1", [galat[:500]])


def last_check(db: Database) -> dict | None:
    row = db.execute("SELECT * FROM penyimpanan_cek WHERE id = 1").fetchone()
    if row is None:
        return None
    out = dict(row)
    out["contoh"] = json.loads(out["contoh"])
    return out


def blobs_left(db: Database) -> dict[str, int]:
    """Rows whose bytes are still in SQLite, per table (partial indexes: cheap once all are moved)."""
    return {"berkas": db.execute("SELECT count(*) FROM berkas WHERE kunci IS NULL").fetchone()[0],
            "dokumen_pdf": db.execute("SELECT count(*) FROM dokumen_pdf WHERE kunci IS NULL").fetchone()[0]}


def blobs_to_move(db: Database, table: str, limit: int) -> list[dict]:
    """The next rows whose bytes are still in ``isi`` (without the bytes: ``blob`` reads them one at a time)."""
    if table == "berkas":
        sql = ("SELECT id AS row_id, permohonan_id AS pemilik, jenis, sha256 FROM berkas "
               "WHERE kunci IS NULL ORDER BY id LIMIT ?")
    else:
        sql = ("SELECT dokumen_id AS row_id, dokumen_id AS pemilik, 'application/pdf' AS jenis, NULL AS sha256 "
               "FROM dokumen_pdf WHERE kunci IS NULL ORDER BY dokumen_id LIMIT ?")
    return [dict(r) for r in db.execute(sql, [limit])]


def blob(db: Database, table: str, row_id: int) -> bytes | None:
    """The bytes still in ``isi`` of one row (None once moved)."""
    _, column = next(v for v in TABLES.values() if v[0] == table)
    row = db.execute(f"SELECT isi FROM {table} WHERE {column} = ? AND kunci IS NULL", [row_id]).fetchone()
    return row[0] if row else None


def mark_moved(db: Database, table: str, moved: list[tuple[int, str, int, str]]) -> list[str]:
    """In one transaction, point each row (row id, key, size, sha256) at its object and empty ``isi`` — unless
    the row meanwhile got a new upload (kunci set). Returns the keys that were not taken (to delete)."""
    _, column = next(v for v in TABLES.values() if v[0] == table)
    unused = []
    with write(db):
        for row_id, kunci, ukuran, sha256 in moved:
            done = db.execute(f"UPDATE {table} SET kunci = ?, ukuran = ?, sha256 = ?, isi = x'' "
                              f"WHERE {column} = ? AND kunci IS NULL", [kunci, ukuran, sha256, row_id]).rowcount
            if not done:
                unused.append(kunci)
    return unused


def vacuum(db: Database) -> None:
    """Give the space of the moved blobs back to the file system (needs no open transaction)."""
    db.execute("VACUUM")
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")


def object_bytes_per_application(db: Database) -> tuple[int, int]:
    """(applications submitted, bytes of their files and sealed PDFs) — stored objects and blobs alike."""
    row = db.execute(
        """SELECT count(*),
                  coalesce(sum((SELECT coalesce(sum(b.ukuran), 0) FROM berkas b WHERE b.permohonan_id = p.id)
                               + coalesce((SELECT coalesce(x.ukuran, length(x.isi)) FROM dokumen d
                                           JOIN dokumen_pdf x ON x.dokumen_id = d.id
                                           WHERE d.permohonan_id = p.id), 0)), 0)
           FROM permohonan p WHERE p.status != 'draf'""").fetchone()
    return row[0], row[1]
