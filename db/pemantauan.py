"""Queries of the national monitoring (pemantauan): the MPP rollout per kab/kota, the
MPP Digital criteria facts and attestations, and service performance across regions.

The rollout list (table ``mpp_nasional``) is the ministry's: it is replaced as a whole by
an import (``replace_rollout``). Until one is imported, demo mode seeds
``db/katalog/mpp_nasional.csv`` — a DEMO assignment, generated once by a script and kept
as editable data, that reproduces the published national aggregates exactly (163 MPPs
established, 60 of them on or after 2023-01-01; 156 kab/kota targeting 2024 and 16 targeting
2025; 179 with no plan yet: 63 Sumatra, 54 Maluku + Papua, 36 Sulawesi, 26 elsewhere; the 21
MPP Digital pilots all established). Which kab/kota holds which status is not public: the
page says "Data demo" until the ministry imports the real list.
"""

from __future__ import annotations

import csv
from pathlib import Path

from sqlite_utils import Database

from db.connection import write
from db.penyiapan import LIVE

DEMO_FILE = Path(__file__).parent / "katalog" / "mpp_nasional.csv"
SEJAK = "2023-01-01"  # "since early 2023"

_REGION = """kabkota k JOIN provinsi p ON p.kode = k.provinsi_kode
             LEFT JOIN mpp_nasional n ON n.wilayah_kode = k.kode LEFT JOIN mpp m ON m.wilayah_kode = k.kode"""


# ------------------------------------------------------------------ the rollout list

def seed_demo_rollout(db: Database, demo: bool) -> int:
    """Load the demo list once (demo mode, nothing ever loaded); return rows loaded."""
    if not demo or db.execute("SELECT 1 FROM mpp_nasional_impor LIMIT 1").fetchone():
        return 0
    with open(DEMO_FILE, newline="", encoding="utf-8") as fh:
        rows = [{"wilayah_kode": r["kode"], "status": r["status"], "tanggal_berdiri": r["tanggal_berdiri"] or None,
                 "target_tahun": int(r["target_tahun"]) if r["target_tahun"] else None, "sumber": r["sumber"]}
                for r in csv.DictReader(fh)]
    with write(db):
        replace_rollout(db, rows, None, DEMO_FILE.name, demo=True)
    return len(rows)


def replace_rollout(db: Database, rows: list[dict], akun_id: int | None, nama_file: str, demo: bool = False) -> None:
    """Replace the whole list; call inside the caller's transaction (all or nothing)."""
    with write(db):
        db.execute("DELETE FROM mpp_nasional")
        db.conn.executemany(
            "INSERT INTO mpp_nasional (wilayah_kode, status, tanggal_berdiri, target_tahun, sumber) "
            "VALUES (:wilayah_kode, :status, :tanggal_berdiri, :target_tahun, :sumber)", rows)
        db.execute("INSERT INTO mpp_nasional_impor (akun_id, nama_file, jumlah_baris, demo) VALUES (?, ?, ?, ?)",
                   [akun_id, nama_file, len(rows), int(demo)])


def latest_load(db: Database) -> dict | None:
    row = db.execute(
        """SELECT i.*, a.nama AS akun_nama FROM mpp_nasional_impor i LEFT JOIN akun a ON a.id = i.akun_id
           ORDER BY i.id DESC LIMIT 1""").fetchone()
    return dict(row) if row else None


def region_codes(db: Database) -> set[str]:
    return {r[0] for r in db.execute("SELECT kode FROM kabkota")}


def digital_codes(db: Database) -> set[str]:
    return {r[0] for r in db.execute(LIVE)}


