"""SISDMK (SatuSehat SDMK, the health ministry's workforce registry): STR and practice places.

``EmbeddedSisdmk`` reads the seeded ``str_nakes`` / ``tempat_praktik`` tables (through
``db/sisdmk.py``) and records a new practice place when a SIP is issued; which places are
still valid is decided by the caller's date (``valid_on``), never the database's clock. ``HttpSisdmk`` documents the
interface a region would point at (``MPP_SISDMK_URL``, ``MPP_SISDMK_TOKEN``):

    GET {base}/str/{nomor_str}  -> 200 {"nomor_str", "nik", "nama", "profesi",
                                        "berlaku_sampai": "YYYY-MM-DD" | null (for life),
                                        "tempat_praktik": [{"nama_fasyankes", "nomor_sip",
                                                            "berlaku_sampai"}]}
                                -> 404 unknown STR
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

from sqlite_utils import Database

from db import sisdmk as q
from integrations.http import get_json

MAX_PRACTICE_PLACES = 3  # UU 17/2023: a SIP per place, at most three places


@dataclass
class StrRecord:
    nomor_str: str
    nik: str
    nama: str
    profesi: str
    berlaku_sampai: str | None
    tempat_praktik: list[dict] = field(default_factory=list)


class Sisdmk(Protocol):
    def lookup(self, nomor_str: str, valid_on: str | None = None) -> StrRecord | None:
        """The STR; ``valid_on`` (ISO date, the caller's today) keeps only the practice places valid that day."""

    def add_practice_place(self, nomor_str: str, nama_fasyankes: str, nomor_sip: str, berlaku_sampai: str) -> None: ...


class EmbeddedSisdmk:
    def __init__(self, db: Database):
        self.db = db

    def lookup(self, nomor_str: str, valid_on: str | None = None) -> StrRecord | None:
        row = q.str_record(self.db, nomor_str)
        if row is None:
            return None
        return StrRecord(**row, tempat_praktik=q.practice_places(self.db, nomor_str, valid_on))

    def add_practice_place(self, nomor_str: str, nama_fasyankes: str, nomor_sip: str, berlaku_sampai: str) -> None:
        q.add_practice_place(self.db, nomor_str, nama_fasyankes, nomor_sip, berlaku_sampai)


class HttpSisdmk:
    def __init__(self, base_url: str, token: str, timeout: float = 5.0):
        self.base_url, self.token, self.timeout = base_url.rstrip("/"), token, timeout

    def lookup(self, nomor_str: str, valid_on: str | None = None) -> StrRecord | None:
        data = get_json(self.base_url, f"str/{nomor_str}", self.token, self.timeout)
        if data is None:
            return None
        places = data.pop("tempat_praktik", [])
        if valid_on is not None:
            places = [t for t in places if (t.get("berlaku_sampai") or valid_on) >= valid_on]
        return StrRecord(**{k: data.get(k) for k in ("nomor_str", "nik", "nama", "profesi", "berlaku_sampai")},
                         tempat_praktik=places)

    def add_practice_place(self, nomor_str: str, nama_fasyankes: str, nomor_sip: str, berlaku_sampai: str) -> None:
        """The national registry learns of new SIPs through its own channel; nothing to send here."""
