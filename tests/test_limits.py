"""Hostile clients against accounts: guessing passwords, inventing addresses, probing the registry,
reusing a copied cookie. Nobody may lock the real owner out, and no answer tells more than needed."""

from __future__ import annotations

import dataclasses
import re
import socket
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from http.cookiejar import CookieJar
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from app import create_app
from ops import seed
from services import ratelimit
from tests.conftest import SIGNING_KEY, TEMPLATE_KEY
from tests.helpers import answers_for, form_fields, login, register, sms_code, start_draft, text_of
from web.settings import ConfigError, Settings

HEADER = "fly-client-ip"
BUDI = "2171031508900001"
AHMAD = {"nik": "2171100402850002", "nama": "Ahmad Fauzi", "hari": "4", "bulan": "2", "tahun": "1985",
         "jenis_kelamin": "L", "telepon": "0812-3456-7890", "kata_sandi": "rahasia-ahmad", "setuju": "ya"}
DEWI = {"nik": "2171115006790002", "nama": "Dewi Lestari Putri", "hari": "10", "bulan": "6", "tahun": "1979",
        "jenis_kelamin": "P", "telepon": "081377788899", "kata_sandi": "rahasia-dewi", "setuju": "ya"}


@pytest.fixture
def proxied(settings):
    """The app behind a proxy that writes each client's address into Fly-Client-IP, as on Fly."""
    app = create_app(dataclasses.replace(settings, client_ip_header=HEADER), quiet=True)
    with TestClient(app, base_url="http://127.0.0.1") as c:
        yield c


def login_from(client, ip: str, login_id: str, password: str = seed.DEMO_PASSWORD):
    fields = form_fields(client, "/masuk", "/masuk")
    return client.post("/masuk", data={**fields, "login": login_id, "kata_sandi": password},
                       headers={HEADER: ip}, follow_redirects=False)


def register_from(client, ip: str, person: dict):
    fields = form_fields(client, "/daftar", "/daftar")
    return client.post("/daftar", data={**fields, **person}, headers={HEADER: ip}, follow_redirects=False)


# ------------------------------------------------------------------------------------------- wrong passwords

def test_wrong_passwords_from_elsewhere_never_lock_the_owner_out(proxied):
    for _ in range(8):  # officer usernames are easy to guess
        last = login_from(proxied, "203.0.113.9", "dukcapil.batam", "salah")
    assert last.status_code == 429 and "Terlalu banyak percobaan" in text_of(last)
    r = login_from(proxied, "198.51.100.7", "dukcapil.batam")
    assert r.status_code == 303 and r.headers["location"] == "/petugas"


def test_the_guessing_address_is_stopped_and_told_when_to_try_again(proxied):
    for _ in range(5):
        assert login_from(proxied, "203.0.113.9", BUDI, "salah").status_code == 400
    r = login_from(proxied, "203.0.113.9", BUDI)  # even the right password waits there
    assert r.status_code == 429 and re.search(r"coba lagi dalam \d+ menit", text_of(r).lower())
    assert 0 < int(r.headers["retry-after"]) <= 15 * 60


def test_the_nik_and_the_phone_number_of_one_account_count_together(proxied, db):
    db.execute("UPDATE akun SET telepon = '081311112222' WHERE nik = ?", [BUDI])
    db.conn.commit()
    for login_id in (BUDI, BUDI, BUDI, "0813 1111 2222", "081311112222"):
        assert login_from(proxied, "203.0.113.9", login_id, "salah").status_code == 400
    assert login_from(proxied, "203.0.113.9", "081311112222").status_code == 429


