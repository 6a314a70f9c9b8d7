"""A region's own services, designed by its region admin: a working copy (a new service, or the next version
of a published one) edited with plain forms, previewed as a citizen will see it, published as a new version,
and retired with its history kept.

Every published version is kept unchanged (db/definisi.py); an application stays on the version it was
started on, so publishing never breaks a draft or an open case. A region admin reaches only their own
region's services: another region's is "not found". Every change is written with its audit record in one
transaction, and every form can be sent twice without doing the work twice.
"""

from __future__ import annotations

import functools
import json
import re
import unicodedata

from sqlite_utils import Database

import services
from db import admin_wilayah as agencies_q
from db import audit
from db import definisi as q
from db.connection import write
from db.reference import DUKCAPIL_ATTRIBUTES, LEVELS, SEX_OPTIONS
from services import angka, kalender
from services.admin_wilayah import ADMINDUK_GRATIS, Refused, form_text, region
from services.admin_wilayah import _own_agency as _agency
from services.jaminan import SHORT as LEVEL_NAMES
from services.permohonan import FLOW_FULL, FLOW_SHORT

NotFound = services.NotFound

# the kinds of answer a form may ask for (the ones the application pages and checks know)
KINDS = {"teks": "Teks singkat", "teks_panjang": "Teks panjang", "tanggal": "Tanggal", "pilihan": "Pilihan",
         "nik": "NIK", "angka": "Angka", "berkas": "Berkas (foto/pindaian/PDF)"}
FLOWS = {"lengkap": FLOW_FULL, "ringkas": FLOW_SHORT}
FLOW_NAMES = {"lengkap": "Verifikator → Validator → Penandatangan",
              "ringkas": "Verifikator → Penandatangan (verifikasi langsung menyetujui)"}
# what a field may be filled with from the population registry (services/sekali_isi.py): never typed again
FROM_REGISTRY = {"nama": "Nama", "nik": "NIK", "tempat_lahir": "Tempat lahir", "tanggal_lahir": "Tanggal lahir",
                 "jenis_kelamin": "Jenis kelamin", "alamat": "Alamat", "no_kk": "Nomor Kartu Keluarga"}
KIND_NAMES = {"teks": "teks singkat", "teks_panjang": "teks panjang", "tanggal": "tanggal", "pilihan": "pilihan",
              "nik": "NIK", "angka": "angka"}
MAX_FIELDS = 60
# names the application forms use themselves (the counter's receipt phone, the family choice, the form's own)
RESERVED = {"csrf_token", "aksi", "untuk", "sms_telepon"}
MAX_TEXT = {"teks": 200, "teks_panjang": 2000}
DEFAULT_COMPLAINTS = ("Melalui menu Pengaduan MPP Digital, SP4N-LAPOR! (lapor.go.id), atau gerai pengaduan di MPP.")


def _lines(form, name: str) -> list[str]:
    return [" ".join(line.split()) for line in str(form.get(name, "")).splitlines() if line.strip()]


def field_name(label: str) -> str:
    """A field's key, from its label: lower-case ASCII words joined by '_' ("Nama usaha" -> "nama_usaha")."""
    ascii_text = unicodedata.normalize("NFKD", label).encode("ascii", "ignore").decode()
    return "_".join(re.findall(r"[a-z0-9]+", ascii_text.lower()))[:40].strip("_")


def slug_of(name: str, kode: str) -> str:
    return f"{field_name(name).replace('_', '-')[:60] or 'layanan'}-{kode}"


def blank(nama: str, jenis_kode: str) -> dict:
    """A new service's first working copy: a name and its agency, the rest to fill."""
    return {"nama": nama, "singkatan": "", "kelompok": "daerah", "instansi": jenis_kode, "instansi_teknis": "",
            "ringkasan": "", "jangka_waktu_hari": 5, "biaya": 0, "biaya_keterangan": "Gratis", "produk": "",
            "terbitkan_dokumen": True, "tingkat_ajukan": "terverifikasi_wajah", "tingkat_terbit": "terverifikasi_wajah",
            "persyaratan": [], "prosedur": [], "dasar_hukum": [], "pengaduan": DEFAULT_COMPLAINTS, "kata_kunci": [],
            "formulir": [], "alur": list(FLOW_FULL), "dokumen_judul": "", "dokumen_kolom": []}


# ------------------------------------------------------------------ pages

