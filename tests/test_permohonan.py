"""Applications end to end: a citizen applies, officers decide, a signed document comes back."""

from __future__ import annotations

import datetime as dt
import json
import re
import sqlite3

import pytest
from starlette.testclient import TestClient

from db import audit
from services import permohonan as svc
from services import ttd
from tests.helpers import answers_for, form_fields, jpeg, login, soup, start_draft, text_of

BUDI = "2171031508900001"      # demo citizen, a nurse with an STR
NUR_AINI = "2171046904950001"  # a midwife who already practises in three places


@pytest.fixture
def citizen(client, db):
    """Budi, logged in, with a recent face check (step-up has its own tests)."""
    db.execute("UPDATE akun SET wajah_terakhir = strftime('%Y-%m-%dT%H:%M:%SZ', 'now'), telepon = '081200001111' "
               "WHERE nik = ?", [BUDI])
    db.conn.commit()
    login(client, BUDI)
    return client


def formulir(db, slug: str) -> list[dict]:
    return json.loads(db.execute("SELECT formulir FROM layanan WHERE slug = ?", [slug]).fetchone()[0])


def start(client, slug: str, wilayah: str = "2171") -> int:
    r = start_draft(client, slug, wilayah)
    assert r.status_code == 303, r.text[:300]
    return int(re.search(r"/permohonan/(\d+)/isi", r.headers["location"]).group(1))


def fill(client, db, pid: int, slug: str, overrides: dict | None = None, files: bool = True):
    fields = form_fields(client, f"/permohonan/{pid}/isi", f"/permohonan/{pid}/simpan")
    r = client.post(f"/permohonan/{pid}/simpan", data={**fields, **answers_for(formulir(db, slug), overrides),
                                                        "aksi": "simpan"}, follow_redirects=False)
    assert r.status_code == 303, text_of(r)[:500]
    if files:
        for f in formulir(db, slug):
            if f["jenis"] == "berkas" and f["wajib"]:
                upload(client, pid, f["nama"])


def upload(client, pid: int, kolom: str, data: bytes | None = None, name: str = "scan.jpg"):
    fields = form_fields(client, f"/permohonan/{pid}/isi", f"/permohonan/{pid}/simpan")  # the page is one form
    return client.post(f"/permohonan/{pid}/berkas/{kolom}", data=fields,
                       files={"berkas": (name, data if data is not None else jpeg(), "image/jpeg")},
                       follow_redirects=False)


def submit(client, pid: int):
    page = soup(client.get(f"/permohonan/{pid}/periksa"))
    summary = page.find(class_="error-summary")
    if summary is not None and not page.find("form", action=f"/permohonan/{pid}/ajukan"):
        fields = form_fields(client, f"/permohonan/{pid}/isi", f"/permohonan/{pid}/simpan")  # submit anyway
        return fields, client.post(f"/permohonan/{pid}/ajukan", data=fields, follow_redirects=False)
    fields = form_fields(client, f"/permohonan/{pid}/periksa", f"/permohonan/{pid}/ajukan")
    return fields, client.post(f"/permohonan/{pid}/ajukan", data=fields, follow_redirects=False)


def act(officer, pid: int, aksi: str, **extra):
    fields = form_fields(officer, f"/petugas/permohonan/{pid}", f"/petugas/permohonan/{pid}/tindakan")
    return officer.post(f"/petugas/permohonan/{pid}/tindakan", data={**fields, "aksi": aksi, **extra},
                        follow_redirects=False)


def officer_client(app, username: str) -> TestClient:
    c = TestClient(app, base_url="http://127.0.0.1")
    c.__enter__()
    login(c, username)
    return c


def decide_and_issue(app, pid: int, username: str):
    officer = officer_client(app, username)
    try:
        assert f"/petugas/permohonan/{pid}" in officer.get("/petugas").text
        for aksi in ("verifikasi", "setujui", "terbitkan"):
            r = act(officer, pid, aksi)
            assert r.status_code == 303, text_of(officer.get(f"/petugas/permohonan/{pid}"))[:400]
    finally:
        officer.__exit__(None, None, None)


