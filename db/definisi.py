"""Service definitions as data: published versions (``layanan_versi``) and regions' working copies
(``layanan_rancangan``). The ``layanan`` row is always the published version citizens see now.

A definition is one JSON object whose keys are the ``layanan`` columns below (lists parsed); it is what a
citizen reads and fills, and what officers work by. Rules (who may change what, validation) live in
services/definisi.py and services/rancang.py.
"""

from __future__ import annotations

import json

from sqlite_utils import Database

# the layanan columns that make up a definition (a version is a snapshot of exactly these)
DEFINITION_COLUMNS = (
    "nama", "singkatan", "kelompok", "instansi", "instansi_teknis", "ringkasan", "jangka_waktu_hari", "biaya",
    "biaya_keterangan", "produk", "terbitkan_dokumen", "tingkat_ajukan", "tingkat_terbit", "persyaratan",
    "prosedur", "dasar_hukum", "pengaduan", "kata_kunci", "formulir", "alur", "dokumen_judul", "dokumen_kolom",
)
LIST_COLUMNS = ("persyaratan", "prosedur", "dasar_hukum", "kata_kunci", "formulir", "alur", "dokumen_kolom")


def of_row(row) -> dict:
    """The definition held by a ``layanan`` row (lists parsed from their JSON)."""
    row = dict(row)
    out = {}
    for col in DEFINITION_COLUMNS:
        value = row[col]
        out[col] = json.loads(value) if col in LIST_COLUMNS else value
    out["terbitkan_dokumen"] = bool(out["terbitkan_dokumen"])
    return out


def to_columns(definisi: dict) -> dict:
    """The ``layanan`` column values of a definition (lists as JSON)."""
    out = {}
    for col in DEFINITION_COLUMNS:
        value = definisi[col]
        out[col] = json.dumps(value, ensure_ascii=False) if col in LIST_COLUMNS else value
    out["terbitkan_dokumen"] = int(bool(definisi["terbitkan_dokumen"]))
    return out


def canonical(definisi: dict) -> str:
    return json.dumps({k: definisi[k] for k in DEFINITION_COLUMNS}, ensure_ascii=False, sort_keys=True)


# ------------------------------------------------------------------ published versions

def latest_version(db: Database, layanan_id: int) -> dict | None:
    row = db.execute("SELECT versi, definisi, terbit FROM layanan_versi WHERE layanan_id = ? "
                     "ORDER BY versi DESC LIMIT 1", [layanan_id]).fetchone()
    return {"versi": row[0], "definisi": json.loads(row[1]), "terbit": row[2]} if row else None


def version(db: Database, layanan_id: int, versi: int) -> dict | None:
    row = db.execute("SELECT definisi FROM layanan_versi WHERE layanan_id = ? AND versi = ?",
                     [layanan_id, versi]).fetchone()
    return json.loads(row[0]) if row else None


def versions(db: Database, layanan_id: int) -> list[dict]:
    return [dict(r) for r in db.execute(
        """SELECT v.versi, v.terbit, a.nama AS oleh,
                  (SELECT count(*) FROM permohonan p WHERE p.layanan_id = v.layanan_id
                      AND coalesce(p.layanan_versi, 1) = v.versi) AS permohonan
           FROM layanan_versi v LEFT JOIN akun a ON a.id = v.akun_id
           WHERE v.layanan_id = ? ORDER BY v.versi DESC""", [layanan_id])]


def record_version(db: Database, layanan_id: int, definisi: dict, waktu: str, akun_id: int | None) -> int:
    """Keep ``definisi`` as the next version of the service and show it in its ``layanan`` row; returns the
    version number. Call inside a write transaction."""
    latest = latest_version(db, layanan_id)
    versi = latest["versi"] + 1 if latest else 1
    db.execute("INSERT INTO layanan_versi (layanan_id, versi, definisi, terbit, akun_id) VALUES (?, ?, ?, ?, ?)",
               [layanan_id, versi, canonical(definisi), waktu, akun_id])
    db.execute("UPDATE layanan SET versi = ? WHERE id = ?", [versi, layanan_id])
    return versi


def record_catalogue_versions(db: Database, waktu: str) -> int:
    """After the national catalogue files were loaded: a new version for every national template whose
    definition differs from its latest version (the first load gives every template its version 1)."""
    added = 0
    for row in db.execute("SELECT * FROM layanan WHERE wilayah_pemilik IS NULL").fetchall():
        current = of_row(row)
        latest = latest_version(db, row["id"])
        if latest is None or canonical(latest["definisi"]) != canonical(current):
            record_version(db, row["id"], current, waktu, None)
            added += 1
    return added


# ------------------------------------------------------------------ a region's own services

