"""Onboarding a region (penyiapan daerah): the ministry puts an established MPP that is not a pilot on MPP
Digital with its profile, agencies and manager account; the region stays invisible to citizens until its
manager opens it; retries never onboard twice; a manager acts on their own region only."""

from __future__ import annotations

import zlib

import pytest
from starlette.testclient import TestClient

from db import audit, definisi
from db.connection import write
from db.migrations import migrate
from db.permohonan import offering
from services.katalog import PAGE_LIMIT
from services.passwords import verify_password
from tests.helpers import form_fields, login, soup, start_draft, text_of
from tests.test_public_pages import BUDGET, compressed_size

SABANG = "1172"  # Kota Sabang: MPP berdiri in the national list, not one of the 21 pilots
PASSWORD = "awal-sabang-2026"
FORM = {"nama": "Mal Pelayanan Publik Kota Sabang", "alamat": "Jl. Perdagangan No. 1, Sabang",
        "jam_layanan": "Senin–Jumat 08.00–15.00", "peta_url": "", "username": "admin.sabang",
        "nama_pengelola": "Pengelola MPP Kota Sabang", "kata_sandi": PASSWORD, "instansi": ["disdukcapil", "dpmptsp"]}


def one(db, sql: str, params=()):
    return db.execute(sql, params).fetchone()[0]


def onboard(client, kode: str = SABANG, **changes):
    url = f"/pemantauan/daerah-baru/{kode}"
    fields = form_fields(client, url, url)
    return client.post(url, data={**fields, **FORM, **changes}, follow_redirects=False)


@pytest.fixture
def ministry(app):
    with TestClient(app, base_url="http://127.0.0.1") as c:
        assert login(c, "kemenpanrb").status_code == 303
        yield c


def test_a_non_pilot_region_is_onboarded_with_two_agencies_and_its_manager(ministry, db):
    page = ministry.get("/pemantauan/daerah-baru")
    assert page.status_code == 200 and "Siapkan Kota Sabang" in text_of(page)
    assert "Kota Batam" not in text_of(page)  # a pilot is already on MPP Digital
    assert len(soup(page).select("a[href^='/pemantauan/daerah-baru/']")) == 163 - 21
    services = one(db, "SELECT count(*) FROM layanan WHERE instansi IN ('disdukcapil', 'dpmptsp') "
                       "AND wilayah_pemilik IS NULL AND pensiun IS NULL")

    r = onboard(ministry)
    assert r.status_code == 303 and r.headers["location"] == "/pemantauan/daerah-baru"
    done = text_of(ministry.get("/pemantauan/daerah-baru"))
    assert "Kota Sabang disiapkan" in done and "admin.sabang" in done and PASSWORD not in done
    assert "Siapkan Kota Sabang" not in done
    assert ministry.get(f"/pemantauan/wilayah/{SABANG}").status_code == 200
    assert "Kota Sabang" in text_of(ministry.get("/pemantauan/kriteria"))  # its criteria are followed from now on

    mpp = db.execute("SELECT * FROM mpp WHERE wilayah_kode = ?", [SABANG]).fetchone()
    assert mpp["nama"] == FORM["nama"] and mpp["digital_aktif"] == 0
    assert sorted(r[0] for r in db.execute("SELECT nama FROM instansi WHERE wilayah_kode = ?", [SABANG])) == [
        "DPMPTSP Kota Sabang", "Disdukcapil Kota Sabang"]
    assert one(db, "SELECT count(*) FROM gerai WHERE wilayah_kode = ?", [SABANG]) == 2
    assert one(db, "SELECT count(*) FROM layanan_wilayah WHERE wilayah_kode = ? AND aktif = 1", [SABANG]) == services
    manager = db.execute("SELECT * FROM akun WHERE username = 'admin.sabang'").fetchone()
    assert manager["peran"] == "admin_wilayah" and manager["wilayah_kode"] == SABANG
    assert manager["kata_sandi"] != PASSWORD and verify_password(PASSWORD, manager["kata_sandi"])
    # audited, and the password is nowhere in the database in clear (the stored answers of submits included)
    kemen = one(db, "SELECT id FROM akun WHERE username = 'kemenpanrb'")
    assert [(r["aksi"], r["akun_id"]) for r in db.execute(
        "SELECT aksi, akun_id FROM audit WHERE objek IN (?, ?) ORDER BY id",
        [f"mpp:{SABANG}", f"akun:{manager['id']}"])] == [("siapkan_daerah", kemen), ("buat_akun_pengelola", kemen)]
    assert audit.verify_chain(db) is None
    stored = db.execute("SELECT isi, sesi FROM idempotensi").fetchall()
    assert stored and all(PASSWORD.encode() not in zlib.decompress(row["isi"]) and PASSWORD not in (row["sesi"] or "")
                          for row in stored)
    assert PASSWORD not in "".join(r[0] for r in db.execute("SELECT detail FROM audit"))


