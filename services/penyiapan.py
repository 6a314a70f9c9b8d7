"""Onboarding a region (penyiapan daerah): the ministry puts a kab/kota with an established MPP on MPP
Digital, and the region's manager opens it to citizens. No HTTP here.

The ministry (role ``kementerian``) picks a region the national list (``mpp_nasional``) says has an MPP
``berdiri`` and that is not on the platform yet (no MPP profile, agency or manager account), and in one
transaction creates: its MPP profile, not live (``mpp.digital_aktif = 0``); the agencies chosen among the
agency types, each with a counter and every national catalogue service of its type enabled for the region
(as the pilot regions are seeded); and the region manager's account (``admin_wilayah``) with the same rules
as an officer's account (services.admin_wilayah.login_errors): the analyst types an initial password that
is kept only as its scrypt hash and hands it over in person. No password is generated and shown: the first
answer of every submit, and the session it set, are kept for retries (web/formguard.py), so a password on
that page would sit in the database in clear. Both steps are audited.

Until the manager presses "Buka layanan digital untuk warga" (:func:`open_to_citizens`: the profile
complete, a service enabled, an officer for every agency whose services are enabled), citizens see no
digital service there: the region is not listed as offering a service, no application can be started and
no queue place booked online; its public MPP page says "Belum aktif".
"""

from __future__ import annotations

import re

from sqlite_utils import Database

from db import audit, wilayah
from db import penyiapan as q
from db.admin_wilayah import login_taken
from db.connection import write
from services import NotFound, admin_wilayah, angka, kalender
from services.passwords import hash_password

Refused = admin_wilayah.Refused  # the form shown again with its messages (400)
DEFAULT_AGENCIES = ("disdukcapil", "dpmptsp")  # the agency types whose services the catalogue carries today


# ------------------------------------------------------------------ the ministry's side

def list_page(db: Database) -> dict:
    return {"calon": q.candidates(db), "menunggu": q.waiting(db)}


def _region(db: Database, kode: str) -> dict:
    found = q.region(db, kode) if angka.is_digits(kode, 4) else None
    if found is None:
        raise NotFound(kode)
    return found


def refusal(r: dict) -> str | None:
    """Why a region cannot be onboarded, in words for the analyst; None when it can."""
    if r["di_platform"]:
        if r["digital_aktif"]:
            return f"{r['nama']} sudah ada di MPP Digital dan sudah dibuka untuk warga."
        return (f"{r['nama']} sudah disiapkan di MPP Digital. Pengelola MPP daerahnya melengkapi dan membuka "
                "layanan digital dari konsolnya.")
    if r["status_nasional"] != "berdiri":
        return (f"Menurut daftar nasional, {r['nama']} belum memiliki MPP yang berdiri. Bila MPP-nya sudah "
                "diresmikan, perbarui daftar lewat Impor data lebih dulu.")
    return None


def _username_for(db: Database, name: str, kode: str) -> str:
    """A suggested manager login: ``admin.<region name>`` (``admin.<name>.<code>`` when that one is taken)."""
    base = re.sub(r"^(kota|kabupaten)\s+", "", name.lower())
    base = "admin." + re.sub(r"[^a-z0-9]", "", base)[:30]
    return base if not login_taken(db, base) else f"{base}.{kode}"


def form_page(db: Database, kode: str, values: dict | None = None) -> dict:
    r = _region(db, kode)
    alasan = refusal(r)
    v = values or {"nama": f"Mal Pelayanan Publik {r['nama']}", "alamat": "", "jam_layanan": "", "peta_url": "",
                   "username": "" if alasan else _username_for(db, r["nama"], r["kode"]),
                   "nama_pengelola": f"Pengelola MPP {r['nama']}", "instansi": list(DEFAULT_AGENCIES)}
    return {"w": r, "alasan": alasan, "jenis": q.agency_types(db), "v": v}


def form_values(form) -> dict:
    """What the analyst typed, to show the form again: never the password."""
    keys = ("nama", "alamat", "jam_layanan", "peta_url", "username", "nama_pengelola")
    return {**{k: str(form.get(k, "")) for k in keys}, "instansi": admin_wilayah.form_list(form, "instansi")}