def list_page(db: Database, kode: str) -> dict:
    rows = q.drafts_of_region(db, kode)
    for r in rows:
        r["nama"] = json.loads(r.pop("definisi"))["nama"]
        r["keadaan"] = "dihentikan" if r["pensiun"] else "terbit" if r["layanan_id"] else "draf"
    return {"rancangan": rows, "instansi": agencies_q.agencies(db, kode)}


def draft_of(db: Database, admin: dict, kode: str, rancangan_id: int) -> dict:
    """The working copy if it is this region's (else NotFound), with what the editing page shows of it."""
    region(db, admin, kode)
    d = q.draft(db, rancangan_id)
    if d is None or d["wilayah_kode"] != kode:
        raise NotFound("rancangan")
    published = q.latest_version(db, d["layanan_id"]) if d["layanan_id"] else None
    d["belum_terbit"] = published is None or q.canonical(published["definisi"]) != q.canonical(d["definisi"])
    d["versi_terbit"] = published["versi"] if published else None
    d["riwayat"] = q.versions(db, d["layanan_id"]) if d["layanan_id"] else []
    d["alur_kunci"] = "lengkap" if "validator" in d["definisi"]["alur"] else "ringkas"
    return d


def edit_page(db: Database, admin: dict, kode: str, rancangan_id: int) -> dict:
    d = draft_of(db, admin, kode, rancangan_id)
    return {"r": d, "s": d["definisi"], "instansi": agencies_q.agencies(db, kode), "jenis": KINDS,
            "dukcapil": FROM_REGISTRY,
            "alur": FLOW_NAMES, "tingkat": {lv: LEVEL_NAMES.get(lv, lv) for lv in LEVELS},
            "masalah": problems(d["definisi"])}


def preview(db: Database, admin: dict, kode: str, rancangan_id: int) -> dict:
    """The service page and the form exactly as a citizen will see them once published (nothing is saved)."""
    d = draft_of(db, admin, kode, rancangan_id)
    s = dict(d["definisi"])
    w = region(db, admin, kode)
    s.update({"id": 0, "slug": d["slug"] or "pratinjau", "instansi_nama": d["instansi_nama"],
              "instansi_singkatan": "", "instansi_teknis_nama": None, "di_diminta": True, "di_kode": kode,
              "wilayah": [{"kode": kode, "nama": w["nama"]}],
              "di": {"kode": kode, "nama": w["nama"], "instansi_nama": d["instansi_nama"], "persyaratan_tambahan": [],
                     "biaya": s["biaya"], "biaya_keterangan": s["biaya_keterangan"]}})
    p = {"id": 0, "layanan_nama": s["nama"], "wilayah_nama": w["nama"], "status": "draf", "data": {},
         "perbaikan": {}, "formulir": s["formulir"], "untuk_nik": None}
    # what the registry fills for an applicant applying for themselves: shown, never an input
    registry = {f["nama"]: f"({FROM_REGISTRY[f['dukcapil']]} pemohon)" for f in s["formulir"]
                if f.get("dukcapil") and not f.get("dukcapil_anggota_saja")}
    return {"r": d, "s": s, "p": p, "dukcapil": registry}


def problems(definisi: dict) -> dict[str, str]:
    """What must be filled before the service can be published (field -> message)."""
    out = {}
    if len(definisi["ringkasan"]) < 10:
        out["ringkasan"] = "Tulis ringkasan layanan (paling sedikit 10 karakter)."
    if not definisi["produk"]:
        out["produk"] = "Sebutkan hasil layanan (mis. surat izin, kartu, atau surat keterangan)."
    if not definisi["persyaratan"]:
        out["persyaratan"] = "Tulis paling sedikit satu persyaratan."
    if not definisi["prosedur"]:
        out["prosedur"] = "Tulis langkah prosedur, satu per baris."
    if not definisi["dasar_hukum"]:
        out["dasar_hukum"] = "Sebutkan dasar hukum layanan, satu per baris."
    if not definisi["formulir"]:
        out["kolom_label"] = "Tambahkan paling sedikit satu isian formulir."
    return out


# ------------------------------------------------------------------ changes

def _whole(change):
    """Read the working copy, decide and write in one write transaction: two tabs, or two admins, never
    lose each other's edits, and two first publications never make two services."""
    @functools.wraps(change)
    def run(db: Database, *args, **kwargs):
        with write(db):
            return change(db, *args, **kwargs)
    return run


