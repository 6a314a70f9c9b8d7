"""Issued documents: what they state, how anyone checks them, validity, revocation, the sealed PDF.

One document is one list of lines (``baris``: label, value), fixed when it is
issued: the table printed on the paper and the PDF, the content shown on
``/verifikasi/<token>``, and the exact input of the content hash the QR token
signs (``services/ttd.py``). So what a checker reads, what the page shows and
what was signed cannot drift apart. Every value is labelled for what it is (the
child's name on an akta is "Nama lengkap anak", the applicant is "Nama
pemohon") and is kept as printable Latin-1 text: the PDF's core fonts draw
exactly that, and a checker who types the printed lines gets the same hash.

A document is ``berlaku`` (valid), ``kedaluwarsa`` (past its validity: a SIP
ends after 5 years, or earlier with its STR) or ``dicabut`` (revoked by a
penandatangan of the issuing agency with a reason category and a note, or by
the identity desk when the real owner reclaims a NIK). Revocation lives only in
our records: the offline check proves content, and the page and the document
both say where to check status.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Callable
from dataclasses import dataclass

from sqlite_utils import Database

from db import audit
from db import permohonan as q
from db.connection import write
from integrations.penyimpanan import ObjectStore
from integrations.tte import SealRequest, Tte
from services import kalender, notifikasi, penyimpanan, ttd
from services.dokumen_pdf import latin1, render_pdf
from services.samaran import mask_nik

VALIDITY_YEARS = {"nakes": 5}  # UU 17/2023 Pasal 263: a SIP lasts 5 years (and not past its STR)
REVOCATION_REASONS = {
    "data_keliru": "isi dokumen keliru; dokumen pengganti diterbitkan",
    "persyaratan_tidak_sah": "persyaratan terbukti palsu atau tidak sah",
    "permintaan_pemegang": "atas permintaan pemegang dokumen",
    "sanksi_administratif": "sanksi administratif oleh instansi penerbit",
    "str_tidak_berlaku": "STR pemegang izin tidak berlaku lagi",
    "identitas_diambil_alih": "pemegang akun bukan pemilik sah NIK (identitas diambil alih)",
}
# the last one is the identity desk's, when the NIK's real owner reclaims it (services/identitas.reclaim)
OFFICER_REASONS = {k: v for k, v in REVOCATION_REASONS.items() if k != "identitas_diambil_alih"}
DEEMED_NOTE = "Terbit otomatis: tidak diputuskan dalam 5 hari kerja (fiktif positif, UU 30/2014 Pasal 53)"
_TITLE_END = re.compile(r" bertanda tangan| ber-TTE| elektronik| \(kartu fisik\)| yang diambil|;|\. ")


class Refused(ValueError):
    """A revocation refused; ``field`` names the form field the message is about ("kategori", "catatan"), if any."""

    def __init__(self, message: str, field: str = ""):
        super().__init__(message)
        self.message = message
        self.field = field


@dataclass
class DocumentView:
    """One issued document as the verification page, the holder's page and the case page show it."""

    id: int
    permohonan_id: int
    nomor: str
    judul: str                  # the document's title ("Kutipan Akta Kelahiran")
    instansi: str
    wilayah: str                # the issuing region's name
    wilayah_kode: str
    tanggal: str                # issue date, ISO
    penandatangan: str
    baris: list[list[str]]      # every line the document states, [label, value], in print order
    token: str                  # the signed QR token
    sidik: str                  # content hash signed in the token; '' for a legacy (version 1) document
    status: str                 # 'berlaku' | 'kedaluwarsa' | 'dicabut'
    berlaku_sampai: str | None  # last valid day, ISO; None: no end
    dicabut: str | None         # UTC stamp of the revocation
    alasan_cabut: str           # the revocation category, as a reader understands it
    catatan_cabut: str          # the officer's note

    @property
    def format_lama(self) -> bool:
        """Issued before content binding: the signature covers number, name, NIK and date only."""
        return not self.sidik


def printable(value) -> str:
    """A value as the document prints it: Latin-1 look-alikes, whitespace collapsed."""
    return " ".join(latin1(value).split())


