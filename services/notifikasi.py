"""Notifications outbox: status changes become SMS/e-mail/WhatsApp messages, sent by a pluggable sender.

Messages are written in the same transaction as the change they announce, so
none is lost; a background loop hands due ones to the sender and retries
failures with exponential back-off (30 s, 1 min, 2 min … capped at 1 h; given up
after 8 attempts). A part marked with :func:`secret` (a tracking code) is the
recipient's only: the stored row holds it until the message is sent or given up,
then keeps ``HIDDEN`` in its place; the demo pages never show it. Senders live in
``integrations/sms.py`` (the default logs; demo pages show them).
"""

from __future__ import annotations

import re
from typing import Protocol

from sqlite_utils import Database

from db import notifikasi as q
from services import kalender

MAX_ATTEMPTS = 8
# A secret in a message (a tracking code): the recipient gets it, the stored row keeps it only until it is sent.
_SECRET = re.compile("\u27e6([^\u27e6\u27e7]*)\u27e7")
HIDDEN = "[disembunyikan]"


class Sender(Protocol):
    def send(self, kanal: str, tujuan: str, isi: str) -> None: ...


def enqueue_for(db: Database, akun: dict, isi: str) -> None:
    """Queue a message to the account's phone, if it has one."""
    if akun.get("telepon"):
        q.enqueue(db, akun["id"], "sms", akun["telepon"], isi, kalender.seconds())


def secret(value: str) -> str:
    """Mark part of a message as its recipient's secret: sent as is, never shown on the demo pages, and replaced
    by ``HIDDEN`` in the stored row once sent (or given up)."""
    return f"\u27e6{value}\u27e7"


def readable(isi: str) -> str:
    """The message as its recipient gets it."""
    return _SECRET.sub(r"\1", isi)


def redacted(isi: str) -> str:
    """The message without its secrets: what is kept once it is sent, and what the demo pages show."""
    return _SECRET.sub(HIDDEN, isi)


def _without_secrets(isi: str) -> str | None:
    """The text to keep once a message is sent or given up: None when it holds no secret (kept as it is)."""
    kept = redacted(isi)
    return kept if kept != isi else None


def backoff(attempts: int) -> float:
    return min(3600.0, 30.0 * 2 ** max(0, attempts - 1))


def deliver_due(db: Database, sender: Sender, now: float | None = None, limit: int = 50) -> int:
    now = kalender.seconds() if now is None else now
    sent = 0
    for msg in q.due(db, now, limit):
        try:
            sender.send(msg["kanal"], msg["tujuan"], readable(msg["isi"]))
        except Exception as e:  # any failure of the channel: retry later
            attempts = msg["percobaan"] + 1
            final = attempts >= MAX_ATTEMPTS
            q.failed(db, msg["id"], attempts, now + backoff(attempts), str(e)[:200], final,
                     _without_secrets(msg["isi"]) if final else None)
        else:
            q.sent(db, msg["id"], _without_secrets(msg["isi"]))
            sent += 1
    return sent


def recent_in_region(db: Database, wilayah_kode: str | None, limit: int = 50) -> list[dict]:
    """The newest messages to accounts of one region (the demo page lists what a gateway would have sent,
    to the region's own officers only). An account of no region (the ministry) sees none; messages to no
    account (registration codes, shown where the code is typed) are never listed."""
    rows = q.recent_in_region(db, wilayah_kode, limit) if wilayah_kode else []
    return [{**r, "isi": redacted(r["isi"])} for r in rows]


def latest_to(db: Database, tujuan: str) -> dict | None:
    """The newest message to one number (demo mode shows it where the SMS code is typed)."""
    row = q.latest_to(db, tujuan)
    return {**row, "isi": redacted(row["isi"])} if row else None
