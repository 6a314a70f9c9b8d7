"""Queries over applications (permohonan), their documents (berkas), timeline (riwayat) and outputs."""

from __future__ import annotations

import json

from sqlite_utils import Database

from db.connection import write
from db.definisi import version
from db.katalog import OFFERED

OPEN = ("diajukan", "diverifikasi", "perlu_perbaikan", "disetujui")


def draft_for(db: Database, akun_id: int, layanan_id: int, wilayah_kode: str, instansi_id: int,
              untuk_nik: str | None = None, untuk_nama: str | None = None, untuk_perwalian: int | None = None) -> int:
    """The citizen's open draft for this service and region (and the family member it is for, if any),
    created on first use."""
    with write(db):
        row = db.execute("SELECT id FROM permohonan WHERE akun_id = ? AND layanan_id = ? AND wilayah_kode = ? "
                         "AND coalesce(untuk_nik, '') = ? AND status = 'draf'",
                         [akun_id, layanan_id, wilayah_kode, untuk_nik or ""]).fetchone()
        if row:
            return row[0]
        # the application is filled in, and worked on, by the version of the service published now
        return db.execute("INSERT INTO permohonan (akun_id, layanan_id, wilayah_kode, instansi_id, untuk_nik, "
                          "untuk_nama, untuk_perwalian, layanan_versi) "
                          "VALUES (?, ?, ?, ?, ?, ?, ?, (SELECT versi FROM layanan WHERE id = ?))",
                          [akun_id, layanan_id, wilayah_kode, instansi_id, untuk_nik, untuk_nama, untuk_perwalian,
                           layanan_id]).lastrowid


def open_draft(db: Database, akun_id: int, layanan_id: int, wilayah_kode: str, untuk_nik: str | None) -> int | None:
    """The citizen's open draft for this service, region and person, if any (read only: ``draft_for`` makes one)."""
    row = db.execute("SELECT id FROM permohonan WHERE akun_id = ? AND layanan_id = ? AND wilayah_kode = ? "
                     "AND coalesce(untuk_nik, '') = ? AND status = 'draf' ORDER BY id LIMIT 1",
                     [akun_id, layanan_id, wilayah_kode, untuk_nik or ""]).fetchone()
    return row[0] if row else None


def get(db: Database, permohonan_id: int) -> dict | None:
    row = db.execute(
        """SELECT p.*, l.slug, l.nama AS layanan_nama, l.singkatan AS layanan_singkatan, l.kelompok,
                  l.formulir, l.jangka_waktu_hari, l.terbitkan_dokumen, l.produk,
                  l.tingkat_ajukan, l.tingkat_terbit, l.alur, l.dokumen_judul, l.dokumen_kolom,
                  l.versi AS layanan_versi_kini,
                  (SELECT dasar FROM perwalian w WHERE w.id = p.untuk_perwalian) AS perwalian_dasar,
                  i.nama AS instansi_nama, k.nama AS wilayah_nama, a.nama AS pemohon_nama,
                  coalesce(a.nik, CASE WHEN a.status = 'tanpa_akun' THEN a.nik_asal END) AS pemohon_nik,
                  a.telepon AS pemohon_telepon, a.tingkat AS pemohon_tingkat, a.status AS pemohon_status
           FROM permohonan p JOIN layanan l ON l.id = p.layanan_id JOIN instansi i ON i.id = p.instansi_id
           JOIN kabkota k ON k.kode = p.wilayah_kode JOIN akun a ON a.id = p.akun_id
           WHERE p.id = ?""",
        [permohonan_id],
    ).fetchone()
    if row is None:
        return None
    out = dict(row)
    for col in ("data", "perbaikan", "formulir", "alur", "dokumen_kolom"):
        out[col] = json.loads(out[col])
    out["layanan_versi"] = out["layanan_versi"] or 1  # started before versions: version 1
    if out["layanan_versi"] != out["layanan_versi_kini"]:
        _on_its_version(db, out)
    return out


# what an application takes from the version of its service it was started on (the rest, e.g. the slug, stays)
_PINNED = {"nama": "layanan_nama", "singkatan": "layanan_singkatan", "formulir": "formulir",
           "jangka_waktu_hari": "jangka_waktu_hari", "terbitkan_dokumen": "terbitkan_dokumen", "produk": "produk",
           "tingkat_ajukan": "tingkat_ajukan", "tingkat_terbit": "tingkat_terbit", "alur": "alur",
           "dokumen_judul": "dokumen_judul", "dokumen_kolom": "dokumen_kolom"}


def _on_its_version(db: Database, p: dict) -> None:
    definisi = version(db, p["layanan_id"], p["layanan_versi"])
    if definisi is None:
        return
    for key, col in _PINNED.items():
        if key in definisi:
            p[col] = int(definisi[key]) if key == "terbitkan_dokumen" else definisi[key]