def title_of(produk: str) -> str:
    """The document's name from the catalogue's product text ("Kutipan Akta Kelahiran bertanda ...")."""
    return _TITLE_END.split(produk or "", maxsplit=1)[0].strip() or produk


def validity_end(p: dict, today: dt.date, record) -> dt.date | None:
    """The last day the document is valid, for services that have one: a SIP runs 5 years, never past its STR
    (``record``: the applicant's STR as SISDMK answered it before the issuing transaction, or None)."""
    years = VALIDITY_YEARS.get(p["kelompok"])
    if not years:
        return None
    end = _add_years(today, years)
    if record is not None and record.berlaku_sampai:
        end = min(end, dt.date.fromisoformat(record.berlaku_sampai))
    return end


def _add_years(day: dt.date, years: int) -> dt.date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February
        return day.replace(year=day.year + years, day=28)


def content(p: dict, officer: dict | None, nomor: str, today: dt.date, berlaku: dt.date | None,
            deemed: bool) -> dict:
    """What the document states, fixed at issue: stored as ``dokumen.isi`` and hashed into the token."""
    judul = p.get("dokumen_judul") or title_of(p["produk"])  # the service's document template names it, or its product
    if officer:
        signer, duty = officer["nama"], f"Pejabat penandatangan, {p['instansi_nama']}"
    else:
        signer, duty = "Sistem MPP Digital", "Penerbitan otomatis menurut undang-undang (fiktif positif)"
    nakes = p["kelompok"] == "nakes"
    holder = ("Nama pemegang izin", "NIK pemegang izin") if nakes else ("Nama pemohon", "NIK pemohon")
    person = [(holder[0], p["pemohon_nama"]), (holder[1], mask_nik(p["pemohon_nik"]))]
    if p.get("untuk_nik"):  # a parent's application for a child on their Kartu Keluarga: both are named
        person = [("Nama pemilik dokumen", p["untuk_nama"]), ("NIK pemilik dokumen", mask_nik(p["untuk_nik"])),
                  *person]
    lines = [("Nomor dokumen", nomor), ("Jenis dokumen", judul), ("Instansi penerbit", p["instansi_nama"]),
             ("Daerah", p["wilayah_nama"]), *person]
    stated = set(p.get("dokumen_kolom") or ())  # the answers the document template states; none named: all
    lines += [(f["label"], _answer(f, p["data"].get(f["nama"]))) for f in p["formulir"]
              if f["jenis"] not in ("berkas", "nik") and str(p["data"].get(f["nama"]) or "").strip()
              and (not stated or f["nama"] in stated)]
    lines += [("Nomor registrasi permohonan", p["nomor"] or "-"), ("Tanggal terbit", kalender.format_date(today))]
    if berlaku:
        lines.append(("Berlaku sampai", kalender.format_date(berlaku)))
    lines += [("Ditandatangani oleh", signer), ("Jabatan penandatangan", duty)]
    if deemed:
        lines.append(("Keterangan", DEEMED_NOTE))
    return {"format": ttd.VERSION, "judul": printable(judul), "instansi": printable(p["instansi_nama"]),
            "wilayah": printable(p["wilayah_nama"]), "tanggal": today.isoformat(), "penandatangan": printable(signer),
            "baris": [[printable(label), printable(value)] for label, value in lines]}


def _answer(field: dict, value) -> str:
    day = kalender.parse_date(str(value)) if field["jenis"] == "tanggal" else None
    return kalender.format_date(day) if day else str(value)


def _legacy_lines(doc: dict) -> list[list[str]]:
    """A version 1 document's lines from what was stored then (its token signs only a few of them)."""
    isi = doc["isi"]
    lines = [("Nomor dokumen", doc["nomor"]), ("Jenis dokumen", title_of(isi.get("judul", ""))),
             ("Instansi penerbit", isi.get("instansi", "")), ("Daerah", isi.get("wilayah", "")),
             ("Nama pemohon", isi.get("pemohon", "")), ("NIK pemohon", isi.get("nik", "")),
             *(isi.get("data") or {}).items(), ("Nomor registrasi permohonan", isi.get("nomor_registrasi", "")),
             ("Tanggal terbit", kalender.format_date(dt.date.fromisoformat(doc["diterbitkan"][:10]))),
             ("Ditandatangani oleh", doc["penandatangan"])]
    if isi.get("fiktif_positif"):
        lines.append(("Keterangan", DEEMED_NOTE))
    return [[printable(label), printable(value)] for label, value in lines]


