"""Issued documents a checker can trust (issue 13): content-bound signatures, the verification page,
the PAdES-sealed PDF, revocation and validity."""

from __future__ import annotations

import datetime as dt
import json
import logging
import re

import pytest

from db import identitas as id_q
from integrations import tte
from services import dokumen_pdf, ttd
from tests.helpers import form_fields, soup, text_of
from tests.test_permohonan import BUDI, citizen, decide_and_issue, fill, officer_client, start, submit  # noqa: F401
from tests.test_public_pages import BUDGET, compressed_size
from tests.test_ttd import _pdf_text

SIP = {"nomor_str": "3100000123456789", "nama_fasyankes": "Klinik Sehat Batam",
       "alamat_praktik": "Jl. Sudirman No. 5, Batam Kota"}


def issue(app, citizen, db, slug: str, answers: dict | None = None) -> tuple[int, str]:
    """Apply as Budi, let the agency's officer verify, approve and sign; (application id, QR token)."""
    pid = start(citizen, slug)
    fill(citizen, db, pid, slug, answers)
    _, r = submit(citizen, pid)
    assert r.status_code == 303, text_of(r)[:400]
    decide_and_issue(app, pid, "dpmptsp.batam" if slug.startswith("sip-") else "dukcapil.batam")
    return pid, db.execute("SELECT token FROM dokumen WHERE permohonan_id = ?", [pid]).fetchone()[0]


def lines_on(page) -> dict[str, str]:
    found = soup(page).select_one("dl.isi")
    return {dt_.get_text(strip=True): dt_.find_next_sibling("dd").get_text(strip=True) for dt_ in found.find_all("dt")}


def revoke(app, pid: int, kategori: str = "data_keliru", catatan: str = "Tanggal lahir anak salah ketik."):
    officer = officer_client(app, "dukcapil.batam")
    try:
        fields = form_fields(officer, f"/petugas/permohonan/{pid}", f"/petugas/permohonan/{pid}/cabut")
        return officer.post(f"/petugas/permohonan/{pid}/cabut", data={**fields, "kategori": kategori,
                                                                      "catatan": catatan}, follow_redirects=False)
    finally:
        officer.__exit__(None, None, None)


# --- what the document states, and what is signed ------------------------------------------------------------------

def test_the_verification_page_shows_each_substantive_value_with_its_label(app, citizen, db):
    """Issue 13: the akta's page named the applicant under "Nama", which reads as the child's."""
    pid, token = issue(app, citizen, db, "akta-kelahiran",
                       {"nama_anak": "Putri Santoso", "tanggal_lahir": "01-11-2026", "tempat_lahir": "Batam"})
    page = citizen.get(f"/verifikasi/{token}")
    assert page.status_code == 200 and "Dokumen sah" in text_of(page)
    lines = lines_on(page)
    assert lines["Nama lengkap anak"] == "Putri Santoso" and lines["Tanggal lahir anak"] == "1 November 2026"
    assert lines["Tempat lahir"] == "Batam"
    assert lines["Nama pemohon"] == "Budi Santoso" and lines["NIK pemohon"] == "2171********0001"
    assert lines["Ditandatangani oleh"] == "Rina Wulandari (Disdukcapil Kota Batam)"
    assert lines["Jabatan penandatangan"] == "Pejabat penandatangan, Disdukcapil Kota Batam"
    assert lines["Jenis dokumen"] == "Kutipan Akta Kelahiran" and "Tanggal terbit" in lines
    assert "Nama" not in lines and "NIK" not in lines  # nothing left unlabelled
    assert "2171031508900001" not in page.text  # the full NIK is never shown
    # the page shows exactly the signed content: its lines verify offline against the token
    assert ttd.verify_offline(app.state.signing_key.public_key(), token, [[k, v] for k, v in lines.items()])