def create(db: Database, admin: dict, kode: str, form) -> int:
    """A new service's working copy; sent again (same name), the one already made."""
    region(db, admin, kode)
    nama = form_text(form, "nama", 120)
    errors = {}
    if len(nama) < 3 or len(nama) > 120:
        errors["nama"] = "Tulis nama layanan, 3 sampai 120 karakter."
    agency = _agency(db, kode, form.get("instansi_id"))
    if agency is None:
        errors["instansi_id"] = "Pilih instansi yang memberikan layanan ini."
    if errors:
        raise Refused(errors)
    stamp = kalender.stamp()
    with write(db):
        for r in q.drafts_of_region(db, kode):
            if json.loads(r["definisi"])["nama"].casefold() == nama.casefold() and not r["pensiun"]:
                return r["id"]  # a retried form, or the same service twice: one working copy
        new_id = q.insert_draft(db, kode, agency["id"], blank(nama, agency["jenis_kode"]), stamp, admin["id"])
        audit.append(db, admin["id"], "buat_rancangan_layanan", f"rancangan:{new_id}", {"nama": nama}, waktu=stamp)
    return new_id


def _editable(d: dict) -> None:
    if d["pensiun"]:
        raise Refused({"_": "Layanan ini sudah dihentikan; riwayatnya tetap tersimpan, tetapi tidak dapat diubah."})


@_whole
def save_general(db: Database, admin: dict, kode: str, rancangan_id: int, form) -> None:
    """The service's description, terms, flow, assurance levels and document template."""
    d = draft_of(db, admin, kode, rancangan_id)
    _editable(d)
    s = dict(d["definisi"])
    errors: dict[str, str] = {}
    agency = _agency(db, kode, form.get("instansi_id"))
    if agency is None:
        errors["instansi_id"] = "Pilih instansi yang memberikan layanan ini."
    if agency is not None:
        s["instansi"] = agency["jenis_kode"]  # the catalogue shows, searches and routes complaints by it
    s["nama"] = form_text(form, "nama", 120)
    if len(s["nama"]) < 3 or len(s["nama"]) > 120:
        errors["nama"] = "Tulis nama layanan, 3 sampai 120 karakter."
    s["singkatan"] = form_text(form, "singkatan", 30)[:30]
    s["ringkasan"] = form_text(form, "ringkasan", 400)
    if len(s["ringkasan"]) > 400:
        errors["ringkasan"] = "Ringkasan paling banyak 400 karakter."
    s["produk"] = form_text(form, "produk", 200)
    if len(s["produk"]) > 200:
        errors["produk"] = "Paling banyak 200 karakter."
    for name in ("persyaratan", "prosedur", "dasar_hukum"):
        s[name] = _lines(form, name)
        if len(s[name]) > 30 or any(len(line) > 300 for line in s[name]):
            errors[name] = "Paling banyak 30 baris, setiap baris paling banyak 300 karakter."
    s["kata_kunci"] = [w.strip().lower() for w in str(form.get("kata_kunci", "")).split(",") if w.strip()][:30]
    days = angka.to_int(str(form.get("jangka_waktu_hari", "")).strip(), 1, 365)
    if days is None:
        errors["jangka_waktu_hari"] = "Jangka waktu dalam hari kerja, 1 sampai 365."
    else:
        s["jangka_waktu_hari"] = days
    raw_fee = str(form.get("biaya", "")).strip().replace(".", "").replace("Rp", "").strip() or "0"
    fee = angka.to_int(raw_fee, 0, 100_000_000)
    if fee is None:
        errors["biaya"] = "Biaya dalam rupiah, angka saja (mis. 50000); 0 bila gratis."
    elif fee > 0 and agency is not None and agency["jenis_kode"] == "disdukcapil":
        errors["biaya"] = ADMINDUK_GRATIS
    else:
        s["biaya"] = fee
    s["biaya_keterangan"] = form_text(form, "biaya_keterangan", 200)
    if fee and not s["biaya_keterangan"] and "biaya" not in errors:
        errors["biaya_keterangan"] = "Sebutkan dasar hukum biaya (mis. Perda retribusi nomor/tahun)."
    elif not fee:
        s["biaya_keterangan"] = s["biaya_keterangan"] or "Gratis"
    flow = FLOWS.get(str(form.get("alur", "")))
    if flow is None:
        errors["alur"] = "Pilih alur pemrosesan."
    else:
        s["alur"] = list(flow)
    for name in ("tingkat_ajukan", "tingkat_terbit"):
        if form.get(name) in LEVELS:
            s[name] = form.get(name)
        else:
            errors[name] = "Pilih tingkat verifikasi identitas."
    if "tingkat_ajukan" not in errors and "tingkat_terbit" not in errors \
            and LEVELS.index(s["tingkat_ajukan"]) > LEVELS.index(s["tingkat_terbit"]):
        errors["tingkat_terbit"] = "Tingkat untuk penerbitan tidak boleh lebih rendah dari tingkat untuk mengajukan."
    s["terbitkan_dokumen"] = form.get("terbitkan_dokumen") == "1"
    s["dokumen_judul"] = form_text(form, "dokumen_judul", 120)[:120]
    known = {f["nama"] for f in s["formulir"] if f["jenis"] not in ("berkas", "nik")}
    s["dokumen_kolom"] = [n for n in form.getlist("dokumen_kolom") if n in known] if hasattr(form, "getlist") else []
    if errors:
        raise Refused(errors)
    _store(db, admin, d, agency["id"], s, "ubah_rancangan_layanan")


