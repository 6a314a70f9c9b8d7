"""Queries of a region's own console (admin_wilayah): its MPP profile, agencies, counters,
enabled services, officers, holidays, and the dashboard figures.

Every lookup by id also takes the region's code, so an object of another region is simply
not found.
"""

from __future__ import annotations

from sqlite_utils import Database

from db.connection import write
from db.permohonan import OPEN

# ------------------------------------------------------------------ MPP profile

def save_profile(db: Database, kode: str, nama: str, alamat: str, jam_layanan: str, peta_url: str) -> None:
    with write(db):
        db.execute(
            """INSERT INTO mpp (wilayah_kode, nama, alamat, jam_layanan, peta_url) VALUES (?, ?, ?, ?, ?)
               ON CONFLICT (wilayah_kode) DO UPDATE SET nama = excluded.nama, alamat = excluded.alamat,
                   jam_layanan = excluded.jam_layanan, peta_url = excluded.peta_url""",
            [kode, nama, alamat, jam_layanan, peta_url])


# ------------------------------------------------------------------ agencies

def agencies(db: Database, kode: str) -> list[dict]:
    return [dict(r) for r in db.execute(
        """SELECT i.id, i.nama, i.jenis_kode, ji.nama AS jenis_nama, ji.singkatan,
                  (SELECT count(*) FROM gerai g WHERE g.instansi_id = i.id) AS gerai,
                  (SELECT count(*) FROM akun a WHERE a.instansi_id = i.id AND a.peran = 'petugas') AS petugas
           FROM instansi i JOIN jenis_instansi ji ON ji.kode = i.jenis_kode
           WHERE i.wilayah_kode = ? ORDER BY i.nama""", [kode])]


def agency(db: Database, kode: str, instansi_id: int) -> dict | None:
    row = db.execute("SELECT * FROM instansi WHERE id = ? AND wilayah_kode = ?", [instansi_id, kode]).fetchone()
    return dict(row) if row else None


def agency_exists(db: Database, instansi_id: int) -> bool:
    return db.execute("SELECT 1 FROM instansi WHERE id = ?", [instansi_id]).fetchone() is not None


def agency_types(db: Database) -> list[dict]:
    return [dict(r) for r in db.execute("SELECT kode, nama, singkatan FROM jenis_instansi ORDER BY rowid")]


def add_agency(db: Database, kode: str, jenis_kode: str, nama: str) -> int:
    with write(db):
        return db.execute("INSERT INTO instansi (wilayah_kode, jenis_kode, nama) VALUES (?, ?, ?)",
                          [kode, jenis_kode, nama]).lastrowid


def rename_agency(db: Database, kode: str, instansi_id: int, nama: str) -> None:
    with write(db):
        db.execute("UPDATE instansi SET nama = ? WHERE id = ? AND wilayah_kode = ?", [nama, instansi_id, kode])


# ------------------------------------------------------------------ counters

GERAI_COLUMNS = ("instansi_id", "nomor", "nama", "jam_buka", "jam_tutup", "kuota_daring", "kuota_langsung")


def counters(db: Database, kode: str) -> list[dict]:
    return [dict(r) for r in db.execute(
        """SELECT g.*, i.nama AS instansi_nama FROM gerai g JOIN instansi i ON i.id = g.instansi_id
           WHERE g.wilayah_kode = ? ORDER BY g.nomor""", [kode])]


def counter(db: Database, kode: str, gerai_id: int) -> dict | None:
    row = db.execute("SELECT * FROM gerai WHERE id = ? AND wilayah_kode = ?", [gerai_id, kode]).fetchone()
    return dict(row) if row else None


def counter_number_taken(db: Database, kode: str, nomor: str, except_id: int | None) -> bool:
    return db.execute("SELECT 1 FROM gerai WHERE wilayah_kode = ? AND nomor = ? AND id IS NOT ?",
                      [kode, nomor, except_id]).fetchone() is not None