def national(db: Database) -> dict:
    row = db.execute(
        """SELECT count(*) AS kabkota,
                  coalesce(sum(n.status = 'berdiri'), 0) AS berdiri,
                  coalesce(sum(n.status = 'berdiri' AND n.tanggal_berdiri >= :sejak), 0) AS berdiri_sejak,
                  coalesce(sum(n.status = 'target'), 0) AS target,
                  coalesce(sum(n.status = 'belum'), 0) AS belum,
                  coalesce(sum(n.wilayah_kode IS NULL), 0) AS tanpa_data,
                  coalesce(sum(m.digital_aktif = 1), 0) AS digital,
                  coalesce(sum(m.digital_aktif = 1 AND n.status = 'berdiri'), 0) AS digital_berdiri
           FROM """ + _REGION, {"sejak": SEJAK}).fetchone()
    return dict(row)


def targets_by_year(db: Database) -> list[dict]:
    return [dict(r) for r in db.execute(
        "SELECT target_tahun AS tahun, count(*) AS jumlah FROM mpp_nasional WHERE status = 'target' "
        "GROUP BY target_tahun ORDER BY target_tahun")]


_COUNTED = {"belum": "n.status = 'belum'", "digital": "m.digital_aktif = 1"}  # the only conditions asked for


def count_by_group(db: Database, which: str) -> dict[str, int]:
    """Per island group, the kab/kota without a plan (``which='belum'``) or with MPP Digital live ('digital')."""
    return {r[0]: r[1] for r in db.execute(
        f"SELECT p.kelompok_pulau, count(*) FROM {_REGION} WHERE {_COUNTED[which]} GROUP BY p.kelompok_pulau")}


def breakdown(db: Database, by: str, tahun_utama: int | None) -> list[dict]:
    """Per island group (``by='kelompok'``) or province (``by='provinsi'``), west to east."""
    key, name = ("p.kelompok_pulau", "p.kelompok_pulau") if by == "kelompok" else ("p.kode", "p.nama")
    return [dict(r) for r in db.execute(
        f"""SELECT {key} AS kunci, {name} AS nama, min(p.kelompok_pulau) AS kelompok_pulau, count(*) AS kabkota,
                   coalesce(sum(n.status = 'berdiri'), 0) AS berdiri,
                   coalesce(sum(n.status = 'berdiri' AND n.tanggal_berdiri >= :sejak), 0) AS berdiri_sejak,
                   coalesce(sum(n.status = 'target' AND n.target_tahun = :t), 0) AS target_utama,
                   coalesce(sum(n.status = 'target' AND n.target_tahun IS NOT :t), 0) AS target_lain,
                   coalesce(sum(n.status = 'belum'), 0) AS belum,
                   coalesce(sum(n.wilayah_kode IS NULL), 0) AS tanpa_data,
                   coalesce(sum(m.digital_aktif = 1), 0) AS digital
            FROM {_REGION} GROUP BY {key} ORDER BY min(p.kode)""",
        {"sejak": SEJAK, "t": tahun_utama})]


def _filters(status: str | None, kelompok: str | None, provinsi: str | None) -> tuple[str, dict]:
    where, params = ["1"], {}
    if status == "tanpa_data":
        where.append("n.wilayah_kode IS NULL")
    elif status:
        where.append("n.status = :status")
        params["status"] = status
    if kelompok:
        where.append("p.kelompok_pulau = :kelompok")
        params["kelompok"] = kelompok
    if provinsi:
        where.append("p.kode = :provinsi")
        params["provinsi"] = provinsi
    return " AND ".join(where), params


_COLUMNS = """k.kode, k.nama, k.jenis, p.kode AS provinsi_kode, p.nama AS provinsi_nama, p.kelompok_pulau,
              n.status, n.tanggal_berdiri, n.target_tahun, n.sumber, coalesce(m.digital_aktif, 0) AS digital"""


def regions(db: Database, status: str | None = None, kelompok: str | None = None, provinsi: str | None = None,
            limit: int = -1, offset: int = 0) -> list[dict]:
    where, params = _filters(status, kelompok, provinsi)
    return [dict(r) for r in db.execute(
        f"SELECT {_COLUMNS} FROM {_REGION} WHERE {where} ORDER BY k.kode LIMIT :limit OFFSET :offset",
        {**params, "limit": limit, "offset": offset})]


