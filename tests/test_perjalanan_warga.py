"""What a citizen needs and could not find: their tickets, tracking a complaint, a whole document
number, honest SMS promises, times in the region's own words, a hall display for a TV, a forgiving search."""

from __future__ import annotations

import datetime as dt
import re

from services import antrean as antrean_svc
from services import pengaduan as pengaduan_svc
from tests.helpers import form_fields, login, soup, text_of
from tests.test_permohonan import BUDI, citizen, fill, start, submit  # noqa: F401

MONDAY_9 = dt.datetime(2026, 11, 30, 2, 0, tzinfo=dt.UTC)  # Monday 09:00 WIB in Batam
ISO_OR_UTC = re.compile(r"\b\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2})?|\bUTC\b")


def _budi(db) -> dict:
    return dict(db.execute("SELECT * FROM akun WHERE nik = ?", [BUDI]).fetchone())


def _counter(db, nomor: str = "01") -> dict:
    return dict(db.execute("SELECT * FROM gerai WHERE wilayah_kode = '2171' AND nomor = ?", [nomor]).fetchone())


# --- tickets ----------------------------------------------------------------------------------------------------------

def test_my_account_lists_my_tickets_active_first_with_a_link(client, db, monkeypatch):
    monkeypatch.setenv("MPP_NOW", MONDAY_9.isoformat())
    budi, g1, g2 = _budi(db), _counter(db, "01"), _counter(db, "02")
    old = antrean_svc.book(db, budi, g1["id"], "2026-11-30", "10:00", now=MONDAY_9)
    antrean_svc.cancel(db, budi, old["id"])
    active = antrean_svc.book(db, budi, g2["id"], "2026-12-01", "11:00", now=MONDAY_9)
    login(client, BUDI)
    page = soup(client.get("/akun"))
    assert page.find(id="tiket-saya") is not None
    rows = page.select("ul.tiket-saya li")
    assert len(rows) == 2, page.select_one("main")
    first = rows[0].get_text(" ", strip=True)
    assert active["kode"] in first and "1 Desember 2026" in first and "11.00" in first and "Menunggu" in first
    assert rows[0].find("a")["href"] == f"/antrean/{active['id']}"
    assert "Dibatalkan" in rows[1].get_text(" ", strip=True)


def test_already_holding_a_ticket_links_to_it_and_keeps_the_chosen_counter_and_date(client, db, monkeypatch):
    monkeypatch.setenv("MPP_NOW", MONDAY_9.isoformat())
    g2 = _counter(db, "02")
    held = antrean_svc.book(db, _budi(db), g2["id"], "2026-12-01", "10:00", now=MONDAY_9)
    login(client, BUDI)
    url = f"/mpp/2171/antrean?gerai={g2['id']}&tanggal=2026-12-01"
    fields = form_fields(client, url, "/mpp/2171/antrean")
    r = client.post("/mpp/2171/antrean", data={**fields, "jam": "11:00"})
    assert r.status_code == 400 and "sudah memiliki tiket" in text_of(r)
    page = soup(r)
    assert page.find("a", href=f"/antrean/{held['id']}") is not None
    assert page.select_one('select[name="gerai"] option[selected]')["value"] == str(g2["id"])
    assert page.select_one('select[name="tanggal"] option[selected]')["value"] == "2026-12-01"
    assert page.select_one('form[method="post"] input[name="gerai"]')["value"] == str(g2["id"])
    assert "1 Desember 2026" in text_of(r) and "01-12-2026" not in text_of(r)


# --- complaints -------------------------------------------------------------------------------------------------------

