"""Complaints on SP4N-LAPOR deadlines, and the satisfaction index computed as the regulation says."""

from __future__ import annotations

import datetime as dt

import pytest

from db import pengaduan as q
from services import pengaduan as svc
from services import skm
from tests.helpers import form_fields, login, soup, text_of

WED_23_DEC = dt.datetime(2026, 12, 23, 2, 0, tzinfo=dt.UTC)  # 09:00 WIB


def admin(db) -> dict:
    return dict(db.execute("SELECT * FROM akun WHERE username = 'admin.batam'").fetchone())


def officer(db) -> dict:
    return dict(db.execute("SELECT * FROM akun WHERE username = 'dukcapil.batam'").fetchone())


def test_deadlines_count_working_days_across_a_weekend_and_holidays(db):
    row = svc.file(db, {"isi": "Antrean KTP-el sangat lama dan petugas tidak ada.", "wilayah": "2171"}, None,
                   "127.0.0.9", now=WED_23_DEC)
    # 24 Dec cuti bersama, 25 Dec Natal, 26-27 weekend: 28, 29, 30 -> forwarded by 30 Dec
    assert row["batas_teruskan"] == "2026-12-30" and row["nomor"].startswith("ADU-2171-")
    svc.forward(db, admin(db), row["id"], officer(db)["instansi_id"], now=dt.datetime(2026, 12, 30, 2, tzinfo=dt.UTC))
    # 31 Dec; 1 Jan Tahun Baru; 2-3 weekend; 4 Jan; 5 Jan Isra Mikraj; 6, 7, 8 Jan -> followed up by 8 Jan 2027
    assert q.get(db, row["id"])["batas_tindak"] == "2027-01-08"
    svc.answer(db, officer(db), row["id"], "Petugas tambahan ditempatkan mulai besok.",
               now=dt.datetime(2027, 1, 4, 2, tzinfo=dt.UTC))
    answered = q.get(db, row["id"])
    # answered Mon 4 Jan: 5 Jan holiday; 6, 7, 8, 11, 12, 13, 14, 15, 18, 19 Jan -> closes after 19 Jan
    assert answered["status"] == "ditindaklanjuti" and answered["batas_tutup"] == "2027-01-19"
    assert svc.close_unanswered(db, now=dt.datetime(2027, 1, 19, 3, tzinfo=dt.UTC)) == []
    assert svc.close_unanswered(db, now=dt.datetime(2027, 1, 20, 3, tzinfo=dt.UTC)) == [row["id"]]
    assert q.get(db, row["id"])["status"] == "ditutup_otomatis"


def test_anonymous_complaint_is_tracked_with_its_code_only(client, db):
    fields = form_fields(client, "/pengaduan", "/pengaduan")
    r = client.post("/pengaduan", data={**fields, "wilayah": "2171", "isi": "Loket tutup sebelum jam 15.00."},
                    follow_redirects=False)
    assert r.status_code == 303
    page = client.get(r.headers["location"])
    assert "Diterima" in text_of(page) and "Loket tutup" in text_of(page)
    nomor = r.headers["location"].split("/")[2].split("?")[0]
    assert client.get(f"/pengaduan/{nomor}?kode=salah").status_code == 404
    assert client.get(f"/pengaduan/{nomor}").status_code == 404


def test_anonymous_complaints_are_rate_limited_and_size_capped(client, db):
    for i in range(5):
        fields = form_fields(client, "/pengaduan", "/pengaduan")
        assert client.post("/pengaduan", data={**fields, "wilayah": "2171", "isi": f"Pengaduan nomor {i} isi."},
                           follow_redirects=False).status_code == 303
    fields = form_fields(client, "/pengaduan", "/pengaduan")
    r = client.post("/pengaduan", data={**fields, "wilayah": "2171", "isi": "Satu lagi pengaduan."})
    assert r.status_code == 400 and "Terlalu banyak pengaduan" in text_of(r)
    login(client, "2171031508900001")  # with an account the anonymous limit does not apply
    fields = form_fields(client, "/pengaduan", "/pengaduan")
    r = client.post("/pengaduan", data={**fields, "wilayah": "2171", "isi": "x" * 2001})
    assert r.status_code == 400 and "terlalu panjang" in text_of(r)
    assert db.execute("SELECT count(*) FROM pengaduan").fetchone()[0] == 5


