"""SMS gateways: where the notifications outbox hands its messages.

``LogSender`` (the default, and what ``make run`` uses) only logs; in demo mode
the messages are readable on ``/demo/pesan`` and, for the phone being proven,
on the code page. ``HttpSmsGateway`` speaks to an operator's HTTP gateway
(set ``MPP_SMS_URL`` and ``MPP_SMS_TOKEN``):

    POST {url}   Authorization: Bearer {token}   Content-Type: application/json
         {"ke": "081234567890", "pesan": "...", "kanal": "sms"}
    -> any 2xx: accepted; anything else (or no answer within 10 s): the outbox retries with back-off.
"""

from __future__ import annotations

import logging

from integrations.http import post_json
from services.samaran import mask_phone

log = logging.getLogger("mpp.notifikasi")


class LogSender:
    def send(self, kanal: str, tujuan: str, isi: str) -> None:
        log.info("%s ke %s: %s", kanal, mask_phone(tujuan), isi)


class HttpSmsGateway:
    def __init__(self, url: str, token: str, timeout: float = 10.0):
        self.url, self.token, self.timeout = url, token, timeout

    def send(self, kanal: str, tujuan: str, isi: str) -> None:
        post_json(self.url, {"ke": tujuan, "pesan": isi, "kanal": kanal}, self.token, self.timeout)


def sender_for(url: str, token: str):
    """The configured gateway, or the logging one."""
    return HttpSmsGateway(url, token) if url else LogSender()