def save_counter(db: Database, kode: str, gerai_id: int | None, values: dict) -> int:
    with write(db):
        if gerai_id is None:
            cols, marks = ", ".join(GERAI_COLUMNS), ", ".join(":" + c for c in GERAI_COLUMNS)
            return db.execute(f"INSERT INTO gerai (wilayah_kode, {cols}) VALUES (:w, {marks})",
                              {"w": kode, **values}).lastrowid
        sets = ", ".join(f"{c} = :{c}" for c in GERAI_COLUMNS)
        db.execute(f"UPDATE gerai SET {sets} WHERE id = :id AND wilayah_kode = :w",
                   {"w": kode, "id": gerai_id, **values})
        return gerai_id


# ------------------------------------------------------------------ services of the catalogue

_SERVICE = """SELECT l.id, l.slug, l.nama, l.kelompok, l.instansi AS jenis_kode, l.biaya AS biaya_katalog,
                     l.biaya_keterangan AS biaya_katalog_keterangan,
                     lw.aktif, lw.persyaratan_tambahan, lw.biaya, lw.biaya_keterangan,
                     coalesce(lw.instansi_id, i.id) AS instansi_id, i.nama AS instansi_nama
              FROM layanan l
              LEFT JOIN layanan_wilayah lw ON lw.layanan_id = l.id AND lw.wilayah_kode = :w
              LEFT JOIN instansi i ON i.wilayah_kode = :w AND i.jenis_kode = l.instansi
              WHERE l.wilayah_pemilik IS NULL AND l.pensiun IS NULL"""  # national templates (a region's own: rancang)


def services(db: Database, kode: str) -> list[dict]:
    return [dict(r) for r in db.execute(_SERVICE + " ORDER BY l.kelompok, l.nama", {"w": kode})]


def service(db: Database, kode: str, layanan_id: int) -> dict | None:
    row = db.execute(_SERVICE + " AND l.id = :id", {"w": kode, "id": layanan_id}).fetchone()
    return dict(row) if row else None


def save_service(db: Database, kode: str, layanan_id: int, instansi_id: int, aktif: bool, persyaratan: str,
                 biaya: int | None, biaya_keterangan: str) -> None:
    with write(db):
        db.execute(
            """INSERT INTO layanan_wilayah (wilayah_kode, layanan_id, instansi_id, aktif, persyaratan_tambahan,
                                            biaya, biaya_keterangan)
               VALUES (?, ?, ?, ?, ?, ?, ?)
               ON CONFLICT (wilayah_kode, layanan_id) DO UPDATE SET aktif = excluded.aktif,
                   persyaratan_tambahan = excluded.persyaratan_tambahan, biaya = excluded.biaya,
                   biaya_keterangan = excluded.biaya_keterangan""",
            [kode, layanan_id, instansi_id, int(aktif), persyaratan, biaya, biaya_keterangan])


# ------------------------------------------------------------------ officers

def officers(db: Database, kode: str) -> list[dict]:
    return [dict(r) for r in db.execute(
        """SELECT a.id, a.username, a.nama, a.jabatan, a.instansi_id, i.nama AS instansi_nama
           FROM akun a JOIN instansi i ON i.id = a.instansi_id
           WHERE a.peran = 'petugas' AND a.wilayah_kode = ? ORDER BY i.nama, a.nama""", [kode])]


def officer(db: Database, kode: str, akun_id: int) -> dict | None:
    row = db.execute("SELECT id, username, nama, jabatan, instansi_id FROM akun "
                     "WHERE id = ? AND peran = 'petugas' AND wilayah_kode = ?", [akun_id, kode]).fetchone()
    return dict(row) if row else None


def login_taken(db: Database, username: str) -> bool:
    return db.execute("SELECT 1 FROM akun WHERE username = :u OR nik = :u OR telepon = :u",
                      {"u": username}).fetchone() is not None


def create_officer(db: Database, kode: str, instansi_id: int, username: str, nama: str, kata_sandi_hash: str,
                   jabatan: str) -> int:
    with write(db):
        return db.execute(
            "INSERT INTO akun (peran, username, nama, kata_sandi, wilayah_kode, instansi_id, jabatan) "
            "VALUES ('petugas', ?, ?, ?, ?, ?, ?)",
            [username, nama, kata_sandi_hash, kode, instansi_id, jabatan]).lastrowid