def test_akta_kelahiran_from_draft_to_signed_document(app, citizen, db):
    pid = start(citizen, "akta-kelahiran")
    fill(citizen, db, pid, "akta-kelahiran")
    page = citizen.get(f"/permohonan/{pid}/periksa")
    assert "Ajukan permohonan" in text_of(page) and "Contoh isian" in text_of(page)
    _, r = submit(citizen, pid)
    assert r.headers.get("location") == f"/permohonan/{pid}", text_of(r)[:800]
    receipt = text_of(citizen.get(f"/permohonan/{pid}"))
    nomor = db.execute("SELECT nomor FROM permohonan WHERE id = ?", [pid]).fetchone()[0]
    assert nomor.startswith("2171-") and nomor in receipt and "Batas waktu" in receipt

    decide_and_issue(app, pid, "dukcapil.batam")
    page = citizen.get(f"/permohonan/{pid}")
    assert "Selesai" in text_of(page) and "Lihat dokumen" in text_of(page)
    opened = soup(page).find("h2", string="Siapa yang membuka permohonan Anda").find_next("ul").get_text()
    assert "Rina Wulandari" in opened and "buka" in opened
    doc = citizen.get(f"/permohonan/{pid}/dokumen")
    assert "<svg" in doc.text and "Kelahiran" in soup(doc).h1.get_text()
    pdf = citizen.get(f"/permohonan/{pid}/dokumen.pdf")
    assert pdf.content.startswith(b"%PDF") and pdf.headers["content-type"] == "application/pdf"
    url = soup(doc).select_one(".small a")["href"]
    check = citizen.get(url.replace("http://127.0.0.1", ""))
    assert check.status_code == 200 and "Dokumen sah" in text_of(check)
    # notifications went to the outbox
    assert db.execute("SELECT count(*) FROM notifikasi WHERE tujuan = '081200001111'").fetchone()[0] >= 4


def test_sip_perawat_checks_the_str_and_adds_the_practice_place(app, citizen, db):
    pid = start(citizen, "sip-perawat")
    fill(citizen, db, pid, "sip-perawat", {"nomor_str": "0000000000000000"})
    assert "tidak ditemukan di SISDMK" in text_of(citizen.get(f"/permohonan/{pid}/periksa"))
    fill(citizen, db, pid, "sip-perawat", {"nomor_str": "3100000123456789", "nama_fasyankes": "Klinik Sehat Batam"},
         files=False)
    _, r = submit(citizen, pid)
    assert r.status_code == 303
    decide_and_issue(app, pid, "dpmptsp.batam")
    places = [r[0] for r in db.execute("SELECT nama_fasyankes FROM tempat_praktik "
                                       "WHERE nomor_str = '3100000123456789'")]
    assert "Klinik Sehat Batam" in places and len(places) == 2


def test_a_fourth_practice_place_is_refused(client, db):
    db.execute("UPDATE akun SET nik = ? WHERE nik = ?", [NUR_AINI, BUDI])  # Nur Aini logs in as the demo citizen
    db.execute("UPDATE akun SET wajah_terakhir = strftime('%Y-%m-%dT%H:%M:%SZ', 'now') WHERE nik = ?", [NUR_AINI])
    db.conn.commit()
    login(client, NUR_AINI)
    pid = start(client, "sip-bidan")
    fill(client, db, pid, "sip-bidan", {"nomor_str": "3200000198765432"})
    page = text_of(client.get(f"/permohonan/{pid}/periksa"))
    assert "3 tempat praktik" in page and "Ajukan permohonan" not in page
    _, r = submit(client, pid)
    assert r.status_code == 400
    assert db.execute("SELECT status FROM permohonan WHERE id = ?", [pid]).fetchone()[0] == "draf"


def test_a_retried_submit_never_makes_a_second_application(citizen, db):
    pid = start(citizen, "kartu-keluarga")
    fill(citizen, db, pid, "kartu-keluarga")
    fields, first = submit(citizen, pid)
    again = citizen.post(f"/permohonan/{pid}/ajukan", data=fields, follow_redirects=False)
    assert again.headers.get("x-idempotent-replay") == "1" and again.headers["location"] == first.headers["location"]
    fresh = form_fields(citizen, f"/permohonan/{pid}", "/keluar")  # a fresh token and key from another page
    citizen.post(f"/permohonan/{pid}/ajukan", data=fresh)
    assert db.execute("SELECT count(*) FROM permohonan WHERE status != 'draf'").fetchone()[0] == 1
    assert db.execute("SELECT count(*) FROM riwayat WHERE permohonan_id = ? AND status = 'diajukan'",
                      [pid]).fetchone()[0] == 1


def test_the_draft_survives_a_new_session(app, citizen, db):
    pid = start(citizen, "akta-kematian")
    fields = form_fields(citizen, f"/permohonan/{pid}/isi", f"/permohonan/{pid}/simpan")
    name = formulir(db, "akta-kematian")[0]["nama"]
    citizen.post(f"/permohonan/{pid}/simpan", data={**fields, name: "Almarhum Contoh"}, headers={"HX-Request": "true"})
    with TestClient(app, base_url="http://127.0.0.1") as phone:  # another device, a new session
        login(phone, BUDI)
        page = phone.get(f"/permohonan/{pid}/isi")
        assert soup(page).find("input", id=name)["value"] == "Almarhum Contoh"
        assert phone.get("/permohonan/baru?layanan=akta-kematian&wilayah=2171",
                         follow_redirects=False).headers["location"] == f"/permohonan/{pid}/isi"


