"""What the operators' endpoints ask of the system (/healthz)."""

from __future__ import annotations

from sqlite_utils import Database

from db.connection import ping


def database_answers(db: Database) -> None:
    """Raises if the database does not answer (the health check then fails with a 500)."""
    ping(db)