def set_officer_duties(db: Database, kode: str, akun_id: int, jabatan: str, instansi_id: int) -> None:
    with write(db):
        db.execute("UPDATE akun SET jabatan = ?, instansi_id = ? "
                   "WHERE id = ? AND peran = 'petugas' AND wilayah_kode = ?", [jabatan, instansi_id, akun_id, kode])


# ------------------------------------------------------------------ holidays of the region

def holidays(db: Database, kode: str, from_date: str) -> list[dict]:
    return [dict(r) for r in db.execute(
        "SELECT tanggal, nama FROM libur WHERE wilayah_kode = ? AND tanggal >= ? ORDER BY tanggal LIMIT 200",
        [kode, from_date])]


def holiday(db: Database, kode: str, tanggal: str) -> dict | None:
    row = db.execute("SELECT tanggal, nama FROM libur WHERE wilayah_kode = ? AND tanggal = ?",
                     [kode, tanggal]).fetchone()
    return dict(row) if row else None


def national_holiday(db: Database, tanggal: str) -> str | None:
    row = db.execute("SELECT nama FROM libur WHERE wilayah_kode = '' AND tanggal = ?", [tanggal]).fetchone()
    return row[0] if row else None


def add_holiday(db: Database, kode: str, tanggal: str, nama: str) -> None:
    with write(db):
        db.execute("INSERT INTO libur (tanggal, wilayah_kode, nama) VALUES (?, ?, ?) "
                   "ON CONFLICT DO UPDATE SET nama = excluded.nama", [tanggal, kode, nama])


def delete_holiday(db: Database, kode: str, tanggal: str) -> None:
    with write(db):
        db.execute("DELETE FROM libur WHERE wilayah_kode = ? AND tanggal = ?", [kode, tanggal])


# ------------------------------------------------------------------ dashboard

def queue_today(db: Database, kode: str, tanggal: str) -> dict:
    row = db.execute(
        """SELECT count(*) AS total, coalesce(sum(status = 'menunggu'), 0) AS menunggu,
                  coalesce(sum(status = 'dilayani'), 0) AS dilayani
           FROM tiket WHERE wilayah_kode = ? AND tanggal = ? AND status != 'batal'""", [kode, tanggal]).fetchone()
    return dict(row)


def open_by_agency(db: Database, kode: str, today: str) -> list[dict]:
    return [dict(r) for r in db.execute(
        f"""SELECT i.id, i.nama, count(p.id) AS terbuka,
                   coalesce(sum(p.tenggat < :t AND p.status != 'perlu_perbaikan'), 0) AS terlambat
            FROM instansi i JOIN permohonan p ON p.instansi_id = i.id AND p.status IN {OPEN}
            WHERE i.wilayah_kode = :w GROUP BY i.id ORDER BY terbuka DESC, i.nama""", {"w": kode, "t": today})]


def overdue(db: Database, kode: str, today: str, limit: int = 20) -> list[dict]:
    return [dict(r) for r in db.execute(
        f"""SELECT p.nomor, p.tenggat, p.status, l.nama AS layanan_nama, i.nama AS instansi_nama
            FROM permohonan p JOIN layanan l ON l.id = p.layanan_id JOIN instansi i ON i.id = p.instansi_id
            WHERE p.wilayah_kode = :w AND p.status IN {OPEN} AND p.status != 'perlu_perbaikan' AND p.tenggat < :t
            ORDER BY p.tenggat, p.id LIMIT :n""", {"w": kode, "t": today, "n": limit})]


def complaints(db: Database, kode: str) -> dict:
    row = db.execute(
        """SELECT count(*) AS total,
                  coalesce(sum(status IN ('diterima', 'diteruskan', 'ditindaklanjuti')), 0) AS terbuka
           FROM pengaduan WHERE wilayah_kode = ?""", [kode]).fetchone()
    return dict(row)


def complaints_overdue(db: Database, kode: str, today: str) -> int:
    return db.execute(
        """SELECT count(*) FROM pengaduan WHERE wilayah_kode = :w AND (
               (status = 'diterima' AND batas_teruskan < :t) OR
               (status = 'diteruskan' AND batas_tindak IS NOT NULL AND batas_tindak < :t))""",
        {"w": kode, "t": today}).fetchone()[0]
