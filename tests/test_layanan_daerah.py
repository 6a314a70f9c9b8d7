"""A region publishes a service of its own: designed by its region admin with plain forms, previewed as a
citizen will see it, published as a version; citizens find it and apply, officers issue its document; a later
version never changes an application already started; another region cannot touch it."""

from __future__ import annotations

import re

import pytest
from starlette.testclient import TestClient

from services.passwords import hash_password
from tests.helpers import form_fields, login, soup, text_of
from tests.test_permohonan import act, citizen, fill, officer_client, start, submit  # noqa: F401  (citizen: fixture)

BASE = "/admin/2171/layanan-daerah"
FIELDS = [  # five answers and a file
    {"kolom_label": "Nama usaha", "kolom_jenis": "teks", "kolom_wajib": "1", "kolom_maks": "80"},
    {"kolom_label": "Alamat pemasangan", "kolom_jenis": "teks_panjang", "kolom_wajib": "1"},
    {"kolom_label": "Tanggal pemasangan", "kolom_jenis": "tanggal", "kolom_wajib": "1"},
    {"kolom_label": "Jenis reklame", "kolom_jenis": "pilihan", "kolom_wajib": "1",
     "kolom_opsi": "Baliho\nSpanduk\nPapan nama"},
    {"kolom_label": "Luas reklame (m2)", "kolom_jenis": "angka", "kolom_wajib": "1",
     "kolom_petunjuk": "Dibulatkan ke meter persegi"},
    {"kolom_label": "Foto lokasi", "kolom_jenis": "berkas", "kolom_wajib": "1"},
]
GENERAL = {
    "nama": "Izin Reklame", "ringkasan": "Izin memasang reklame (baliho, spanduk, papan nama) di Kota Batam.",
    "persyaratan": "KTP-el pemohon\nFoto lokasi pemasangan", "prosedur": "Isi formulir\nPetugas memeriksa\nIzin terbit",
    "dasar_hukum": "Perda Kota Batam tentang Penyelenggaraan Reklame", "produk": "Surat Izin Reklame (PDF)",
    "jangka_waktu_hari": "3", "biaya": "0", "biaya_keterangan": "Gratis", "kata_kunci": "reklame, baliho, spanduk",
    "alur": "ringkas", "tingkat_ajukan": "terdaftar", "tingkat_terbit": "terdaftar", "terbitkan_dokumen": "1",
    "dokumen_judul": "Surat Izin Reklame", "dokumen_kolom": ["nama_usaha", "jenis_reklame"],
}


@pytest.fixture
def admin(app):
    with TestClient(app, base_url="http://127.0.0.1") as c:
        assert login(c, "admin.batam").status_code == 303
        yield c


def dpmptsp(db) -> int:
    return db.execute("SELECT id FROM instansi WHERE wilayah_kode = '2171' AND jenis_kode = 'dpmptsp'").fetchone()[0]


def post(client, page: str, action: str, data: dict):
    fields = form_fields(client, page, action)
    return client.post(action, data={**fields, **data}, follow_redirects=False)


def design(admin, db, general: dict | None = None) -> int:
    r = post(admin, BASE, BASE, {"nama": "Izin Reklame", "instansi_id": str(dpmptsp(db))})
    assert r.status_code == 303, text_of(r)[:400]
    rid = int(re.search(r"/layanan-daerah/(\d+)$", r.headers["location"]).group(1))
    page = f"{BASE}/{rid}"
    for f in FIELDS:
        r = post(admin, page, f"{page}/kolom", {**f, "aksi": "tambah"})
        assert r.status_code == 303, text_of(admin.get(page))[:400]
    r = post(admin, page, page, {**GENERAL, "instansi_id": str(dpmptsp(db)), **(general or {})})
    assert r.status_code == 303, text_of(r)[:600]
    return rid


def publish(admin, rid: int):
    page = f"{BASE}/{rid}"
    return post(admin, page, f"{page}/terbitkan", {})


def slug_of(db, rid: int) -> str:
    return db.execute("SELECT l.slug FROM layanan_rancangan r JOIN layanan l ON l.id = r.layanan_id WHERE r.id = ?",
                      [rid]).fetchone()[0]