def test_the_new_manager_sees_only_their_region_and_opens_it_to_citizens(app, ministry, db):
    assert onboard(ministry).status_code == 303
    with TestClient(app, base_url="http://127.0.0.1") as citizen:
        assert "Kota Sabang" not in text_of(citizen.get("/"))
        assert "Kota Sabang" not in text_of(citizen.get("/layanan/kartu-keluarga"))
        assert citizen.get(f"/layanan?wilayah={SABANG}").status_code == 200
        assert "Kartu Keluarga" not in text_of(citizen.get(f"/layanan?wilayah={SABANG}"))
        public = text_of(citizen.get(f"/mpp/{SABANG}"))
        assert "Belum aktif" in public and "Ambil antrean" not in public and "Belum ada layanan daring" in public
        assert login(citizen, "2171031508900001").status_code == 303
        assert citizen.get(f"/mpp/{SABANG}/antrean").status_code == 404
        assert citizen.get(f"/permohonan/baru?layanan=kartu-keluarga&wilayah={SABANG}",
                           follow_redirects=False).status_code in (404, 400)

        with TestClient(app, base_url="http://127.0.0.1") as manager:
            assert login(manager, "admin.sabang", PASSWORD).status_code == 303
            home = manager.get("/admin")
            assert "Layanan digital belum dibuka" in text_of(home)
            for section in ("profil", "instansi", "gerai", "layanan", "petugas", "buka"):
                assert manager.get(f"/admin/{SABANG}/{section}").status_code == 200, section
                assert manager.get(f"/admin/2171/{section}").status_code == 404, section
            assert "Kota Batam" not in text_of(manager.get(f"/admin/{SABANG}/instansi"))
            # not ready: an agency with enabled services has no officer yet
            page = manager.get(f"/admin/{SABANG}/buka")
            assert "Buat akun petugas" in text_of(page) and "Buka layanan digital untuk warga" not in text_of(page)
            fields = form_fields(manager, f"/admin/{SABANG}/profil")
            refused = manager.post(f"/admin/{SABANG}/buka", data=fields, follow_redirects=False)
            assert refused.status_code == 400 and one(db, "SELECT digital_aktif FROM mpp WHERE wilayah_kode = ?",
                                                      [SABANG]) == 0
            summary = soup(refused).select_one(".error-summary[role=alert]")  # the refusal says why
            assert summary is not None and "Buat akun petugas" in summary.get_text(), refused.text[:2000]
            for jenis in ("disdukcapil", "dpmptsp"):
                instansi = one(db, "SELECT id FROM instansi WHERE wilayah_kode = ? AND jenis_kode = ?", [SABANG, jenis])
                fields = form_fields(manager, f"/admin/{SABANG}/petugas")
                r = manager.post(f"/admin/{SABANG}/petugas", data={
                    **fields, "aksi": "buat", "username": f"{jenis}.sabang", "nama": f"Petugas {jenis}",
                    "kata_sandi": "petugas-sabang-1", "instansi_id": str(instansi),
                    "jabatan": ["verifikator", "validator", "penandatangan"]}, follow_redirects=False)
                assert r.status_code == 303, text_of(r)
            url = f"/admin/{SABANG}/buka"
            fields = form_fields(manager, url, url)
            opened = manager.post(url, data=fields, follow_redirects=False)
            assert opened.status_code == 303
            again = manager.post(url, data=fields, follow_redirects=False)  # the same submit retried
            assert again.status_code == 303
            assert "Sudah dibuka untuk warga" in text_of(manager.get(url))
        assert one(db, "SELECT digital_aktif FROM mpp WHERE wilayah_kode = ?", [SABANG]) == 1
        assert one(db, "SELECT count(*) FROM audit WHERE aksi = 'buka_layanan_digital' AND objek = ?",
                   [f"mpp:{SABANG}"]) == 1

        assert "Kota Sabang" in text_of(citizen.get("/"))
        assert "Kota Sabang" in text_of(citizen.get("/layanan/kartu-keluarga"))
        assert "Kartu Keluarga" in text_of(citizen.get(f"/layanan?wilayah={SABANG}"))
        assert "Ambil antrean" in text_of(citizen.get(f"/mpp/{SABANG}"))
        assert citizen.get(f"/mpp/{SABANG}/antrean").status_code == 200
        assert start_draft(citizen, "kartu-keluarga", SABANG).status_code == 303


