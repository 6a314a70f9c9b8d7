"""The region's own console: a region admin (admin_wilayah) runs their MPP.

Profile, agencies, counters, which catalogue services are offered (with local requirement
additions and fees where the law allows), officers and their duties, the region's holiday
calendar, and the MPP Digital criteria they attest. Every change is written together with
its audit record in one transaction. A region admin reaches only their own region: any
other region, or an object of another region, is "not found".
"""

from __future__ import annotations

import datetime as dt
import json
import re

from sqlite_utils import Database

import services
from db import admin_wilayah as q
from db import audit, wilayah
from db.connection import write
from services import angka, kalender, pemantauan, skm
from services.passwords import hash_password

JABATAN = {"verifikator": "Verifikator", "validator": "Validator", "penandatangan": "Penandatangan"}
JAM = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")
USERNAME = re.compile(r"^[a-z0-9][a-z0-9._-]{2,39}$")
NOMOR_GERAI = re.compile(r"^[A-Za-z0-9-]{1,10}$")
ADMINDUK_GRATIS = ("Layanan administrasi kependudukan wajib gratis (UU 24/2013 pasal 79A): "
                   "biaya tidak dapat dikenakan.")


NotFound = services.NotFound  # 404 (app.py)


class Refused(ValueError):
    def __init__(self, errors: dict[str, str]):
        super().__init__("; ".join(errors.values()))
        self.errors = errors


def region(db: Database, admin: dict, kode: str) -> dict:
    if admin.get("peran") != "admin_wilayah" or admin.get("wilayah_kode") != kode:
        raise NotFound(kode)
    found = wilayah.get_kabkota(db, kode)
    if found is None:
        raise NotFound(kode)
    return found


def form_text(form, name: str, limit: int) -> str:
    """A typed line, its spaces made single, kept to ``limit`` + 1 characters (so "too long" is still seen)."""
    return " ".join(str(form.get(name, "")).split())[:limit + 1]


def form_list(form, name: str) -> list[str]:
    """Every value sent for a multi-choice field (checkboxes): a form's ``getlist``, or a dict's list or str."""
    chosen = form.getlist(name) if hasattr(form, "getlist") else form.get(name, [])
    return [chosen] if isinstance(chosen, str) else list(chosen)


def _own_agency(db: Database, kode: str, raw) -> dict | None:
    """The chosen agency if it is this region's; another region's agency is "not found" (404)."""
    instansi_id = _int(raw, 0)
    found = q.agency(db, kode, instansi_id)
    if found is None and q.agency_exists(db, instansi_id):
        raise NotFound("instansi")
    return found


def _int(value, default: int | None = None) -> int | None:
    """An id or a count from the form, through the one strict parser (ASCII digits, at most 12); else ``default``."""
    found = angka.to_int(str(value), 0, angka.MAX_ID) if value is not None else None
    return default if found is None else found


# ------------------------------------------------------------------ dashboard

def dashboard(db: Database, kode: str) -> dict:
    today = kalender.region_today(db, kode).isoformat()
    return {"hari_ini": today, "antrean": q.queue_today(db, kode, today),
            "per_instansi": q.open_by_agency(db, kode, today), "terlambat": q.overdue(db, kode, today),
            "pengaduan": {**q.complaints(db, kode), "terlambat": q.complaints_overdue(db, kode, today)},
            "ikm": skm.region_ikm(db, kode), "mpp": wilayah.get_mpp(db, kode),
            "kriteria": pemantauan.criteria_for(db, kode)}


# ------------------------------------------------------------------ MPP profile

def profile_values(db: Database, kode: str, region_name: str) -> dict:
    mpp = wilayah.get_mpp(db, kode)
    return mpp or {"nama": f"Mal Pelayanan Publik {region_name}", "alamat": "", "jam_layanan": "", "peta_url": ""}


def save_profile(db: Database, admin: dict, kode: str, form: dict) -> None:
    values = checked_profile(form)
    before = wilayah.get_mpp(db, kode) or {}
    with write(db):
        q.save_profile(db, kode, **values)
        audit.append(db, admin["id"], "ubah_profil_mpp", f"mpp:{kode}",
                     {k: {"dari": before.get(k), "menjadi": v} for k, v in values.items() if before.get(k) != v},
                     waktu=kalender.stamp())