def test_a_region_publishes_its_own_service_a_citizen_applies_and_an_officer_issues_it(app, admin, citizen, db):
    rid = design(admin, db)
    # not published yet: citizens do not find it
    assert "Izin Reklame" not in text_of(citizen.get("/layanan?q=reklame&wilayah=2171"))

    preview = admin.get(f"{BASE}/{rid}/pratinjau")
    assert preview.status_code == 200 and "Pratinjau" in text_of(preview)
    assert "Izin Reklame" in soup(preview).h1.get_text() and "Luas reklame (m2)" in text_of(preview)
    form = soup(admin.get(f"{BASE}/{rid}/pratinjau?bagian=formulir"))
    assert form.find("input", attrs={"name": "nama_usaha", "maxlength": "80"}) is not None
    assert [o.get_text() for o in form.select("select#jenis_reklame option")][1:] == ["Baliho", "Spanduk", "Papan nama"]
    assert form.find("input", attrs={"type": "file", "name": "foto_lokasi"}) is not None

    sent = form_fields(admin, f"{BASE}/{rid}", f"{BASE}/{rid}/terbitkan")
    r = admin.post(f"{BASE}/{rid}/terbitkan", data=sent, follow_redirects=False)
    assert r.status_code == 303
    assert "Versi 1 terbit" in text_of(admin.get(r.headers["location"]))
    again = admin.post(f"{BASE}/{rid}/terbitkan", data=sent)  # the same form sent twice: published once
    assert "Versi 2" not in text_of(again) and "sudah terbit" in text_of(again)
    assert db.execute("SELECT count(*) FROM layanan_versi v JOIN layanan_rancangan r ON r.layanan_id = v.layanan_id "
                      "WHERE r.id = ?", [rid]).fetchone()[0] == 1

    found = citizen.get("/layanan?q=reklame&wilayah=2171")
    slug = slug_of(db, rid)
    assert f"/layanan/{slug}" in found.text and "DPMPTSP" in text_of(found)
    pid = start(citizen, slug)
    fill(citizen, db, pid, slug, {"nama_usaha": "Toko Maju", "jenis_reklame": "Spanduk", "luas_reklame_m2": "6"})
    _, sent = submit(citizen, pid)
    assert sent.status_code == 303, text_of(sent)[:600]

    officer = officer_client(app, "dpmptsp.batam")
    try:
        assert f"/petugas/permohonan/{pid}" in officer.get("/petugas").text
        case = text_of(officer.get(f"/petugas/permohonan/{pid}"))
        assert "Setujui" not in case.replace("setujui", "")  # a short flow: verification approves at once
        assert act(officer, pid, "verifikasi").status_code == 303
        assert db.execute("SELECT status FROM permohonan WHERE id = ?", [pid]).fetchone()[0] == "disetujui"
        assert act(officer, pid, "terbitkan").status_code == 303
    finally:
        officer.__exit__(None, None, None)
    doc = citizen.get(f"/permohonan/{pid}/dokumen")
    assert "Surat Izin Reklame" in soup(doc).h1.get_text()
    assert "Toko Maju" in text_of(doc) and "Spanduk" in text_of(doc)
    assert "Tanggal pemasangan" not in text_of(doc)  # the document template states only the answers chosen
    who = db.execute("SELECT akun_id FROM audit WHERE aksi = 'terbitkan_layanan'").fetchone()[0]
    assert who == db.execute("SELECT id FROM akun WHERE username = 'admin.batam'").fetchone()[0]


def test_a_new_version_leaves_a_started_draft_on_its_version(app, admin, citizen, db):
    rid = design(admin, db)
    assert publish(admin, rid).status_code == 303
    slug = slug_of(db, rid)
    pid = start(citizen, slug)

    page = f"{BASE}/{rid}"
    r = post(admin, page, f"{page}/kolom", {"kolom_label": "Nomor NPWP", "kolom_jenis": "angka", "kolom_wajib": "1",
                                             "aksi": "tambah"})
    assert r.status_code == 303
    # the citizen's draft does not change until the admin publishes, and not after either
    assert 'name="nomor_npwp"' not in citizen.get(f"/permohonan/{pid}/isi").text
    r = publish(admin, rid)
    assert r.status_code == 303 and "Versi 2 terbit" in text_of(admin.get(r.headers["location"]))
    assert 'name="nomor_npwp"' not in citizen.get(f"/permohonan/{pid}/isi").text
    fill(citizen, db, pid, slug)  # answers for every field of the current version; the draft keeps its own
    _, sent = submit(citizen, pid)
    assert sent.status_code == 303, text_of(sent)[:600]
    assert db.execute("SELECT layanan_versi FROM permohonan WHERE id = ?", [pid]).fetchone()[0] == 1

    with TestClient(app, base_url="http://127.0.0.1") as other:  # someone starting now gets version 2
        db.execute("INSERT INTO akun (peran, nik, nama, kata_sandi, wilayah_kode) VALUES ('warga', "
                   "'2171100402850002', 'Ahmad Fauzi', ?, '2171')", [hash_password("mpp-demo-2026")])
        db.conn.commit()
        login(other, "2171100402850002")
        new = start(other, slug)
        assert 'name="nomor_npwp"' in other.get(f"/permohonan/{new}/isi").text
    history = text_of(admin.get(page))
    assert "Riwayat versi" in history


