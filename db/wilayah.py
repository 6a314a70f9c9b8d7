"""Queries over regions and each region's MPP: agencies, counters, enabled services."""

from __future__ import annotations

from sqlite_utils import Database

from db.penyiapan import LIVE


def get_kabkota(db: Database, kode: str) -> dict | None:
    row = db.execute(
        """SELECT k.kode, k.nama, k.jenis, p.kode AS provinsi_kode, p.nama AS provinsi_nama,
                  p.kelompok_pulau, p.zona_waktu
           FROM kabkota k JOIN provinsi p ON p.kode = k.provinsi_kode WHERE k.kode = ?""",
        [kode],
    ).fetchone()
    return dict(row) if row else None


def get_mpp(db: Database, kode: str) -> dict | None:
    row = db.execute("SELECT * FROM mpp WHERE wilayah_kode = ?", [kode]).fetchone()
    return dict(row) if row else None


def mpp_agencies(db: Database, kode: str) -> list[dict]:
    return [dict(r) for r in db.execute(
        """SELECT i.id, i.nama, ji.kode AS jenis_kode, ji.nama AS jenis_nama, ji.singkatan,
                  ji.keterangan, ji.layanan_gerai, g.nomor AS gerai_nomor, g.nama AS gerai_nama
           FROM instansi i JOIN jenis_instansi ji ON ji.kode = i.jenis_kode
           LEFT JOIN gerai g ON g.instansi_id = i.id
           WHERE i.wilayah_kode = ? ORDER BY g.nomor, i.nama""",
        [kode],
    ).fetchall()]


def digital_regions(db: Database) -> list[dict]:
    """Regions where MPP Digital is live, with island group."""
    return [dict(r) for r in db.execute(
        f"""SELECT k.kode, k.nama, p.nama AS provinsi_nama, p.kelompok_pulau
           FROM mpp m JOIN kabkota k ON k.kode = m.wilayah_kode JOIN provinsi p ON p.kode = k.provinsi_kode
           WHERE m.wilayah_kode IN ({LIVE}) ORDER BY p.kode, k.kode"""
    ).fetchall()]


_WITH_MPP = """SELECT wilayah_kode FROM mpp UNION SELECT wilayah_kode FROM mpp_nasional WHERE status = 'berdiri'"""


def mpp_regions(db: Database) -> list[dict]:
    """Every kab/kota with an MPP: the MPP Digital ones and those the national rollout list says are established."""
    return [dict(r) for r in db.execute(
        f"""SELECT k.kode, k.nama, p.nama AS provinsi_nama FROM kabkota k JOIN provinsi p ON p.kode = k.provinsi_kode
            WHERE k.kode IN ({_WITH_MPP}) ORDER BY p.kode, k.kode""").fetchall()]


def has_mpp(db: Database, kode: str) -> bool:
    return db.execute(f"SELECT 1 FROM ({_WITH_MPP}) WHERE wilayah_kode = ?", [kode]).fetchone() is not None


def counts(db: Database) -> dict[str, int]:
    one = lambda sql: db.execute(sql).fetchone()[0]  # noqa: E731
    return {
        "provinsi": one("SELECT count(*) FROM provinsi"),
        "kabkota": one("SELECT count(*) FROM kabkota"),
        "kecamatan": one("SELECT count(*) FROM kecamatan"),
    }


def kecamatan_exists(db: Database, kode: str) -> bool:
    return db.execute("SELECT 1 FROM kecamatan WHERE kode = ?", [kode]).fetchone() is not None


def province_zones(db: Database) -> dict[str, str]:
    """Province code -> WIB/WITA/WIT (38 rows), read once at start-up."""
    return {r[0]: r[1] for r in db.execute("SELECT kode, zona_waktu FROM provinsi")}
