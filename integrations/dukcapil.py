"""The population registry (Dukcapil): look up a NIK, get the reference face template.

``EmbeddedDukcapil`` reads the ``penduduk`` table (seeded demo residents).
``HttpDukcapil`` speaks to a registry web service, for a region that has
access to one (set ``MPP_DUKCAPIL_URL`` and ``MPP_DUKCAPIL_TOKEN``):

    GET {base}/penduduk/{nik}            -> 200 {"nik", "nama", "tempat_lahir" (as on the KK; optional, "" when
                                               not recorded), "tanggal_lahir" (YYYY-MM-DD),
                                               "jenis_kelamin" ("L"/"P"), "alamat",
                                               "kecamatan_kode", "no_kk",
                                               "templat_wajah": base64 of 128 float32 LE or null,
                                               "kontak": ["0812...", ...] (optional: phone numbers the
                                               registry knows for the person; new accounts are announced there)}
                                          -> 404 when the NIK is not registered
    GET {base}/kk/{no_kk}                -> 200 {"anggota": [{"nik", "nama", "tanggal_lahir", "jenis_kelamin"}, ...]}
                                          -> 404 when the Kartu Keluarga is not registered
    Authorization: Bearer {token}; timeouts 5 s; any other status is an error.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np
from sqlite_utils import Database

from biometrics.templates import open_sealed
from db.identitas import family_rows, resident_row
from integrations.http import ServiceUnavailable, get_json


@dataclass
class Resident:
    nik: str
    nama: str
    tanggal_lahir: str
    jenis_kelamin: str
    alamat: str
    kecamatan_kode: str
    no_kk: str
    templat_wajah: np.ndarray | None  # the reference face, None when the registry has no photo
    kontak: list[str] = field(default_factory=list)  # phone numbers the registry knows for this person
    tempat_lahir: str = ""  # birthplace as the Kartu Keluarga prints it; '' when the registry has none


@dataclass(frozen=True)
class Member:
    """One person on a Kartu Keluarga, as the registry lists them (a parent acts for a child on it)."""
    nik: str
    nama: str
    tanggal_lahir: str
    jenis_kelamin: str


class Dukcapil(Protocol):
    def lookup(self, nik: str) -> Resident | None: ...

    def family_of(self, nik: str) -> list[Member]:
        """The members of the Kartu Keluarga ``nik`` is on, ``nik`` included; [] for an unknown NIK."""
        ...


RegistryUnavailable = ServiceUnavailable


class EmbeddedDukcapil:
    def __init__(self, db: Database, template_key: bytes):
        self.db = db
        self.key = template_key

    def lookup(self, nik: str) -> Resident | None:
        data = resident_row(self.db, nik)
        if data is None:
            return None
        sealed = data.pop("templat_wajah")
        template = open_sealed(sealed, self.key, f"penduduk:{nik}") if sealed else None
        contacts = json.loads(data.pop("kontak", "[]") or "[]")
        return Resident(**data, templat_wajah=template, kontak=[str(c) for c in contacts])

    def family_of(self, nik: str) -> list[Member]:
        return _members(family_rows(self.db, nik))  # one query: no reference face is opened for this


def _members(rows) -> list[Member]:
    return [Member(**{k: str(r[k]) for k in ("nik", "nama", "tanggal_lahir", "jenis_kelamin")}) for r in rows]


class HttpDukcapil:
    def __init__(self, base_url: str, token: str, timeout: float = 5.0):
        self.base_url = base_url.rstrip("/")
        self.token = token
        self.timeout = timeout

    def lookup(self, nik: str) -> Resident | None:
        data = get_json(self.base_url, f"penduduk/{nik}", self.token, self.timeout)
        if data is None:
            return None
        raw = data.pop("templat_wajah", None)
        template = np.frombuffer(base64.b64decode(raw), dtype="<f4").copy() if raw else None
        contacts = data.get("kontak") or []
        return Resident(**{k: data[k] for k in ("nik", "nama", "tanggal_lahir", "jenis_kelamin", "alamat",
                                                 "kecamatan_kode", "no_kk")}, templat_wajah=template,
                        kontak=[str(c) for c in contacts] if isinstance(contacts, list) else [],
                        tempat_lahir=str(data.get("tempat_lahir") or ""))

    def family_of(self, nik: str) -> list[Member]:
        me = self.lookup(nik)
        data = get_json(self.base_url, f"kk/{me.no_kk}", self.token, self.timeout) if me else None
        return _members((data or {}).get("anggota") or [])