def test_an_edited_field_makes_the_signed_content_fail(app, citizen, db):
    pid, token = issue(app, citizen, db, "akta-kelahiran", {"nama_anak": "Putri Santoso"})
    public = app.state.signing_key.public_key()
    signed = dokumen_pdf.embedded_content(citizen.get(f"/permohonan/{pid}/dokumen.pdf").content)
    assert signed["token"] == token and ttd.verify_offline(public, token, signed["isi"])
    for label, forged in (("Nama lengkap anak", "Putra Santoso"), ("Tanggal lahir anak", "1 Oktober 2026"),
                          ("NIK pemohon", "2171********0002"), ("Ditandatangani oleh", "Pejabat Lain")):
        edited = [[k, forged if k == label else v] for k, v in signed["isi"]]
        assert edited != signed["isi"] and ttd.verify_offline(public, token, edited) is None, label
    # and a record altered behind our back no longer verifies online either
    isi = json.loads(db.execute("SELECT isi FROM dokumen WHERE permohonan_id = ?", [pid]).fetchone()[0])
    isi["baris"][6][1] = "Putra Santoso"
    db.execute("UPDATE dokumen SET isi = ? WHERE permohonan_id = ?", [json.dumps(isi), pid])
    db.conn.commit()
    r = citizen.get(f"/verifikasi/{token}")
    assert r.status_code == 404 and "Dokumen tidak valid" in text_of(r)


def test_a_sip_states_the_practice_place_and_its_validity(app, citizen, db, monkeypatch):
    monkeypatch.setenv("MPP_NOW", "2026-12-01T02:00:00+00:00")
    pid, token = issue(app, citizen, db, "sip-perawat", SIP)
    lines = lines_on(citizen.get(f"/verifikasi/{token}"))
    assert lines["Nama fasilitas pelayanan kesehatan tempat praktik"] == "Klinik Sehat Batam"
    assert lines["Alamat tempat praktik"] == "Jl. Sudirman No. 5, Batam Kota"
    assert lines["Nama pemegang izin"] == "Budi Santoso" and lines["Nomor STR"] == SIP["nomor_str"]
    assert lines["Tanggal terbit"] == "1 Desember 2026" and lines["Berlaku sampai"] == "1 Desember 2031"
    assert lines["Jenis dokumen"] == "Surat Izin Praktik Perawat (SIPP)"
    assert "berlaku sampai 1 Desember 2031" in text_of(citizen.get(f"/verifikasi/{token}"))
    place = db.execute("SELECT berlaku_sampai FROM tempat_praktik WHERE nama_fasyankes = 'Klinik Sehat Batam'")
    assert place.fetchone()[0] == "2031-12-01"  # SISDMK learns the same end date


def test_a_sip_ends_with_its_str(app, citizen, db, monkeypatch):
    monkeypatch.setenv("MPP_NOW", "2026-12-01T02:00:00+00:00")
    db.execute("UPDATE str_nakes SET berlaku_sampai = '2028-03-31' WHERE nomor_str = ?", [SIP["nomor_str"]])
    db.conn.commit()
    _, token = issue(app, citizen, db, "sip-perawat", SIP)
    assert lines_on(citizen.get(f"/verifikasi/{token}"))["Berlaku sampai"] == "31 Maret 2028"


def test_a_sip_past_its_validity_reads_as_expired(app, citizen, db, monkeypatch):
    monkeypatch.setenv("MPP_NOW", "2026-12-01T02:00:00+00:00")
    pid, token = issue(app, citizen, db, "sip-perawat", SIP)
    monkeypatch.setenv("MPP_NOW", "2031-12-01T16:00:00+00:00")  # 23.00 WIB on the last valid day
    assert "Dokumen sah" in text_of(citizen.get(f"/verifikasi/{token}"))
    monkeypatch.setenv("MPP_NOW", "2031-12-01T17:30:00+00:00")  # 00.30 WIB the day after
    page = citizen.get(f"/verifikasi/{token}")
    assert page.status_code == 200
    banner = soup(page).select_one(".status-kedaluwarsa")
    assert banner and "Dokumen kedaluwarsa" in banner.get_text() and "1 Desember 2031" in banner.get_text()
    assert "Dokumen sah" not in text_of(page)
    assert "Dokumen kedaluwarsa" in text_of(citizen.get(f"/permohonan/{pid}/dokumen"))
    assert "Masa berlaku dokumen ini sudah berakhir" in text_of(citizen.get(f"/permohonan/{pid}"))


# --- the PDF -------------------------------------------------------------------------------------------------------