def test_a_complaint_is_opened_from_the_form_on_pengaduan_by_number_and_code(client, db):
    row = pengaduan_svc.file(db, {"isi": "Loket tutup sebelum jam 15.00.", "wilayah": "2171"}, None, "127.0.0.9")
    page = soup(client.get("/pengaduan"))
    form = page.find("form", action="/pengaduan/lacak")
    assert form is not None and form.get("method", "get").lower() == "get"
    names = {i["name"] for i in form.find_all("input")}
    assert {"nomor", "kode"} <= names
    for name in ("nomor", "kode"):
        assert page.find("label", attrs={"for": form.find("input", attrs={"name": name})["id"]})
    r = client.get("/pengaduan/lacak", params={"nomor": f" {row['nomor'].lower()} ", "kode": row["kode_lacak"].upper()})
    assert r.status_code == 200 and "Loket tutup" in text_of(r)
    wrong = client.get("/pengaduan/lacak", params={"nomor": row["nomor"], "kode": "salah"})
    assert wrong.status_code == 404 and "Loket tutup" not in text_of(wrong)
    empty = client.get("/pengaduan/lacak", params={"nomor": "", "kode": ""})
    assert empty.status_code == 400 and "nomor pengaduan" in text_of(empty).lower()


def test_complaints_can_be_filed_for_every_region_with_an_mpp_maluku_and_papua_included(client, db):
    page = soup(client.get("/pengaduan"))
    choices = {o["value"] for o in page.select("select#wilayah option") if o["value"]}
    assert {"2171", "8171", "9171"} <= choices  # Batam (a pilot), Kota Ambon, Kota Jayapura
    assert "8101" not in choices  # Maluku Tengah has no MPP yet
    fields = form_fields(client, "/pengaduan", "/pengaduan")
    r = client.post("/pengaduan", data={**fields, "wilayah": "9171", "isi": "Antrean di MPP Jayapura tidak jelas."},
                    follow_redirects=False)
    assert r.status_code == 303
    tracked = client.get(r.headers["location"])
    assert "Kota Jayapura" in text_of(tracked)
    fields = form_fields(client, "/pengaduan", "/pengaduan")
    r = client.post("/pengaduan", data={**fields, "wilayah": "8101", "isi": "Tidak ada MPP di daerah kami."})
    assert r.status_code == 400 and "Pilih daerah" in text_of(r)


# --- the issued document, and the receipt's SMS promise ---------------------------------------------------------------

def test_the_document_number_is_whole_and_the_heading_is_the_products_name(app, citizen, db):  # noqa: F811
    from tests.test_dokumen import issue

    pid, token = issue(app, citizen, db, "akta-kelahiran",
                       {"nama_anak": "Putri Santoso", "tanggal_lahir": "01-11-2026", "tempat_lahir": "Batam"})
    nomor = db.execute("SELECT nomor FROM dokumen WHERE permohonan_id = ?", [pid]).fetchone()[0]
    assert nomor.startswith("474/AKTAKELAHIRAN/2171/"), nomor
    for url in (f"/permohonan/{pid}/dokumen", f"/verifikasi/{token}"):
        page = citizen.get(url)
        assert nomor in text_of(page), url
    heading = soup(citizen.get(f"/permohonan/{pid}/dokumen")).select_one("article h1").get_text(strip=True)
    assert heading == "Kutipan Akta Kelahiran"


def test_the_receipt_promises_sms_only_to_an_account_with_a_phone(client, citizen, db):  # noqa: F811
    pid = start(citizen, "kartu-keluarga")
    fill(citizen, db, pid, "kartu-keluarga")
    _, r = submit(citizen, pid)
    assert r.status_code == 303, text_of(r)[:400]
    with_phone = text_of(citizen.get(f"/permohonan/{pid}"))
    assert "SMS ke 0812****1111" in with_phone
    db.execute("UPDATE akun SET telepon = NULL WHERE nik = ?", [BUDI])
    db.conn.commit()
    page = citizen.get(f"/permohonan/{pid}")
    assert "SMS" not in text_of(page).replace("nomor HP", "") or "tambahkan nomor HP" in text_of(page)
    assert "Anda akan menerima SMS" not in text_of(page) and "Kami kirim SMS" not in text_of(page)
    assert soup(page).find("a", href="/akun#ganti-telepon") is not None


