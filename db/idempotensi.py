"""Stored first answers of submits, keyed by (session, form key, path, form content).

Only finished answers are written (one row, once): the claim of a submit still running is held in
memory and by a kernel lock (web/formguard.py, web/proses.py), so a refused POST never writes, not even a
placeholder. Bodies are
stored zlib-compressed (a page of ~20 KB keeps as ~4 KB) and dropped after a few hours.
"""

from __future__ import annotations

import datetime as dt
import json
import zlib

from sqlite_utils import Database

from db.connection import write


def _stamp(when: dt.datetime) -> str:
    return when.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def save(db: Database, key: bytes, status: int, headers: list, body: bytes, session: dict | None,
         when: dt.datetime) -> None:
    """Keep the first answer; ``session`` is the session it left behind, if it changed it."""
    with write(db):
        db.execute(
            "INSERT OR IGNORE INTO idempotensi (kunci, status, header, isi, sesi, dibuat) VALUES (?, ?, ?, ?, ?, ?)",
            [key, status, json.dumps(headers, separators=(",", ":")), zlib.compress(body, 6),
             None if session is None else json.dumps(session, separators=(",", ":")), _stamp(when)],
        )


def get(db: Database, key: bytes) -> dict | None:
    row = db.execute("SELECT status, header, isi, sesi FROM idempotensi WHERE kunci = ?", [key]).fetchone()
    if not row:
        return None
    return {"status": row["status"], "header": json.loads(row["header"]), "isi": zlib.decompress(row["isi"]),
            "sesi": None if row["sesi"] is None else json.loads(row["sesi"])}


def purge_before(db: Database, cutoff: dt.datetime) -> int:
    """Drop answers kept since before ``cutoff``; how many."""
    with write(db):
        return db.execute("DELETE FROM idempotensi WHERE dibuat < ?", [_stamp(cutoff)]).rowcount