def test_identifiers_that_name_no_account_are_limited_alike_and_answered_alike(proxied, monkeypatch):
    unknown = login_from(proxied, "203.0.113.9", "petugas.batam", "salah")
    known = login_from(proxied, "203.0.113.9", "dukcapil.batam", "salah")
    assert unknown.status_code == known.status_code == 400
    assert text_of(unknown).replace("petugas.batam", "") == text_of(known).replace("dukcapil.batam", "")
    for _ in range(4):
        login_from(proxied, "203.0.113.9", "petugas.batam", "salah")
    assert login_from(proxied, "203.0.113.9", "petugas.batam", "salah").status_code == 429
    # spraying one password over many names: the address stops (30 a quarter hour; 3 here) ...
    monkeypatch.setattr(ratelimit, "LOGIN_PER_CLIENT", ratelimit.Limit("masuk:klien", 3, 900))
    assert login_from(proxied, "192.0.2.50", BUDI).status_code == 303  # Budi logs in from home
    for name in ("admin.batam", "dpmptsp.batam", "kemenpanrb"):
        login_from(proxied, "192.0.2.50", name, "salah")
    assert login_from(proxied, "192.0.2.50", "admin.batam").status_code == 429
    # ... but not for an account that logged in from that address before
    assert login_from(proxied, "192.0.2.50", BUDI).status_code == 303


def test_many_addresses_slow_an_account_down_but_not_where_its_owner_logs_in(proxied, db):
    assert login_from(proxied, "198.51.100.7", "dukcapil.batam").status_code == 303  # the officer's office
    for i in range(3):  # a botnet, one guess per address
        assert login_from(proxied, f"203.0.113.{i}", "dukcapil.batam", "salah").status_code == 400
    officer = db.execute("SELECT id FROM akun WHERE username = 'dukcapil.batam'").fetchone()[0]
    for _ in range(12):  # ... and the rest of its hour of guessing (10 an hour pass, then 2 s, 4 s, 8 s ...)
        ratelimit.record_failure(db, ratelimit.LOGIN_PER_ACCOUNT, str(officer))
    waits = login_from(proxied, "203.0.113.77", "dukcapil.batam")  # even with the right password
    assert waits.status_code == 429 and re.search(r"coba lagi dalam \d+ (detik|menit)", text_of(waits).lower())
    assert login_from(proxied, "198.51.100.7", "dukcapil.batam").status_code == 303


def test_the_account_slow_down_doubles_and_is_capped(db):
    slow = ratelimit.SlowDown("uji", 3, 3600, 300)
    t = 1_000_000.0
    for i in range(3):
        assert ratelimit.slow_down_s(db, slow, "a", t + i) == 0
        ratelimit.record_failure(db, slow, "a", t + i)
    assert ratelimit.slow_down_s(db, slow, "a", t + 2) == 2   # after the 3 free ones: 2 s, 4 s, 8 s ...
    ratelimit.record_failure(db, slow, "a", t + 4)
    assert ratelimit.slow_down_s(db, slow, "a", t + 4) == 4
    assert ratelimit.slow_down_s(db, slow, "a", t + 8) == 0
    for i in range(20):
        ratelimit.record_failure(db, slow, "a", t + 10 + i)
    assert ratelimit.slow_down_s(db, slow, "a", t + 29) == 300  # never more than the cap
    assert ratelimit.slow_down_s(db, slow, "a", t + 29 + 3600) == 0  # the window forgets


# ---------------------------------------------------------------------------------------------- the address

def test_an_ipv6_subscriber_counts_as_one_address_whatever_the_last_64_bits(proxied):
    for i in range(5):  # one phone's /64 holds 2^64 addresses
        assert login_from(proxied, f"2001:db8:1:2::{i + 1:x}", BUDI, "salah").status_code == 400
    assert login_from(proxied, "2001:db8:1:2:ffff::9", BUDI).status_code == 429
    assert login_from(proxied, "2001:db8:1:3::1", BUDI).status_code == 303  # the neighbour's /64


