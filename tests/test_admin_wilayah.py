"""The region console (/admin for admin_wilayah): a region runs its own MPP, every change is
audited, and another region — or any object of it — does not exist (404 on GET and POST)."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from starlette.testclient import TestClient

from db import audit
from services import kalender
from services.passwords import hash_password, verify_password
from tests.helpers import form_fields, login, soup, text_of
from tests.test_public_pages import BUDGET, compressed_size

SECTIONS = ["profil", "instansi", "gerai", "layanan", "petugas", "libur", "kriteria"]


def one(db, sql: str, params=()):
    return db.execute(sql, params).fetchone()[0]


def make_admin(db, username: str, kode: str) -> int:
    akun_id = db.execute("INSERT INTO akun (peran, username, nama, kata_sandi, wilayah_kode) VALUES "
                         "('admin_wilayah', ?, ?, ?, ?)",
                         [username, f"Pengelola MPP {kode}", hash_password("mpp-demo-2026"), kode]).lastrowid
    db.conn.commit()
    return akun_id


def post(client, url: str, data: dict, form_url: str | None = None, follow: bool = False):
    """POST with a fresh CSRF token and idempotency key taken from a form of our own region."""
    fields = form_fields(client, form_url or url, url if form_url is None else None)
    fields = {k: v for k, v in fields.items() if k in ("csrf_token", "_idem")}
    return client.post(url, data={**fields, **data}, follow_redirects=follow)


def snapshot(db) -> tuple:
    tables = ["mpp", "instansi", "gerai", "layanan_wilayah", "kriteria_atestasi"]
    rows = tuple(tuple(tuple(r) for r in db.execute(f"SELECT * FROM {t} ORDER BY rowid")) for t in tables)
    accounts = db.execute("SELECT id, username, jabatan, instansi_id FROM akun ORDER BY id")
    return rows + (tuple(tuple(r) for r in accounts),
                   tuple(tuple(r) for r in db.execute("SELECT * FROM libur WHERE wilayah_kode != '' ORDER BY 1, 2")))


def layanan_id(db, slug: str) -> int:
    return one(db, "SELECT id FROM layanan WHERE slug = ?", [slug])


@pytest.fixture
def aceh(db) -> dict:
    """Objects of Kota Banda Aceh (1171), another region."""
    instansi = one(db, "SELECT id FROM instansi WHERE wilayah_kode = '1171' AND jenis_kode = 'disdukcapil'")
    officer = db.execute("INSERT INTO akun (peran, username, nama, kata_sandi, wilayah_kode, instansi_id, jabatan) "
                         "VALUES ('petugas', 'dukcapil.aceh', 'Petugas Aceh', 'x', '1171', ?, 'verifikator')",
                         [instansi]).lastrowid
    day = (dt.date.today() + dt.timedelta(days=40)).isoformat()
    db.execute("INSERT INTO libur (tanggal, wilayah_kode, nama) VALUES (?, '1171', 'Hari jadi Banda Aceh')", [day])
    db.conn.commit()
    return {"instansi": instansi, "gerai": one(db, "SELECT id FROM gerai WHERE instansi_id = ?", [instansi]),
            "petugas": officer, "libur": day}


# ------------------------------------------------------------------ isolation

def test_a_region_admin_cannot_see_or_change_another_region(client, db, aceh):
    login(client, "admin.batam")
    batam_disduk = one(db, "SELECT id FROM instansi WHERE wilayah_kode = '2171' AND jenis_kode = 'disdukcapil'")
    for section in SECTIONS:
        assert client.get(f"/admin/2171/{section}").status_code == 200
        for kode in ("1171", "9171", "0000", "abcd"):
            assert client.get(f"/admin/{kode}/{section}").status_code == 404, (kode, section)
    before = snapshot(db)
    attempts = {
        "profil": {"nama": "Diambil alih", "alamat": "Jl. Lain", "jam_layanan": "08.00–12.00", "peta_url": ""},
        "instansi": {"aksi": "ubah", "id": str(aceh["instansi"]), "nama": "Diambil alih"},
        "gerai": {"id": str(aceh["gerai"]), "instansi_id": str(aceh["instansi"]), "nomor": "99", "nama": "X",
                  "jam_buka": "08:00", "jam_tutup": "12:00", "kuota_daring": "1", "kuota_langsung": "1"},
        "layanan": {"id": str(layanan_id(db, "kartu-keluarga")), "aktif": "0"},
        "petugas": {"aksi": "ubah", "id": str(aceh["petugas"]), "instansi_id": str(aceh["instansi"]),
                    "jabatan": "penandatangan"},
        "libur": {"aksi": "hapus", "tanggal": aceh["libur"]},
        "kriteria": {"kriteria": "komitmen", "terpenuhi": "1"},
    }
    for section, data in attempts.items():
        r = post(client, f"/admin/1171/{section}", data, form_url=f"/admin/2171/{section}")
        assert r.status_code == 404, section
    # the other region's objects through our own region's URLs
    assert client.get(f"/admin/2171/gerai?id={aceh['gerai']}").status_code == 404
    assert client.get(f"/admin/2171/petugas?id={aceh['petugas']}").status_code == 404
    for section in ("instansi", "gerai", "petugas", "libur"):
        r = post(client, f"/admin/2171/{section}", attempts[section], form_url=f"/admin/2171/{section}")
        assert r.status_code == 404, section
    # our own counter or officer moved to their agency
    gerai = one(db, "SELECT id FROM gerai WHERE instansi_id = ?", [batam_disduk])
    r = post(client, "/admin/2171/gerai", {**attempts["gerai"], "id": str(gerai)}, form_url="/admin/2171/gerai")
    assert r.status_code == 404
    r = post(client, "/admin/2171/petugas", {"aksi": "buat", "username": "baru.batam", "nama": "Baru",
                                             "kata_sandi": "rahasia-panjang-1", "instansi_id": str(aceh["instansi"]),
                                             "jabatan": "verifikator"}, form_url="/admin/2171/petugas")
    assert r.status_code == 404
    assert snapshot(db) == before


def test_each_region_admin_sees_only_their_own_console(app, db):
    make_admin(db, "admin.aceh", "1171")
    with TestClient(app, base_url="http://127.0.0.1") as c:
        login(c, "admin.aceh")
        assert "Banda Aceh" in text_of(c.get("/admin"))
        assert c.get("/admin/1171/gerai").status_code == 200
        assert c.get("/admin/2171/profil").status_code == 404
    for role_login in ("kemenpanrb", "dukcapil.batam", "2171031508900001"):
        with TestClient(app, base_url="http://127.0.0.1") as c:
            login(c, role_login)
            assert c.get("/admin/2171/profil").status_code == 404, role_login
    with TestClient(app, base_url="http://127.0.0.1") as c:
        r = c.get("/admin/2171/profil", follow_redirects=False)
        assert r.status_code == 303 and r.headers["location"].startswith("/masuk")


# ------------------------------------------------------------------ audit

def test_every_admin_change_is_audited(app, client, db):
    """A new region onboards itself (Kota Jayapura), Kota Batam edits what it has: one audit row per change."""
    jayapura = make_admin(db, "admin.jayapura", "9171")
    batam = one(db, "SELECT id FROM akun WHERE username = 'admin.batam'")
    start = one(db, "SELECT max(id) FROM audit") or 0
    holiday = (dt.date.today() + dt.timedelta(days=45))
    while holiday.weekday() >= 5 or one(db, "SELECT count(*) FROM libur WHERE tanggal = ?", [holiday.isoformat()]):
        holiday += dt.timedelta(days=1)
    done = 0
    with TestClient(app, base_url="http://127.0.0.1") as c:
        login(c, "admin.jayapura")
        steps = [
            ("profil", {"nama": "Mal Pelayanan Publik Kota Jayapura", "alamat": "Jl. Soa Siu, Dok II, Kota Jayapura",
                        "jam_layanan": "Senin–Jumat 08.00–15.00", "peta_url": "https://maps.example/jayapura"}),
            ("instansi", {"aksi": "tambah", "jenis_kode": "disdukcapil", "nama": ""}),
        ]
        for section, data in steps:
            assert post(c, f"/admin/9171/{section}", data, form_url=f"/admin/9171/{section}").status_code == 303
            done += 1
        disduk = one(db, "SELECT id FROM instansi WHERE wilayah_kode = '9171'")
        assert one(db, "SELECT nama FROM instansi WHERE id = ?", [disduk]) == "Disdukcapil Kota Jayapura"
        steps = [
            ("gerai", {"id": "", "instansi_id": str(disduk), "nomor": "01", "nama": "Gerai Disdukcapil",
                       "jam_buka": "08:00", "jam_tutup": "14:00", "kuota_daring": "5", "kuota_langsung": "3"}),
            ("layanan", {"id": str(layanan_id(db, "kartu-keluarga")), "aktif": "1",
                         "persyaratan_tambahan": "Surat pengantar RT/RW\n\n  Fotokopi buku nikah  "}),
            ("petugas", {"aksi": "buat", "username": "dukcapil.jayapura", "nama": "Yohana Wenda",
                         "kata_sandi": "sandi-awal-jayapura", "instansi_id": str(disduk),
                         "jabatan": ["verifikator", "validator"]}),
            ("libur", {"aksi": "tambah", "tanggal": holiday.isoformat(), "nama": "Hari jadi Kota Jayapura"}),
            ("libur", {"aksi": "hapus", "tanggal": holiday.isoformat()}),
            ("kriteria", {"kriteria": "komitmen", "terpenuhi": "1"}),
        ]
        for section, data in steps:
            r = post(c, f"/admin/9171/{section}", data, form_url=f"/admin/9171/{section}")
            assert r.status_code == 303, (section, text_of(r))
            done += 1
    login(client, "admin.batam")
    batam_disduk = one(db, "SELECT id FROM instansi WHERE wilayah_kode = '2171' AND jenis_kode = 'disdukcapil'")
    gerai = dict(db.execute("SELECT * FROM gerai WHERE instansi_id = ?", [batam_disduk]).fetchone())
    officer = one(db, "SELECT id FROM akun WHERE username = 'dukcapil.batam'")
    steps = [
        ("instansi", {"aksi": "ubah", "id": str(batam_disduk),
                      "nama": "Dinas Kependudukan dan Pencatatan Sipil Kota Batam"}),
        ("gerai", {**{k: str(gerai[k]) for k in ("instansi_id", "nomor", "nama", "jam_buka", "jam_tutup")},
                   "id": str(gerai["id"]), "kuota_daring": "6", "kuota_langsung": "2"}),
        ("petugas", {"aksi": "ubah", "id": str(officer), "instansi_id": str(batam_disduk), "jabatan": "verifikator"}),
    ]
    for section, data in steps:
        r = post(client, f"/admin/2171/{section}", data, form_url=f"/admin/2171/{section}")
        assert r.status_code == 303, (section, text_of(r))
        done += 1
    rows = [dict(r) for r in db.execute("SELECT * FROM audit WHERE id > ? ORDER BY id", [start])]
    assert len(rows) == done
    assert {r["aksi"] for r in rows} == {"ubah_profil_mpp", "tambah_instansi", "ubah_nama_instansi", "tambah_gerai",
                                         "ubah_gerai", "ubah_layanan_wilayah", "buat_akun_petugas",
                                         "ubah_jabatan_petugas", "tambah_libur", "hapus_libur", "atestasi_kriteria"}
    batam_actions = ("ubah_nama_instansi", "ubah_gerai", "ubah_jabatan_petugas")
    assert {r["akun_id"] for r in rows if r["aksi"] in batam_actions} == {batam}
    assert {r["akun_id"] for r in rows} == {batam, jayapura}
    assert all("sandi" not in r["detail"] and "scrypt" not in r["detail"] for r in rows)
    assert json.loads(next(r for r in rows if r["aksi"] == "ubah_gerai")["detail"])["kuota_daring"] == \
        {"dari": gerai["kuota_daring"], "menjadi": 6}
    assert audit.verify_chain(db) is None
    # what the new region set up is live
    assert "Jl. Soa Siu" in text_of(client.get("/mpp/9171"))
    row = db.execute("SELECT aktif, persyaratan_tambahan FROM layanan_wilayah WHERE wilayah_kode = '9171'").fetchone()
    assert row[0] == 1 and json.loads(row[1]) == ["Surat pengantar RT/RW", "Fotokopi buku nikah"]
    with TestClient(app, base_url="http://127.0.0.1") as c:
        assert login(c, "dukcapil.jayapura", "sandi-awal-jayapura").headers["location"] == "/petugas"
        assert "Disdukcapil Kota Jayapura" in text_of(c.get("/petugas"))


def test_refused_changes_are_not_audited_and_change_nothing(client, db):
    login(client, "admin.batam")
    before, audits = snapshot(db), one(db, "SELECT count(*) FROM audit")
    r = post(client, "/admin/2171/profil", {"nama": "", "alamat": "x", "jam_layanan": "y",
                                            "peta_url": "javascript:alert(1)"})
    assert r.status_code == 400
    text = text_of(r)
    assert "Isi nama mpp" in text and "Tautan peta harus alamat https://" in text
    assert snapshot(db) == before and one(db, "SELECT count(*) FROM audit") == audits


# ------------------------------------------------------------------ the parts of the console

def test_profile_is_what_the_public_mpp_page_shows(client):
    login(client, "admin.batam")
    r = post(client, "/admin/2171/profil", {"nama": "Mal Pelayanan Publik Kota Batam",
                                            "alamat": "Gedung baru samping SPC, Batam Centre",
                                            "jam_layanan": "Senin–Jumat 08.00–16.00",
                                            "peta_url": "https://www.openstreetmap.org/#map=18/1.128/104.053"},
             follow=True)
    assert r.status_code == 200 and "Profil MPP disimpan" in text_of(r)
    page = client.get("/mpp/2171")
    assert "Gedung baru samping SPC" in text_of(page) and "openstreetmap.org" in page.text


def test_adminduk_is_always_free_and_other_fees_need_a_legal_basis(client, db):
    login(client, "admin.batam")
    kk, sip = layanan_id(db, "kartu-keluarga"), layanan_id(db, "sip-perawat")
    r = post(client, "/admin/2171/layanan", {"id": str(kk), "aktif": "1", "biaya": "50000",
                                             "biaya_keterangan": "Perda 1/2024"},
             form_url=f"/admin/2171/layanan?id={kk}")
    assert r.status_code == 400
    assert "Layanan administrasi kependudukan wajib gratis (UU 24/2013 pasal 79A)" in text_of(r)
    assert db.execute("SELECT biaya FROM layanan_wilayah WHERE wilayah_kode = '2171' AND layanan_id = ?",
                      [kk]).fetchone()[0] is None
    r = post(client, "/admin/2171/layanan", {"id": str(sip), "aktif": "1", "biaya": "100.000"},
             form_url=f"/admin/2171/layanan?id={sip}")
    assert r.status_code == 400 and "dasar hukum" in text_of(r)
    r = post(client, "/admin/2171/layanan", {"id": str(sip), "aktif": "1", "biaya": "100.000",
                                             "biaya_keterangan": "Perda Kota Batam 2/2024 tentang retribusi",
                                             "persyaratan_tambahan": "Surat keterangan domisili praktik"},
             form_url=f"/admin/2171/layanan?id={sip}")
    assert r.status_code == 303
    row = db.execute("SELECT biaya, biaya_keterangan, persyaratan_tambahan FROM layanan_wilayah "
                     "WHERE wilayah_kode = '2171' AND layanan_id = ?", [sip]).fetchone()
    assert row[0] == 100000 and row[1].startswith("Perda")
    assert json.loads(row[2]) == ["Surat keterangan domisili praktik"]
    row = next(tr for tr in soup(client.get("/admin/2171/layanan")).select("tbody tr") if f"?id={sip}" in str(tr))
    assert "Rp100.000" in row.text and "+1 syarat" in row.text
    # closing a service for the region
    r = post(client, "/admin/2171/layanan", {"id": str(kk)}, form_url=f"/admin/2171/layanan?id={kk}")
    assert r.status_code == 303
    assert one(db, "SELECT aktif FROM layanan_wilayah WHERE wilayah_kode = '2171' AND layanan_id = ?", [kk]) == 0


def test_counter_hours_quotas_and_numbers_are_checked(client, db):
    login(client, "admin.batam")
    disduk = one(db, "SELECT id FROM instansi WHERE wilayah_kode = '2171' AND jenis_kode = 'disdukcapil'")
    base = {"id": "", "instansi_id": str(disduk), "nomor": "02", "nama": "Gerai tambahan", "jam_buka": "16:00",
            "jam_tutup": "08:00", "kuota_daring": "-1", "kuota_langsung": "abc"}
    r = post(client, "/admin/2171/gerai", base)
    text = text_of(r)
    assert r.status_code == 400
    assert "Nomor gerai 02 sudah dipakai" in text and "Jam tutup harus sesudah jam buka" in text
    assert "Kuota daring per slot: angka 0–200" in text and "Kuota langsung per slot" in text
    r = post(client, "/admin/2171/gerai", {**base, "nomor": "13", "jam_buka": "08:00", "jam_tutup": "12:00",
                                           "kuota_daring": "10", "kuota_langsung": "5"})
    assert r.status_code == 303
    row = db.execute("SELECT * FROM gerai WHERE wilayah_kode = '2171' AND nomor = '13'").fetchone()
    assert (row["jam_buka"], row["jam_tutup"], row["kuota_daring"], row["kuota_langsung"]) == ("08:00", "12:00", 10, 5)
    edit = soup(client.get(f"/admin/2171/gerai?id={row['id']}"))
    assert edit.find("input", attrs={"name": "id"})["value"] == str(row["id"])


def test_officers_are_created_with_hashed_passwords_and_duties(app, client, db):
    login(client, "admin.batam")
    dpmptsp = one(db, "SELECT id FROM instansi WHERE wilayah_kode = '2171' AND jenis_kode = 'dpmptsp'")
    data = {"aksi": "buat", "username": "dukcapil.batam", "nama": "Sari", "kata_sandi": "pendek",
            "instansi_id": str(dpmptsp)}
    r = post(client, "/admin/2171/petugas", data)
    text = text_of(r)
    assert r.status_code == 400
    assert "sudah dipakai" in text and "Kata sandi awal 10–128 karakter" in text and "sedikitnya satu jabatan" in text
    r = post(client, "/admin/2171/petugas", {**data, "username": "Sari.DPMPTSP", "kata_sandi": "sandi-awal-sari-1",
                                             "jabatan": ["validator", "penandatangan", "bukan-jabatan"]})
    assert r.status_code == 303
    row = db.execute("SELECT * FROM akun WHERE username = 'sari.dpmptsp'").fetchone()
    assert (row["peran"], row["wilayah_kode"], row["instansi_id"], row["jabatan"]) == \
        ("petugas", "2171", dpmptsp, "validator,penandatangan")
    assert row["kata_sandi"].startswith("scrypt$") and verify_password("sandi-awal-sari-1", row["kata_sandi"])
    with TestClient(app, base_url="http://127.0.0.1") as c:
        assert login(c, "sari.dpmptsp", "sandi-awal-sari-1").headers["location"] == "/petugas"
    form = soup(client.get(f"/admin/2171/petugas?id={row['id']}")).find("form", action="/admin/2171/petugas")
    assert {i["value"] for i in form.select("input[name=jabatan][checked]")} == {"validator", "penandatangan"}


def test_region_holidays_count_in_working_days(client, db):
    login(client, "admin.batam")
    today = kalender.region_today(db, "2171")
    day = today + dt.timedelta(days=30)
    while day.weekday() >= 5 or one(db, "SELECT count(*) FROM libur WHERE tanggal = ?", [day.isoformat()]):
        day += dt.timedelta(days=1)
    before = kalender.working_days_between(db, "2171", day - dt.timedelta(days=1), day)
    assert before == 1
    r = post(client, "/admin/2171/libur", {"aksi": "tambah", "tanggal": day.isoformat(),
                                           "nama": "Hari jadi Kota Batam"})
    assert r.status_code == 303
    assert kalender.working_days_between(db, "2171", day - dt.timedelta(days=1), day) == 0
    assert kalender.working_days_between(db, "1171", day - dt.timedelta(days=1), day) == 1   # only Batam's
    national = db.execute("SELECT tanggal, nama FROM libur WHERE wilayah_kode = '' AND tanggal > ? ORDER BY tanggal",
                          [today.isoformat()]).fetchone()
    r = post(client, "/admin/2171/libur", {"aksi": "tambah", "tanggal": national[0], "nama": "Dobel"})
    assert r.status_code == 400 and "sudah libur nasional" in text_of(r)
    r = post(client, "/admin/2171/libur", {"aksi": "tambah", "tanggal": "2026-02-30", "nama": "Tidak ada"})
    assert r.status_code == 400 and "format TTTT-BB-HH" in text_of(r)
    form = next(f for f in soup(client.get("/admin/2171/libur")).find_all("form", action="/admin/2171/libur")
                if f.find("input", attrs={"name": "tanggal", "value": day.isoformat()}))
    fields = {i["name"]: i.get("value", "") for i in form.find_all("input", type="hidden")}
    assert client.post("/admin/2171/libur", data=fields, follow_redirects=False).status_code == 303
    assert kalender.working_days_between(db, "2171", day - dt.timedelta(days=1), day) == 1


def test_dashboard_shows_the_day(client, db):
    today = kalender.region_today(db, "2171").isoformat()
    yesterday = (kalender.region_today(db, "2171") - dt.timedelta(days=1)).isoformat()
    gerai = one(db, "SELECT id FROM gerai WHERE wilayah_kode = '2171' AND nomor = '01'")
    for n in (1, 2):
        db.execute("INSERT INTO tiket (wilayah_kode, gerai_id, tanggal, jam, jenis, nomor, kode) "
                   "VALUES ('2171', ?, ?, '09:00', 'langsung', ?, ?)", [gerai, today, n, f"01-00{n}"])
    akun = one(db, "SELECT id FROM akun WHERE nik = '2171031508900001'")
    disduk = one(db, "SELECT id FROM instansi WHERE wilayah_kode = '2171' AND jenis_kode = 'disdukcapil'")
    db.execute("INSERT INTO permohonan (nomor, akun_id, layanan_id, wilayah_kode, instansi_id, status, diajukan, "
               "tenggat) VALUES ('2171-TERLAMBAT-1', ?, ?, '2171', ?, 'diverifikasi', '2026-01-05T02:00:00Z', ?)",
               [akun, layanan_id(db, "kartu-keluarga"), disduk, yesterday])
    db.execute("INSERT INTO pengaduan (nomor, kode_lacak, wilayah_kode, isi, batas_teruskan) "
               "VALUES ('ADU-1', 'k', '2171', 'Antrean lama.', ?)", [yesterday])
    db.execute("INSERT INTO skm (transaksi, wilayah_kode, " + ", ".join(f"u{i}" for i in range(1, 10)) + ") "
               "VALUES ('tiket:1', '2171', 4, 4, 4, 4, 4, 4, 4, 4, 4)")
    db.conn.commit()
    login(client, "admin.batam")
    text = text_of(client.get("/admin"))
    assert "Antrean hari ini 2 tiket (2 menunggu, 0 dilayani)" in text
    assert "Pengaduan 1 terbuka dari 1 1 terlambat" in text
    assert "IKM 100.00 — A (Sangat Baik), 1 responden" in text
    assert "2171-TERLAMBAT-1" in text and "Disdukcapil Kota Batam 1 1" in text


# ------------------------------------------------------------------ pages

CONSOLE = ["/admin", *[f"/admin/2171/{s}" for s in SECTIONS]]


def test_console_pages_fit_the_14kb_budget_and_work_without_javascript(app, client, db):
    login(client, "admin.batam")
    gerai = one(db, "SELECT min(id) FROM gerai WHERE wilayah_kode = '2171'")
    officer = one(db, "SELECT id FROM akun WHERE username = 'dukcapil.batam'")
    urls = CONSOLE + [f"/admin/2171/layanan?id={layanan_id(db, 'sip-perawat')}", f"/admin/2171/gerai?id={gerai}",
                      f"/admin/2171/petugas?id={officer}"]
    for url in urls:
        gz, br = compressed_size(client, url)
        assert gz <= BUDGET and br <= BUDGET, f"{url}: {gz} gzip / {br} brotli"
        page = soup(client.get(url))
        for form in page.find_all("form"):
            assert form.get("method") in ("get", "post") and form.get("action"), url
            if form["method"] == "post":
                assert form.find("input", attrs={"name": "csrf_token"}), url
        assert not page.find("script", src=False)
    with TestClient(app, base_url="http://127.0.0.1") as c:
        login(c, "kemenpanrb")
        gz, br = compressed_size(c, "/admin")
        assert gz <= BUDGET and br <= BUDGET


def test_what_a_region_adds_is_what_its_citizens_read(client, app, db):
    """Extra requirements and a local fee set in the console appear on the service page for that
    region (and the citizen's own by default) and on a queue ticket, never for another region."""
    from db import antrean as queue_db
    from services import antrean as queue

    login(client, "admin.batam")
    sip, kk = layanan_id(db, "sip-perawat"), layanan_id(db, "kartu-keluarga")
    r = post(client, "/admin/2171/layanan", {"id": str(sip), "aktif": "1", "biaya": "100.000",
                                             "biaya_keterangan": "Perda Kota Batam 2/2024 tentang retribusi",
                                             "persyaratan_tambahan": "Surat keterangan domisili praktik"},
             form_url=f"/admin/2171/layanan?id={sip}")
    assert r.status_code == 303
    r = post(client, "/admin/2171/layanan",
             {"id": str(kk), "aktif": "1", "persyaratan_tambahan": "Surat pengantar RT/RW"},
             form_url=f"/admin/2171/layanan?id={kk}")
    assert r.status_code == 303
    client.cookies.clear()

    batam = text_of(client.get("/layanan/sip-perawat?wilayah=2171"))
    assert "Tambahan di Kota Batam" in batam and "Surat keterangan domisili praktik" in batam
    assert "Biaya di Kota Batam" in batam and "Rp100.000" in batam and "Perda Kota Batam 2/2024" in batam
    national = text_of(client.get("/layanan/sip-perawat"))
    assert "domisili praktik" not in national and "Rp100.000" not in national
    other = db.execute("SELECT wilayah_kode FROM layanan_wilayah WHERE layanan_id = ? AND aktif = 1 "
                       "AND wilayah_kode != '2171' LIMIT 1", [sip]).fetchone()[0]
    elsewhere = text_of(client.get(f"/layanan/sip-perawat?wilayah={other}"))
    assert "domisili praktik" not in elsewhere and "Rp100.000" not in elsewhere
    assert "belum dibuka secara daring di daerah tersebut" in text_of(client.get("/layanan/sip-perawat?wilayah=9999"))
    assert "belum dibuka" not in batam

    login(client, "2171031508900001")  # Budi lives in Batam: his region's terms without asking
    assert "Surat keterangan domisili praktik" in text_of(client.get("/layanan/sip-perawat"))

    budi = dict(db.execute("SELECT * FROM akun WHERE nik = '2171031508900001'").fetchone())
    gerai = db.execute("SELECT id FROM gerai WHERE wilayah_kode = '2171' AND nomor = '01'").fetchone()[0]
    now = dt.datetime(2026, 11, 30, 2, 0, tzinfo=dt.UTC)
    t = queue.book(db, budi, gerai, "2026-11-30", "11:00", layanan_id=kk, now=now)
    bring = queue.ticket_view(queue_db.get(db, t["id"]))["persyaratan"]
    assert "Surat pengantar RT/RW" in bring and len(bring) > 1  # the national list, then the region's own


def test_a_username_taken_by_another_admin_while_the_form_is_checked_gets_a_message(client, db, monkeypatch):
    """Two admins create the same username at once: the one whose write comes second hears that it was just
    taken (the check is repeated under the write lock), never an IntegrityError page."""
    from services import admin_wilayah

    login(client, "admin.batam")
    dpmptsp = one(db, "SELECT id FROM instansi WHERE wilayah_kode = '2171' AND jenis_kode = 'dpmptsp'")
    real_hash = admin_wilayah.hash_password

    def meanwhile(password):  # between the check and the write, the other admin's form is saved
        db.execute("INSERT INTO akun (peran, username, nama, kata_sandi, wilayah_kode, instansi_id, jabatan) "
                   "VALUES ('petugas', 'rina.batam', 'Rina', 'x', '2171', ?, 'validator')", [dpmptsp])
        db.conn.commit()
        return real_hash(password)

    monkeypatch.setattr(admin_wilayah, "hash_password", meanwhile)
    r = post(client, "/admin/2171/petugas", {"aksi": "buat", "username": "rina.batam", "nama": "Rina Lain",
                                             "kata_sandi": "sandi-awal-rina-1", "instansi_id": str(dpmptsp),
                                             "jabatan": ["validator"]})
    assert r.status_code == 400 and "baru saja dipakai" in text_of(r)
    assert one(db, "SELECT count(*) FROM akun WHERE username = 'rina.batam'") == 1
