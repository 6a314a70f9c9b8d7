"""Sliding-window limits on attempts (login, later face checks), kept in SQLite.

Kept in the database rather than in memory so a limit holds across restarts and
across worker processes.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlite_utils import Database

from db import akun


@dataclass(frozen=True)
class Limit:
    name: str
    attempts: int
    window_s: int


LOGIN_PER_ACCOUNT = Limit("masuk:akun", 5, 15 * 60)
LOGIN_PER_IP = Limit("masuk:ip", 30, 15 * 60)


def blocked(db: Database, limit: Limit, who: str) -> bool:
    return akun.count_attempts(db, f"{limit.name}:{who}", limit.window_s) >= limit.attempts


def record_failure(db: Database, limit: Limit, who: str) -> None:
    akun.record_attempt(db, f"{limit.name}:{who}")


def reset(db: Database, limit: Limit, who: str) -> None:
    akun.clear_attempts(db, f"{limit.name}:{who}")