def test_a_retried_onboarding_does_not_create_twice_and_another_is_refused(ministry, db):
    url = f"/pemantauan/daerah-baru/{SABANG}"
    fields = form_fields(ministry, url, url)
    first = ministry.post(url, data={**fields, **FORM}, follow_redirects=False)
    retry = ministry.post(url, data={**fields, **FORM}, follow_redirects=False)  # the line dropped: sent again
    assert first.status_code == retry.status_code == 303
    assert retry.headers.get("x-idempotent-replay") == "1"
    assert one(db, "SELECT count(*) FROM mpp WHERE wilayah_kode = ?", [SABANG]) == 1
    assert one(db, "SELECT count(*) FROM instansi WHERE wilayah_kode = ?", [SABANG]) == 2
    assert one(db, "SELECT count(*) FROM akun WHERE peran = 'admin_wilayah' AND wilayah_kode = ?", [SABANG]) == 1
    assert one(db, "SELECT count(*) FROM audit WHERE aksi = 'siapkan_daerah'") == 1

    # the form opened again (a new submit) for a region already onboarded: refused, nothing written
    page = ministry.get(url)
    assert "sudah disiapkan" in text_of(page) and soup(page).find("form", action=url) is None
    again = ministry.post(url, data={**form_fields(ministry, "/pemantauan/impor"), **FORM,
                                     "username": "admin.sabang2"}, follow_redirects=False)
    assert again.status_code == 400 and "sudah disiapkan" in text_of(again)
    assert one(db, "SELECT count(*) FROM akun WHERE username = 'admin.sabang2'") == 0
    # a pilot region, and a region whose MPP is not established, are refused the same way
    for kode, words in (("2171", "sudah ada di MPP Digital dan sudah dibuka"), ("1101", "belum memiliki MPP")):
        r = ministry.post(f"/pemantauan/daerah-baru/{kode}", data={
            **form_fields(ministry, "/pemantauan/impor"), **FORM, "username": f"admin.x{kode}"},
            follow_redirects=False)
        assert r.status_code == 400 and words in text_of(r), kode
    assert one(db, "SELECT count(*) FROM instansi WHERE wilayah_kode = '1101'") == 0
    assert ministry.get("/pemantauan/daerah-baru/9999").status_code == 404


def test_the_onboarding_form_says_what_is_wrong_and_never_echoes_the_password(ministry, db):
    r = onboard(ministry, alamat="", username="admin.batam", kata_sandi="pendek-1x", instansi=[])
    assert r.status_code == 400
    words = text_of(r)
    assert "Isi alamat" in words and "sudah dipakai" in words and "10–128" in words and "Pilih sedikitnya" in words
    assert "pendek-1x" not in r.text
    assert one(db, "SELECT count(*) FROM mpp WHERE wilayah_kode = ?", [SABANG]) == 0
    r = onboard(ministry, instansi=["disdukcapil", "bukan-jenis"])
    assert r.status_code == 400 and one(db, "SELECT count(*) FROM instansi WHERE wilayah_kode = ?", [SABANG]) == 0