def test_another_region_cannot_see_or_touch_a_regions_service(app, admin, db):
    rid = design(admin, db)
    aceh = db.execute("INSERT INTO akun (peran, username, nama, kata_sandi, wilayah_kode) VALUES ('admin_wilayah', "
                      "'admin.aceh', 'Pengelola MPP Banda Aceh', ?, '1171')",
                      [hash_password("mpp-demo-2026")]).lastrowid
    db.conn.commit()
    assert aceh
    with TestClient(app, base_url="http://127.0.0.1") as other:
        login(other, "admin.aceh")
        assert other.get(f"{BASE}/{rid}").status_code == 404
        assert other.get(f"/admin/1171/layanan-daerah/{rid}").status_code == 404
        assert other.get(f"/admin/1171/layanan-daerah/{rid}/pratinjau").status_code == 404
        fields = form_fields(other, "/admin/1171/layanan-daerah", "/admin/1171/layanan-daerah")
        for path in (f"/admin/1171/layanan-daerah/{rid}/terbitkan", f"/admin/1171/layanan-daerah/{rid}/kolom",
                     f"/admin/1171/layanan-daerah/{rid}", f"{BASE}/{rid}/terbitkan"):
            assert other.post(path, data={**fields, "aksi": "hapus", "kolom": "nama_usaha"}).status_code == 404, path
        # nor can it pick a Batam agency for a service of its own
        r = other.post("/admin/1171/layanan-daerah", data={**fields, "nama": "Curang", "instansi_id": str(dpmptsp(db))})
        assert r.status_code == 404
    assert db.execute("SELECT count(*) FROM layanan_versi v JOIN layanan_rancangan r ON r.layanan_id = v.layanan_id "
                      "WHERE r.id = ?", [rid]).fetchone()[0] == 0


def test_the_designer_refuses_what_cannot_be_published_and_moves_a_field_once(admin, db):
    r = post(admin, BASE, BASE, {"nama": "Surat Keterangan Usaha", "instansi_id": str(dpmptsp(db))})
    page = r.headers["location"]
    waiting = admin.get(page)  # what is missing is listed where the publish button will be
    assert "Tambahkan paling sedikit satu isian" in text_of(waiting)
    assert soup(waiting).find("form", action=f"{page}/terbitkan") is None
    fields = form_fields(admin, page, f"{page}/kolom")
    r = admin.post(f"{page}/terbitkan", data=fields, follow_redirects=False)  # sent anyway (an old page)
    assert r.status_code == 400 and "Tambahkan paling sedikit satu isian" in text_of(r)
    for label in ("Nama usaha", "Bidang usaha"):
        post(admin, page, f"{page}/kolom", {"kolom_label": label, "kolom_jenis": "teks", "aksi": "tambah"})
    dup = post(admin, page, f"{page}/kolom", {"kolom_label": "Nama usaha", "kolom_jenis": "teks", "aksi": "tambah"})
    assert dup.status_code == 400 and "Sudah ada isian dengan label ini" in text_of(dup)
    bad = post(admin, page, f"{page}/kolom", {"kolom_label": "Status", "kolom_jenis": "pilihan", "kolom_opsi": "Satu",
                                                "aksi": "tambah"})
    assert bad.status_code == 400 and "2 sampai 30 pilihan" in text_of(bad)
    move = {"aksi": "naik", "kolom": "bidang_usaha", "dari": "1"}
    post(admin, page, f"{page}/kolom", move)
    post(admin, page, f"{page}/kolom", move)  # sent twice (a retry on a bad line): moved once
    labels = [li.strong.get_text() for li in soup(admin.get(page)).select("ol.kolom > li")]
    assert labels == ["Bidang usaha", "Nama usaha"]
    fee = post(admin, page, page, {**GENERAL, "nama": "Surat Keterangan Usaha", "biaya": "50000",
                                    "biaya_keterangan": "", "instansi_id": str(dpmptsp(db))})
    assert fee.status_code == 400 and "dasar hukum biaya" in text_of(fee)
    disduk = db.execute("SELECT id FROM instansi WHERE wilayah_kode = '2171' "
                        "AND jenis_kode = 'disdukcapil'").fetchone()[0]
    paid = post(admin, page, page, {**GENERAL, "biaya": "10000", "biaya_keterangan": "Perda",
                                     "instansi_id": str(disduk)})
    assert paid.status_code == 400 and "wajib gratis" in text_of(paid)


