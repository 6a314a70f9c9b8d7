"""The notifications outbox: nothing lost, failures retried with back-off, then given up."""

from __future__ import annotations

from db import notifikasi as q
from services import notifikasi


class Flaky:
    def __init__(self, failures: int):
        self.failures, self.sent = failures, []

    def send(self, kanal, tujuan, isi):
        if self.failures:
            self.failures -= 1
            raise ConnectionError("gateway SMS tidak menjawab")
        self.sent.append((kanal, tujuan, isi))


def test_messages_are_retried_with_back_off_until_sent(db):
    notifikasi.enqueue_for(db, {"id": 1, "telepon": "081200001111"}, "Permohonan diterima")
    sender = Flaky(failures=2)
    assert notifikasi.deliver_due(db, sender, now=1e10) == 0
    row = q.recent(db)[0]
    assert row["status"] == "antri" and row["percobaan"] == 1 and row["berikut"] == 1e10 + 30
    assert notifikasi.deliver_due(db, sender, now=1e10 + 10) == 0  # not due yet: nothing tried
    assert q.recent(db)[0]["percobaan"] == 1
    notifikasi.deliver_due(db, sender, now=1e10 + 31)
    assert q.recent(db)[0]["berikut"] == 1e10 + 31 + 60
    assert notifikasi.deliver_due(db, sender, now=1e10 + 1000) == 1
    assert sender.sent == [("sms", "081200001111", "Permohonan diterima")]
    assert q.recent(db)[0]["status"] == "terkirim"


def test_a_message_is_given_up_after_the_last_attempt(db):
    notifikasi.enqueue_for(db, {"id": 1, "telepon": "081200001111"}, "x")
    sender = Flaky(failures=100)
    for i in range(notifikasi.MAX_ATTEMPTS + 2):
        notifikasi.deliver_due(db, sender, now=1e10 + i * 10_000)
    row = q.recent(db)[0]
    assert row["status"] == "gagal" and row["percobaan"] == notifikasi.MAX_ATTEMPTS


def test_no_phone_no_message(db):
    notifikasi.enqueue_for(db, {"id": 1, "telepon": None}, "x")
    assert q.recent(db) == []