def insert_service(db: Database, slug: str, kode: str, definisi: dict) -> int:
    cols = {"slug": slug, "wilayah_pemilik": kode, "versi": 0, **to_columns(definisi)}
    return db.execute(f"INSERT INTO layanan ({', '.join(cols)}) VALUES ({', '.join(':' + k for k in cols)})",
                      cols).lastrowid


def update_service(db: Database, layanan_id: int, definisi: dict) -> None:
    cols = to_columns(definisi)
    db.execute(f"UPDATE layanan SET {', '.join(f'{k} = :{k}' for k in cols)} WHERE id = :id",
               {**cols, "id": layanan_id})


def slug_taken(db: Database, slug: str) -> bool:
    return db.execute("SELECT 1 FROM layanan WHERE slug = ?", [slug]).fetchone() is not None


def index_for_search(db: Database, layanan_id: int) -> None:
    """Replace the service's row in the catalogue search index: its texts, and the names of its agency types
    (the catalogue load at start-up writes every row this same way)."""
    row = db.execute(
        """SELECT l.nama, l.singkatan, l.ringkasan, l.kata_kunci,
                  trim(coalesce(a.nama || ' ' || a.singkatan, '') || ' ' || coalesce(t.nama || ' ' || t.singkatan, ''))
           FROM layanan l LEFT JOIN jenis_instansi a ON a.kode = l.instansi
           LEFT JOIN jenis_instansi t ON t.kode = l.instansi_teknis WHERE l.id = ?""", [layanan_id]).fetchone()
    db.execute("DELETE FROM layanan_fts WHERE rowid = ?", [layanan_id])
    db.execute("INSERT INTO layanan_fts (rowid, nama, singkatan, ringkasan, kata_kunci, instansi) "
               "VALUES (?, ?, ?, ?, ?, ?)",
               [layanan_id, row[0], row[1], row[2], " ".join(json.loads(row[3])), row[4]])


def offer_in_region(db: Database, kode: str, layanan_id: int, instansi_id: int) -> None:
    db.execute("""INSERT INTO layanan_wilayah (wilayah_kode, layanan_id, instansi_id, aktif) VALUES (?, ?, ?, 1)
                  ON CONFLICT (wilayah_kode, layanan_id) DO UPDATE SET instansi_id = excluded.instansi_id,
                  aktif = 1""", [kode, layanan_id, instansi_id])


def retire(db: Database, layanan_id: int, waktu: str) -> None:
    db.execute("UPDATE layanan SET pensiun = ? WHERE id = ? AND pensiun IS NULL", [waktu, layanan_id])
    db.execute("UPDATE layanan_wilayah SET aktif = 0 WHERE layanan_id = ?", [layanan_id])


# ------------------------------------------------------------------ working copies

def drafts_of_region(db: Database, kode: str) -> list[dict]:
    return [dict(r) for r in db.execute(
        """SELECT r.id, r.definisi, r.diubah, r.layanan_id, i.nama AS instansi_nama,
                  l.slug, l.versi, l.pensiun
           FROM layanan_rancangan r JOIN instansi i ON i.id = r.instansi_id
           LEFT JOIN layanan l ON l.id = r.layanan_id
           WHERE r.wilayah_kode = ? ORDER BY r.id""", [kode])]


def draft(db: Database, rancangan_id: int) -> dict | None:
    row = db.execute(
        """SELECT r.*, i.nama AS instansi_nama, i.jenis_kode, l.slug, l.versi, l.pensiun
           FROM layanan_rancangan r JOIN instansi i ON i.id = r.instansi_id
           LEFT JOIN layanan l ON l.id = r.layanan_id WHERE r.id = ?""", [rancangan_id]).fetchone()
    if row is None:
        return None
    out = dict(row)
    out["definisi"] = json.loads(out["definisi"])
    return out


def insert_draft(db: Database, kode: str, instansi_id: int, definisi: dict, waktu: str, akun_id: int) -> int:
    return db.execute("INSERT INTO layanan_rancangan (wilayah_kode, instansi_id, definisi, dibuat, diubah, akun_id) "
                      "VALUES (?, ?, ?, ?, ?, ?)",
                      [kode, instansi_id, canonical(definisi), waktu, waktu, akun_id]).lastrowid


def save_draft(db: Database, rancangan_id: int, instansi_id: int, definisi: dict, waktu: str, akun_id: int) -> None:
    db.execute("UPDATE layanan_rancangan SET instansi_id = ?, definisi = ?, diubah = ?, akun_id = ? WHERE id = ?",
               [instansi_id, canonical(definisi), waktu, akun_id, rancangan_id])


def link_draft(db: Database, rancangan_id: int, layanan_id: int) -> None:
    db.execute("UPDATE layanan_rancangan SET layanan_id = ? WHERE id = ?", [layanan_id, rancangan_id])
