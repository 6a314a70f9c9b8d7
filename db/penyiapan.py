"""Queries of onboarding a region (penyiapan daerah): which kab/kota with an established MPP are not on
MPP Digital yet, the rows that put one on it (its MPP profile, agencies, counters, enabled catalogue
services, its manager's account), what it has before its manager opens it, and opening it.

A region is *on the platform* once it has any of: an ``mpp`` row, an agency, a manager account. It is
*live* (citizens apply, book and see it) when ``mpp.digital_aktif = 1``: :data:`LIVE` is that rule, the one
place it is written; the catalogue (db/katalog.py), applications (db/permohonan.py) and the online queue
(services/antrean.py through :func:`is_live`) ask it here.
"""

from __future__ import annotations

from sqlite_utils import Database

from db.connection import write

# The regions citizens can use (apply, book online, see in the catalogue): their manager opened them
# (:func:`open_to_citizens`), or they were in use before onboarding existed (migration 021).
LIVE = "SELECT wilayah_kode FROM mpp WHERE digital_aktif = 1"

_ON_PLATFORM = """(EXISTS (SELECT 1 FROM mpp m WHERE m.wilayah_kode = :w)
                  OR EXISTS (SELECT 1 FROM instansi i WHERE i.wilayah_kode = :w)
                  OR EXISTS (SELECT 1 FROM akun a WHERE a.peran = 'admin_wilayah' AND a.wilayah_kode = :w))"""


def candidates(db: Database) -> list[dict]:
    """Every kab/kota the national list says has an MPP established and that is not on the platform yet."""
    return [dict(r) for r in db.execute(
        """SELECT k.kode, k.nama, p.nama AS provinsi_nama, n.tanggal_berdiri
           FROM mpp_nasional n JOIN kabkota k ON k.kode = n.wilayah_kode JOIN provinsi p ON p.kode = k.provinsi_kode
           WHERE n.status = 'berdiri'
             AND NOT EXISTS (SELECT 1 FROM mpp m WHERE m.wilayah_kode = k.kode)
             AND NOT EXISTS (SELECT 1 FROM instansi i WHERE i.wilayah_kode = k.kode)
             AND NOT EXISTS (SELECT 1 FROM akun a WHERE a.peran = 'admin_wilayah' AND a.wilayah_kode = k.kode)
           ORDER BY p.kode, k.kode""")]


def waiting(db: Database) -> list[dict]:
    """Regions with an MPP profile that their manager has not opened to citizens yet."""
    return [dict(r) for r in db.execute(
        f"""SELECT k.kode, k.nama, p.nama AS provinsi_nama, m.nama AS mpp_nama,
                  (SELECT group_concat(a.username, ', ') FROM akun a
                   WHERE a.peran = 'admin_wilayah' AND a.wilayah_kode = k.kode) AS pengelola
           FROM mpp m JOIN kabkota k ON k.kode = m.wilayah_kode JOIN provinsi p ON p.kode = k.provinsi_kode
           WHERE m.wilayah_kode NOT IN ({LIVE}) ORDER BY p.kode, k.kode""")]


def region(db: Database, kode: str) -> dict | None:
    """A kab/kota with its national MPP status and whether it is on the platform / live."""
    row = db.execute(
        f"""SELECT k.kode, k.nama, p.nama AS provinsi_nama, n.status AS status_nasional, n.tanggal_berdiri,
                   {_ON_PLATFORM} AS di_platform,
                   :w IN ({LIVE}) AS digital_aktif
            FROM kabkota k JOIN provinsi p ON p.kode = k.provinsi_kode
            LEFT JOIN mpp_nasional n ON n.wilayah_kode = k.kode
            WHERE k.kode = :w""", {"w": kode}).fetchone()
    return dict(row) if row else None


def on_platform(db: Database, kode: str) -> bool:
    return bool(db.execute(f"SELECT {_ON_PLATFORM}", {"w": kode}).fetchone()[0])


def agency_types(db: Database) -> list[dict]:
    """The agency types, in the catalogue's counter order, with how many national catalogue services each gives."""
    return [dict(r) for r in db.execute(
        """SELECT ji.kode, ji.nama, ji.singkatan,
                  (SELECT count(*) FROM layanan l WHERE l.instansi = ji.kode AND l.wilayah_pemilik IS NULL
                   AND l.pensiun IS NULL) AS layanan
           FROM jenis_instansi ji ORDER BY ji.rowid""")]