def save_answers(db: Database, permohonan_id: int, answers: dict, diubah: str) -> None:
    """Merge answers into the draft (autosave sends one field at a time); ``diubah``: the service's UTC stamp."""
    with write(db):
        current = json.loads(db.execute("SELECT data FROM permohonan WHERE id = ?", [permohonan_id]).fetchone()[0])
        current.update(answers)
        db.execute("UPDATE permohonan SET data = ?, diubah = ? WHERE id = ?",
                   [json.dumps(current, ensure_ascii=False), diubah, permohonan_id])


def save_file(db: Database, permohonan_id: int, kolom: str, nama_file: str, jenis: str, sha256: str,
              ukuran: int, kunci: str) -> str | None:
    """The row of a document stored under ``kunci`` (its bytes in object storage, ``isi`` empty), replacing the
    field's earlier one; returns the replaced row's key (None: none, or its bytes were in ``isi``)."""
    with write(db):
        old = db.execute("SELECT kunci FROM berkas WHERE permohonan_id = ? AND kolom = ?",
                         [permohonan_id, kolom]).fetchone()
        db.execute(
            """INSERT INTO berkas (permohonan_id, kolom, nama_file, jenis, ukuran, sha256, isi, kunci)
               VALUES (?, ?, ?, ?, ?, ?, x'', ?)
               ON CONFLICT (permohonan_id, kolom) DO UPDATE SET nama_file = excluded.nama_file,
                 jenis = excluded.jenis, ukuran = excluded.ukuran, sha256 = excluded.sha256, isi = x'',
                 kunci = excluded.kunci, dibuat = excluded.dibuat""",
            [permohonan_id, kolom, nama_file, jenis, ukuran, sha256, kunci],
        )
    return old[0] if old else None


def files(db: Database, permohonan_id: int) -> dict[str, dict]:
    return {r["kolom"]: dict(r) for r in db.execute(
        "SELECT id, kolom, nama_file, jenis, ukuran, dibuat FROM berkas WHERE permohonan_id = ?", [permohonan_id])}


def file_content(db: Database, permohonan_id: int, berkas_id: int) -> dict | None:
    """Name, type, size, SHA-256 and key of one file of the application; ``isi`` only for a row whose bytes are
    still in SQLite (kunci NULL, not yet moved out)."""
    row = db.execute("SELECT nama_file, jenis, ukuran, sha256, kunci, CASE WHEN kunci IS NULL THEN isi END AS isi "
                     "FROM berkas WHERE id = ? AND permohonan_id = ?", [berkas_id, permohonan_id]).fetchone()
    return dict(row) if row else None


def current_status(db: Database, permohonan_id: int) -> str | None:
    row = db.execute("SELECT status FROM permohonan WHERE id = ?", [permohonan_id]).fetchone()
    return row[0] if row else None


def set_status(db: Database, permohonan_id: int, status: str, actor_id: int | None, note: str = "", *,
               diubah: str, **columns) -> None:
    """Change the status and add the timeline entry in one transaction; ``diubah``: the service's UTC stamp."""
    sets = ["status = :status", "diubah = :diubah"]
    sets += [f"{k} = :{k}" for k in columns]
    with write(db):
        db.execute(f"UPDATE permohonan SET {', '.join(sets)} WHERE id = :id",
                   {"status": status, "diubah": diubah, "id": permohonan_id, **columns})
        add_note(db, permohonan_id, status, note, actor_id)


def add_note(db: Database, permohonan_id: int, status: str, note: str, actor_id: int | None = None) -> None:
    """A timeline entry (the status it was written in, and what happened)."""
    with write(db):
        db.execute("INSERT INTO riwayat (permohonan_id, status, catatan, akun_id) VALUES (?, ?, ?, ?)",
                   [permohonan_id, status, note, actor_id])


# Applications and documents are found by the STR number their form holds (index permohonan_nomor_str).
_STR = "json_extract(p.data, '$.nomor_str')"


def sip_in_progress(db: Database, nomor_str: str, except_id: int) -> int:
    """Health-worker permit applications on this STR submitted and not yet decided, other than ``except_id``."""
    return db.execute(
        f"""SELECT count(*) FROM permohonan p JOIN layanan l ON l.id = p.layanan_id
            WHERE {_STR} = ? AND l.kelompok = 'nakes' AND p.status IN {OPEN} AND p.id != ?""",
        [nomor_str, except_id]).fetchone()[0]