def test_x_forwarded_for_does_not_change_the_address_counted(client):
    for i in range(5):
        fields = form_fields(client, "/masuk", "/masuk")
        client.post("/masuk", data={**fields, "login": BUDI, "kata_sandi": "salah"},
                    headers={"X-Forwarded-For": f"10.0.0.{i}"})
    fields = form_fields(client, "/masuk", "/masuk")
    r = client.post("/masuk", data={**fields, "login": BUDI, "kata_sandi": "salah"},
                    headers={"X-Forwarded-For": "10.9.9.9"})
    assert r.status_code == 429


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_the_server_as_started_does_not_take_the_address_from_x_forwarded_for(db_path, monkeypatch):
    """``python app.py`` (make run) as configured by app.main(): a real uvicorn, a header anyone can write."""
    import uvicorn

    import app as app_module

    for name, value in {"MPP_DB": db_path, "MPP_SECRET_KEY": "test-secret", "MPP_TEMPLATE_KEY": TEMPLATE_KEY,
                        "MPP_SIGNING_KEY": SIGNING_KEY, "MPP_FACE_WARMUP": "0"}.items():
        monkeypatch.setenv(name, value)
    for name in ("MPP_HTTPS", "MPP_CLIENT_IP_HEADER", "MPP_BASE_URL", "FORWARDED_ALLOW_IPS"):
        monkeypatch.delenv(name, raising=False)
    port = _free_port()
    monkeypatch.setenv("PORT", str(port))
    called = {}
    monkeypatch.setattr(uvicorn, "run", lambda target, **kw: called.update(target=target, kw=kw))
    app_module.main()
    server = uvicorn.Server(uvicorn.Config(called["target"], **{**called["kw"], "host": "127.0.0.1", "port": port,
                                                                  "log_level": "warning"}))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        for _ in range(200):
            if server.started:
                break
            time.sleep(0.05)
        browser = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(CookieJar()))
        base = f"http://127.0.0.1:{port}"
        for i in range(6):
            page = browser.open(base + "/masuk").read().decode()
            fields = dict(re.findall(r'name="(csrf_token|_idem)" value="([^"]*)"', page))
            body = urllib.parse.urlencode({**fields, "login": BUDI, "kata_sandi": "salah"}).encode()
            try:
                status = browser.open(urllib.request.Request(base + "/masuk", data=body, headers={
                    "X-Forwarded-For": f"10.0.0.{i}"})).status
            except urllib.error.HTTPError as e:
                status = e.code
        assert status == 429, "the limit counted each invented X-Forwarded-For as a new address"
    finally:
        server.should_exit = True
        thread.join(10)


def test_the_image_trusts_no_forwarded_address():
    dockerfile = (Path(__file__).resolve().parent.parent / "Dockerfile").read_text()
    lines = [line for line in dockerfile.splitlines() if not line.lstrip().startswith("#")]
    assert not any("FORWARDED_ALLOW_IPS" in line for line in lines)


def test_a_production_start_without_the_client_address_header_is_refused(tmp_path, monkeypatch):
    env = {"MPP_HTTPS": "1", "MPP_BASE_URL": "https://mpp.contoh.go.id", "MPP_DB": str(tmp_path / "mpp.db"),
           "MPP_SECRET_KEY": "x", "MPP_TEMPLATE_KEY": TEMPLATE_KEY, "MPP_SIGNING_KEY": SIGNING_KEY}
    with pytest.raises(ConfigError, match="MPP_CLIENT_IP_HEADER wajib diisi bila MPP_HTTPS=1"):
        Settings.from_env(env)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("MPP_CLIENT_IP_HEADER", raising=False)
    with pytest.raises(ConfigError, match="fly-client-ip"):
        create_app(quiet=True)
    assert Settings.from_env({**env, "MPP_CLIENT_IP_HEADER": "Fly-Client-IP"}).client_ip_header == "fly-client-ip"
    with pytest.raises(ConfigError, match="bukan nama header"):
        Settings.from_env({**env, "MPP_CLIENT_IP_HEADER": "fly client ip"})


# ------------------------------------------------------------------------------------------------ enumeration