def _store(db: Database, admin: dict, d: dict, instansi_id: int, s: dict, aksi: str, detail: dict | None = None):
    stamp = kalender.stamp()
    with write(db):
        q.save_draft(db, d["id"], instansi_id, s, stamp, admin["id"])
        audit.append(db, admin["id"], aksi, f"rancangan:{d['id']}", detail or {"nama": s["nama"]}, waktu=stamp)


@_whole
def change_field(db: Database, admin: dict, kode: str, rancangan_id: int, form) -> None:
    """Add, edit, move or remove one form field. Moves name the field and where it was, so a form sent
    twice moves it once; adding a label that exists is refused (the field is already there)."""
    d = draft_of(db, admin, kode, rancangan_id)
    _editable(d)
    s = dict(d["definisi"])
    fields = [dict(f) for f in s["formulir"]]
    action = str(form.get("aksi", ""))
    name = str(form.get("kolom", ""))
    index = next((i for i, f in enumerate(fields) if f["nama"] == name), None)
    if action in ("naik", "turun"):
        was = angka.to_int(str(form.get("dari", "")), 0, MAX_FIELDS)
        if index is None or was != index:
            return  # already moved (a form sent twice) or gone: nothing to do
        to = index - 1 if action == "naik" else index + 1
        if 0 <= to < len(fields):
            fields[index], fields[to] = fields[to], fields[index]
    elif action == "hapus":
        if index is None:
            return
        del fields[index]
        s["dokumen_kolom"] = [n for n in s["dokumen_kolom"] if n != name]
    elif action in ("tambah", "ubah"):
        field = _field_from(form, fields, None if action == "tambah" else index)
        if action == "tambah":
            if len(fields) >= MAX_FIELDS:
                raise Refused({"kolom_label": f"Satu formulir paling banyak {MAX_FIELDS} isian."})
            fields.append(field)
        else:
            if index is None:
                raise NotFound("kolom")
            fields[index] = {**field, "nama": name}  # the key stays: answers already given keep their field
    else:
        raise Refused({"_": "Tindakan tidak dikenal."})
    s["formulir"] = fields
    _store(db, admin, d, d["instansi_id"], s, "ubah_formulir_layanan", {"aksi": action, "kolom": name})