# --- times in the region's own zone and words -------------------------------------------------------------------------

def test_pages_a_person_reads_show_local_times_never_iso_or_utc(app, citizen, db, monkeypatch):  # noqa: F811
    from tests.test_permohonan import officer_client

    monkeypatch.setenv("MPP_NOW", MONDAY_9.isoformat())
    pid = start(citizen, "kartu-keluarga")
    fill(citizen, db, pid, "kartu-keluarga")
    _, r = submit(citizen, pid)
    assert r.status_code == 303
    ticket = antrean_svc.book(db, _budi(db), _counter(db)["id"], "2026-12-01", "10:00", now=MONDAY_9)
    complaint = pengaduan_svc.file(db, {"isi": "Loket tutup sebelum jam 15.00.", "wilayah": "2171"}, None, "127.0.0.9")
    citizen_pages = [f"/permohonan/{pid}", "/permohonan", "/akun", f"/antrean/{ticket['id']}",
                     "/mpp/2171/antrean?tanggal=2026-12-01",
                     f"/pengaduan/{complaint['nomor']}?kode={complaint['kode_lacak']}"]
    for url in citizen_pages:
        page = citizen.get(url)
        assert page.status_code == 200, url
        found = ISO_OR_UTC.findall(text_of(page))
        assert not found, (url, found)
    receipt = text_of(citizen.get(f"/permohonan/{pid}"))
    assert re.search(r"Diajukan · \d{1,2} (November|Desember) 2026, \d{2}\.\d{2} WIB", receipt), receipt[-400:]
    staff_pages = {"dukcapil.batam": ("/petugas", f"/petugas/permohonan/{pid}", "/petugas/antrean",
                                      "/petugas/pengaduan", "/demo/pesan"),
                   "admin.batam": ("/admin", "/admin/2171/libur", "/admin/2171/kriteria", "/petugas/pengaduan"),
                   "kemenpanrb": ("/pemantauan", "/pemantauan/wilayah/2171", "/pemantauan/daftar")}
    for username, urls in staff_pages.items():
        staff = officer_client(app, username)
        try:
            for url in urls:
                page = staff.get(url)
                assert page.status_code == 200, (username, url)
                found = ISO_OR_UTC.findall(text_of(page))
                assert not found, (username, url, found)
        finally:
            staff.__exit__(None, None, None)


def test_no_template_prints_a_stored_stamp_raw():
    """Generated over every template: a stored time is printed through |waktu or |tanggal, never cut or 'UTC'."""
    from pathlib import Path

    raw = re.compile(r"\{\{[^}]*\b(waktu|dibuat|diajukan|dipanggil|selesai|diterbitkan|tenggat|batas_\w+)\b\)?\[:\d+\]"
                     r"|\bUTC\b|\.strftime\(")
    found = [f"{p.name}: {m.group(0)}" for p in sorted(Path("templates").glob("*.html"))
             for m in raw.finditer(p.read_text(encoding="utf-8"))]
    assert not found, found


# --- the hall display -------------------------------------------------------------------------------------------------

def test_the_hall_display_is_a_screen_of_numbers_without_site_navigation(client, db, monkeypatch):
    monkeypatch.setenv("MPP_NOW", MONDAY_9.isoformat())
    g = _counter(db)
    antrean_svc.book(db, _budi(db), g["id"], "2026-11-30", "10:00", now=MONDAY_9)
    officer = dict(db.execute("SELECT * FROM akun WHERE username = 'dukcapil.batam'").fetchone())
    antrean_svc.call_next(db, officer, g["id"], now=MONDAY_9)
    r = client.get("/mpp/2171/layar")
    page = soup(r)
    assert page.find("nav") is None and page.find("header") is None and page.find("footer") is None
    assert page.find("form") is None and not page.select('a[href="/masuk"]')
    assert '<meta http-equiv="refresh"' in r.text
    now = page.select_one(".layar-kini")
    assert now is not None and now.select_one(".layar-nomor").get_text(strip=True) == "01-001"
    assert "ke gerai 01" in now.get_text(" ", strip=True)
    (sheet,) = page.select('link[rel="stylesheet"]')
    css = client.get(sheet["href"]).text
    assert re.search(r"\.layar-nomor\{[^}]*font-size:min\(\d+vh,\d+vw\)", css)  # sized to the screen, not to text
    assert "Pukul 09.00 WIB" in text_of(r)