def test_every_established_mpp_can_be_onboarded(ministry, db):
    """Not only the pilots: each of the 163 established MPPs is on MPP Digital or offered to the ministry."""
    established = {r[0] for r in db.execute("SELECT wilayah_kode FROM mpp_nasional WHERE status = 'berdiri'")}
    assert len(established) == 163
    listed = {a["href"].rsplit("/", 1)[1]
              for a in soup(ministry.get("/pemantauan/daerah-baru")).select("a[href^='/pemantauan/daerah-baru/']")}
    on_platform = {r[0] for r in db.execute("SELECT wilayah_kode FROM mpp")}
    assert listed | on_platform >= established and not listed & on_platform
    east = max(listed)  # the easternmost listed (Maluku/Papua codes are the highest)
    assert onboard(ministry, kode=east, username="admin.timur").status_code == 303
    assert one(db, "SELECT digital_aktif FROM mpp WHERE wilayah_kode = ?", [east]) == 0


def test_a_region_manager_cannot_open_another_region(app, ministry, db):
    assert onboard(ministry).status_code == 303
    db.execute("UPDATE mpp SET digital_aktif = 0 WHERE wilayah_kode = '1171'")  # Banda Aceh, not opened
    db.conn.commit()
    with TestClient(app, base_url="http://127.0.0.1") as manager:
        assert login(manager, "admin.sabang", PASSWORD).status_code == 303
        fields = form_fields(manager, f"/admin/{SABANG}/profil")
        for kode in ("1171", "2171", "0000"):
            assert manager.get(f"/admin/{kode}/buka").status_code == 404
            r = manager.post(f"/admin/{kode}/buka", data=fields, follow_redirects=False)
            assert r.status_code == 404, kode
    with TestClient(app, base_url="http://127.0.0.1") as batam:
        assert login(batam, "admin.batam").status_code == 303
        fields = form_fields(batam, "/admin/2171/profil")
        assert batam.post(f"/admin/{SABANG}/buka", data=fields, follow_redirects=False).status_code == 404
        assert batam.post("/admin/1171/buka", data=fields, follow_redirects=False).status_code == 404
    assert one(db, "SELECT digital_aktif FROM mpp WHERE wilayah_kode = '1171'") == 0
    assert one(db, "SELECT digital_aktif FROM mpp WHERE wilayah_kode = ?", [SABANG]) == 0
    assert one(db, "SELECT count(*) FROM audit WHERE aksi = 'buka_layanan_digital'") == 0


def test_the_pages_fit_a_2g_budget(app, ministry):
    for url in ("/pemantauan/daerah-baru", f"/pemantauan/daerah-baru/{SABANG}"):
        gz, br = compressed_size(ministry, url)
        assert gz <= BUDGET and br <= BUDGET, (url, gz, br)
    assert onboard(ministry).status_code == 303
    with TestClient(app, base_url="http://127.0.0.1") as manager:
        assert login(manager, "admin.sabang", PASSWORD).status_code == 303
        gz, br = compressed_size(manager, f"/admin/{SABANG}/buka")
        assert gz <= BUDGET and br <= BUDGET


# ------------------------------------------------------------------ regions in use before onboarding (migration 021)

def rerun_migration_021(db) -> list[str]:
    """Migration 021 as it runs on a database deployed before it: forgotten, then applied again."""
    db.execute("DELETE FROM _sqlite_migrations WHERE name = '021_daerah_yang_sudah_jalan'")
    db.conn.commit()
    return migrate(db)


