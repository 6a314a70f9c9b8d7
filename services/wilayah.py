"""A region's MPP as the public sees it."""

from __future__ import annotations

import json
import re

from sqlite_utils import Database

from db import wilayah
from services import grafik, katalog, skm

KODE_KABKOTA = re.compile(r"^\d{4}\Z", re.ASCII)


def mpp_page(db: Database, kode: str) -> dict | None:
    """Everything ``/mpp/<kode>`` shows, or None for an unknown region."""
    if not KODE_KABKOTA.match(kode):
        return None
    region = wilayah.get_kabkota(db, kode)
    if region is None:
        return None
    agencies = wilayah.mpp_agencies(db, kode)
    for a in agencies:
        a["layanan_gerai"] = json.loads(a["layanan_gerai"])
    report = skm.region_report(db, kode)
    bars = [(a["nama"], a["ikm"].konversi) for a in report["instansi"]]
    return {
        "wilayah": region,
        "mpp": wilayah.get_mpp(db, kode),
        "instansi": agencies,
        "layanan": katalog.search(db, "", kode)["kelompok"],
        "ikm": report,
        "ikm_grafik": grafik.bars(bars, "Grafik IKM per instansi") if bars else None,
    }


def home_page(db: Database) -> dict:
    return {"wilayah_digital": wilayah.digital_regions(db)}