def test_autosave_answers_with_a_small_fragment(citizen, db):
    pid = start(citizen, "kia")
    fields = form_fields(citizen, f"/permohonan/{pid}/isi", f"/permohonan/{pid}/simpan")
    r = citizen.post(f"/permohonan/{pid}/simpan", data={**fields, "x": "y"}, headers={"HX-Request": "true"})
    assert r.status_code == 200 and "Draf tersimpan" in r.text and "<html" not in r.text


def test_the_upload_script_is_told_where_to_go_instead_of_getting_a_page(citizen, db):
    """unggah.js cannot see a redirect, only the page it led to, which it would then load again:
    on a 2G line that is a whole form page for nothing. It gets an empty answer naming the page."""
    pid = start(citizen, "akta-kelahiran")
    fields = form_fields(citizen, f"/permohonan/{pid}/isi", f"/permohonan/{pid}/simpan")
    r = citizen.post(f"/permohonan/{pid}/berkas/berkas_surat_lahir", data=fields, headers={"X-Unggah": "1"},
                     files={"berkas": ("scan.jpg", jpeg(), "image/jpeg")}, follow_redirects=False)
    assert r.status_code == 204 and r.content == b""
    assert r.headers["x-lanjut"] == f"/permohonan/{pid}/isi?tersimpan=1#berkas-berkas_surat_lahir"
    assert db.execute("SELECT count(*) FROM berkas").fetchone()[0] == 1


def _unggah_button(page, kolom: str):
    """The no-JS 'Unggah' button of a document: it posts the whole form to its formaction."""
    return page.find("button", attrs={"formaction": re.compile(rf"/berkas/{kolom}$")})


def test_without_javascript_unggah_keeps_the_typed_answers(citizen, db):
    """A person without JavaScript types the form, chooses a scan and presses 'Unggah' (not 'Simpan draf'):
    the page comes back with the scan listed and every typed answer still there."""
    pid = start(citizen, "akta-kelahiran")
    page = soup(citizen.get(f"/permohonan/{pid}/isi"))
    form = page.find("form", id="form-isian")
    button = _unggah_button(form, "berkas_surat_lahir")
    assert button is not None and button.get("formenctype") == "multipart/form-data"  # inside the one form
    assert form.find("input", type="file", id="file-berkas_surat_lahir")["name"] == "berkas_surat_lahir"
    fields = {i["name"]: i.get("value", "") for i in form.find_all("input", type="hidden")}
    typed = answers_for(formulir(db, "akta-kelahiran"), {"nama_anak": "Putri Santoso"})
    empty_file = {"berkas_kk": ("", b"", "application/octet-stream")}  # another document left unchosen
    r = citizen.post(button["formaction"], data={**fields, **typed},
                     files={"berkas_surat_lahir": ("surat.jpg", jpeg(), "image/jpeg"), **empty_file})
    assert r.status_code == 200 and "Draf tersimpan" in text_of(r)
    back = soup(r)
    assert back.find("input", id="nama_anak")["value"] == "Putri Santoso"
    assert back.find("input", id="nik_ibu")["value"] == typed["nik_ibu"]
    assert "Terunggah: surat.jpg" in back.find(id="berkas-berkas_surat_lahir").get_text()
    assert db.execute("SELECT count(*) FROM berkas").fetchone()[0] == 1


def test_unggah_without_a_file_still_keeps_the_answers_and_says_what_to_do(citizen, db):
    pid = start(citizen, "akta-kelahiran")
    fields = form_fields(citizen, f"/permohonan/{pid}/isi", f"/permohonan/{pid}/simpan")
    r = citizen.post(f"/permohonan/{pid}/berkas/berkas_surat_lahir", data={**fields, "nama_anak": "Putri Santoso"},
                     files={"berkas_surat_lahir": ("", b"", "application/octet-stream")})
    assert r.status_code == 400
    page = soup(r)
    assert page.find("input", id="nama_anak")["value"] == "Putri Santoso"
    link = page.select_one(".error-summary a")
    assert "Pilih berkas" in link.get_text() and page.find(id=link["href"][1:]).name == "input"


