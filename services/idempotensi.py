"""Stored first answers of submits: web/formguard.py keeps and replays them, the background job drops
them after ``MPP_IDEM_HOURS``. The clock is the app's one clock (services.kalender)."""

from __future__ import annotations

import datetime as dt

from sqlite_utils import Database

from db import idempotensi as q
from services import kalender


def recall(db: Database, key: bytes) -> dict | None:
    """The stored answer of a submit already done, if any."""
    return q.get(db, key)


def keep(db: Database, key: bytes, status: int, headers: list, body: bytes, session: dict | None) -> None:
    q.save(db, key, status, headers, body, session, kalender.utc_now())


def forget_older_than(db: Database, hours: int) -> int:
    return q.purge_before(db, kalender.utc_now() - dt.timedelta(hours=hours))
