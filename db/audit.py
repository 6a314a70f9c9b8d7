"""The audit log: append-only (triggers refuse UPDATE/DELETE) and hash-chained.

Each row's hash covers its content and the previous row's hash, so editing or
deleting a row — even by someone who drops the triggers — breaks the chain at
that row, and ``verify_chain`` says where.
"""

from __future__ import annotations

import hashlib
import json

from sqlite_utils import Database

from db.connection import write

GENESIS = "0" * 64


def _digest(prev: str, waktu: str, akun_id, aksi: str, objek: str, detail: str) -> str:
    canonical = json.dumps([prev, waktu, akun_id, aksi, objek, detail], ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def append(db: Database, akun_id: int | None, aksi: str, objek: str, detail: dict | None = None,
           *, waktu: str) -> int:
    """Record one action; call inside the transaction that performs it.

    ``waktu``: the service's UTC stamp (``kalender.stamp()``, the one clock)."""
    with write(db):
        last = db.execute("SELECT hash FROM audit ORDER BY id DESC LIMIT 1").fetchone()
        prev = last[0] if last else GENESIS
        body = json.dumps(detail or {}, ensure_ascii=False, sort_keys=True)
        digest = _digest(prev, waktu, akun_id, aksi, objek, body)
        cur = db.execute(
            "INSERT INTO audit (waktu, akun_id, aksi, objek, detail, hash_sebelum, hash) VALUES (?, ?, ?, ?, ?, ?, ?)",
            [waktu, akun_id, aksi, objek, body, prev, digest],
        )
        return cur.lastrowid


def append_many(db: Database, rows, batch: int = 50_000) -> int:
    """Append many actions at once, chained exactly as :func:`append` chains one (same digest, same order):
    for bulk loads such as the volume benchmark's generator (bench/volume.py). ``rows`` yields
    ``(waktu, akun_id, aksi, objek, detail)`` in the order they happened; each batch is one transaction
    (or part of the caller's). Returns the number of rows appended."""
    insert = "INSERT INTO audit (waktu, akun_id, aksi, objek, detail, hash_sebelum, hash) VALUES (?, ?, ?, ?, ?, ?, ?)"
    done, pending = 0, []
    with write(db):
        last = db.execute("SELECT hash FROM audit ORDER BY id DESC LIMIT 1").fetchone()
    prev = last[0] if last else GENESIS
    for waktu, akun_id, aksi, objek, detail in rows:
        body = detail if isinstance(detail, str) else json.dumps(detail or {}, ensure_ascii=False, sort_keys=True)
        digest = _digest(prev, waktu, akun_id, aksi, objek, body)
        pending.append((waktu, akun_id, aksi, objek, body, prev, digest))
        prev = digest
        if len(pending) >= batch:
            done += _insert_chained(db, insert, pending)
            pending = []
    if pending:
        done += _insert_chained(db, insert, pending)
    return done


def _insert_chained(db: Database, insert: str, rows: list[tuple]) -> int:
    with write(db):
        last = db.execute("SELECT hash FROM audit ORDER BY id DESC LIMIT 1").fetchone()
        if (last[0] if last else GENESIS) != rows[0][5]:
            raise RuntimeError("audit: another writer appended while a bulk load ran; the chain would fork")
        db.conn.executemany(insert, rows)
    return len(rows)


def verify_chain(db: Database) -> int | None:
    """None when the whole chain is intact, else the id of the first row that does not fit."""
    prev = GENESIS
    for row in db.execute("SELECT * FROM audit ORDER BY id"):
        expected = _digest(prev, row["waktu"], row["akun_id"], row["aksi"], row["objek"], row["detail"])
        if row["hash_sebelum"] != prev or row["hash"] != expected:
            return row["id"]
        prev = row["hash"]
    return None


def for_object(db: Database, objek: str) -> list[dict]:
    return [dict(r) for r in db.execute(
        """SELECT a.waktu, a.aksi, a.detail, k.nama AS akun_nama, k.peran
           FROM audit a LEFT JOIN akun k ON k.id = a.akun_id WHERE a.objek = ? ORDER BY a.id""",
        [objek],
    ).fetchall()]
