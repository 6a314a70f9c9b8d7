"""National monitoring: the published rollout figures from the seeded data, open data for
anyone (pages + CSV), the ministry-only parts, and the all-or-nothing import of the real list."""

from __future__ import annotations

import csv
import io

import pytest

from db import audit
from services import pemantauan as svc
from tests.helpers import form_fields, login, soup, text_of
from tests.test_public_pages import BUDGET, compressed_size

PILOTS = {"1171", "1375", "1605", "1872", "2171", "2172", "3302", "3314", "3315", "3329", "3371", "3372", "3471",
          "3510", "3520", "3523", "3576", "6202", "6306", "6472", "7471"}
PUBLIC = ["/pemantauan", "/pemantauan/provinsi", "/pemantauan/daftar", "/pemantauan/daftar?status=belum&hal=2",
          "/pemantauan/daftar?kelompok=Papua", "/pemantauan/daftar?provinsi=21", "/pemantauan/wilayah/2171",
          "/pemantauan/wilayah/9171"]
MINISTRY = ["/admin", "/pemantauan/kriteria", "/pemantauan/kinerja", "/pemantauan/impor", "/pemantauan/wilayah/2171"]


def rollout(db) -> list[tuple]:
    return [tuple(r) for r in db.execute("SELECT * FROM mpp_nasional ORDER BY wilayah_kode")]


# ------------------------------------------------------------------ the published figures

def test_seeded_data_reproduces_the_published_national_figures(db):
    n = svc.national_figures(db)
    assert n["kabkota"] == 514 and n["tanpa_data"] == 0
    assert n["berdiri"] == 163
    assert n["berdiri_sejak"] == 60                      # established on or after 2023-01-01
    assert n["target_tahun"] == [{"tahun": 2024, "jumlah": 156}, {"tahun": 2025, "jumlah": 16}]
    assert n["belum"] == 179
    assert n["lainnya"] == 16 == 514 - 163 - 156 - 179   # the 16 in none of the published groups: target 2025
    split = {s["nama"]: (s["jumlah"], s["persen"]) for s in n["belum_sebaran"]}
    assert split == {"Sumatra": (63, 35), "Maluku dan Papua": (54, 30), "Sulawesi": (36, 20), "Lainnya": (26, 15)}
    assert sum(p for _, p in split.values()) == 100
    assert n["digital"] == 21 and n["digital_berdiri"] == 21  # every pilot is among the 163
    assert {g["nama"]: g["jumlah"] for g in n["digital_kelompok"]} == {"Sumatra": 6, "Jawa": 11, "Kalimantan": 3,
                                                                      "Sulawesi": 1}


def test_the_pilots_are_the_digital_regions_and_all_established(db):
    rows = db.execute("SELECT m.wilayah_kode, n.status FROM mpp m "
                      "JOIN mpp_nasional n ON n.wilayah_kode = m.wilayah_kode WHERE m.digital_aktif = 1").fetchall()
    assert {r[0] for r in rows} == PILOTS
    assert {r[1] for r in rows} == {"berdiri"}


def test_rounding_reproduces_35_30_20_percent():
    assert [svc.percent(k, 179) for k in (63, 54, 36, 26)] == [35, 30, 20, 15]
    assert svc.percent(1, 2) == 50 and svc.percent(1, 8) == 13  # halves go up
    assert svc.percent(0, 0) == 0


# ------------------------------------------------------------------ open data

def test_anonymous_visitors_get_the_rollout_marked_as_demo(client):
    r = client.get("/pemantauan")
    assert r.status_code == 200
    text = text_of(r)
    assert "Data demo" in text
    for figure in ("163", "60 di antaranya sejak 1 Januari 2023", "Target 2024 156", "179", "Sumatra 63 (35%)",
                   "Maluku dan Papua 54 (30%)", "Sulawesi 36 (20%)", "Sumatra 6, Jawa 11, Kalimantan 3, Sulawesi 1"):
        assert figure in text, figure
    page = soup(r)
    assert page.find("svg", attrs={"role": "img"}) is not None          # server-rendered chart
    assert len(page.select("table tbody tr")) == 7                       # island groups
    assert "/pemantauan/kriteria" not in r.text                          # ministry links stay hidden