def test_the_pdf_seal_validates_with_pyhanko_and_fails_after_one_changed_byte(app, citizen, db):
    pid, token = issue(app, citizen, db, "akta-kelahiran", {"nama_anak": "Putri Santoso"})
    r = citizen.get(f"/permohonan/{pid}/dokumen.pdf")
    pdf = r.content
    assert r.headers["content-type"] == "application/pdf" and len(pdf) < 40 * 1024
    ca = citizen.get("/verifikasi/sertifikat-ca.pem").text
    assert ca.startswith("-----BEGIN CERTIFICATE-----")
    status = tte.validate(pdf, ca)
    assert status.intact and status.valid and status.trusted and status.bottom_line and status.docmdp_ok
    assert status.coverage == tte.SignatureCoverageLevel.ENTIRE_FILE
    assert citizen.get(f"/permohonan/{pid}/dokumen.pdf").content == pdf  # sealed once, the same file every time
    # the signature value itself sits outside what it signs (ISO 32000 ByteRange); every other byte is covered
    contents = re.search(rb"/Contents\s*<([0-9a-fA-F]+)>", pdf).span(1)
    logging.disable(logging.CRITICAL)  # pyHanko logs each failed validation at length
    try:
        for pos in [*range(0, contents[0], 211), *range(contents[1], len(pdf), 37)]:
            changed = bytearray(pdf)
            changed[pos] ^= 0x01
            try:
                after = tte.validate(bytes(changed), ca)
                ok = after.intact and after.valid
            except Exception:  # unreadable is not valid either
                ok = False
            assert not ok, pos
    finally:
        logging.disable(logging.NOTSET)


def test_the_pdf_prints_the_signed_lines_and_where_to_check_status(app, citizen, db):
    pid, token = issue(app, citizen, db, "akta-kelahiran", {"nama_anak": "Putri Santoso"})
    pdf = citizen.get(f"/permohonan/{pid}/dokumen.pdf").content
    text = _pdf_text(pdf)
    signed = dokumen_pdf.embedded_content(pdf)
    for label, value in signed["isi"]:
        assert label.encode("latin-1") in text and value.encode("latin-1") in text, (label, value)
    assert b"Pencabutan dan masa berlaku hanya dapat dipastikan" in text
    assert b"/Count 1" in text  # one A4 page
    assert f"/verifikasi/{token}"[:60].encode() in text


# --- revocation ----------------------------------------------------------------------------------------------------

def test_the_signing_officer_revokes_and_every_page_says_so(app, citizen, db):
    pid, token = issue(app, citizen, db, "akta-kelahiran", {"nama_anak": "Putri Santoso"})
    # a bank checked the PDF offline before the revocation: content verified
    signed = dokumen_pdf.embedded_content(citizen.get(f"/permohonan/{pid}/dokumen.pdf").content)
    public = app.state.signing_key.public_key()
    assert ttd.verify_offline(public, token, signed["isi"])
    r = revoke(app, pid)
    assert r.status_code == 303
    page = citizen.get(f"/verifikasi/{token}")
    assert page.status_code == 200
    banner = soup(page).select_one(".status-dicabut[role=alert]")
    assert banner.h1.get_text() == "Dokumen dicabut"
    assert "isi dokumen keliru; dokumen pengganti diterbitkan" in banner.get_text()
    assert "Tanggal lahir anak salah ketik." in banner.get_text()
    assert "Dokumen sah" not in text_of(page)
    assert lines_on(page)["Nama lengkap anak"] == "Putri Santoso"  # still shows what it said
    # the offline check still proves the content, and cannot know of the revocation: the page says where to look
    assert ttd.verify_offline(public, token, signed["isi"])
    assert "Pemeriksaan tanpa internet tidak dapat mengetahui pencabutan" in text_of(page)
    assert f"http://127.0.0.1/verifikasi/{token}" in text_of(page)
    assert "alamat tersebut" in dokumen_pdf.STATUS_NOTE and "verify_offline" in ttd.__doc__
    # the holder sees it, gets an SMS, and is not handed the PDF again
    assert "Dokumen dicabut" in text_of(citizen.get(f"/permohonan/{pid}/dokumen"))
    assert "dicabut" in text_of(citizen.get(f"/permohonan/{pid}"))
    gone = citizen.get(f"/permohonan/{pid}/dokumen.pdf")
    assert gone.status_code == 410 and "tidak diberikan lagi" in text_of(gone)
    sms = db.execute("SELECT isi FROM notifikasi WHERE tujuan = '081200001111' ORDER BY id DESC").fetchone()[0]
    assert "dicabut" in sms and "salah ketik" in sms
    entry = db.execute("SELECT akun_id, detail FROM audit WHERE aksi = 'cabut_dokumen'").fetchone()
    officer_id = db.execute("SELECT id FROM akun WHERE username = 'dukcapil.batam'").fetchone()[0]
    assert entry[0] == officer_id and json.loads(entry[1])["alasan"] == "data_keliru"
    row = db.execute("SELECT alasan_cabut, catatan_cabut, dicabut_oleh FROM dokumen WHERE permohonan_id = ?", [pid])
    assert tuple(row.fetchone()) == ("data_keliru", "Tanggal lahir anak salah ketik.", officer_id)
    # once revoked, the form is gone and a second revocation is refused
    officer = officer_client(app, "dukcapil.batam")
    case = soup(officer.get(f"/petugas/permohonan/{pid}"))
    assert case.find("form", action=f"/petugas/permohonan/{pid}/cabut") is None
    officer.__exit__(None, None, None)