def test_simpan_draf_without_javascript_also_keeps_a_chosen_file(citizen, db):
    pid = start(citizen, "akta-kelahiran")
    fields = form_fields(citizen, f"/permohonan/{pid}/isi", f"/permohonan/{pid}/simpan")
    r = citizen.post(f"/permohonan/{pid}/simpan", data={**fields, "nama_anak": "Putri", "aksi": "simpan"},
                     files={"berkas_surat_lahir": ("surat.jpg", jpeg(), "image/jpeg")}, follow_redirects=False)
    assert r.status_code == 303
    assert db.execute("SELECT count(*) FROM berkas").fetchone()[0] == 1


def test_autosave_is_promised_only_by_the_script_that_does_it(citizen, db):
    """Without JavaScript nothing is saved until a button is pressed: the page must not say otherwise."""
    pid = start(citizen, "akta-kelahiran")
    r = citizen.get(f"/permohonan/{pid}/isi")
    assert "disimpan otomatis" not in text_of(r)
    assert soup(r).find(id="status-simpan")["data-otomatis"].startswith("Isian disimpan otomatis")


def test_officers_of_another_agency_or_region_get_404(app, citizen, db):
    pid = start(citizen, "akta-kelahiran")
    fill(citizen, db, pid, "akta-kelahiran")
    submit(citizen, pid)
    other_agency = officer_client(app, "dpmptsp.batam")
    assert other_agency.get(f"/petugas/permohonan/{pid}").status_code == 404
    assert f"/petugas/permohonan/{pid}" not in other_agency.get("/petugas").text
    other_agency.__exit__(None, None, None)
    aceh = db.execute("SELECT id FROM instansi WHERE wilayah_kode = '1171' AND jenis_kode = 'disdukcapil'"
                      ).fetchone()[0]
    from services.passwords import hash_password
    db.execute("INSERT INTO akun (peran, username, nama, kata_sandi, wilayah_kode, instansi_id, jabatan) VALUES "
               "('petugas', 'dukcapil.aceh', 'Petugas Banda Aceh', ?, '1171', ?, "
               "'verifikator,validator,penandatangan')",
               [hash_password("mpp-demo-2026"), aceh])
    db.conn.commit()
    other_region = officer_client(app, "dukcapil.aceh")
    assert other_region.get(f"/petugas/permohonan/{pid}").status_code == 404
    assert other_region.get(f"/petugas/permohonan/{pid}/berkas/1").status_code == 404
    other_region.__exit__(None, None, None)
    # and another citizen cannot see it either
    citizen.post("/keluar", data=form_fields(citizen, "/akun", "/keluar"))
    assert citizen.get(f"/permohonan/{pid}", follow_redirects=False).status_code == 303


def test_revision_request_brings_the_citizen_back_to_the_field(app, citizen, db):
    pid = start(citizen, "akta-kelahiran")
    fill(citizen, db, pid, "akta-kelahiran")
    submit(citizen, pid)
    officer = officer_client(app, "dukcapil.batam")
    assert act(officer, pid, "perbaikan", alasan="").status_code == 400
    r = act(officer, pid, "perbaikan", alasan="Nama anak tidak sesuai surat keterangan lahir", kolom="nama_anak")
    assert r.status_code == 303
    officer.__exit__(None, None, None)
    page = citizen.get(f"/permohonan/{pid}/isi")
    field = soup(page).find(id="isian-nama_anak")
    assert "has-error" in field["class"] and "tidak sesuai surat keterangan lahir" in field.get_text()
    fill(citizen, db, pid, "akta-kelahiran", {"nama_anak": "Nama Yang Benar"}, files=False)
    submit(citizen, pid)
    assert db.execute("SELECT status FROM permohonan WHERE id = ?", [pid]).fetchone()[0] == "diajukan"


def test_a_refused_action_keeps_what_the_officer_typed_and_says_which_field(app, citizen, db):
    pid = start(citizen, "akta-kelahiran")
    fill(citizen, db, pid, "akta-kelahiran")
    submit(citizen, pid)
    officer = officer_client(app, "dukcapil.batam")
    try:
        r = act(officer, pid, "perbaikan", alasan="Nama anak tidak sesuai")  # no field ticked
        assert r.status_code == 400
        page = soup(r)
        assert page.find("input", id="alasan-perbaikan")["value"] == "Nama anak tidak sesuai"
        assert "Pilih isian" in page.find(id="kolom-perbaikan").get_text()
        assert page.select_one(".error-summary a")["href"] == "#kolom-perbaikan"
        r = act(officer, pid, "tolak", alasan="  ")
        page = soup(r)
        assert r.status_code == 400 and "Tuliskan alasannya" in page.find(id="alasan-tolak-galat").get_text()
        assert page.find("input", id="alasan-tolak")["aria-invalid"] == "true"
        assert page.find("input", id="alasan-perbaikan")["value"] == ""  # the other form is not filled in
        assert db.execute("SELECT status FROM permohonan WHERE id = ?", [pid]).fetchone()[0] == "diajukan"
        # the offered actions follow the one table: a verifikator-only officer sees no approve or refuse
        db.execute("UPDATE akun SET jabatan = 'verifikator' WHERE username = 'dukcapil.batam'")
        db.conn.commit()
        buttons = {b["value"] for b in soup(officer.get(f"/petugas/permohonan/{pid}")).find_all("button", attrs={
            "name": "aksi"})}
        assert buttons == {"verifikasi", "perbaikan"}
    finally:
        officer.__exit__(None, None, None)


