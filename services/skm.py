"""SKM survey and the IKM index, exactly as PermenPANRB 14/2017 prescribes.

Nine elements (U1 persyaratan … U9 sarana prasarana), each answered 1–4.
For a unit: the average of each element (NRR), weighted 1/9 each, summed
(IKM on the 1–4 scale), times 25 → 25–100 (the converted IKM), and its quality
category: A Sangat Baik 88,31–100; B Baik 76,61–88,30; C Kurang Baik 65,00–76,60;
D Tidak Baik 25,00–64,99.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlite_utils import Database

import services
from db import antrean as antrean_q
from db import permohonan as permohonan_q
from db import skm as q
from services import angka

ELEMENTS = [
    ("u1", "Persyaratan"), ("u2", "Sistem, mekanisme, dan prosedur"), ("u3", "Waktu penyelesaian"),
    ("u4", "Biaya/tarif"), ("u5", "Produk spesifikasi jenis pelayanan"), ("u6", "Kompetensi pelaksana"),
    ("u7", "Perilaku pelaksana"), ("u8", "Penanganan pengaduan, saran dan masukan"), ("u9", "Sarana dan prasarana"),
]
ANSWERS = {1: "Tidak baik", 2: "Kurang baik", 3: "Baik", 4: "Sangat baik"}
CATEGORIES = [(88.31, "A", "Sangat Baik"), (76.61, "B", "Baik"), (65.00, "C", "Kurang Baik"),
              (25.00, "D", "Tidak Baik")]


@dataclass(frozen=True)
class Ikm:
    responden: int
    nrr: dict[str, float]   # average per element, 1-4
    nilai: float            # IKM on 1-4: sum of NRR x 1/9
    konversi: float         # x 25 -> 25-100
    mutu: str               # A-D
    kinerja: str            # Sangat Baik ... Tidak Baik


def compute(rows: list[dict]) -> Ikm | None:
    """IKM of a set of survey answers (dicts with u1..u9); None without answers."""
    if not rows:
        return None
    return from_totals(len(rows), {k: sum(r[k] for r in rows) for k, _ in ELEMENTS})


def from_totals(n: int, sums: dict) -> Ikm | None:
    """The same IKM from the number of respondents and the sum of each element's answers (``u1``..``u9``)."""
    if not n:
        return None
    nrr = {k: sums[k] / n for k, _ in ELEMENTS}
    nilai = sum(v * (1 / 9) for v in nrr.values())
    konversi = round(nilai * 25, 2)
    mutu, kinerja = next((m, k) for floor, m, k in CATEGORIES if konversi >= floor)
    return Ikm(n, nrr, nilai, konversi, mutu, kinerja)


class SurveyRefused(ValueError):
    """``errors``: element -> message for each element left unanswered (empty when the survey was done)."""

    def __init__(self, message: str, errors: dict[str, str] | None = None):
        super().__init__(message)
        self.message = message
        self.errors = errors or {}


class NotRateable(services.NotFound):
    """No finished transaction of this citizen by that name: the route answers 404."""


@dataclass(frozen=True)
class Transaction:
    """A finished transaction a citizen may rate: a finished application or a served queue ticket."""
    jenis: str              # "permohonan" or "tiket"
    id: int
    wilayah_kode: str
    instansi_id: int | None
    layanan_id: int | None

    @property
    def key(self) -> str:
        return f"{self.jenis}:{self.id}"


_FINISHED = {"permohonan": (permohonan_q.get, "selesai"), "tiket": (antrean_q.get, "dilayani")}


def rateable(db: Database, akun: dict, transaksi: str) -> Transaction | None:
    """The transaction ``jenis:id`` if it is the citizen's own and finished (one SKM each); else None."""
    jenis, _, ident = transaksi.partition(":")
    number = angka.to_id(ident)
    if jenis not in _FINISHED or number is None:
        return None
    read, finished = _FINISHED[jenis]
    row = read(db, number)
    if not row or row["akun_id"] != akun["id"] or row["status"] != finished:
        return None
    return Transaction(jenis, row["id"], row["wilayah_kode"], row["instansi_id"], row["layanan_id"])


def rate(db: Database, akun: dict, transaksi: str, answers: dict[str, str]) -> tuple[Transaction, SurveyRefused | None]:
    """The citizen's survey of one finished transaction: ``NotRateable`` when it is not theirs or not finished;
    else the transaction and, when the answers were not recorded, why (:class:`SurveyRefused`)."""
    target = rateable(db, akun, transaksi)
    if target is None:
        raise NotRateable(transaksi)
    try:
        submit(db, target.key, answers, target.wilayah_kode, target.instansi_id, target.layanan_id)
    except SurveyRefused as e:
        return target, e
    return target, None


def given(answers: dict[str, str]) -> dict[str, int]:
    """The valid answers among those sent (kept when the form is shown again)."""
    found = {key: angka.to_int(str(answers.get(key, "")), 1, 4) for key, _ in ELEMENTS}
    return {key: v for key, v in found.items() if v in ANSWERS}


def submit(db: Database, transaksi: str, answers: dict[str, str], wilayah_kode: str,
           instansi_id: int | None, layanan_id: int | None) -> None:
    values = given(answers)
    missing = [(key, label) for key, label in ELEMENTS if key not in values]
    if missing:
        names = ", ".join(label for _, label in missing)
        raise SurveyRefused(f"Pilih jawaban untuk: {names}.",
                            {key: f"Pilih jawaban untuk “{label}”." for key, label in missing})
    if not q.insert(db, transaksi, wilayah_kode, instansi_id, layanan_id, values):
        raise SurveyRefused("Anda sudah mengisi survei untuk transaksi ini. Terima kasih.")


def done(db: Database, transaksi: str) -> bool:
    return q.exists(db, transaksi)


def region_report(db: Database, wilayah_kode: str) -> dict:
    """IKM of the region and of each agency in it, for the public MPP page (from the running totals, not the
    answers one by one)."""
    rows = q.totals(db, wilayah_kode)
    whole = {k: sum(r[k] for r in rows) for k, _ in ELEMENTS}
    return {"wilayah": from_totals(sum(r["responden"] for r in rows), whole),
            "instansi": [{"nama": r["nama"], "ikm": from_totals(r["responden"], r)} for r in rows
                         if r["nama"] is not None]}


def region_ikm(db: Database, wilayah_kode: str) -> Ikm | None:
    """The region's IKM over every answer."""
    return region_report(db, wilayah_kode)["wilayah"]