# ------------------------------------------------------------------ onboarding (inside the caller's transaction)

def add_mpp(db: Database, kode: str, nama: str, alamat: str, jam_layanan: str, peta_url: str) -> None:
    """The MPP profile, not live (``digital_aktif = 0``); a second one for the region fails on the primary key."""
    with write(db):
        db.execute("INSERT INTO mpp (wilayah_kode, nama, alamat, jam_layanan, peta_url, digital_aktif) "
                   "VALUES (?, ?, ?, ?, ?, 0)", [kode, nama, alamat, jam_layanan, peta_url])


def add_agency_with_counter(db: Database, kode: str, jenis_kode: str, nama: str, nomor: str, nama_gerai: str) -> int:
    """An agency of the region, its counter (default hours and quotas), and every national catalogue service
    of its type enabled for the region (as the pilot regions are seeded). Returns the agency's id."""
    with write(db):
        instansi_id = db.execute("INSERT INTO instansi (wilayah_kode, jenis_kode, nama) VALUES (?, ?, ?)",
                                 [kode, jenis_kode, nama]).lastrowid
        db.execute("INSERT INTO gerai (wilayah_kode, instansi_id, nomor, nama) VALUES (?, ?, ?, ?)",
                   [kode, instansi_id, nomor, nama_gerai])
        db.execute(
            """INSERT INTO layanan_wilayah (wilayah_kode, layanan_id, instansi_id)
               SELECT ?, l.id, ? FROM layanan l
               WHERE l.instansi = ? AND l.wilayah_pemilik IS NULL AND l.pensiun IS NULL""",
            [kode, instansi_id, jenis_kode])
        return instansi_id


def services_enabled(db: Database, kode: str) -> int:
    return db.execute("SELECT count(*) FROM layanan_wilayah WHERE wilayah_kode = ? AND aktif = 1",
                      [kode]).fetchone()[0]


def create_manager(db: Database, kode: str, username: str, nama: str, kata_sandi_hash: str) -> int:
    with write(db):
        return db.execute("INSERT INTO akun (peran, username, nama, kata_sandi, wilayah_kode) "
                          "VALUES ('admin_wilayah', ?, ?, ?, ?)", [username, nama, kata_sandi_hash, kode]).lastrowid


# ------------------------------------------------------------------ opening the region to citizens

def readiness(db: Database, kode: str) -> dict:
    """What the region has that opening it depends on."""
    row = db.execute(
        """SELECT (SELECT count(*) FROM instansi WHERE wilayah_kode = :w) AS instansi,
                  (SELECT count(*) FROM gerai WHERE wilayah_kode = :w) AS gerai,
                  (SELECT count(*) FROM layanan_wilayah WHERE wilayah_kode = :w AND aktif = 1) AS layanan,
                  (SELECT count(*) FROM akun WHERE peran = 'petugas' AND wilayah_kode = :w) AS petugas""",
        {"w": kode}).fetchone()
    out = dict(row)
    out["tanpa_petugas"] = [r[0] for r in db.execute(
        """SELECT i.nama FROM instansi i
           WHERE i.wilayah_kode = :w
             AND EXISTS (SELECT 1 FROM layanan_wilayah lw WHERE lw.instansi_id = i.id AND lw.aktif = 1)
             AND NOT EXISTS (SELECT 1 FROM akun a WHERE a.instansi_id = i.id AND a.peran = 'petugas'
                             AND a.status = 'aktif')
           ORDER BY i.nama""", {"w": kode})]
    return out


def open_to_citizens(db: Database, kode: str) -> bool:
    """Set the region live; False when it already was (or has no MPP profile)."""
    with write(db):
        return db.execute("UPDATE mpp SET digital_aktif = 1 WHERE wilayah_kode = ? AND digital_aktif = 0",
                          [kode]).rowcount == 1


def is_live(db: Database, kode: str) -> bool:
    """Whether citizens can use the region's MPP Digital (apply, book online, see its services)."""
    return bool(db.execute(f"SELECT ? IN ({LIVE})", [kode]).fetchone()[0])