def _view(db: Database, doc: dict, now: dt.datetime | None = None) -> DocumentView:
    isi = doc["isi"]
    bound = isi.get("format") == ttd.VERSION
    lines = isi["baris"] if bound else _legacy_lines(doc)
    today = kalender.region_today(db, doc["wilayah_kode"], now).isoformat()
    if doc["dicabut"]:
        status = "dicabut"
    elif doc["berlaku_sampai"] and doc["berlaku_sampai"] < today:
        status = "kedaluwarsa"
    else:
        status = "berlaku"
    return DocumentView(
        id=doc["id"], permohonan_id=doc["permohonan_id"], nomor=doc["nomor"],
        judul=isi["judul"] if bound else title_of(isi.get("judul", "")), instansi=isi.get("instansi", ""),
        wilayah=isi.get("wilayah", ""), wilayah_kode=doc["wilayah_kode"],
        tanggal=isi["tanggal"] if bound else doc["diterbitkan"][:10], penandatangan=doc["penandatangan"],
        baris=lines, token=doc["token"], sidik=ttd.content_hash(lines) if bound else "", status=status,
        berlaku_sampai=doc["berlaku_sampai"], dicabut=doc["dicabut"],
        alasan_cabut=REVOCATION_REASONS.get(doc["alasan_cabut"], doc["alasan_cabut"]),
        catatan_cabut=doc["catatan_cabut"])


def check(db: Database, key, token: str, now: dt.datetime | None = None) -> DocumentView | None:
    """The document behind a QR token, or None when the token is forged, altered, unknown, or its
    record no longer matches the signed content hash."""
    payload = ttd.verify_token(key, token)
    doc = q.document_by_number(db, payload["no"]) if payload else None
    if doc is None or doc["token"] != token:
        return None
    view = _view(db, doc, now)
    if payload["v"] == ttd.VERSION and view.sidik != payload["h"]:
        return None
    return view


def of_application(db: Database, permohonan_id: int, now: dt.datetime | None = None) -> DocumentView | None:
    doc = q.document_of(db, permohonan_id)
    return _view(db, doc, now) if doc else None


def revoke(db: Database, officer: dict, p: dict, kategori: str, catatan: str) -> str:
    """A penandatangan of the issuing agency revokes its document: reason category and note are
    recorded, shown on /verifikasi, audited, and told to the holder by SMS. Raises Refused."""
    if "penandatangan" not in officer.get("jabatan", "").split(",") or p["instansi_id"] != officer["instansi_id"]:
        raise Refused("Hanya pejabat penandatangan instansi penerbit yang dapat mencabut dokumen.")
    if kategori not in OFFICER_REASONS:
        raise Refused("Pilih alasan pencabutan dari daftar.", field="kategori")
    catatan = " ".join(catatan.split())[:500]
    if len(catatan) < 10:
        raise Refused("Tuliskan keterangan pencabutan (paling sedikit 10 huruf); pemegang dokumen akan membacanya.",
                      field="catatan")
    doc = q.document_of(db, p["id"])
    if doc is None:
        raise Refused("Permohonan ini belum memiliki dokumen terbit.")
    stamp = kalender.stamp()
    with write(db):
        if not q.revoke_document(db, doc["id"], kategori, catatan, officer["id"], dicabut=stamp):
            raise Refused("Dokumen ini sudah dicabut.")
        audit.append(db, officer["id"], "cabut_dokumen", f"permohonan:{p['id']}",
                     {"nomor": doc["nomor"], "alasan": kategori, "catatan": catatan}, waktu=stamp)
        notifikasi.enqueue_for(db, {"id": p["akun_id"], "telepon": p["pemohon_telepon"]},
                               f"MPP Digital: dokumen {doc['nomor']} dicabut oleh {p['instansi_nama']}: "
                               f"{REVOCATION_REASONS[kategori]}. {catatan[:200]}")
    return f"Dokumen {doc['nomor']} dicabut: {REVOCATION_REASONS[kategori]}."