def test_registering_a_taken_nik_with_a_wrong_name_hears_only_the_mismatch(client, db):
    budi = {"nik": BUDI, "nama": "Orang Lain", "hari": "15", "bulan": "8", "tahun": "1990", "jenis_kelamin": "L",
            "telepon": "081399990000", "kata_sandi": "rahasia-budi", "setuju": "ya"}
    r = register(client, budi, prove_phone=False)
    assert r.status_code == 400 and "tidak cocok dengan data kependudukan" in text_of(r)
    assert "akun" not in text_of(r).split("tidak cocok")[1][:300]
    r = register(client, {**budi, "nama": "Budi Santoso"}, prove_phone=False)  # knows NIK, name and birth date
    assert r.status_code == 400 and "sudah memiliki akun" in text_of(r) and "KTP-el" in text_of(r)


def test_registration_never_says_a_number_is_taken_before_its_code(client, db):
    db.execute("UPDATE akun SET telepon = '081234567890' WHERE nik = ?", [BUDI])
    db.conn.commit()
    r = register(client, AHMAD, prove_phone=False)  # Budi's number
    assert r.status_code == 303 and r.headers["location"] == "/daftar/kode"
    fields = form_fields(client, "/daftar/kode", "/daftar/kode")
    proven = client.post("/daftar/kode", data={**fields, "kode": sms_code(client)}, follow_redirects=False)
    assert proven.status_code == 400 and "dipakai akun lain" in text_of(proven)  # said to the number's holder
    assert db.execute("SELECT count(*) FROM akun WHERE nik = ?", [AHMAD["nik"]]).fetchone()[0] == 0


def test_changing_to_another_accounts_number_is_refused_only_after_its_code(client, db):
    db.execute("UPDATE akun SET telepon = '081311112222' WHERE username = 'dukcapil.batam'")
    db.conn.commit()
    login(client, BUDI)
    fields = form_fields(client, "/akun", "/akun/telepon")
    r = client.post("/akun/telepon", data={**fields, "telepon": "0813 1111 2222"}, follow_redirects=False)
    assert r.status_code == 303 and "dipakai" not in text_of(client.get("/akun"))
    code = re.search(r"(\d{6})", db.execute("SELECT isi FROM notifikasi WHERE tujuan = '081311112222'"
                                            ).fetchone()[0]).group(1)
    fields = form_fields(client, "/akun", "/akun/telepon/kode")
    refused = client.post("/akun/telepon/kode", data={**fields, "kode": code})
    assert refused.status_code == 400 and "dipakai akun lain" in text_of(refused)


def test_registry_look_ups_are_limited_per_address_and_slowed_per_nik(proxied, db, monkeypatch):
    monkeypatch.setattr(ratelimit, "REGISTER_PER_CLIENT", ratelimit.Limit("daftar:klien", 3, 3600))
    for name in ("Ahmad Fauzan", "Achmad Fauzi", "Ahmad Fauzi Rahman"):  # someone who has Ahmad's NIK guesses
        r = register_from(proxied, "203.0.113.9", {**AHMAD, "nama": name})
        assert r.status_code == 400 and "tidak cocok" in text_of(r)
    stopped = register_from(proxied, "203.0.113.9", DEWI)  # that address: 20 look-ups an hour (3 here)
    assert stopped.status_code == 429 and "Terlalu banyak percobaan pendaftaran" in text_of(stopped)
    for _ in range(5):  # more guesses at Ahmad's name from elsewhere (5 an hour pass, then 2 s, 4 s, 8 s ...)
        ratelimit.record_failure(db, ratelimit.REGISTER_MISMATCH_PER_NIK, ratelimit.digest(AHMAD["nik"]))
    slowed = register_from(proxied, "198.51.100.7", AHMAD)  # Ahmad's NIK, from anywhere: a short wait
    assert slowed.status_code == 429 and re.search(r"coba lagi dalam \d+ detik", text_of(slowed).lower())
    assert "gerai MPP" in text_of(slowed)
    assert register_from(proxied, "198.51.100.8", DEWI).status_code == 303  # everyone else goes on
    assert db.execute("SELECT count(*) FROM pendaftaran").fetchone()[0] == 1


