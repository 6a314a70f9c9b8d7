"""Which spooled entries (db/spool.py) the database has taken in: each once, whatever retries bring."""

from __future__ import annotations

from sqlite_utils import Database

from db.connection import write

KEPT_S = 30 * 86400  # remembered this long: batches are retried within minutes


def take_once(db: Database, entry_id: str, now: float) -> bool:
    """True the first time ``entry_id`` arrives (apply it, in the same transaction); False for a repeat."""
    with write(db):
        return db.execute("INSERT OR IGNORE INTO jejak_diterima (id, diterima) VALUES (?, ?)",
                          [entry_id, now]).rowcount == 1


def forget_older_than(db: Database, before: float) -> None:
    with write(db):
        db.execute("DELETE FROM jejak_diterima WHERE diterima < ?", [before])