def checked_profile(form: dict) -> dict:
    """The MPP profile fields of a form (name, address, hours, map link), or ``Refused`` with each problem;
    the ministry's onboarding form checks them the same way."""
    values = {"nama": form_text(form, "nama", 120), "alamat": form_text(form, "alamat", 300),
              "jam_layanan": form_text(form, "jam_layanan", 200), "peta_url": str(form.get("peta_url", "")).strip()}
    errors = {}
    for name, label, limit in (("nama", "Nama MPP", 120), ("alamat", "Alamat", 300),
                               ("jam_layanan", "Jam layanan", 200)):
        if not values[name]:
            errors[name] = f"Isi {label.lower()}."
        elif len(values[name]) > limit:
            errors[name] = f"{label} paling banyak {limit} karakter."
    if values["peta_url"] and (not values["peta_url"].startswith("https://") or len(values["peta_url"]) > 500
                               or any(c.isspace() for c in values["peta_url"])):
        errors["peta_url"] = "Tautan peta harus alamat https:// (paling banyak 500 karakter)."
    if errors:
        raise Refused(errors)
    return values


# ------------------------------------------------------------------ agencies

def agencies_page(db: Database, kode: str) -> dict:
    present = {a["jenis_kode"] for a in q.agencies(db, kode)}
    return {"instansi": q.agencies(db, kode),
            "jenis_tersedia": [t for t in q.agency_types(db) if t["kode"] not in present]}


def add_agency(db: Database, admin: dict, kode: str, region_name: str, form: dict) -> int:
    jenis = str(form.get("jenis_kode", ""))
    types = {t["kode"]: t for t in q.agency_types(db)}
    present = {a["jenis_kode"] for a in q.agencies(db, kode)}
    if jenis not in types:
        raise Refused({"jenis_kode": "Pilih jenis instansi."})
    if jenis in present:
        raise Refused({"jenis_kode": f"{types[jenis]['singkatan']} sudah ada di daerah ini; ubah namanya saja."})
    nama = form_text(form, "nama", 120) or f"{types[jenis]['singkatan']} {region_name}"
    if len(nama) > 120:
        raise Refused({"nama": "Nama instansi paling banyak 120 karakter."})
    with write(db):
        new_id = q.add_agency(db, kode, jenis, nama)
        audit.append(db, admin["id"], "tambah_instansi", f"instansi:{new_id}",
                     {"wilayah": kode, "jenis": jenis, "nama": nama}, waktu=kalender.stamp())
    return new_id


def rename_agency(db: Database, admin: dict, kode: str, form: dict) -> None:
    if _int(form.get("id")) is None:
        raise Refused({"id": "Pilih instansi yang akan diubah."})
    found = q.agency(db, kode, _int(form.get("id")))
    if found is None:
        raise NotFound("instansi")
    nama = form_text(form, "nama", 120)
    if not nama or len(nama) > 120:
        raise Refused({f"nama_{found['id']}": "Nama instansi wajib diisi, paling banyak 120 karakter."})
    with write(db):
        q.rename_agency(db, kode, found["id"], nama)
        audit.append(db, admin["id"], "ubah_nama_instansi", f"instansi:{found['id']}",
                     {"dari": found["nama"], "menjadi": nama}, waktu=kalender.stamp())


# ------------------------------------------------------------------ counters

def counters_page(db: Database, kode: str, gerai_id: int | None) -> dict | None:
    """The region's counters and the form (a new counter, or the one chosen); None for another region's."""
    v = counter_values(db, kode, gerai_id)
    return None if v is None else {"gerai": q.counters(db, kode), "instansi": q.agencies(db, kode), "v": v}


def counter_values(db: Database, kode: str, gerai_id: int | None) -> dict | None:
    if gerai_id is None:
        return {"id": None, "instansi_id": "", "nomor": "", "nama": "", "jam_buka": "08:00", "jam_tutup": "15:00",
                "kuota_daring": 4, "kuota_langsung": 4}
    return q.counter(db, kode, gerai_id)