def onboard(db: Database, analyst: dict, kode: str, form) -> dict:
    """Put the region on MPP Digital, not live; ``Refused`` with each problem, nothing written."""
    r = _region(db, kode)
    if (alasan := refusal(r)) is not None:
        raise Refused({"_wilayah": alasan})
    errors: dict[str, str] = {}
    try:
        profile = admin_wilayah.checked_profile(form)
    except Refused as e:
        errors.update(e.errors)
    username = str(form.get("username", "")).strip().lower()
    nama = admin_wilayah.form_text(form, "nama_pengelola", 120)
    password = str(form.get("kata_sandi", ""))
    errors.update(admin_wilayah.login_errors(db, username, nama, password, "pengelola",
                                             ("username", "nama_pengelola", "kata_sandi")))
    chosen = set(admin_wilayah.form_list(form, "instansi"))
    types = [t for t in q.agency_types(db) if t["kode"] in chosen]
    if not types or len(types) != len(chosen):
        errors["instansi"] = "Pilih sedikitnya satu instansi dari daftar."
    if errors:
        raise Refused(errors)
    hashed = hash_password(password)  # scrypt outside the write lock
    with write(db):
        # checked again under the lock: two analysts (or two tabs) onboarding the same region, or the same login
        if q.on_platform(db, r["kode"]):
            raise Refused({"_wilayah": refusal({**r, "di_platform": True})})
        if login_taken(db, username):
            raise Refused({"username": "Nama pengguna ini baru saja dipakai. Pilih yang lain."})
        q.add_mpp(db, r["kode"], **profile)
        agencies = []
        for number, t in enumerate(types, start=1):
            agency = f"{t['singkatan']} {r['nama']}"
            q.add_agency_with_counter(db, r["kode"], t["kode"], agency, f"{number:02d}", f"Gerai {t['singkatan']}")
            agencies.append(agency)
        services = q.services_enabled(db, r["kode"])
        manager_id = q.create_manager(db, r["kode"], username, nama, hashed)
        stamp = kalender.stamp()
        audit.append(db, analyst["id"], "siapkan_daerah", f"mpp:{r['kode']}",
                     {**profile, "instansi": [t["kode"] for t in types], "layanan": services,
                      "pengelola": username}, waktu=stamp)
        audit.append(db, analyst["id"], "buat_akun_pengelola", f"akun:{manager_id}",
                     {"username": username, "nama": nama, "wilayah": r["kode"]}, waktu=stamp)
    return {"nama": r["nama"], "username": username, "instansi": agencies, "layanan": services}


def done_message(done: dict) -> str:
    return (f"{done['nama']} disiapkan: profil MPP, {len(done['instansi'])} instansi dengan gerainya, "
            f"{done['layanan']} layanan katalog, dan akun pengelola {done['username']}. Sampaikan nama pengguna dan "
            "kata sandi awal langsung kepada pengelola. Warga baru melihat layanan digitalnya setelah pengelola "
            "membukanya dari konsol.")


# ------------------------------------------------------------------ the region manager's side

def missing(db: Database, kode: str) -> list[str]:
    """What the region still lacks before it can be opened to citizens (empty: it can)."""
    mpp = q.readiness(db, kode)
    profile = wilayah.get_mpp(db, kode)
    out = []
    if profile is None or not profile["alamat"].strip() or not profile["jam_layanan"].strip():
        out.append("Lengkapi profil MPP: nama, alamat dan jam layanan.")
    if not mpp["layanan"]:
        out.append("Aktifkan sedikitnya satu layanan daring.")
    if mpp["tanpa_petugas"]:
        out.append("Buat akun petugas untuk instansi yang layanannya aktif: " + ", ".join(mpp["tanpa_petugas"]) + ".")
    return out


def open_page(db: Database, admin: dict, kode: str) -> dict:
    region = admin_wilayah.region(db, admin, kode)
    return {"w": region, "aktif": q.is_live(db, kode), "kurang": missing(db, kode), "siap": q.readiness(db, kode)}


def open_to_citizens(db: Database, admin: dict, kode: str, form=None) -> bool:
    """"Buka layanan digital untuk warga": the region goes live. Opening a live region again changes nothing
    (False); ``Refused`` with what is missing."""
    admin_wilayah.region(db, admin, kode)  # the manager's own region, else NotFound
    with write(db):
        if q.is_live(db, kode):
            return False
        if kurang := missing(db, kode):
            raise Refused({"_buka": " ".join(kurang)})
        opened = q.open_to_citizens(db, kode)
        if opened:
            audit.append(db, admin["id"], "buka_layanan_digital", f"mpp:{kode}", {}, waktu=kalender.stamp())
    return opened