def sip_documents(db: Database, nomor_str: str) -> list[dict]:
    """Documents issued here on applications naming this STR: number, revocation stamp, last valid day."""
    return [dict(r) for r in db.execute(
        f"""SELECT d.nomor, d.dicabut, d.berlaku_sampai FROM dokumen d JOIN permohonan p ON p.id = d.permohonan_id
            JOIN layanan l ON l.id = p.layanan_id WHERE {_STR} = ? AND l.kelompok = 'nakes'""",
        [nomor_str])]


def timeline(db: Database, permohonan_id: int) -> list[dict]:
    return [dict(r) for r in db.execute(
        """SELECT r.status, r.catatan, r.waktu, a.nama AS oleh, a.peran FROM riwayat r
           LEFT JOIN akun a ON a.id = r.akun_id WHERE r.permohonan_id = ? ORDER BY r.id""",
        [permohonan_id],
    )]


def for_citizen(db: Database, akun_id: int) -> list[dict]:
    return [dict(r) for r in db.execute(
        """SELECT p.id, p.nomor, p.status, p.diajukan, p.tenggat, p.untuk_nama, l.nama AS layanan_nama,
                  k.nama AS wilayah_nama
           FROM permohonan p JOIN layanan l ON l.id = p.layanan_id JOIN kabkota k ON k.kode = p.wilayah_kode
           WHERE p.akun_id = ? ORDER BY p.diubah DESC LIMIT 100""",
        [akun_id],
    )]


def inbox(db: Database, instansi_id: int, status: str | None, layanan_id: int | None, overdue_before: str | None,
          limit: int = 50, offset: int = 0, after: tuple[str, int] | None = None,
          before: tuple[str, int] | None = None) -> list[dict]:
    """An agency's cases, oldest first; ``overdue_before`` keeps only open cases due before that date.

    A page starts ``offset`` cases in, or right after / before a case's place in that order (``after`` /
    ``before``: its ``(diajukan, id)``, from :func:`inbox_position`): read off the index in order (keyset),
    so the last page costs what the first does. Index permohonan_kotak_masuk (permohonan_instansi with a
    status)."""
    where, params = ["p.instansi_id = :i", "p.status != 'draf'"], {"i": instansi_id, "limit": limit, "offset": offset}
    if status:
        where.append("p.status = :s")
        params["s"] = status
    if layanan_id:
        where.append("p.layanan_id = :l")
        params["l"] = layanan_id
    if overdue_before:
        where.append(f"p.status IN {OPEN} AND p.tenggat < :t")
        params["t"] = overdue_before
    order = "p.diajukan, p.id"
    if after or before:
        where.append("(p.diajukan, p.id) > (:d, :n)" if after else "(p.diajukan, p.id) < (:d, :n)")
        params.update(d=(after or before)[0], n=(after or before)[1], offset=0)
        order = order if after else "p.diajukan DESC, p.id DESC"
    # the page's ids first, off the index alone (cases skipped by OFFSET are never joined), then their rows
    rows = [dict(r) for r in db.execute(
        f"""SELECT p.id, p.nomor, p.status, p.diajukan, p.tenggat, p.fiktif_positif, p.ditahan, p.untuk_nama,
                   l.nama AS layanan_nama, a.nama AS pemohon_nama
            FROM (SELECT p.id FROM permohonan p WHERE {' AND '.join(where)}
                  ORDER BY {order} LIMIT :limit OFFSET :offset) page
            JOIN permohonan p ON p.id = page.id JOIN layanan l ON l.id = p.layanan_id JOIN akun a ON a.id = p.akun_id
            ORDER BY p.diajukan, p.id""",
        params,
    )]
    return rows


def inbox_position(db: Database, instansi_id: int, permohonan_id: int) -> tuple[str, int] | None:
    """A submitted case's place in its agency's inbox order; None when it is not one of that agency's."""
    row = db.execute("SELECT diajukan, id FROM permohonan WHERE id = ? AND instansi_id = ? AND status != 'draf' "
                     "AND diajukan IS NOT NULL", [permohonan_id, instansi_id]).fetchone()
    return (row[0], row[1]) if row else None


def services_of_agency(db: Database, instansi_id: int) -> list[dict]:
    return [dict(r) for r in db.execute(
        """SELECT l.id, l.nama FROM layanan_wilayah lw JOIN layanan l ON l.id = lw.layanan_id
           WHERE lw.instansi_id = ? ORDER BY l.nama""", [instansi_id])]


def offering(db: Database, slug: str, wilayah_kode: str) -> dict | None:
    """The service as offered in a region (its agency there): enabled, not retired, national or the region's
    own, and the region live (db/katalog.OFFERED, the rule the catalogue lists by)."""
    row = db.execute(
        f"""SELECT l.id AS layanan_id, lw.instansi_id, l.nama AS layanan_nama,
                   (SELECT nama FROM kabkota WHERE kode = lw.wilayah_kode) AS wilayah_nama FROM layanan l
            JOIN layanan_wilayah lw ON lw.layanan_id = l.id
            WHERE l.slug = ? AND lw.wilayah_kode = ? AND {OFFERED}""",
        [slug, wilayah_kode],
    ).fetchone()
    return dict(row) if row else None