def count_regions(db: Database, status: str | None = None, kelompok: str | None = None,
                  provinsi: str | None = None) -> int:
    where, params = _filters(status, kelompok, provinsi)
    return db.execute(f"SELECT count(*) FROM {_REGION} WHERE {where}", params).fetchone()[0]


def region(db: Database, kode: str) -> dict | None:
    row = db.execute(f"SELECT {_COLUMNS}, p.zona_waktu, m.nama AS mpp_nama FROM {_REGION} WHERE k.kode = ?",
                     [kode]).fetchone()
    return dict(row) if row else None


def provinces(db: Database) -> list[dict]:
    return [dict(r) for r in db.execute("SELECT kode, nama, kelompok_pulau FROM provinsi ORDER BY kode")]


def island_groups(db: Database) -> list[str]:
    return [r[0] for r in db.execute("SELECT kelompok_pulau FROM provinsi GROUP BY kelompok_pulau ORDER BY min(kode)")]


# ------------------------------------------------------------------ MPP Digital criteria

def app_regions(db: Database) -> list[dict]:
    """Regions that run an MPP in the app (a row in ``mpp``), west to east."""
    return [dict(r) for r in db.execute(
        """SELECT k.kode, k.nama, p.kelompok_pulau, m.digital_aktif, m.alamat
           FROM mpp m JOIN kabkota k ON k.kode = m.wilayah_kode JOIN provinsi p ON p.kode = k.provinsi_kode
           ORDER BY k.kode""")]


def usage_facts(db: Database, kode: str | None = None) -> dict[str, dict[str, bool]]:
    """What each region with an MPP (or the one ``kode``) actually uses in the app: each fact one index look-up."""
    facts: dict[str, dict[str, bool]] = {}
    for r in db.execute(
            """SELECT m.wilayah_kode AS kode,
                      trim(m.alamat) != '' AS informasi_umum,
                      m.digital_aktif = 1 AS platform,
                      EXISTS (SELECT 1 FROM tiket t WHERE t.wilayah_kode = m.wilayah_kode) AS antrean,
                      EXISTS (SELECT 1 FROM pengaduan a WHERE a.wilayah_kode = m.wilayah_kode) AS konsultasi_pengaduan,
                      EXISTS (SELECT 1 FROM skm s WHERE s.wilayah_kode = m.wilayah_kode) AS skm,
                      EXISTS (SELECT 1 FROM permohonan p WHERE p.wilayah_kode = m.wilayah_kode
                              AND p.diajukan IS NOT NULL) AS pemrosesan_dokumen
               FROM mpp m WHERE :kode IS NULL OR m.wilayah_kode = :kode""", {"kode": kode}):
        row = dict(r)
        facts[row.pop("kode")] = {k: bool(v) for k, v in row.items()}
    return facts


def attestations(db: Database, kode: str | None = None) -> list[dict]:
    sql = """SELECT x.wilayah_kode, x.kriteria, x.terpenuhi, x.waktu, a.nama AS akun_nama
             FROM kriteria_atestasi x LEFT JOIN akun a ON a.id = x.akun_id"""
    params: list = []
    if kode:
        sql += " WHERE x.wilayah_kode = ?"
        params.append(kode)
    return [dict(r) for r in db.execute(sql, params)]


def set_attestation(db: Database, kode: str, kriteria: str, terpenuhi: bool, akun_id: int, waktu: str) -> None:
    with write(db):
        db.execute(
            """INSERT INTO kriteria_atestasi (wilayah_kode, kriteria, terpenuhi, akun_id, waktu)
               VALUES (?, ?, ?, ?, ?)
               ON CONFLICT (wilayah_kode, kriteria) DO UPDATE SET terpenuhi = excluded.terpenuhi,
                   akun_id = excluded.akun_id, waktu = excluded.waktu""",
            [kode, kriteria, int(terpenuhi), akun_id, waktu])


