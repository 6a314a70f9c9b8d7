"""Stored first responses of POSTs, keyed by (session, form key, body)."""

from __future__ import annotations

import json

from sqlite_utils import Database

from db.connection import write


def claim(db: Database, key: str) -> bool:
    """Mark ``key`` as running; False if another request has it already."""
    with write(db):
        cur = db.execute("INSERT OR IGNORE INTO idempotensi (kunci, status) VALUES (?, 0)", [key])
        return cur.rowcount == 1


def complete(db: Database, key: str, status: int, headers: list, body: bytes,
             session: dict | None = None) -> None:
    """Store the first response; ``session`` is the session it left behind, if it changed it."""
    with write(db):
        db.execute(
            "UPDATE idempotensi SET status = ?, header = ?, isi = ?, sesi = ? WHERE kunci = ?",
            [status, json.dumps(headers), body, None if session is None else json.dumps(session), key],
        )


def release(db: Database, key: str) -> None:
    with write(db):
        db.execute("DELETE FROM idempotensi WHERE kunci = ? AND status = 0", [key])


def get(db: Database, key: str) -> dict | None:
    row = db.execute("SELECT status, header, isi, sesi FROM idempotensi WHERE kunci = ?", [key]).fetchone()
    if not row:
        return None
    stored = dict(row)
    stored["sesi"] = None if stored["sesi"] is None else json.loads(stored["sesi"])
    return stored


def purge_older_than(db: Database, days: int = 7) -> int:
    with write(db):
        return db.execute(
            "DELETE FROM idempotensi WHERE dibuat < strftime('%Y-%m-%dT%H:%M:%SZ', 'now', ?)", [f"-{days} days"]
        ).rowcount