def test_an_officer_without_the_duty_cannot_sign(app, citizen, db):
    pid = start(citizen, "kartu-keluarga")
    fill(citizen, db, pid, "kartu-keluarga")
    submit(citizen, pid)
    db.execute("UPDATE akun SET jabatan = 'verifikator' WHERE username = 'dukcapil.batam'")
    db.conn.commit()
    officer = officer_client(app, "dukcapil.batam")
    assert act(officer, pid, "verifikasi").status_code == 303
    r = act(officer, pid, "setujui")
    assert r.status_code == 400 and "bukan wewenang" in text_of(r)
    officer.__exit__(None, None, None)


def test_two_officers_pressing_at_once_move_the_case_on_once(app, citizen, db):
    """Both opened the case while it was 'diajukan' and press 'Berkas lengkap' in the same moment:
    the second is told someone else just acted, and the timeline has one entry, not two."""
    from db import permohonan as q
    from integrations.sisdmk import EmbeddedSisdmk

    pid = start(citizen, "kartu-keluarga")
    fill(citizen, db, pid, "kartu-keluarga")
    submit(citizen, pid)
    pel = svc.Pelayanan(db=db, registry=None, sisdmk=EmbeddedSisdmk(db), signing_key=app.state.signing_key)
    officer = dict(db.execute("SELECT * FROM akun WHERE username = 'dukcapil.batam'").fetchone())
    seen_by_both = q.get(db, pid)  # each officer's request loaded the case before either wrote
    svc.officer_action(pel, officer, seen_by_both, "verifikasi")
    with pytest.raises(svc.ActionRefused, match="baru saja diproses"):
        svc.officer_action(pel, officer, seen_by_both, "verifikasi")
    steps = db.execute("SELECT count(*) FROM riwayat WHERE permohonan_id = ? AND status = 'diverifikasi'",
                       [pid]).fetchone()[0]
    assert steps == 1


def test_audit_chain_detects_an_edited_row(app, citizen, db):
    pid = start(citizen, "kartu-keluarga")
    fill(citizen, db, pid, "kartu-keluarga")
    submit(citizen, pid)
    decide_and_issue(app, pid, "dukcapil.batam")
    assert audit.verify_chain(db) is None
    with pytest.raises(sqlite3.Error):
        db.execute("UPDATE audit SET aksi = 'lain' WHERE id = 2")  # the log refuses edits
    db.execute("DROP TRIGGER audit_tanpa_ubah")
    db.execute("UPDATE audit SET detail = '{}' WHERE id = 2")
    db.conn.commit()
    assert audit.verify_chain(db) == 2


def test_the_document_token_verifies_and_a_tampered_one_fails(app, client):
    key = app.state.signing_key
    lines = [["Nomor dokumen", "474/X/2171/2026/000001"], ["Nama pemohon", "Budi"]]
    token = ttd.sign_content(key, "474/X/2171/2026/000001", lines)
    assert ttd.verify_offline(key, token, lines)["no"] == "474/X/2171/2026/000001"
    payload, sig = token.split(".")
    tampered = payload[:-2] + ("A" if payload[-2] != "A" else "B") + payload[-1] + "." + sig
    assert ttd.verify_token(key, tampered) is None
    for bad in (tampered, "bukan-token", "a.b.c", "%00", "x" * 5000):
        r = client.get(f"/verifikasi/{bad}")
        assert r.status_code == 404 and "tidak valid" in text_of(r)
    assert "PUBLIC KEY" in client.get("/verifikasi/kunci-publik.pem").text