@pytest.mark.parametrize("url", PUBLIC)
def test_public_pages_work_for_anonymous_users(client, url):
    r = client.get(url, follow_redirects=False)
    assert r.status_code == 200, url
    page = soup(r)
    for form in page.find_all("form"):
        assert form.get("method") in ("get", "post") and form.get("action")
    assert not page.find("script", src=False)


def test_every_table_links_its_csv_and_each_csv_has_a_header_row(client):
    links = set()
    for url in ["/pemantauan", "/pemantauan/provinsi", "/pemantauan/daftar"]:
        links |= {a["href"] for a in soup(client.get(url)).select('a[href$=".csv"]')}
    assert links == {"/pemantauan/ringkasan.csv", "/pemantauan/kelompok.csv", "/pemantauan/provinsi.csv",
                     "/pemantauan/wilayah.csv"}
    expected_rows = {"/pemantauan/kelompok.csv": 7, "/pemantauan/provinsi.csv": 38, "/pemantauan/wilayah.csv": 514}
    for link in links:
        r = client.get(link)
        assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv"), link
        rows = list(csv.reader(io.StringIO(r.text)))
        assert rows[0][0] in ("indikator", "kelompok_pulau", "provinsi_kode", "kode"), link
        if link in expected_rows:
            assert len(rows) - 1 == expected_rows[link], link
    summary = dict(csv.reader(io.StringIO(client.get("/pemantauan/ringkasan.csv").text)))
    assert summary["mpp_berdiri"] == "163" and summary["belum_ada_rencana_sumatra_persen"] == "35"


def test_region_list_filters_and_paginates(client):
    text = text_of(client.get("/pemantauan/daftar?status=belum&kelompok=Sulawesi"))
    assert "36 kab/kota" in text
    first = soup(client.get("/pemantauan/daftar"))
    assert len(first.select("tbody tr")) == 50
    assert first.find("a", string="Berikutnya")["href"] == "?hal=2"
    assert len(soup(client.get("/pemantauan/daftar?hal=11")).select("tbody tr")) == 14   # 514 = 10 x 50 + 14
    assert client.get("/pemantauan/daftar?status=x&hal=zz").status_code == 200


def test_drill_down_to_a_region(client):
    text = text_of(client.get("/pemantauan/wilayah/2171"))
    assert "Kota Batam" in text and "MPP berdiri 14 Desember 2017" in text and "Aktif" in text
    assert "Kriteria MPP Digital" not in text        # the checklist is for the ministry
    for bad in ("0000", "21.71", "abcd", "217"):
        assert client.get(f"/pemantauan/wilayah/{bad}").status_code == 404


# ------------------------------------------------------------------ behind the ministry's login

@pytest.mark.parametrize("url", ["/pemantauan/kriteria", "/pemantauan/kriteria.csv", "/pemantauan/kinerja",
                                 "/pemantauan/kinerja.csv", "/pemantauan/impor"])