def _field_from(form, fields: list[dict], editing: int | None) -> dict:
    errors = {}
    label = form_text(form, "kolom_label", 120)
    if len(label) < 2 or len(label) > 120:
        errors["kolom_label"] = "Tulis label isian, 2 sampai 120 karakter."
    kind = str(form.get("kolom_jenis", ""))
    if kind not in KINDS:
        errors["kolom_jenis"] = "Pilih jenis isian."
    name = field_name(label)
    if label and not name:
        errors["kolom_label"] = "Label perlu memuat huruf atau angka."
    taken = {f["nama"] for i, f in enumerate(fields) if i != editing} | RESERVED
    if editing is None and name in taken:
        errors["kolom_label"] = "Sudah ada isian dengan label ini."
    field = {"nama": name, "label": label, "jenis": kind, "wajib": form.get("kolom_wajib") == "1"}
    hint = form_text(form, "kolom_petunjuk", 300)
    if len(hint) > 300:
        errors["kolom_petunjuk"] = "Petunjuk paling banyak 300 karakter."
    elif hint:
        field["petunjuk"] = hint
    if kind == "pilihan":
        options = list(dict.fromkeys(line[:80] for line in _lines(form, "kolom_opsi")))
        if not 2 <= len(options) <= 30:
            errors["kolom_opsi"] = "Tulis 2 sampai 30 pilihan, satu per baris."
        field["opsi"] = options
    if kind in MAX_TEXT:
        raw = str(form.get("kolom_maks", "")).strip()
        most = angka.to_int(raw, 1, MAX_TEXT[kind]) if raw else MAX_TEXT[kind]
        if most is None:
            errors["kolom_maks"] = f"Panjang paling banyak: angka 1 sampai {MAX_TEXT[kind]}."
        elif most != MAX_TEXT[kind]:
            field["maks"] = most
    source = str(form.get("kolom_dukcapil", ""))
    if source:
        if source not in DUKCAPIL_ATTRIBUTES or source not in FROM_REGISTRY:
            errors["kolom_dukcapil"] = "Pilih data Dukcapil dari daftar."
        elif kind not in DUKCAPIL_ATTRIBUTES[source]:
            kinds = " atau ".join(KIND_NAMES[k] for k in DUKCAPIL_ATTRIBUTES[source])
            errors["kolom_dukcapil"] = f"{FROM_REGISTRY[source]} dari data Dukcapil hanya untuk isian berjenis {kinds}."
        else:
            field["dukcapil"] = source
            field.pop("maks", None)  # the registry's value, whatever its length
            if form.get("kolom_anggota_saja") == "1":
                field["dukcapil_anggota_saja"] = True
            if source == "jenis_kelamin":  # the registry's L/P, offered as the two choices
                field["opsi"] = list(SEX_OPTIONS.values())
                errors.pop("kolom_opsi", None)
    if errors:
        raise Refused(errors)
    return field


@_whole
def publish(db: Database, admin: dict, kode: str, rancangan_id: int) -> int:
    """Publish the working copy as the service's next version; the version number. Sent twice, the second
    finds nothing new and says so."""
    d = draft_of(db, admin, kode, rancangan_id)
    _editable(d)
    missing = problems(d["definisi"])
    if missing:
        raise Refused(missing)
    if not d["belum_terbit"]:
        raise Refused({"_": f"Tidak ada perubahan sejak versi {d['versi_terbit']}; layanan sudah terbit."})
    s = d["definisi"]
    stamp = kalender.stamp()
    with write(db):
        layanan_id = d["layanan_id"]
        if layanan_id is None:
            slug, n = slug_of(s["nama"], kode), 1
            while q.slug_taken(db, slug):
                n += 1
                slug = f"{slug_of(s['nama'], kode)}-{n}"
            layanan_id = q.insert_service(db, slug, kode, s)
            q.link_draft(db, d["id"], layanan_id)
        else:
            q.update_service(db, layanan_id, s)
        versi = q.record_version(db, layanan_id, s, stamp, admin["id"])
        q.offer_in_region(db, kode, layanan_id, d["instansi_id"])
        q.index_for_search(db, layanan_id)
        audit.append(db, admin["id"], "terbitkan_layanan", f"layanan:{layanan_id}", {"versi": versi, "nama": s["nama"]},
                     waktu=stamp)
    return versi


@_whole
def retire(db: Database, admin: dict, kode: str, rancangan_id: int, form) -> None:
    """Stop offering the service: it leaves the catalogue, no new application can start, open ones go on;
    every version stays."""
    d = draft_of(db, admin, kode, rancangan_id)
    if d["layanan_id"] is None:
        raise Refused({"_": "Layanan ini belum pernah terbit; ubah saja rancangannya."})
    if d["pensiun"]:
        return  # already retired (a form sent twice)
    if form.get("yakin") != "1":
        raise Refused({"yakin": "Centang kotak konfirmasi untuk menghentikan layanan ini."})
    stamp = kalender.stamp()
    with write(db):
        q.retire(db, d["layanan_id"], stamp)
        audit.append(db, admin["id"], "hentikan_layanan", f"layanan:{d['layanan_id']}", {"nama": d["definisi"]["nama"]},
                     waktu=stamp)