@pytest.mark.parametrize("kategori, catatan, message", [
    ("", "Tanggal lahir anak salah ketik.", "Pilih alasan pencabutan"),
    ("identitas_diambil_alih", "Tanggal lahir anak salah ketik.", "Pilih alasan pencabutan"),  # the desk's only
    ("data_keliru", "  salah  ", "paling sedikit 10 huruf"),
])
def test_a_revocation_without_a_listed_reason_or_a_note_is_refused_with_the_input_kept(app, citizen, db, kategori,
                                                                                        catatan, message):
    pid, token = issue(app, citizen, db, "kartu-keluarga")
    r = revoke(app, pid, kategori, catatan)
    assert r.status_code == 400 and message in text_of(r)
    assert soup(r).find("textarea", id="catatan-cabut").get_text() == catatan
    assert "Dokumen sah" in text_of(citizen.get(f"/verifikasi/{token}"))


def test_only_a_penandatangan_of_the_issuing_agency_can_revoke(app, citizen, db):
    pid, token = issue(app, citizen, db, "kartu-keluarga")
    db.execute("UPDATE akun SET jabatan = 'verifikator,validator' WHERE username = 'dukcapil.batam'")
    db.conn.commit()
    officer = officer_client(app, "dukcapil.batam")
    case = soup(officer.get(f"/petugas/permohonan/{pid}"))
    assert case.find("form", action=f"/petugas/permohonan/{pid}/cabut") is None
    fields = form_fields(officer, "/petugas", "/keluar")
    r = officer.post(f"/petugas/permohonan/{pid}/cabut", data={**fields, "kategori": "data_keliru",
                                                                "catatan": "Percobaan tanpa wewenang."})
    assert r.status_code == 400 and "Hanya pejabat penandatangan" in text_of(r)
    officer.__exit__(None, None, None)
    other = officer_client(app, "dpmptsp.batam")
    fields = form_fields(other, "/petugas", "/keluar")
    assert other.post(f"/petugas/permohonan/{pid}/cabut", data={**fields, "kategori": "data_keliru",
                                                                "catatan": "Instansi lain mencoba."}).status_code == 404
    other.__exit__(None, None, None)
    assert "Dokumen sah" in text_of(citizen.get(f"/verifikasi/{token}"))


def test_the_reclaim_flow_revokes_through_the_same_revocation(app, citizen, db):
    """services/identitas.reclaim calls db.identitas.revoke_documents_of with this category."""
    pid, token = issue(app, citizen, db, "kartu-keluarga")
    budi, officer = (db.execute("SELECT id FROM akun WHERE " + w).fetchone()[0]
                     for w in ("nik = '2171031508900001'", "username = 'dukcapil.batam'"))
    nomor = db.execute("SELECT nomor FROM dokumen WHERE permohonan_id = ?", [pid]).fetchone()[0]
    when = "2026-12-02T05:00:00Z"
    assert id_q.revoke_documents_of(db, budi, "identitas_diambil_alih", officer, when) == [nomor]
    assert id_q.revoke_documents_of(db, budi, "identitas_diambil_alih", officer, when) == []  # once only
    banner = soup(citizen.get(f"/verifikasi/{token}")).select_one(".status-dicabut")
    assert "Dokumen dicabut" in banner.get_text() and "identitas diambil alih" in banner.get_text()