# --- search and wording -----------------------------------------------------------------------------------------------

def test_search_tolerates_a_typo_and_keeps_exact_matches_first(client):
    typo = client.get("/layanan", params={"q": "akta kelahran"})
    links = [a["href"] for a in soup(typo).select("ul.services a")]
    assert links and links[0] == "/layanan/akta-kelahiran", links
    assert "untuk “akta kelahiran”" in text_of(typo)
    exact = [a["href"] for a in soup(client.get("/layanan", params={"q": "akta kelahiran"})).select("ul.services a")]
    assert exact[0] == "/layanan/akta-kelahiran"
    assert not soup(client.get("/layanan", params={"q": "zzqxv"})).select("ul.services a")


def test_the_service_page_says_free_once_and_has_one_region_picker(app, citizen):  # noqa: F811
    from starlette.testclient import TestClient

    with TestClient(app, base_url="http://127.0.0.1") as anonymous:
        pages = [anonymous.get("/layanan/akta-kelahiran?wilayah=2171")]
    pages.append(citizen.get("/layanan/akta-kelahiran?wilayah=2171"))
    for page in pages:
        assert text_of(page).count("Gratis") == 1, re.findall(r".{30}Gratis.{30}", text_of(page))
        assert len(soup(page).select("main select")) == 1
    page = soup(citizen.get("/layanan/akta-kelahiran"))
    picker = page.select_one("main select")
    assert picker.find_parent("form").find("button", string=re.compile("Ajukan"))


def test_a_complaint_in_a_region_without_an_mpp_manager_reaches_the_ministry(app, client, db):
    from tests.test_permohonan import officer_client

    pengaduan_svc.file(db, {"isi": "Antrean di MPP Ambon tidak jelas.", "wilayah": "8171"}, None, "127.0.0.9")
    pengaduan_svc.file(db, {"isi": "Loket tutup sebelum jam 15.00.", "wilayah": "2171"}, None, "127.0.0.9")
    ministry = officer_client(app, "kemenpanrb")
    try:
        page = ministry.get("/pemantauan/pengaduan")
        assert page.status_code == 200
        assert "Kota Ambon" in text_of(page) and "MPP Ambon" in text_of(page)
        assert "Loket tutup" not in text_of(page)  # Batam has its manager, who forwards it
        assert ministry.get("/pemantauan").status_code == 200
        assert soup(ministry.get("/pemantauan")).find("a", href="/pemantauan/pengaduan") is not None
    finally:
        ministry.__exit__(None, None, None)
    assert client.get("/pemantauan/pengaduan", follow_redirects=False).status_code in (303, 401, 403)


def test_the_new_pages_fit_the_14kb_budget(client, db, monkeypatch, capsys):
    from tests.test_public_pages import BUDGET, compressed_size

    monkeypatch.setenv("MPP_NOW", MONDAY_9.isoformat())
    sizes = {url: compressed_size(client, url) for url in ("/mpp/2171/layar", "/pengaduan", "/layanan?q=akta+kelahran")}
    login(client, BUDI)
    sizes["/akun"] = compressed_size(client, "/akun")
    with capsys.disabled():
        print("\n" + "\n".join(f"{url}: gzip {gz} B, brotli {br} B" for url, (gz, br) in sizes.items()))
    assert all(gz <= BUDGET and br <= BUDGET for gz, br in sizes.values()), sizes