def test_overdue_complaints_are_flagged_to_the_region_admin(client, db):
    row = svc.file(db, {"isi": "Pengaduan lama tidak diteruskan.", "wilayah": "2171"}, None, "127.0.0.8",
                   now=dt.datetime(2026, 11, 2, 2, tzinfo=dt.UTC))
    login(client, "admin.batam")
    page = client.get("/petugas/pengaduan")
    assert row["nomor"] in page.text and "Terlambat" in text_of(page)


def test_ikm_matches_the_regulation_formula_by_hand():
    # two respondents; element averages 3.5 4 3 3.5 4 3 3.5 3 2.5 -> sum 30.0
    rows = [dict(zip([f"u{i}" for i in range(1, 10)], r)) for r in
            ([4, 4, 3, 3, 4, 3, 4, 3, 3], [3, 4, 3, 4, 4, 3, 3, 3, 2])]
    ikm = skm.compute(rows)
    assert ikm.nrr["u9"] == 2.5
    assert ikm.nilai == pytest.approx(30.0 / 9)      # sum of NRR x 1/9
    assert ikm.konversi == 83.33                     # x 25
    assert (ikm.mutu, ikm.kinerja) == ("B", "Baik")  # 76.61-88.30
    assert skm.compute([dict.fromkeys([f"u{i}" for i in range(1, 10)], 4)]).mutu == "A"
    assert skm.compute([dict.fromkeys([f"u{i}" for i in range(1, 10)], 1)]).konversi == 25.0


def test_one_survey_per_transaction_and_published_on_the_mpp_page(client, db):
    tid = _served_ticket(client, db)
    answers = {f"u{i}": "4" for i in range(1, 10)}
    fields = form_fields(client, f"/antrean/{tid}", "/skm")
    first = client.post("/skm", data={**fields, **answers, "transaksi": f"tiket:{tid}"})
    assert "Terima kasih" in text_of(first) and "Survei kepuasan" not in text_of(first)
    again = client.post("/skm", data={**fields, **answers, "_idem": "formulir-lama-lain", "transaksi": f"tiket:{tid}"})
    assert "sudah mengisi" in text_of(again)
    assert db.execute("SELECT count(*) FROM skm").fetchone()[0] == 1
    mpp = text_of(client.get("/mpp/2171"))
    assert "IKM" in mpp and "100.00" in mpp and "Sangat Baik" in mpp


def test_back_and_send_again_does_not_file_the_same_complaint_twice(client, db):
    """Back to the form (no-store: the page comes fresh, with a new one-time key), the text still in the
    box, "Kirim" again: the person lands on the complaint already filed, told so, and no second one."""
    data = {"wilayah": "2171", "isi": "Antrean loket Dukcapil tidak dipanggil sejak pagi."}
    first = client.post("/pengaduan", data={**form_fields(client, "/pengaduan", "/pengaduan"), **data},
                        follow_redirects=False)
    assert first.status_code == 303
    again = client.post("/pengaduan", data={**form_fields(client, "/pengaduan", "/pengaduan"), **data,
                                            "isi": "  " + data["isi"] + " "})
    assert again.status_code == 200
    nomor = first.headers["location"].split("/")[2].split("?")[0]
    assert "Pengaduan ini sudah terkirim" in text_of(again) and nomor in text_of(again)
    assert db.execute("SELECT count(*) FROM pengaduan").fetchone()[0] == 1
    other = client.post("/pengaduan", data={**form_fields(client, "/pengaduan", "/pengaduan"), **data,
                                            "isi": "Pengaduan lain: toilet umum MPP rusak."}, follow_redirects=False)
    assert other.status_code == 303 and db.execute("SELECT count(*) FROM pengaduan").fetchone()[0] == 2