def test_regions_in_use_before_onboarding_stay_live_and_onboarded_ones_stay_closed(app, ministry, db):
    # Batam's profile saved from the console (as before onboarding existed: the row gets digital_aktif = 0)
    db.execute("DELETE FROM mpp WHERE wilayah_kode = '2171'")
    db.conn.commit()
    with TestClient(app, base_url="http://127.0.0.1") as batam:
        assert login(batam, "admin.batam").status_code == 303
        url = "/admin/2171/profil"
        r = batam.post(url, data={**form_fields(batam, url, url), "nama": "Mal Pelayanan Publik Kota Batam",
                                  "alamat": "Jl. Engku Putri, Batam Centre", "jam_layanan": "Senin–Jumat 08.00–16.00",
                                  "peta_url": ""}, follow_redirects=False)
        assert r.status_code == 303
    assert one(db, "SELECT digital_aktif FROM mpp WHERE wilayah_kode = '2171'") == 0  # dark: what 021 repairs
    # Banda Aceh: no service enabled any more, but a ticket was taken there; Bukittinggi: nothing at all
    db.execute("UPDATE mpp SET digital_aktif = 0 WHERE wilayah_kode IN ('1171', '1375')")
    db.execute("UPDATE layanan_wilayah SET aktif = 0 WHERE wilayah_kode IN ('1171', '1375')")
    gerai = one(db, "SELECT id FROM gerai WHERE wilayah_kode = '1171' LIMIT 1")
    db.execute("INSERT INTO tiket (wilayah_kode, gerai_id, tanggal, jam, jenis, nomor, kode) "
               "VALUES ('1171', ?, '2026-01-05', '08:00', 'langsung', 1, '01-001')", [gerai])
    db.conn.commit()
    assert onboard(ministry).status_code == 303  # Sabang onboarded before 021 ran: its manager has not opened it
    before = {r[0]: r[1] for r in db.execute("SELECT wilayah_kode, digital_aktif FROM mpp")}
    tables = {t: one(db, f"SELECT count(*) FROM {t}") for t in ("mpp", "instansi", "gerai", "layanan_wilayah", "akun")}

    assert rerun_migration_021(db) == ["021_daerah_yang_sudah_jalan"]

    after = {r[0]: r[1] for r in db.execute("SELECT wilayah_kode, digital_aktif FROM mpp")}
    assert {k for k in after if after[k] != before[k]} == {"2171", "1171"}  # nothing else changed
    assert after["2171"] == after["1171"] == 1 and after["1375"] == after[SABANG] == 0
    assert tables == {t: one(db, f"SELECT count(*) FROM {t}") for t in tables}  # and nothing created
    with TestClient(app, base_url="http://127.0.0.1") as citizen:
        assert "Kartu Keluarga" in text_of(citizen.get("/layanan?wilayah=2171"))
        assert "Kota Batam" in text_of(citizen.get("/layanan/kartu-keluarga"))
        assert login(citizen, "2171031508900001").status_code == 303
        assert citizen.get("/mpp/2171/antrean").status_code == 200
        assert start_draft(citizen, "kartu-keluarga").status_code == 303
        assert citizen.get(f"/mpp/{SABANG}/antrean").status_code == 404

    # a region onboarded after the migration stays closed until its manager opens it
    kode = one(db, "SELECT wilayah_kode FROM mpp_nasional WHERE status = 'berdiri' AND wilayah_kode NOT IN "
                   "(SELECT wilayah_kode FROM mpp) AND wilayah_kode <> ? ORDER BY wilayah_kode LIMIT 1", [SABANG])
    assert onboard(ministry, kode=kode, username="admin.baru").status_code == 303
    assert one(db, "SELECT digital_aktif FROM mpp WHERE wilayah_kode = ?", [kode]) == 0
    assert "Kartu Keluarga" not in text_of(ministry.get(f"/layanan?wilayah={kode}"))
    assert offering(db, "kartu-keluarga", kode) is None


# ------------------------------------------------------------------ the catalogue: national, live regions' own

def own_service(db, kode: str, nama: str, template: str = "sip-dokter") -> dict:
    """A region's own service as the designer publishes it (services/rancang.publish): the row, its version 1,
    offered in the region by its agency, in the search index."""
    d = definisi.of_row(db.execute("SELECT * FROM layanan WHERE slug = ?", [template]).fetchone())
    d.update(nama=nama, singkatan="", kelompok="daerah", kata_kunci=[])
    agency = one(db, "SELECT id FROM instansi WHERE wilayah_kode = ? AND jenis_kode = ?", [kode, d["instansi"]])
    slug = f"{kode}-" + "-".join(nama.lower().split())
    with write(db):
        layanan_id = definisi.insert_service(db, slug, kode, d)
        definisi.record_version(db, layanan_id, d, "2026-01-05T01:00:00Z", None)
        definisi.offer_in_region(db, kode, layanan_id, agency)
        definisi.index_for_search(db, layanan_id)
    return {"id": layanan_id, "slug": slug, "nama": nama}