def test_sip_is_issued_automatically_after_5_working_days_with_a_holiday_between(app, client, db):
    db.execute("UPDATE akun SET wajah_terakhir = strftime('%Y-%m-%dT%H:%M:%SZ', 'now') WHERE nik = ?", [BUDI])
    db.conn.commit()
    login(client, BUDI)
    pid = start(client, "sip-perawat")
    fill(client, db, pid, "sip-perawat", {"nomor_str": "3100000123456789"})
    from integrations.dukcapil import EmbeddedDukcapil
    from integrations.sisdmk import EmbeddedSisdmk
    pel = svc.Pelayanan(db, EmbeddedDukcapil(db, app.state.faces.key), EmbeddedSisdmk(db), app.state.signing_key)
    akun = dict(db.execute("SELECT * FROM akun WHERE nik = ?", [BUDI]).fetchone())
    from db import permohonan as q
    monday = dt.datetime(2026, 12, 21, 2, 0, tzinfo=dt.UTC)  # 09:00 WIB
    assert svc.submit(pel, akun, q.get(db, pid), now=monday) == {}
    # 22, 23 Dec; 24 Dec cuti bersama, 25 Dec Natal, weekend; 28, 29, 30 Dec -> due 30 Dec
    assert q.get(db, pid)["tenggat"] == "2026-12-30"
    assert svc.deem_overdue_permits(pel, now=dt.datetime(2026, 12, 30, 9, 0, tzinfo=dt.UTC)) == []
    assert svc.deem_overdue_permits(pel, now=dt.datetime(2026, 12, 31, 1, 0, tzinfo=dt.UTC)) == [pid]
    p = q.get(db, pid)
    assert p["status"] == "selesai" and p["fiktif_positif"] == 1
    assert "fiktif positif" in q.timeline(db, pid)[-1]["catatan"]
    assert "fiktif positif" in text_of(client.get(f"/permohonan/{pid}"))
    # the document says so itself, signed: issued by the system on the day the deadline passed
    token = db.execute("SELECT token FROM dokumen WHERE permohonan_id = ?", [pid]).fetchone()[0]
    page = text_of(client.get(f"/verifikasi/{token}"))
    assert "Sistem MPP Digital" in page and "fiktif positif" in page and "31 Desember 2026" in page


@pytest.mark.parametrize("name, data, message", [
    ("kosong.jpg", b"", "Pilih berkas"),
    ("skrip.jpg", b"<svg onload=alert(1)></svg>", "tidak didukung"),
    ("terpotong.jpg", jpeg()[:5000], "tidak terkirim dengan lengkap"),
    ("palsu.pdf", b"%PDF-1.4 tanpa akhir", "tidak terkirim dengan lengkap"),
])
def test_bad_uploads_get_a_clear_message_and_store_nothing(citizen, db, name, data, message):
    pid = start(citizen, "akta-kelahiran")
    r = upload(citizen, pid, "berkas_surat_lahir", data, name)
    assert r.status_code == 400 and message in text_of(r)
    assert db.execute("SELECT count(*) FROM berkas").fetchone()[0] == 0


def test_stored_scans_are_shrunk_and_stripped(citizen, db):
    pid = start(citizen, "akta-kelahiran")
    assert upload(citizen, pid, "berkas_surat_lahir", jpeg(3000, 4000)).status_code == 303
    import io

    from PIL import Image
    bid = db.execute("SELECT id FROM berkas").fetchone()[0]
    blob = citizen.get(f"/permohonan/{pid}/berkas/{bid}").content  # kept in object storage, not in the row
    im = Image.open(io.BytesIO(blob))
    assert max(im.size) == 1600 and not im.getexif()


def test_submitting_a_document_service_asks_for_a_fresh_selfie(client, db):
    db.execute("UPDATE akun SET templat_wajah = x'00' WHERE nik = ?", [BUDI])  # face data, no recent check
    db.conn.commit()
    login(client, BUDI)
    pid = start(client, "kartu-keluarga")
    fill(client, db, pid, "kartu-keluarga")
    _, r = submit(client, pid)
    assert r.headers["location"] == f"/verifikasi-wajah?lanjut=/permohonan/{pid}/periksa"


def test_without_face_data_the_citizen_is_never_sent_to_a_selfie_that_cannot_succeed(client, db):
    """Budi was verified in person and has no face template: submitting goes on, no step-up page."""
    login(client, BUDI)
    pid = start(client, "kartu-keluarga")
    fill(client, db, pid, "kartu-keluarga")
    _, r = submit(client, pid)
    assert r.headers["location"] == f"/permohonan/{pid}"
    page = client.get("/verifikasi-wajah?lanjut=/permohonan/1/periksa")
    assert "KTP-el" in text_of(page) and 'action="/verifikasi-wajah"' not in page.text


# --- at most three practice places per STR, at every step that can issue a SIP --------------------------------

BUDI_STR = "3100000123456789"  # one practice place already (RS in the demo registry)