# ------------------------------------------------------------------ service performance

# Counts come from the tables the triggers of migration 024 keep current (kinerja_status, kinerja_selesai,
# kinerja_antrean, skm_ringkasan); a median is read at its place in an index kept in that order, so no page
# reads every application, ticket or survey. ``kode``: one region only (None: every region).

_ONE = "(:kode IS NULL OR wilayah_kode = :kode)"


def application_counts(db: Database, kode: str | None = None) -> list[dict]:
    """Submitted applications (drafts excluded) per region and status."""
    return [dict(r) for r in db.execute(
        f"SELECT wilayah_kode, status, jumlah FROM kinerja_status WHERE status != 'draf' AND jumlah > 0 AND {_ONE}",
        {"kode": kode})]


def finished_counts(db: Database, kode: str | None = None) -> dict[str, dict]:
    """Per region: finished applications (submission and completion known), those with a due date, and of
    those the ones finished on or before it (the completion's day in the region's zone)."""
    return {r["wilayah_kode"]: dict(r) for r in db.execute(
        f"SELECT wilayah_kode, selesai, berbatas, tepat FROM kinerja_selesai WHERE selesai > 0 AND {_ONE}",
        {"kode": kode})}


def _middle(count: int) -> tuple[int, int]:
    """LIMIT and OFFSET of the middle row (odd count) or the middle two (even) of ``count`` ordered rows."""
    return 2 - count % 2, (count - 1) // 2


def middle_finished(db: Database, kode: str, count: int) -> list[dict]:
    """Submission and completion stamps of the region's middle finished application(s) by time taken
    (index permohonan_lama_selesai; ``count`` from :func:`finished_counts`)."""
    limit, offset = _middle(count)
    return [dict(r) for r in db.execute(
        """SELECT diajukan, selesai FROM permohonan
           WHERE wilayah_kode = ? AND status = 'selesai' AND diajukan IS NOT NULL AND selesai IS NOT NULL
           ORDER BY julianday(selesai) - julianday(diajukan) LIMIT ? OFFSET ?""", [kode, limit, offset])]


def called_counts(db: Database, kode: str | None = None) -> dict[str, int]:
    """Called queue tickets per region."""
    return {r[0]: r[1] for r in db.execute(
        f"SELECT wilayah_kode, dipanggil FROM kinerja_antrean WHERE dipanggil > 0 AND {_ONE}", {"kode": kode})}


def middle_called(db: Database, kode: str, count: int) -> list[dict]:
    """Slot and call of the region's middle called ticket(s) by time waited (index tiket_lama_tunggu)."""
    limit, offset = _middle(count)
    return [dict(r) for r in db.execute(
        """SELECT tanggal, jam, dipanggil FROM tiket WHERE wilayah_kode = ? AND dipanggil IS NOT NULL
           ORDER BY julianday(dipanggil) - julianday(tanggal || 'T' || jam) LIMIT ? OFFSET ?""",
        [kode, limit, offset])]


def survey_totals(db: Database, kode: str | None = None) -> dict[str, dict]:
    """Per region: respondents and the sum of each SKM element."""
    sums = ", ".join(f"sum(u{i}) AS u{i}" for i in range(1, 10))
    return {r["wilayah_kode"]: dict(r) for r in db.execute(
        f"SELECT wilayah_kode, sum(responden) AS responden, {sums} FROM skm_ringkasan WHERE {_ONE} "
        "GROUP BY wilayah_kode HAVING sum(responden) > 0", {"kode": kode})}


def region_names(db: Database, codes: set[str]) -> dict[str, dict]:
    if not codes:
        return {}
    marks = ", ".join("?" * len(codes))
    return {r["kode"]: dict(r) for r in db.execute(
        f"""SELECT k.kode, k.nama, p.kelompok_pulau, p.zona_waktu
            FROM kabkota k JOIN provinsi p ON p.kode = k.provinsi_kode WHERE k.kode IN ({marks})""", sorted(codes))}
