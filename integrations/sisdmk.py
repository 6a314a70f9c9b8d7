"""SISDMK (SatuSehat SDMK, the health ministry's workforce registry): STR and practice places.

``EmbeddedSisdmk`` reads the seeded ``str_nakes`` / ``tempat_praktik`` tables and
records a new practice place when a SIP is issued. ``HttpSisdmk`` documents the
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

from db.connection import write
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
    def lookup(self, nomor_str: str) -> StrRecord | None: ...

    def add_practice_place(self, nomor_str: str, nama_fasyankes: str, nomor_sip: str, berlaku_sampai: str) -> None: ...


class EmbeddedSisdmk:
    def __init__(self, db: Database):
        self.db = db

    def lookup(self, nomor_str: str) -> StrRecord | None:
        row = self.db.execute("SELECT * FROM str_nakes WHERE nomor_str = ?", [nomor_str]).fetchone()
        if row is None:
            return None
        places = [dict(r) for r in self.db.execute(
            "SELECT nama_fasyankes, nomor_sip, berlaku_sampai FROM tempat_praktik WHERE nomor_str = ? "
            "AND berlaku_sampai >= date('now')", [nomor_str])]
        return StrRecord(**dict(row), tempat_praktik=places)

    def add_practice_place(self, nomor_str: str, nama_fasyankes: str, nomor_sip: str, berlaku_sampai: str) -> None:
        with write(self.db):
            self.db.execute("INSERT INTO tempat_praktik (nomor_str, nama_fasyankes, nomor_sip, berlaku_sampai) "
                            "VALUES (?, ?, ?, ?)", [nomor_str, nama_fasyankes, nomor_sip, berlaku_sampai])


class HttpSisdmk:
    def __init__(self, base_url: str, token: str, timeout: float = 5.0):
        self.base_url, self.token, self.timeout = base_url.rstrip("/"), token, timeout

    def lookup(self, nomor_str: str) -> StrRecord | None:
        data = get_json(self.base_url, f"str/{nomor_str}", self.token, self.timeout)
        if data is None:
            return None
        places = data.pop("tempat_praktik", [])
        return StrRecord(**{k: data.get(k) for k in ("nomor_str", "nik", "nama", "profesi", "berlaku_sampai")},
                         tempat_praktik=places)

    def add_practice_place(self, nomor_str: str, nama_fasyankes: str, nomor_sip: str, berlaku_sampai: str) -> None:
        """The national registry learns of new SIPs through its own channel; nothing to send here."""