def submitted_sip(client, db, fasyankes: str) -> int:
    pid = start(client, "sip-perawat")
    fill(client, db, pid, "sip-perawat", {"nomor_str": BUDI_STR, "nama_fasyankes": fasyankes})
    _, r = submit(client, pid)
    assert r.status_code == 303, text_of(r)[:600]
    return pid


def place_issued_elsewhere(db, nomor_sip: str = "503/SIP/1471/2026/000777"):
    """Another region issues Budi a SIP after his applications here were submitted."""
    db.execute("INSERT INTO tempat_praktik (nomor_str, nama_fasyankes, nomor_sip, berlaku_sampai) "
               "VALUES (?, 'Klinik di Pekanbaru', ?, '2031-01-01')", [BUDI_STR, nomor_sip])
    db.conn.commit()


def places(db) -> int:
    return db.execute("SELECT count(*) FROM tempat_praktik WHERE nomor_str = ?", [BUDI_STR]).fetchone()[0]


def test_applications_still_in_progress_count_against_the_three_places_at_submit(citizen, db):
    """One place held and two applications waiting: a third would make four if all were issued."""
    submitted_sip(citizen, db, "Klinik Sehat Batam")
    submitted_sip(citizen, db, "Klinik Harapan Batam")
    pid = start(citizen, "sip-perawat")
    fill(citizen, db, pid, "sip-perawat", {"nomor_str": BUDI_STR, "nama_fasyankes": "Klinik Ketiga"})
    page = text_of(citizen.get(f"/permohonan/{pid}/periksa"))
    assert "2 permohonan SIP lain" in page and "3 tempat praktik" in page
    _, r = submit(citizen, pid)
    assert r.status_code == 400 and "masih diproses" in text_of(r)
    assert db.execute("SELECT status FROM permohonan WHERE id = ?", [pid]).fetchone()[0] == "draf"


def test_an_officer_cannot_issue_a_fourth_practice_place_and_the_case_stays_where_it_was(app, citizen, db):
    first = submitted_sip(citizen, db, "Klinik Sehat Batam")
    second = submitted_sip(citizen, db, "Klinik Harapan Batam")
    officer = officer_client(app, "dpmptsp.batam")
    try:
        for pid in (first, second):
            for aksi in ("verifikasi", "setujui"):
                assert act(officer, pid, aksi).status_code == 303
        place_issued_elsewhere(db)
        assert act(officer, first, "terbitkan").status_code == 303
        assert places(db) == 3
        r = act(officer, second, "terbitkan")
        assert r.status_code == 400
        assert "sudah memiliki SIP di 3 tempat praktik" in text_of(r) and "tidak dapat diterbitkan" in text_of(r)
        assert db.execute("SELECT status FROM permohonan WHERE id = ?", [second]).fetchone()[0] == "disetujui"
        assert db.execute("SELECT count(*) FROM dokumen WHERE permohonan_id = ?", [second]).fetchone()[0] == 0
        assert places(db) == 3
        # a revoked SIP no longer holds its place: the waiting one can now be issued
        fields = form_fields(officer, f"/petugas/permohonan/{first}", f"/petugas/permohonan/{first}/cabut")
        officer.post(f"/petugas/permohonan/{first}/cabut", data={
            **fields, "kategori": "permintaan_pemegang", "catatan": "Pemegang pindah dari klinik ini"})
        assert db.execute("SELECT dicabut FROM dokumen WHERE permohonan_id = ?", [first]).fetchone()[0]
        assert act(officer, second, "terbitkan").status_code == 303
    finally:
        officer.__exit__(None, None, None)


def test_a_fourth_place_is_refused_already_at_verification_and_approval(app, citizen, db):
    pid = submitted_sip(citizen, db, "Klinik Sehat Batam")
    place_issued_elsewhere(db, "503/SIP/1471/2026/000777")
    place_issued_elsewhere(db, "503/SIP/1471/2026/000778")
    officer = officer_client(app, "dpmptsp.batam")
    try:
        r = act(officer, pid, "verifikasi")
        assert r.status_code == 400 and "3 tempat praktik" in text_of(r)
        assert act(officer, pid, "tolak", alasan="Sudah 3 tempat praktik").status_code == 303  # refusing still works
    finally:
        officer.__exit__(None, None, None)