def test_a_document_issued_before_content_binding_still_verifies_and_says_what_it_covers(app, client, db):
    """Version 1 tokens signed a few facts themselves; documents already printed must keep working."""
    from tests.test_ttd import _signed_raw
    layanan = db.execute("SELECT id FROM layanan WHERE slug = 'kartu-keluarga'").fetchone()[0]
    instansi = db.execute("SELECT id FROM instansi WHERE wilayah_kode = '2171' AND jenis_kode = 'disdukcapil'"
                          ).fetchone()[0]
    budi = db.execute("SELECT id FROM akun WHERE nik = ?", [BUDI]).fetchone()[0]
    pid = db.execute("INSERT INTO permohonan (nomor, akun_id, layanan_id, wilayah_kode, instansi_id, status) VALUES "
                     "('2171-261101-000009', ?, ?, '2171', ?, 'selesai')", [budi, layanan, instansi]).lastrowid
    nomor = "474/KK/2171/2026/000009"
    token = _signed_raw(app.state.signing_key, ttd.canonical_json(
        {"v": 1, "no": nomor, "j": "kartu-keluarga", "nm": "Budi Santoso", "nik": "2171********0001", "w": "2171",
         "tgl": "2026-11-01"}))
    isi = {"judul": "Kartu Keluarga bertanda tangan elektronik (TTE)", "pemohon": "Budi Santoso",
           "nik": "2171********0001", "instansi": "Disdukcapil", "wilayah": "Kota Batam",
           "nomor_registrasi": "2171-261101-000009", "data": {"Nomor KK": "2171010101010001"}}
    db.execute("INSERT INTO dokumen (permohonan_id, nomor, isi, token, penandatangan, diterbitkan) VALUES "
               "(?, ?, ?, ?, 'Rina', '2026-11-01T03:00:00Z')", [pid, nomor, json.dumps(isi), token])
    db.conn.commit()
    page = client.get(f"/verifikasi/{token}")
    assert "Dokumen sah" in text_of(page) and "hanya mencakup nomor" in text_of(page)
    assert lines_on(page)["Nomor KK"] == "2171010101010001" and lines_on(page)["Nama pemohon"] == "Budi Santoso"


# --- small, no script, 360 px ---------------------------------------------------------------------------------------

def test_document_pages_fit_the_budget_and_need_no_script(app, citizen, db, monkeypatch):
    monkeypatch.setenv("MPP_NOW", "2026-12-01T02:00:00+00:00")
    pid, token = issue(app, citizen, db, "sip-perawat", SIP)
    officer = officer_client(app, "dpmptsp.batam")
    urls = [(citizen, f"/verifikasi/{token}"), (citizen, f"/permohonan/{pid}/dokumen"), (citizen, f"/permohonan/{pid}"),
            (officer, f"/petugas/permohonan/{pid}"), (citizen, "/verifikasi/bukan-token")]
    monkeypatch.setenv("MPP_NOW", "2032-01-01T02:00:00+00:00")
    urls.append((citizen, f"/verifikasi/{token}"))  # expired
    for who, url in urls:
        gz, br = compressed_size(who, url)
        assert gz <= BUDGET and br <= BUDGET, (url, gz, br)
        page = soup(who.get(url))
        for form in page.find_all("form"):
            assert form.get("method") == "post" and form.get("action"), url
        assert not page.find("script", src=False), url
    officer.__exit__(None, None, None)


def test_issue_dates_follow_the_one_clock(app, citizen, db, monkeypatch):
    """MPP_NOW pins the issue date (the region's calendar), as every other date in the app."""
    monkeypatch.setenv("MPP_NOW", "2027-03-01T18:00:00+00:00")  # already 2 March in WIB
    pid, token = issue(app, citizen, db, "kartu-keluarga")
    assert lines_on(citizen.get(f"/verifikasi/{token}"))["Tanggal terbit"] == "2 Maret 2027"
    nomor = db.execute("SELECT nomor FROM dokumen WHERE permohonan_id = ?", [pid]).fetchone()[0]
    assert nomor.endswith(f"/2027/{pid:06d}")
    assert dt.date(2027, 3, 2).isoformat() == json.loads(
        db.execute("SELECT isi FROM dokumen WHERE permohonan_id = ?", [pid]).fetchone()[0])["tanggal"]
