"""Queries over the service catalogue (layanan) and its search index."""

from __future__ import annotations

from sqlite_utils import Database

# Citizens see a region's services only once the region is live (its manager opened it: db/penyiapan.py).
LIVE = "SELECT wilayah_kode FROM mpp WHERE digital_aktif = 1"
_COLUMNS = "l.id, l.slug, l.nama, l.singkatan, l.kelompok, l.instansi, l.ringkasan, " \
           "l.jangka_waktu_hari, l.biaya, ji.singkatan AS instansi_singkatan"


def list_services(db: Database, match: str | None = None, wilayah: str | None = None,
                  limit: int = 100) -> list[dict]:
    """Services, optionally filtered by an FTS5 MATCH expression and a region's enabled set.

    With a search, best matches come first; otherwise adminduk, then by name.
    """
    where, params = ["l.pensiun IS NULL"], {"limit": limit}
    joins = "JOIN jenis_instansi ji ON ji.kode = l.instansi"
    order = "l.kelompok, l.nama"
    if match:
        joins += " JOIN layanan_fts f ON f.rowid = l.id"
        where.append("layanan_fts MATCH :match")
        params["match"] = match
        order = "bm25(layanan_fts, 10.0, 8.0, 1.0, 4.0, 2.0), l.nama"
    if wilayah:
        where.append("l.id IN (SELECT layanan_id FROM layanan_wilayah WHERE wilayah_kode = :w AND aktif = 1)")
        where.append(f":w IN ({LIVE})")
        params["w"] = wilayah
    sql = f"SELECT {_COLUMNS} FROM layanan l {joins} WHERE " + " AND ".join(where)
    sql += f" ORDER BY {order} LIMIT :limit"
    return [dict(r) for r in db.execute(sql, params).fetchall()]


def search_texts(db: Database) -> list[str]:
    """Every searchable text of the catalogue (one string per service), for spelling tolerance."""
    return [" ".join(str(c or "") for c in r)
            for r in db.execute("SELECT nama, singkatan, ringkasan, kata_kunci, instansi FROM layanan_fts")]


def get_service(db: Database, slug: str) -> dict | None:
    row = db.execute(
        """SELECT l.*, ji.nama AS instansi_nama, ji.singkatan AS instansi_singkatan,
                  jt.nama AS instansi_teknis_nama
           FROM layanan l JOIN jenis_instansi ji ON ji.kode = l.instansi
           LEFT JOIN jenis_instansi jt ON jt.kode = l.instansi_teknis
           WHERE l.slug = ?""",
        [slug],
    ).fetchone()
    return dict(row) if row else None


def service_exists(db: Database, layanan_id: int) -> bool:
    return db.execute("SELECT 1 FROM layanan WHERE id = ?", [layanan_id]).fetchone() is not None


def regions_offering(db: Database, layanan_id: int) -> list[dict]:
    return [dict(r) for r in db.execute(
        f"""SELECT k.kode, k.nama FROM layanan_wilayah lw JOIN kabkota k ON k.kode = lw.wilayah_kode
            WHERE lw.layanan_id = ? AND lw.aktif = 1 AND lw.wilayah_kode IN ({LIVE}) ORDER BY k.nama""",
        [layanan_id],
    ).fetchall()]


def regional_terms(db: Database, layanan_id: int, kode: str) -> dict | None:
    """What a region adds to a catalogue service it offers: its agency, extra requirements, its fee."""
    row = db.execute(
        f"""SELECT k.kode, k.nama, i.nama AS instansi_nama, lw.persyaratan_tambahan, lw.biaya, lw.biaya_keterangan
            FROM layanan_wilayah lw JOIN kabkota k ON k.kode = lw.wilayah_kode
            LEFT JOIN instansi i ON i.id = lw.instansi_id
            WHERE lw.layanan_id = ? AND lw.wilayah_kode = ? AND lw.aktif = 1 AND lw.wilayah_kode IN ({LIVE})""",
        [layanan_id, kode],
    ).fetchone()
    return dict(row) if row else None


def regional_agency(db: Database, layanan_id: int, kode: str) -> int | None:
    """The agency that gives a catalogue service in a region (enabled or not); None when the region has no row."""
    row = db.execute("SELECT instansi_id FROM layanan_wilayah WHERE wilayah_kode = ? AND layanan_id = ?",
                     [kode, layanan_id]).fetchone()
    return row[0] if row else None


def count_by_group(db: Database) -> dict[str, int]:
    return {r[0]: r[1] for r in db.execute("SELECT kelompok, count(*) FROM layanan GROUP BY kelompok")}