def test_fiktif_positif_never_issues_a_fourth_place_and_leaves_one_note_for_an_officer(app, client, db):
    from db import permohonan as q
    from integrations.dukcapil import EmbeddedDukcapil
    from integrations.sisdmk import EmbeddedSisdmk

    db.execute("UPDATE akun SET wajah_terakhir = strftime('%Y-%m-%dT%H:%M:%SZ', 'now') WHERE nik = ?", [BUDI])
    db.conn.commit()
    login(client, BUDI)
    pel = svc.Pelayanan(db, EmbeddedDukcapil(db, app.state.faces.key), EmbeddedSisdmk(db), app.state.signing_key)
    akun = dict(db.execute("SELECT * FROM akun WHERE nik = ?", [BUDI]).fetchone())
    monday = dt.datetime(2026, 12, 21, 2, 0, tzinfo=dt.UTC)
    pids = []
    for name in ("Klinik Sehat Batam", "Klinik Harapan Batam"):
        pid = start(client, "sip-perawat")
        fill(client, db, pid, "sip-perawat", {"nomor_str": BUDI_STR, "nama_fasyankes": name})
        assert svc.submit(pel, akun, q.get(db, pid), now=monday) == {}
        pids.append(pid)
    place_issued_elsewhere(db)
    late = dt.datetime(2026, 12, 31, 1, 0, tzinfo=dt.UTC)
    issued = svc.deem_overdue_permits(pel, now=late)
    assert len(issued) == 1 and places(db) == 3
    (waiting,) = set(pids) - set(issued)
    assert svc.deem_overdue_permits(pel, now=late) == []  # the next round changes nothing
    assert q.get(db, waiting)["status"] == "diajukan"
    notes = [a for a in audit.for_object(db, f"permohonan:{waiting}") if a["aksi"] == "fiktif_positif_ditunda"]
    assert len(notes) == 1
    timeline = [r["catatan"] for r in q.timeline(db, waiting)]
    assert sum("tidak diterbitkan otomatis" in c.lower() for c in timeline) == 1
    with TestClient(app, base_url="http://127.0.0.1") as officer:
        login(officer, "dpmptsp.batam")
        page = text_of(officer.get(f"/petugas/permohonan/{waiting}"))
        assert "3 tempat praktik" in page and "fiktif_positif_ditunda" in page


# --- starting a draft: a POST; GET /permohonan/baru only reads (issue 18) ------------------------------------------

def test_the_service_page_starts_a_draft_by_post_and_the_old_link_still_leads_there(citizen, db):
    from tests.test_public_pages import compressed_size

    page = soup(citizen.get("/layanan/akta-kelahiran?wilayah=2171"))
    form = page.find("form", action="/permohonan/baru")
    assert form["method"] == "post" and form.find("input", attrs={"name": "csrf_token"})  # with its CSRF fields
    old = "/permohonan/baru?layanan=akta-kelahiran&wilayah=2171"
    shown = citizen.get(old, follow_redirects=False)  # a bookmark, an old link, no script: one button, nothing written
    assert shown.status_code == 200 and db.execute("SELECT count(*) FROM permohonan WHERE status = 'draf'"
                                                   ).fetchone()[0] == 0
    text = text_of(shown)
    assert "Kutipan Akta Kelahiran" in text or "Akta Kelahiran" in text
    assert "Kota Batam" in text and "Saya sendiri" in text
    button = soup(shown).find("form", action="/permohonan/baru", method="post")
    assert button.find("button") and "<script" not in shown.text.split("</main>")[0].split("<main")[-1]
    gz, br = compressed_size(citizen, old)
    assert max(gz, br) <= 14 * 1024
    fields = {i["name"]: i.get("value", "") for i in button.find_all("input", type="hidden")}
    r = citizen.post("/permohonan/baru", data=fields, follow_redirects=False)
    assert r.status_code == 303 and re.fullmatch(r"/permohonan/\d+/isi", r.headers["location"])
    assert citizen.get(old, follow_redirects=False).headers["location"] == r.headers["location"]  # now: the draft
    again = citizen.post("/permohonan/baru", data={**fields, "_idem": "lain"}, follow_redirects=False)
    assert again.headers["location"] == r.headers["location"]  # one draft per service, region and person
    assert db.execute("SELECT count(*) FROM permohonan WHERE status = 'draf'").fetchone()[0] == 1


def test_the_terms_button_on_the_service_page_goes_to_the_regions_terms_writing_nothing(citizen, db):
    fields = form_fields(citizen, "/layanan/akta-kelahiran", "/permohonan/baru")
    r = citizen.post("/permohonan/baru", data={**fields, "wilayah": "2171", "aksi": "ketentuan"},
                     follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/layanan/akta-kelahiran?wilayah=2171"
    assert db.execute("SELECT count(*) FROM permohonan").fetchone()[0] == 0
    assert citizen.get("/permohonan/baru?layanan=tidak-ada&wilayah=2171").status_code == 404