def sealed_pdf(db: Database, tte: Tte, objects: ObjectStore, view: DocumentView,
               url: str, keep: bool = True) -> penyimpanan.Download | None:
    """The document as a PAdES-sealed PDF, sealed once (when it is issued, by ``keep_sealed``), kept in object
    storage and then served as stored (same bytes every time, one seal per document). None for a revoked document,
    which is never handed out again. Raises integrations.http.ServiceUnavailable when the e-signature service (or
    storage) is down, penyimpanan.FileMissing when the stored PDF's object is gone.

    The download is a GET, which writes nothing (web/readonly.py): with ``keep=False`` a document not sealed yet
    (the seal service was down when it was issued) is sealed for this answer only, and the primary's background
    job seals and keeps it (``seal_waiting``)."""
    if view.status == "dicabut":
        return None
    name = f"{view.nomor.replace('/', '-')}.pdf"
    stored = q.signed_pdf(db, view.id)
    if stored:
        return penyimpanan.download(objects, stored, name, "application/pdf")
    if not keep:
        sealed = _seal(tte, view, url)
        return penyimpanan.Download(name, "application/pdf", len(sealed), iter((sealed,)))
    return penyimpanan.download(objects, _seal_and_keep(db, tte, objects, view, url), name, "application/pdf")


def _seal_and_keep(db: Database, tte: Tte, objects: ObjectStore, view: DocumentView, url: str) -> dict:
    """Seal the PDF, store it, record it; the row kept (another seal made in the same moment may win)."""
    sealed = _seal(tte, view, url)
    key = penyimpanan.new_key(penyimpanan.DOKUMEN, view.id, ".pdf")
    digest = penyimpanan.put_verified(objects, key, sealed, "application/pdf")  # stored before the row names it
    kept = q.keep_signed_pdf(db, view.id, key, len(sealed), digest)
    if kept["kunci"] != key:  # another download sealed it in the same moment: its PDF is the one
        penyimpanan.forget(objects, key)
    return kept


def _seal(tte: Tte, view: DocumentView, url: str) -> bytes:
    attachment = None if view.format_lama else json.dumps(
        {"isi": view.baris, "token": view.token}, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    pdf = render_pdf({"judul": view.judul, "nomor": view.nomor, "instansi": view.instansi, "wilayah": view.wilayah,
                      "tanggal": view.tanggal, "penandatangan": view.penandatangan, "rows": view.baris,
                      "url_verifikasi": url, "lampiran": attachment})
    return tte.seal(pdf, SealRequest(nomor=view.nomor, instansi=view.instansi, wilayah=view.wilayah,
                                     penandatangan=view.penandatangan,
                                     alasan=f"Penerbitan {view.judul} nomor {view.nomor}"))


def keep_sealed(db: Database, tte: Tte, objects: ObjectStore, permohonan_id: int, url_of: Callable[[str], str]) -> bool:
    """Seal an issued document's PDF and keep it (after the issuing transaction: the officer's "terbitkan", the
    background job); True when one is kept now or was already. ServiceUnavailable when the seal service or storage
    is down (the background job tries again)."""
    view = of_application(db, permohonan_id)
    if view is None or view.status == "dicabut":
        return False
    if not q.signed_pdf(db, view.id):
        _seal_and_keep(db, tte, objects, view, url_of(view.token))
    return True


def seal_waiting(db: Database, tte: Tte, objects: ObjectStore, url_of: Callable[[str], str], limit: int = 10) -> int:
    """The primary's background step: documents issued without a kept PDF (the seal service was down when they were
    issued), sealed and kept, the latest first, ``limit`` a round (about 70 ms each), among the last 5,000 issued;
    how many. An older document never downloaded before seals were made at issue is sealed for each download."""
    done = 0
    for permohonan_id in q.documents_without_pdf(db, limit):
        done += keep_sealed(db, tte, objects, permohonan_id, url_of)
    return done
