"""Notifications outbox: status changes become SMS/e-mail/WhatsApp messages, sent by a pluggable sender.

Messages are written in the same transaction as the change they announce, so
none is lost; a background loop hands due ones to the sender and retries
failures with exponential back-off (30 s, 1 min, 2 min … capped at 1 h; given up
after 8 attempts). Senders live in ``integrations/sms.py`` (the default logs; demo pages show them).
"""

from __future__ import annotations

from typing import Protocol

from sqlite_utils import Database

from db import notifikasi as q
from services import kalender

MAX_ATTEMPTS = 8


class Sender(Protocol):
    def send(self, kanal: str, tujuan: str, isi: str) -> None: ...


def enqueue_for(db: Database, akun: dict, isi: str) -> None:
    """Queue a message to the account's phone, if it has one."""
    if akun.get("telepon"):
        q.enqueue(db, akun["id"], "sms", akun["telepon"], isi, kalender.seconds())


def backoff(attempts: int) -> float:
    return min(3600.0, 30.0 * 2 ** max(0, attempts - 1))


def deliver_due(db: Database, sender: Sender, now: float | None = None, limit: int = 50) -> int:
    now = kalender.seconds() if now is None else now
    sent = 0
    for msg in q.due(db, now, limit):
        try:
            sender.send(msg["kanal"], msg["tujuan"], msg["isi"])
        except Exception as e:  # any failure of the channel: retry later
            attempts = msg["percobaan"] + 1
            final = attempts >= MAX_ATTEMPTS
            q.failed(db, msg["id"], attempts, now + backoff(attempts), str(e)[:200], final)
        else:
            q.sent(db, msg["id"])
            sent += 1
    return sent


def recent_in_region(db: Database, wilayah_kode: str | None, limit: int = 50) -> list[dict]:
    """The newest messages to accounts of one region (the demo page lists what a gateway would have sent,
    to the region's own officers only). An account of no region (the ministry) sees none; messages to no
    account (registration codes, shown where the code is typed) are never listed."""
    return q.recent_in_region(db, wilayah_kode, limit) if wilayah_kode else []


def latest_to(db: Database, tujuan: str) -> dict | None:
    """The newest message to one number (demo mode shows it where the SMS code is typed)."""
    return q.latest_to(db, tujuan)