def test_a_retired_service_leaves_the_catalogue_and_keeps_its_cases(app, admin, citizen, db):
    rid = design(admin, db)
    publish(admin, rid)
    slug = slug_of(db, rid)
    pid = start(citizen, slug)
    page = f"{BASE}/{rid}"
    unsure = post(admin, page, f"{page}/hentikan", {})
    assert unsure.status_code == 400 and "konfirmasi" in text_of(unsure)
    assert post(admin, page, f"{page}/hentikan", {"yakin": "1"}).status_code == 303
    assert f"/layanan/{slug}" not in citizen.get("/layanan?q=reklame").text
    assert citizen.get(f"/permohonan/baru?layanan={slug}&wilayah=2171", follow_redirects=False).status_code == 404
    assert citizen.get(f"/permohonan/{pid}/isi").status_code == 200  # the draft already started is still there
    assert "dihentikan" in text_of(admin.get(page))


def test_the_designer_pages_fit_the_budget_with_a_40_field_form(admin, db):
    from tests.test_public_pages import BUDGET, compressed_size
    r = post(admin, BASE, BASE, {"nama": "Izin Besar", "instansi_id": str(dpmptsp(db))})
    page = r.headers["location"]
    kinds = ["teks", "teks_panjang", "tanggal", "angka", "nik", "berkas"]
    for n in range(40):
        post(admin, page, f"{page}/kolom", {"kolom_label": f"Pertanyaan nomor {n + 1} tentang usaha Anda",
                                            "kolom_jenis": kinds[n % len(kinds)], "kolom_wajib": "1", "aksi": "tambah"})
    assert len(soup(admin.get(page)).select("ol.kolom > li")) == 40
    for url in (BASE, page, f"{page}/pratinjau", f"{page}/pratinjau?bagian=formulir"):
        gz, br = compressed_size(admin, url)
        assert max(gz, br) <= BUDGET, f"{url}: {gz} gzip, {br} brotli"


def test_a_changed_national_template_is_a_new_version_and_started_drafts_keep_theirs(citizen, db):
    import json

    from db import definisi
    pid = start(citizen, "kia")
    assert db.execute("SELECT layanan_versi FROM permohonan WHERE id = ?", [pid]).fetchone()[0] == 1
    row = db.execute("SELECT id, formulir FROM layanan WHERE slug = 'kia'").fetchone()
    changed = json.loads(row[1]) + [{"nama": "golongan_darah", "label": "Golongan darah", "jenis": "pilihan",
                                     "wajib": True, "opsi": ["A", "B", "AB", "O"]}]
    db.execute("UPDATE layanan SET formulir = ? WHERE id = ?", [json.dumps(changed), row[0]])  # as a new file would
    assert definisi.record_catalogue_versions(db, "2026-12-02T01:00:00Z") == 1
    assert definisi.record_catalogue_versions(db, "2026-12-02T01:00:01Z") == 0  # unchanged: no new version
    db.conn.commit()
    assert 'name="golongan_darah"' not in citizen.get(f"/permohonan/{pid}/isi").text
    db.execute("DELETE FROM permohonan WHERE id = ?", [pid])
    db.conn.commit()
    assert 'name="golongan_darah"' in citizen.get(f"/permohonan/{start(citizen, 'kia')}/isi").text


def test_a_designed_field_can_be_filled_from_the_registry_and_is_not_typed(admin, citizen, db):  # noqa: F811
    rid = design(admin, db)
    page = f"{BASE}/{rid}"
    wrong = post(admin, page, f"{page}/kolom", {"kolom_label": "Tanggal lahir pemohon", "kolom_jenis": "teks",
                                                 "kolom_dukcapil": "tanggal_lahir", "aksi": "tambah"})
    assert wrong.status_code == 400 and "hanya untuk isian berjenis tanggal" in text_of(wrong)
    r = post(admin, page, f"{page}/kolom", {"kolom_label": "Alamat pemohon", "kolom_jenis": "teks_panjang",
                                             "kolom_wajib": "1", "kolom_dukcapil": "alamat", "aksi": "tambah"})
    assert r.status_code == 303
    assert publish(admin, rid).status_code == 303
    pid = start(citizen, slug_of(db, rid))
    form = citizen.get(f"/permohonan/{pid}/isi")
    assert soup(form).find(attrs={"name": "alamat_pemohon"}) is None and "dari data Dukcapil" in text_of(form)


