"""Queries over the service catalogue (layanan) and its search index."""

from __future__ import annotations

from sqlite_utils import Database

from db.penyiapan import LIVE

# A service is offered in a region (its row of layanan_wilayah ``lw``, the service ``l``): enabled there, not
# retired, a national template or the region's own service (never another region's), and the region live.
# The catalogue lists by it and an application starts only on it (db/permohonan.offering).
OFFERED = ("lw.aktif = 1 AND l.pensiun IS NULL AND (l.wilayah_pemilik IS NULL OR l.wilayah_pemilik = lw.wilayah_kode)"
           f" AND lw.wilayah_kode IN ({LIVE})")
_COLUMNS = "l.id, l.slug, l.nama, l.singkatan, l.kelompok, l.instansi, l.ringkasan, " \
           "l.jangka_waktu_hari, l.biaya, ji.singkatan AS instansi_singkatan, l.wilayah_pemilik, " \
           "kp.nama AS pemilik_nama"


def _filter(match: str | None, wilayah: str | None) -> tuple[str, str, dict]:
    """The joins, the WHERE and the parameters of :func:`list_services` / :func:`count_services`.

    Without a region: the national templates, and the own services of live regions that offer them (an
    onboarded region not opened yet shows nothing). With one: what the region offers (:data:`OFFERED`)."""
    joins = "JOIN jenis_instansi ji ON ji.kode = l.instansi LEFT JOIN kabkota kp ON kp.kode = l.wilayah_pemilik"
    where, params = ["l.pensiun IS NULL"], {}
    if match:
        joins += " JOIN layanan_fts f ON f.rowid = l.id"
        where.append("layanan_fts MATCH :match")
        params["match"] = match
    owner = "lw.wilayah_kode = :w" if wilayah else "lw.wilayah_kode = l.wilayah_pemilik"
    offered = f"EXISTS (SELECT 1 FROM layanan_wilayah lw WHERE lw.layanan_id = l.id AND {owner} AND {OFFERED})"
    if wilayah:
        where.append(offered)
        params["w"] = wilayah
    else:
        where.append(f"(l.wilayah_pemilik IS NULL OR {offered})")
    return joins, " AND ".join(where), params


def list_services(db: Database, match: str | None = None, wilayah: str | None = None,
                  limit: int | None = None) -> list[dict]:
    """Services, optionally filtered by an FTS5 MATCH expression and what a region offers; ``limit`` rows at
    most (None: all; the caller says when there are more: :func:`count_services`).

    With a search, best matches come first; otherwise the national templates (adminduk, then health
    workers), then the regions' own services, each by name.
    """
    joins, where, params = _filter(match, wilayah)
    order = "l.wilayah_pemilik IS NOT NULL, l.kelompok, kp.nama, l.nama"
    if match:
        order = "bm25(layanan_fts, 10.0, 8.0, 1.0, 4.0, 2.0), l.nama"
    sql = f"SELECT {_COLUMNS} FROM layanan l {joins} WHERE {where} ORDER BY {order}"
    if limit is not None:
        sql += " LIMIT :limit"
        params["limit"] = limit
    return [dict(r) for r in db.execute(sql, params).fetchall()]


def count_services(db: Database, match: str | None = None, wilayah: str | None = None) -> int:
    """How many services :func:`list_services` would give without a limit."""
    joins, where, params = _filter(match, wilayah)
    return db.execute(f"SELECT count(*) FROM layanan l {joins} WHERE {where}", params).fetchone()[0]


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
            JOIN layanan l ON l.id = lw.layanan_id
            WHERE lw.layanan_id = ? AND {OFFERED} ORDER BY k.nama""",
        [layanan_id],
    ).fetchall()]


def regional_terms(db: Database, layanan_id: int, kode: str) -> dict | None:
    """What a region adds to a catalogue service it offers: its agency, extra requirements, its fee."""
    row = db.execute(
        f"""SELECT k.kode, k.nama, i.nama AS instansi_nama, lw.persyaratan_tambahan, lw.biaya, lw.biaya_keterangan
            FROM layanan_wilayah lw JOIN kabkota k ON k.kode = lw.wilayah_kode
            JOIN layanan l ON l.id = lw.layanan_id LEFT JOIN instansi i ON i.id = lw.instansi_id
            WHERE lw.layanan_id = ? AND lw.wilayah_kode = ? AND {OFFERED}""",
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