def test_the_catalogue_keeps_every_national_service_and_says_when_regional_ones_do_not_fit(app, ministry, db):
    national = [r[0] for r in db.execute("SELECT nama FROM layanan WHERE wilayah_pemilik IS NULL AND pensiun IS NULL")]
    nakes = [r[0] for r in db.execute("SELECT nama FROM layanan WHERE kelompok = 'nakes' AND pensiun IS NULL")]
    assert onboard(ministry).status_code == 303
    hidden = own_service(db, SABANG, "Izin Usaha Pulau Weh")  # published in Sabang, not opened yet
    batam = [own_service(db, "2171", f"Izin Daerah Batam {n:02d}") for n in range(1, 71)]
    aceh = own_service(db, "1171", "Izin Keramaian Banda Aceh")
    total = len(national) + len(batam) + 1
    assert total > PAGE_LIMIT  # the page cannot hold them all

    with TestClient(app, base_url="http://127.0.0.1") as citizen:
        page = citizen.get("/layanan")
        words = text_of(page)
        assert all(n in words for n in national), [n for n in national if n not in words]  # nakes too
        assert f"Ditampilkan {PAGE_LIMIT} dari {total} layanan" in words  # never cut silently
        choice = soup(page).select_one("select#pilih-wilayah[name=wilayah]")
        assert choice is not None and choice.find("option", value="2171") is not None
        assert choice.find("option", value=SABANG) is None
        assert hidden["nama"] not in words and hidden["slug"] not in page.text
        results = citizen.get("/fragmen/layanan")  # the search-as-you-type list says it too
        assert results.text.count("<li>") == PAGE_LIMIT and "Ditampilkan" in text_of(results)

        # a region: everything it offers, its own services included, never cut
        region = citizen.get("/layanan?wilayah=2171")
        words = text_of(region)
        assert all(s["nama"] in words for s in batam) and "Kartu Keluarga" in words and "Ditampilkan" not in words
        assert aceh["nama"] not in words and hidden["nama"] not in words
        assert hidden["nama"] not in text_of(citizen.get(f"/layanan?wilayah={SABANG}"))
        # searching finds a live region's own service, never one of a region not opened
        assert batam[0]["nama"] in text_of(citizen.get("/layanan?q=batam+01"))
        assert hidden["nama"] not in text_of(citizen.get("/layanan?q=pulau+weh"))

        # the complaint form lists every national service and the live regions' own, not the closed region's
        form = soup(citizen.get("/pengaduan"))
        options = {o.get_text() for o in form.select("select#layanan option")}
        assert set(nakes) <= options and {s["nama"] for s in batam} <= options
        assert aceh["nama"] in options and hidden["nama"] not in options


def test_a_region_lists_and_offers_only_its_own_published_services_and_the_national_ones_it_enabled(app, db):
    own = own_service(db, "2171", "Izin Reklame Batam")
    retired = own_service(db, "2171", "Izin Lama Batam")
    other = own_service(db, "1171", "Izin Keramaian Banda Aceh")
    agency = one(db, "SELECT id FROM instansi WHERE wilayah_kode = '2171' AND jenis_kode = 'dpmptsp'")
    with write(db):
        db.execute("UPDATE layanan SET pensiun = '2026-01-06T01:00:00Z' WHERE id = ?", [retired["id"]])
        # rows no screen writes: a retired service still enabled, another region's service enabled in Batam
        db.execute("UPDATE layanan_wilayah SET aktif = 1 WHERE layanan_id = ?", [retired["id"]])
        definisi.offer_in_region(db, "2171", other["id"], agency)
    with TestClient(app, base_url="http://127.0.0.1") as citizen:
        words = text_of(citizen.get("/layanan?wilayah=2171"))
        assert own["nama"] in words and "Kartu Keluarga" in words
        assert retired["nama"] not in words and other["nama"] not in words
        assert other["nama"] in text_of(citizen.get("/layanan?wilayah=1171"))
        assert "Kota Batam" not in text_of(citizen.get(f"/layanan/{other['slug']}"))
    assert offering(db, own["slug"], "2171") is not None and offering(db, "kartu-keluarga", "2171") is not None
    assert offering(db, retired["slug"], "2171") is None  # the second line: no application on it either
    assert offering(db, other["slug"], "2171") is None and offering(db, other["slug"], "1171") is not None