def test_an_upgraded_database_keeps_each_services_old_definition_as_version_1(tmp_path):
    """A database from before versions: its services' definitions are kept as version 1 before the catalogue
    files are loaded again, so an application started then stays on what the citizen was filling in."""
    import json

    from db import definisi
    from db import permohonan as pq
    from db.connection import connect
    from db.migrations import migrate, migrations
    from db.reference import load_catalogue, load_regions

    db = connect(tmp_path / "lama.db")
    with db.conn:
        migrations.apply(db, stop_before="016_layanan_sebagai_data")
    load_regions(db)
    old_form = [{"nama": "alasan", "label": "Alasan (formulir lama)", "jenis": "teks", "wajib": True}]
    db.execute("INSERT INTO jenis_instansi (kode, nama, singkatan, keterangan, layanan_gerai) VALUES "
               "('disdukcapil', 'Dinas Kependudukan dan Pencatatan Sipil', 'Disdukcapil', '', '[]')")
    lid = db.execute("INSERT INTO layanan (slug, nama, kelompok, instansi, ringkasan, jangka_waktu_hari, biaya, "
                     "biaya_keterangan, produk, terbitkan_dokumen, persyaratan, prosedur, dasar_hukum, pengaduan, "
                     "kata_kunci, formulir) VALUES ('kia', 'KIA lama', 'adminduk', 'disdukcapil', 'r', 1, 0, 'Gratis', "
                     "'KIA', 1, '[]', '[]', '[]', 'p', '[]', ?)", [json.dumps(old_form)]).lastrowid
    db.execute("INSERT INTO akun (peran, nik, nama, kata_sandi) VALUES ('warga', '2171031508900001', 'Budi', 'x')")
    db.execute("INSERT INTO instansi (wilayah_kode, jenis_kode, nama) VALUES ('2171', 'disdukcapil', 'Disdukcapil')")
    pid = db.execute("INSERT INTO permohonan (akun_id, layanan_id, wilayah_kode, instansi_id) VALUES (1, ?, '2171', 1)",
                     [lid]).lastrowid
    db.conn.commit()

    migrate(db)
    load_catalogue(db, "2026-12-02T02:00:00Z")  # the files of today: kia's definition differs
    assert [v["versi"] for v in definisi.versions(db, lid)] == [2, 1]
    assert pq.get(db, pid)["formulir"] == old_form and pq.get(db, pid)["layanan_nama"] == "KIA lama"
    assert db.execute("SELECT nama FROM layanan WHERE id = ?", [lid]).fetchone()[0] != "KIA lama"


def test_a_service_without_a_document_is_closed_by_the_signer_and_its_agency_can_change(app, admin, citizen, db):
    rid = design(admin, db, {"terbitkan_dokumen": ""})
    assert publish(admin, rid).status_code == 303
    slug = slug_of(db, rid)
    pid = start(citizen, slug)
    fill(citizen, db, pid, slug)
    assert submit(citizen, pid)[1].status_code == 303
    officer = officer_client(app, "dpmptsp.batam")
    try:
        assert act(officer, pid, "verifikasi").status_code == 303
        assert "Selesaikan permohonan" in text_of(officer.get(f"/petugas/permohonan/{pid}"))
        assert act(officer, pid, "terbitkan").status_code == 303
    finally:
        officer.__exit__(None, None, None)
    assert db.execute("SELECT status FROM permohonan WHERE id = ?", [pid]).fetchone()[0] == "selesai"
    assert db.execute("SELECT count(*) FROM dokumen WHERE permohonan_id = ?", [pid]).fetchone()[0] == 0

    page = f"{BASE}/{rid}"
    other = db.execute("SELECT id FROM instansi WHERE wilayah_kode = '2171' AND jenis_kode = 'dpmptsp'").fetchone()[0]
    disduk = db.execute("SELECT id FROM instansi WHERE wilayah_kode = '2171' "
                        "AND jenis_kode = 'disdukcapil'").fetchone()[0]
    assert other != disduk
    r = post(admin, page, page, {**GENERAL, "terbitkan_dokumen": "", "instansi_id": str(disduk)})
    assert r.status_code == 303
    assert publish(admin, rid).status_code == 303  # an agency change is a change: version 2
    row = db.execute("SELECT l.instansi, l.versi, lw.instansi_id FROM layanan l JOIN layanan_wilayah lw "
                     "ON lw.layanan_id = l.id WHERE l.slug = ?", [slug]).fetchone()
    assert tuple(row) == ("disdukcapil", 2, disduk)