def save_counter(db: Database, admin: dict, kode: str, form: dict) -> int:
    gerai_id = _int(form.get("id"), 0) if str(form.get("id", "")).strip() else None  # a malformed id: not found
    before = None
    if gerai_id is not None:
        before = q.counter(db, kode, gerai_id)
        if before is None:
            raise NotFound("gerai")
    values = {"instansi_id": _int(form.get("instansi_id"), 0), "nomor": str(form.get("nomor", "")).strip(),
              "nama": form_text(form, "nama", 80), "jam_buka": str(form.get("jam_buka", "")).strip(),
              "jam_tutup": str(form.get("jam_tutup", "")).strip(),
              "kuota_daring": _int(form.get("kuota_daring"), -1),
              "kuota_langsung": _int(form.get("kuota_langsung"), -1)}
    errors = {}
    if _own_agency(db, kode, values["instansi_id"]) is None:
        errors["instansi_id"] = "Pilih instansi daerah ini."
    if not NOMOR_GERAI.match(values["nomor"]):
        errors["nomor"] = "Nomor gerai 1–10 huruf/angka, mis. 01 atau A1."
    elif q.counter_number_taken(db, kode, values["nomor"], gerai_id):
        errors["nomor"] = f"Nomor gerai {values['nomor']} sudah dipakai."
    if not values["nama"] or len(values["nama"]) > 80:
        errors["nama"] = "Isi nama gerai (paling banyak 80 karakter)."
    for name, label in (("jam_buka", "Jam buka"), ("jam_tutup", "Jam tutup")):
        if not JAM.match(values[name]):
            errors[name] = f"{label} dalam format JJ:MM, mis. 08:00."
    if "jam_buka" not in errors and "jam_tutup" not in errors and values["jam_buka"] >= values["jam_tutup"]:
        errors["jam_tutup"] = "Jam tutup harus sesudah jam buka."
    for name, label in (("kuota_daring", "Kuota daring"), ("kuota_langsung", "Kuota langsung")):
        if not 0 <= values[name] <= 200:
            errors[name] = f"{label} per slot: angka 0–200."
    if errors:
        raise Refused(errors)
    with write(db):
        saved = q.save_counter(db, kode, gerai_id, values)
        detail = values if before is None else {k: {"dari": before[k], "menjadi": v} for k, v in values.items()
                                               if before[k] != v}
        audit.append(db, admin["id"], "tambah_gerai" if before is None else "ubah_gerai", f"gerai:{saved}",
                     {"wilayah": kode, **detail}, waktu=kalender.stamp())
    return saved


# ------------------------------------------------------------------ services

def services_page(db: Database, kode: str) -> list[dict]:
    rows = q.services(db, kode)
    for r in rows:
        r["persyaratan_tambahan"] = json.loads(r["persyaratan_tambahan"] or "[]")
    return rows


def service_values(db: Database, kode: str, layanan_id: int) -> dict | None:
    row = q.service(db, kode, layanan_id)
    if row is None:
        return None
    row["persyaratan_tambahan"] = json.loads(row["persyaratan_tambahan"] or "[]")
    return row