def test_the_rest_is_for_the_ministry_only(client, url):
    r = client.get(url, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith("/masuk")
    login(client, "admin.batam")
    assert client.get(url).status_code == 404
    login(client, "kemenpanrb")
    r = client.get(url)
    assert r.status_code == 200
    if url.endswith(".csv"):
        assert r.headers["content-type"].startswith("text/csv") and r.text.startswith("kode,nama,")


def test_ministry_console_links_every_part(client):
    login(client, "kemenpanrb")
    page = soup(client.get("/admin"))
    hrefs = {a["href"] for a in page.find_all("a")}
    assert {"/pemantauan", "/pemantauan/kriteria", "/pemantauan/kinerja", "/pemantauan/impor"} <= hrefs
    assert "Data demo" in page.get_text()


def test_criteria_are_partly_derived_and_partly_attested(client, db):
    before = {c["kunci"]: c for c in svc.criteria_for(db, "2171")}
    assert len(before) == 11
    assert before["informasi_umum"]["terpenuhi"] and before["platform"]["terpenuhi"]
    assert not before["antrean"]["terpenuhi"] and not before["komitmen"]["terpenuhi"]
    gerai = db.execute("SELECT id FROM gerai WHERE wilayah_kode = '2171' AND nomor = '01'").fetchone()[0]
    db.execute("INSERT INTO tiket (wilayah_kode, gerai_id, tanggal, jam, jenis, nomor, kode) "
               "VALUES ('2171', ?, '2026-11-30', '09:00', 'langsung', 1, '01-001')", [gerai])
    db.conn.commit()
    login(client, "admin.batam")
    page = soup(client.get("/admin/2171/kriteria"))
    form = next(f for f in page.find_all("form", action="/admin/2171/kriteria")
                if f.find("input", attrs={"name": "kriteria", "value": "komitmen"}))
    fields = {i["name"]: i.get("value", "") for i in form.find_all("input", type="hidden")}
    assert client.post("/admin/2171/kriteria", data=fields, follow_redirects=False).status_code == 303
    after = {c["kunci"]: c for c in svc.criteria_for(db, "2171")}
    assert after["antrean"]["terpenuhi"] and after["komitmen"]["terpenuhi"]
    assert after["komitmen"]["oleh"] == "Pengelola MPP Kota Batam" and after["komitmen"]["waktu"]
    fields = form_fields(client, "/admin/2171/kriteria", "/admin/2171/kriteria")
    r = client.post("/admin/2171/kriteria", data={**fields, "kriteria": "antrean", "terpenuhi": "0"})
    assert r.status_code == 400 and "otomatis" in text_of(r)     # derived ones cannot be attested
    login(client, "kemenpanrb")
    row = next(tr for tr in soup(client.get("/pemantauan/kriteria")).select("tbody tr") if "Kota Batam" in tr.text)
    assert "4/11" in row.text
    assert "Atestasi Pengelola MPP Kota Batam" in text_of(client.get("/pemantauan/wilayah/2171"))


def test_performance_across_regions_flags_the_laggards(client, db):
    akun = db.execute("SELECT id FROM akun WHERE nik = '2171031508900001'").fetchone()[0]
    disduk = db.execute("SELECT id FROM instansi WHERE wilayah_kode = '2171' AND jenis_kode = 'disdukcapil'"
                        ).fetchone()[0]
    layanan = db.execute("SELECT id FROM layanan WHERE slug = 'kartu-keluarga'").fetchone()[0]
    for i, (diajukan, selesai, tenggat) in enumerate([
        ("2026-11-02T02:00:00Z", "2026-11-03T02:00:00Z", "2026-11-05"),   # 1 day, on time
        ("2026-11-02T02:00:00Z", "2026-11-04T02:00:00Z", "2026-11-05"),   # 2 days, on time
        ("2026-11-02T02:00:00Z", "2026-11-05T18:00:00Z", "2026-11-05"),   # 01:00 WIB on the 6th: late
    ]):
        db.execute("INSERT INTO permohonan (nomor, akun_id, layanan_id, wilayah_kode, instansi_id, status, diajukan, "
                   "selesai, tenggat) VALUES (?, ?, ?, '2171', ?, 'selesai', ?, ?, ?)",
                   [f"T-{i}", akun, layanan, disduk, diajukan, selesai, tenggat])
    db.execute("INSERT INTO permohonan (nomor, akun_id, layanan_id, wilayah_kode, instansi_id, status, diajukan, "
               "tenggat) VALUES ('T-9', ?, ?, '2171', ?, 'diajukan', '2026-11-02T02:00:00Z', '2026-11-05')",
               [akun, layanan, disduk])
    gerai = db.execute("SELECT id FROM gerai WHERE wilayah_kode = '2171' AND nomor = '01'").fetchone()[0]
    for n, called in enumerate(["02:20", "02:50", "04:00"], start=1):   # 09:00 WIB slot: 20, 50, 120 minutes
        db.execute("INSERT INTO tiket (wilayah_kode, gerai_id, tanggal, jam, jenis, nomor, kode, status, dipanggil) "
                   "VALUES ('2171', ?, '2026-11-30', '09:00', 'langsung', ?, ?, 'dilayani', ?)",
                   [gerai, n, f"01-{n:03d}", f"2026-11-30T{called}:00.000000Z"])
    for n in range(2):
        db.execute("INSERT INTO skm (transaksi, wilayah_kode, " + ", ".join(f"u{i}" for i in range(1, 10)) + ") "
                   "VALUES (?, '2171', 2, 2, 2, 2, 2, 2, 2, 2, 2)", [f"tiket:{n + 1}"])
    db.conn.commit()
    perf = svc.performance(db)
    batam = next(r for r in perf["wilayah"] if r["kode"] == "2171")
    assert batam["status"] == {"selesai": 3, "diajukan": 1} and batam["proses"] == 1
    assert batam["median_hari"] == 2.0
    assert batam["sla"] == 66.7
    assert batam["ikm"].konversi == 50.0 and batam["ikm"].mutu == "D"
    assert batam["tunggu"] == 50.0
    assert batam["tertinggal"] and perf["wilayah"][0]["kode"] == "2171"   # laggards first
    aceh = next(r for r in perf["wilayah"] if r["kode"] == "1171")
    assert aceh["sla"] is None and aceh["tunggu"] is None and not aceh["tertinggal"]
    assert perf["status_nasional"] == {"selesai": 3, "diajukan": 1}
    login(client, "kemenpanrb")
    row = soup(client.get("/pemantauan/kinerja")).select("tbody tr")[0]
    assert "Kota Batam" in row.text and "Tertinggal" in row.text and "66.7%" in row.text
    lines = list(csv.DictReader(io.StringIO(client.get("/pemantauan/kinerja.csv").text)))
    assert next(r for r in lines if r["kode"] == "2171")["permohonan_selesai"] == "3"


@pytest.mark.parametrize("url", PUBLIC + MINISTRY + ["/pemantauan/daftar?kelompok=Jawa&hal=2"])
def test_every_monitoring_page_fits_the_14kb_budget(client, url):
    if url in MINISTRY:
        login(client, "kemenpanrb")
    gz, br = compressed_size(client, url)
    assert gz <= BUDGET and br <= BUDGET, f"{url}: {gz} gzip / {br} brotli"


# ------------------------------------------------------------------ import of the real list

def _current_csv(client) -> list[str]:
    return client.get("/pemantauan/wilayah.csv").text.splitlines()


def _upload(client, content: bytes, name: str = "mpp_resmi.csv"):
    fields = form_fields(client, "/pemantauan/impor", "/pemantauan/impor")
    return client.post("/pemantauan/impor", data=fields, files={"berkas": (name, content, "text/csv")},
                       follow_redirects=False)


def test_import_with_errors_reports_each_line_and_changes_nothing(client, db):
    login(client, "kemenpanrb")
    lines = _current_csv(client)
    index = {line.split(",")[0]: i for i, line in enumerate(lines)}

    def edit(kode: str, **changes) -> int:
        cells = lines[index[kode]].split(",")
        for col, value in changes.items():
            cells[["kode", "nama", "provinsi", "kelompok_pulau", "status", "tanggal_berdiri", "target_tahun",
                   "mpp_digital", "sumber"].index(col)] = value
        lines[index[kode]] = ",".join(cells)
        return index[kode] + 1                                   # the file's line number (header = 1)

    bad_status = edit("1101", status="aktif")
    bad_date = edit("1172", status="berdiri", tanggal_berdiri="2023-02-30")
    no_year = edit("1102", status="target", target_tahun="")
    pilot = edit("1171", status="belum", tanggal_berdiri="")
    lines.append("9999,Kabupaten Entah,X,Y,belum,,,0,")
    lines.append(lines[index["2171"]])
    before, loads, audits = rollout(db), db.execute("SELECT count(*) FROM mpp_nasional_impor").fetchone()[0], \
        db.execute("SELECT count(*) FROM audit").fetchone()[0]
    r = _upload(client, ("\n".join(lines) + "\n").encode())
    assert r.status_code == 400
    text = text_of(r)
    assert "tidak ada data yang diubah" in text
    assert f"Baris {bad_status}: status “aktif” tidak dikenal" in text
    assert f"Baris {bad_date}: tanggal_berdiri “2023-02-30” bukan tanggal yang sah" in text
    assert f"Baris {no_year}: target_tahun “” bukan tahun yang sah" in text
    assert f"Baris {pilot}: MPP Digital sudah aktif di 1171" in text
    assert "Baris 516: kode wilayah “9999” tidak dikenal" in text
    assert f"Baris 517: kode 2171 sudah ada di baris {index['2171'] + 1}" in text
    assert rollout(db) == before
    assert db.execute("SELECT count(*) FROM mpp_nasional_impor").fetchone()[0] == loads
    assert db.execute("SELECT count(*) FROM audit").fetchone()[0] == audits
    assert "Data demo" in text_of(client.get("/pemantauan"))


@pytest.mark.parametrize("content, message", [
    (b"", "Berkas kosong"),
    (b"nama,status\nKota Batam,berdiri\n", "Kolom wajib tidak ada: kode"),
    (b"kode,status\n", "tidak berisi baris data"),
    ("kode,status\n2171,berdiri\n".encode("utf-16"), "bukan teks CSV UTF-8"),
])
def test_import_refuses_unreadable_files(client, db, content, message):
    login(client, "kemenpanrb")
    before = rollout(db)
    r = _upload(client, content)
    assert r.status_code == 400 and message in text_of(r)
    assert rollout(db) == before


def test_a_valid_file_replaces_the_whole_list(client, db):
    login(client, "kemenpanrb")
    lines = _current_csv(client)
    out = []
    for line in lines:                       # as a spreadsheet saves it: BOM, semicolons, dotted codes
        cells = line.split(",")
        if cells[0] == "9171":
            cells[4:7] = ["belum", "", ""]
        if cells[0] == "1101":
            cells[4:7] = ["target", "", "2026"]
        if cells[0].isdigit():
            cells[0] = cells[0][:2] + "." + cells[0][2:]
            cells[8] = "Daftar resmi KemenPANRB"
        out.append(";".join(cells))
    r = _upload(client, ("\ufeff" + "\r\n".join(out) + "\r\n").encode())
    assert r.status_code == 303
    assert "514 baris diimpor" in text_of(client.get("/pemantauan/impor"))
    n = svc.national_figures(db)
    assert (n["berdiri"], n["belum"], n["tanpa_data"]) == (162, 179, 0)
    assert {"tahun": 2026, "jumlah": 1} in n["target_tahun"]
    assert db.execute("SELECT sumber FROM mpp_nasional WHERE wilayah_kode = '9171'").fetchone()[0] == \
        "Daftar resmi KemenPANRB"
    load = db.execute("SELECT * FROM mpp_nasional_impor ORDER BY id DESC LIMIT 1").fetchone()
    assert load["demo"] == 0 and load["nama_file"] == "mpp_resmi.csv" and load["jumlah_baris"] == 514
    entry = db.execute("SELECT * FROM audit WHERE aksi = 'impor_mpp_nasional'").fetchone()
    assert entry["akun_id"] == db.execute("SELECT id FROM akun WHERE username = 'kemenpanrb'").fetchone()[0]
    assert audit.verify_chain(db) is None
    page = text_of(client.get("/pemantauan"))
    assert "Data demo" not in page and "mpp_resmi.csv" in page
    # a shorter list also replaces everything: the regions left out have no data
    r = _upload(client, b"kode,status,tanggal_berdiri,target_tahun\n2171,berdiri,2017-12-14,\n9171,target,,2027\n")
    assert r.status_code == 303
    n = svc.national_figures(db)
    assert (n["berdiri"], n["target"], n["belum"], n["tanpa_data"]) == (1, 1, 0, 512)


def test_import_is_one_transaction(db, monkeypatch):
    """A failure after the rows went in (here: the audit record) leaves the old list whole."""
    before = rollout(db)
    kemen = dict(db.execute("SELECT * FROM akun WHERE username = 'kemenpanrb'").fetchone())

    def broken(*args, **kwargs):
        raise RuntimeError("disk penuh")

    monkeypatch.setattr(svc.audit, "append", broken)
    with pytest.raises(RuntimeError):
        svc.import_rollout(db, kemen, b"kode,status\n1101,belum\n", "x.csv")
    assert rollout(db) == before
    assert db.execute("SELECT count(*) FROM mpp_nasional_impor").fetchone()[0] == 1   # the demo seed only


def test_the_import_form_works_without_javascript(client):
    login(client, "kemenpanrb")
    form = soup(client.get("/pemantauan/impor")).find("form", action="/pemantauan/impor")
    assert form["method"] == "post" and form["enctype"] == "multipart/form-data"
    assert form.find("input", attrs={"name": "csrf_token"}) and form.find("input", type="file")