def due_for_deemed_approval(db: Database, today: str) -> list[dict]:
    """Health-worker permits past their legal deadline without a decision (fiktif positif), not held for an
    identity check (those wait, whatever the date): read off index permohonan_lewat_tenggat, which holds only
    undecided, unheld applications, so a round reads the few that are due, not every application."""
    return [dict(r) for r in db.execute(
        """SELECT p.id, p.wilayah_kode FROM permohonan p JOIN layanan l ON l.id = p.layanan_id
           WHERE l.kelompok = 'nakes' AND p.status IN ('diajukan', 'diverifikasi', 'disetujui')
             AND p.ditahan = '' AND p.tenggat < ?""",
        [today],
    )]


def store_document(db: Database, permohonan_id: int, nomor: str, isi: dict, token: str, penandatangan: str,
                   berlaku_sampai: str | None = None) -> None:
    with write(db):
        db.execute("INSERT INTO dokumen (permohonan_id, nomor, isi, token, penandatangan, berlaku_sampai) "
                   "VALUES (?, ?, ?, ?, ?, ?)",
                   [permohonan_id, nomor, json.dumps(isi, ensure_ascii=False), token, penandatangan, berlaku_sampai])


_DOCUMENT = """SELECT d.*, p.wilayah_kode, p.instansi_id, i.nama AS instansi_nama FROM dokumen d
               JOIN permohonan p ON p.id = d.permohonan_id JOIN instansi i ON i.id = p.instansi_id"""


def _document(row) -> dict | None:
    if row is None:
        return None
    out = dict(row)
    out["isi"] = json.loads(out["isi"])
    return out


def document_of(db: Database, permohonan_id: int) -> dict | None:
    return _document(db.execute(f"{_DOCUMENT} WHERE d.permohonan_id = ?", [permohonan_id]).fetchone())


def document_by_number(db: Database, nomor: str) -> dict | None:
    return _document(db.execute(f"{_DOCUMENT} WHERE d.nomor = ?", [nomor]).fetchone())


def revoke_document(db: Database, dokumen_id: int, kategori: str, catatan: str, petugas_id: int | None,
                    *, dicabut: str) -> bool:
    """Revoke one document (the one statement every revocation goes through); False if it already was.

    ``dicabut``: the service's UTC stamp (``kalender.stamp()``, the one clock)."""
    with write(db):
        return db.execute(
            """UPDATE dokumen SET dicabut = ?, alasan_cabut = ?,
                      catatan_cabut = ?, dicabut_oleh = ? WHERE id = ? AND dicabut IS NULL""",
            [dicabut, kategori, catatan, petugas_id, dokumen_id]).rowcount == 1


_SIGNED_PDF = ("SELECT kunci, ukuran, sha256, CASE WHEN kunci IS NULL THEN isi END AS isi FROM dokumen_pdf "
               "WHERE dokumen_id = ?")


def signed_pdf(db: Database, dokumen_id: int) -> dict | None:
    """The sealed PDF's key, size and SHA-256 (``isi``: its bytes, only while they are still in SQLite)."""
    row = db.execute(_SIGNED_PDF, [dokumen_id]).fetchone()
    return dict(row) if row else None


def documents_without_pdf(db: Database, limit: int, among: int = 5000) -> list[int]:
    """Applications whose issued (not revoked) document has no sealed PDF kept yet, among the ``among`` issued last
    (a primary-key range: cheap every round however many documents there are), the latest first."""
    return [r[0] for r in db.execute(
        "SELECT d.permohonan_id FROM dokumen d WHERE d.id > (SELECT coalesce(max(id), 0) FROM dokumen) - ? "
        "AND d.dicabut IS NULL AND NOT EXISTS (SELECT 1 FROM dokumen_pdf f WHERE f.dokumen_id = d.id) "
        "ORDER BY d.id DESC LIMIT ?", [among, limit])]


def keep_signed_pdf(db: Database, dokumen_id: int, kunci: str, ukuran: int, sha256: str) -> dict:
    """Record the first sealed PDF of a document (stored under ``kunci``); a second one made at the same moment
    loses. Returns the one kept, as ``signed_pdf``."""
    with write(db):
        db.execute("INSERT OR IGNORE INTO dokumen_pdf (dokumen_id, isi, kunci, ukuran, sha256) "
                   "VALUES (?, x'', ?, ?, ?)", [dokumen_id, kunci, ukuran, sha256])
        return dict(db.execute(_SIGNED_PDF, [dokumen_id]).fetchone())