def save_service(db: Database, admin: dict, kode: str, form: dict) -> dict:
    if _int(form.get("id")) is None:
        raise Refused({"id": "Pilih layanan yang akan diatur."})
    row = q.service(db, kode, _int(form.get("id")))
    if row is None:
        raise NotFound("layanan")
    errors = {}
    if row["instansi_id"] is None:
        errors["aktif"] = "Instansi pelaksana layanan ini belum ada di daerah Anda. Tambahkan instansinya dulu."
    aktif = form.get("aktif") == "1"
    lines = [" ".join(line.split()) for line in str(form.get("persyaratan_tambahan", "")).splitlines()]
    lines = [line for line in lines if line]
    if len(lines) > 10 or any(len(line) > 200 for line in lines):
        errors["persyaratan_tambahan"] = "Paling banyak 10 persyaratan tambahan, masing-masing 200 karakter."
    raw_fee = str(form.get("biaya", "")).strip().replace(".", "").replace("Rp", "").strip()
    fee = None
    if raw_fee:
        fee = _int(raw_fee)
        if fee is None or not 0 <= fee <= 100_000_000:
            errors["biaya"] = "Biaya dalam rupiah, angka saja (mis. 50000), atau kosongkan untuk biaya katalog."
        elif (row["kelompok"] == "adminduk" or row["jenis_kode"] == "disdukcapil") and fee > 0:
            errors["biaya"] = ADMINDUK_GRATIS
    keterangan = form_text(form, "biaya_keterangan", 200)
    if fee and not keterangan and "biaya" not in errors:
        errors["biaya_keterangan"] = "Sebutkan dasar hukum biaya (mis. Perda retribusi nomor/tahun)."
    if len(keterangan) > 200:
        errors["biaya_keterangan"] = "Paling banyak 200 karakter."
    if errors:
        raise Refused(errors)
    values = {"aktif": aktif, "persyaratan_tambahan": lines, "biaya": fee,
              "biaya_keterangan": keterangan if fee else ""}
    before = {"aktif": bool(row["aktif"]) if row["aktif"] is not None else None,
              "persyaratan_tambahan": json.loads(row["persyaratan_tambahan"] or "[]"), "biaya": row["biaya"],
              "biaya_keterangan": row["biaya_keterangan"] or ""}
    with write(db):
        q.save_service(db, kode, row["id"], row["instansi_id"], aktif, json.dumps(lines, ensure_ascii=False), fee,
                       values["biaya_keterangan"])
        audit.append(db, admin["id"], "ubah_layanan_wilayah", f"layanan_wilayah:{kode}:{row['id']}",
                     {k: {"dari": before[k], "menjadi": v} for k, v in values.items() if before[k] != v},
                     waktu=kalender.stamp())
    return row


# ------------------------------------------------------------------ officers

def _duties(form) -> list[str]:
    chosen = form_list(form, "jabatan")
    return [j for j in JABATAN if j in chosen]


def login_errors(db: Database, username: str, nama: str, password: str, who: str,
                 fields: tuple[str, str, str] = ("username", "nama", "kata_sandi")) -> dict[str, str]:
    """The rules of a new staff login (an officer's, a region manager's): username, name, initial password
    (10–128 characters, typed by whoever creates the account and handed over in person; only its hash is kept).
    ``fields``: the form's names of the three, for the messages."""
    errors = {}
    if not USERNAME.match(username):
        errors[fields[0]] = "Nama pengguna 3–40 karakter: huruf kecil, angka, titik, garis bawah atau strip."
    elif username.isdigit() or q.login_taken(db, username):
        errors[fields[0]] = "Nama pengguna ini sudah dipakai. Pilih yang lain."
    if not nama or len(nama) > 120:
        errors[fields[1]] = f"Isi nama {who} (paling banyak 120 karakter)."
    if not 10 <= len(password) <= 128:
        errors[fields[2]] = "Kata sandi awal 10–128 karakter."
    return errors


def create_officer(db: Database, admin: dict, kode: str, form) -> int:
    username = str(form.get("username", "")).strip().lower()
    nama = form_text(form, "nama", 120)
    password = str(form.get("kata_sandi", ""))
    instansi = _own_agency(db, kode, form.get("instansi_id"))
    duties = _duties(form)
    errors = login_errors(db, username, nama, password, "petugas")
    if instansi is None:
        errors["instansi_id"] = "Pilih instansi daerah ini."
    if not duties:
        errors["jabatan"] = "Pilih sedikitnya satu jabatan."
    if errors:
        raise Refused(errors)
    hashed = hash_password(password)
    with write(db):
        if q.login_taken(db, username):  # taken by another admin's form since the check above
            raise Refused({"username": "Nama pengguna ini baru saja dipakai. Pilih yang lain."})
        new_id = q.create_officer(db, kode, instansi["id"], username, nama, hashed, ",".join(duties))
        audit.append(db, admin["id"], "buat_akun_petugas", f"akun:{new_id}",
                     {"username": username, "nama": nama, "instansi_id": instansi["id"], "jabatan": duties},
                     waktu=kalender.stamp())
    return new_id


