"""Complaints (pengaduan) as SP4N-LAPOR runs them."""

from __future__ import annotations

from sqlite_utils import Database

from db.connection import write


def create(db: Database, **row) -> dict:
    with write(db):
        pid = db.execute(
            f"INSERT INTO pengaduan (nomor, {', '.join(row)}) VALUES ('?', {', '.join(':' + k for k in row)})", row
        ).lastrowid
        nomor = f"ADU-{row['wilayah_kode']}-{pid:06d}"
        db.execute("UPDATE pengaduan SET nomor = ? WHERE id = ?", [nomor, pid])
    return get(db, pid)


def get(db: Database, pengaduan_id: int) -> dict | None:
    row = db.execute(
        """SELECT p.*, i.nama AS instansi_nama, l.nama AS layanan_nama, k.nama AS wilayah_nama
           FROM pengaduan p JOIN kabkota k ON k.kode = p.wilayah_kode LEFT JOIN instansi i ON i.id = p.instansi_id
           LEFT JOIN layanan l ON l.id = p.layanan_id WHERE p.id = ?""", [pengaduan_id]).fetchone()
    return dict(row) if row else None


def by_number(db: Database, nomor: str) -> dict | None:
    row = db.execute("SELECT id FROM pengaduan WHERE nomor = ?", [nomor]).fetchone()
    return get(db, row[0]) if row else None


def update(db: Database, pengaduan_id: int, **columns) -> None:
    with write(db):
        db.execute(f"UPDATE pengaduan SET {', '.join(f'{k} = :{k}' for k in columns)} WHERE id = :id",
                   {**columns, "id": pengaduan_id})


def for_region(db: Database, wilayah_kode: str, instansi_id: int | None = None) -> list[dict]:
    sql = """SELECT p.id, p.nomor, p.status, p.dibuat, p.batas_teruskan, p.batas_tindak, p.batas_tutup,
                    substr(p.isi, 1, 120) AS ringkas, i.nama AS instansi_nama
             FROM pengaduan p LEFT JOIN instansi i ON i.id = p.instansi_id WHERE p.wilayah_kode = ?"""
    params: list = [wilayah_kode]
    if instansi_id:
        sql += " AND p.instansi_id = ?"
        params.append(instansi_id)
    return [dict(r) for r in db.execute(sql + " ORDER BY p.id DESC LIMIT 100", params)]


def unattended(db: Database, limit: int = 200) -> list[dict]:
    """Open complaints of regions where no active MPP manager (admin_wilayah) account exists: nobody there
    can forward them, so the ministry sees them in monitoring."""
    return [dict(r) for r in db.execute(
        """SELECT p.id, p.nomor, p.status, p.dibuat, p.wilayah_kode, p.batas_teruskan, k.nama AS wilayah_nama,
                  pr.nama AS provinsi_nama, substr(p.isi, 1, 120) AS ringkas
           FROM pengaduan p JOIN kabkota k ON k.kode = p.wilayah_kode JOIN provinsi pr ON pr.kode = k.provinsi_kode
           WHERE p.status IN ('diterima', 'diteruskan')
             AND NOT EXISTS (SELECT 1 FROM akun a WHERE a.peran = 'admin_wilayah' AND a.wilayah_kode = p.wilayah_kode
                             AND a.status = 'aktif')
           ORDER BY p.batas_teruskan, p.id LIMIT ?""", [limit])]


def answered_past(db: Database, today: str) -> list[int]:
    return [r[0] for r in db.execute(
        "SELECT id FROM pengaduan WHERE status = 'ditindaklanjuti' AND batas_tutup < ?", [today])]