def test_the_complaint_text_box_has_its_own_name_and_the_error_link_reaches_it(client):
    fields = form_fields(client, "/pengaduan", "/pengaduan")
    r = client.post("/pengaduan", data={**fields, "wilayah": "2171", "isi": "pendek"})
    page = soup(r)
    assert [e.name for e in page.find_all(id="isi")] == ["textarea"]
    assert page.find("label", attrs={"for": "isi"}).get_text(strip=True) == "Isi pengaduan"
    link = page.select_one('.error-summary a[href="#isi"]')
    assert link is not None and "minimal 10 karakter" in link.get_text()
    assert "isi-galat" in page.find(id="isi")["aria-describedby"].split()


def _served_ticket(client, db) -> int:
    login(client, "2171031508900001")
    akun_id = db.execute("SELECT id FROM akun WHERE nik = '2171031508900001'").fetchone()[0]
    gerai = db.execute("SELECT id FROM gerai WHERE wilayah_kode = '2171' AND nomor = '01'").fetchone()[0]
    tid = db.execute("INSERT INTO tiket (wilayah_kode, gerai_id, tanggal, jam, jenis, nomor, kode, akun_id, status) "
                     "VALUES ('2171', ?, '2026-11-30', '09:00', 'daring', 1, '01-001', ?, 'dilayani')",
                     [gerai, akun_id]).lastrowid
    db.conn.commit()
    return tid


def test_an_incomplete_survey_keeps_the_answers_and_names_every_missing_item(client, db):
    tid = _served_ticket(client, db)
    fields = form_fields(client, f"/antrean/{tid}", "/skm")
    given = {"u1": "4", "u2": "3", "u4": "2", "u5": "4", "u6": "4", "u7": "4", "u8": "1"}  # u3 and u9 left out
    r = client.post("/skm", data={**fields, **given, "transaksi": f"tiket:{tid}"})
    assert r.status_code == 400
    page = soup(r)
    summary = [a.get_text() for a in page.select(".error-summary a")]
    assert len(summary) == 2 and "Waktu penyelesaian" in summary[0] and "Sarana dan prasarana" in summary[1]
    for key, value in given.items():
        assert page.find("input", attrs={"name": key, "value": value}).has_attr("checked"), key
    assert not page.select('input[name="u3"][checked]')
    for a in page.select(".error-summary a"):
        assert page.find(id=a["href"][1:]) is not None
    assert db.execute("SELECT count(*) FROM skm").fetchone()[0] == 0
    fields = {i["name"]: i.get("value", "") for i in page.find("form", action="/skm").find_all("input", type="hidden")}
    done = client.post("/skm", data={**fields, **given, "u3": "3", "u9": "3"})
    assert "Terima kasih" in text_of(done) and db.execute("SELECT count(*) FROM skm").fetchone()[0] == 1


def test_the_same_complaint_is_recognised_only_for_an_hour():
    row, form = {"nomor": "ADU-2171-000001", "kode_lacak": "ab12cd34"}, {"wilayah": "2171", "isi": "Loket tutup."}
    at = dt.datetime(2026, 12, 2, 6, tzinfo=dt.UTC)
    note = svc.filed_note(row, form, at)
    assert svc.already_filed(note, {**form, "isi": " Loket  tutup. "}, at + dt.timedelta(minutes=59)) == note
    assert svc.already_filed(note, form, at + dt.timedelta(minutes=61)) is None
    assert svc.already_filed(note, {**form, "wilayah": "8171"}, at) is None  # another region: another complaint
    assert svc.already_filed({**note, "waktu": "kemarin"}, form, at) is None