def update_officer(db: Database, admin: dict, kode: str, form) -> None:
    found = q.officer(db, kode, _int(form.get("id"), 0))
    if found is None:
        raise NotFound("petugas")
    instansi = _own_agency(db, kode, form.get("instansi_id"))
    duties = _duties(form)
    errors = {}
    if instansi is None:
        errors["instansi_id"] = "Pilih instansi daerah ini."
    if not duties:
        errors["jabatan"] = "Pilih sedikitnya satu jabatan."
    if errors:
        raise Refused(errors)
    with write(db):
        q.set_officer_duties(db, kode, found["id"], ",".join(duties), instansi["id"])
        audit.append(db, admin["id"], "ubah_jabatan_petugas", f"akun:{found['id']}",
                     {"jabatan": {"dari": found["jabatan"].split(","), "menjadi": duties},
                      "instansi_id": {"dari": found["instansi_id"], "menjadi": instansi["id"]}}, waktu=kalender.stamp())


def officers_page(db: Database, kode: str, akun_id: int | None) -> dict | None:
    """The region's officers and the form (a new account, or the duties of the one chosen)."""
    edit = officer_values(db, kode, akun_id) if akun_id is not None else None
    if akun_id is not None and edit is None:
        return None
    return {"petugas": q.officers(db, kode), "instansi": q.agencies(db, kode), "jabatan": JABATAN, "edit": edit}


def officer_values(db: Database, kode: str, akun_id: int) -> dict | None:
    found = q.officer(db, kode, akun_id)
    if found:
        found["jabatan"] = found["jabatan"].split(",")
    return found


# ------------------------------------------------------------------ holidays

def holidays_page(db: Database, kode: str) -> dict:
    today = kalender.region_today(db, kode)
    return {"libur": q.holidays(db, kode, (today - dt.timedelta(days=366)).isoformat()), "hari_ini": today.isoformat()}


def add_holiday(db: Database, admin: dict, kode: str, form: dict) -> str:
    raw = str(form.get("tanggal", "")).strip()
    nama = form_text(form, "nama", 100)
    errors = {}
    try:
        tanggal = dt.date.fromisoformat(raw) if re.fullmatch(r"\d{4}-\d{2}-\d{2}", raw) else None
    except ValueError:
        tanggal = None
    today = kalender.region_today(db, kode)
    if tanggal is None:
        errors["tanggal"] = "Tanggal dalam format TTTT-BB-HH, mis. 2026-12-24."
    elif not today - dt.timedelta(days=366) <= tanggal <= today + dt.timedelta(days=3 * 366):
        errors["tanggal"] = "Tanggal paling jauh satu tahun ke belakang atau tiga tahun ke depan."
    elif (national := q.national_holiday(db, tanggal.isoformat())) is not None:
        errors["tanggal"] = f"Tanggal itu sudah libur nasional ({national})."
    if not nama or len(nama) > 100:
        errors["nama"] = "Isi nama hari libur (paling banyak 100 karakter)."
    if errors:
        raise Refused(errors)
    with write(db):
        q.add_holiday(db, kode, tanggal.isoformat(), nama)
        audit.append(db, admin["id"], "tambah_libur", f"libur:{kode}:{tanggal.isoformat()}", {"nama": nama},
                     waktu=kalender.stamp())
    return tanggal.isoformat()


def delete_holiday(db: Database, admin: dict, kode: str, form: dict) -> None:
    found = q.holiday(db, kode, str(form.get("tanggal", "")).strip())
    if found is None:
        raise NotFound("libur")
    with write(db):
        q.delete_holiday(db, kode, found["tanggal"])
        audit.append(db, admin["id"], "hapus_libur", f"libur:{kode}:{found['tanggal']}", {"nama": found["nama"]},
                     waktu=kalender.stamp())


# ------------------------------------------------------------------ criteria attested by the region

def attest(db: Database, admin: dict, kode: str, form: dict) -> None:
    kriteria = str(form.get("kriteria", ""))
    if kriteria not in pemantauan.ATTESTED:
        raise Refused({"kriteria": "Kriteria ini dihitung otomatis dari pemakaian aplikasi."})
    pemantauan.attest(db, admin, kode, kriteria, form.get("terpenuhi") == "1")