def test_a_family_members_nik_is_checked_against_the_registry_only_so_often(client, db):
    db.execute("UPDATE akun SET wajah_terakhir = strftime('%Y-%m-%dT%H:%M:%SZ', 'now') WHERE nik = ?", [BUDI])
    db.conn.commit()
    login(client, BUDI)
    r = start_draft(client, "kartu-keluarga")
    pid = int(re.search(r"/permohonan/(\d+)/isi", r.headers["location"]).group(1))
    import json
    formulir = json.loads(db.execute("SELECT formulir FROM layanan WHERE slug = 'kartu-keluarga'").fetchone()[0])

    def answer(nik: str) -> str:
        fields = form_fields(client, f"/permohonan/{pid}/isi", f"/permohonan/{pid}/simpan")
        client.post(f"/permohonan/{pid}/simpan", data={**fields, **answers_for(formulir, {"nik_anggota": nik}),
                                                        "aksi": "simpan"})
        return text_of(client.get(f"/permohonan/{pid}/periksa"))

    for serial in range(2, 12):  # ten other people's NIKs a day
        assert "tidak ditemukan di data kependudukan" in answer(f"217103150890{serial:04d}")
    page = answer("2171031508900012")
    assert "dibatasi 10 NIK per hari" in page and "tidak ditemukan" not in page
    assert "dibatasi" not in answer("2171031508900003")  # one already checked today is answered again
    assert "dibatasi" in answer("2171064712880001")  # a real resident's NIK is no exception


# -------------------------------------------------------------------------------------------------- sessions

def test_a_copied_cookie_is_dead_after_keluar(app, client, db):
    login(client, BUDI)
    copied = client.cookies.get("mpp_sesi")
    client.post("/keluar", data=form_fields(client, "/akun", "/keluar"))
    with TestClient(app, base_url="http://127.0.0.1") as thief:
        thief.cookies.set("mpp_sesi", copied)
        r = thief.get("/akun", follow_redirects=False)
        assert r.status_code == 303 and r.headers["location"].startswith("/masuk")
    assert db.execute("SELECT count(*) FROM sesi WHERE berakhir IS NULL").fetchone()[0] == 0


def test_anonymous_visits_write_no_session(client, db):
    for url in ("/", "/masuk", "/daftar", "/layanan"):
        client.get(url)
    assert db.execute("SELECT count(*) FROM sesi").fetchone()[0] == 0
    login(client, BUDI)
    for _ in range(3):
        assert client.get("/akun").status_code == 200
    assert db.execute("SELECT count(*) FROM sesi").fetchone()[0] == 1


# ------------------------------------------------------------------------------------------- complaint codes

def test_guessing_complaint_codes_is_stopped_per_address_and_the_owner_still_reads_theirs(proxied):
    """A complaint's text is behind its 8-character tracking code; guesses from one address are stopped
    after 20 an hour, while the citizen with the right link, elsewhere, still reads it."""
    fields = form_fields(proxied, "/pengaduan", "/pengaduan")
    r = proxied.post("/pengaduan", data={**fields, "wilayah": "2171", "isi": "Petugas meminta uang tambahan."},
                     headers={HEADER: "198.51.100.7"}, follow_redirects=False)
    link = r.headers["location"]
    nomor = link.split("/")[2].split("?")[0]
    answers = [proxied.get(f"/pengaduan/{nomor}?kode={i:08x}", headers={HEADER: "203.0.113.9"}).status_code
               for i in range(22)]
    assert answers[:20] == [404] * 20 and answers[20:] == [429, 429]
    stopped = proxied.get(link, headers={HEADER: "203.0.113.9"})  # even the right code, from the guessing address
    assert stopped.status_code == 429 and "Tunggu" in text_of(stopped)
    page = proxied.get(link, headers={HEADER: "198.51.100.7"})
    assert page.status_code == 200 and "uang tambahan" in text_of(page)
