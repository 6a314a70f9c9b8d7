"""Assurance levels, phone possession by SMS code, announcement to the registry's contacts and "bukan saya".

Face-free: the selfie step and the counter's photo have their tests in test_identitas.py.
"""

from __future__ import annotations

import json
import re
import threading
from http.server import BaseHTTPRequestHandler

import pytest
from starlette.testclient import TestClient

from biometrics.templates import parse_key
from integrations.sms import HttpSmsGateway
from services import jaminan, notifikasi, otp
from services import permohonan as svc
from tests.conftest import TEMPLATE_KEY
from tests.helpers import form_fields, login, register, serving, sms_code, start_draft, text_of

AHMAD = {"nik": "2171100402850002", "nama": "Ahmad Fauzi", "hari": "4", "bulan": "2", "tahun": "1985",
         "jenis_kelamin": "L", "telepon": "0812-3456-7890", "kata_sandi": "rahasia-ahmad", "setuju": "ya"}
AHMAD_REGISTRY_PHONE = "081270000002"  # db/katalog/penduduk_demo.toml
BUDI = "2171031508900001"
KEY = parse_key(TEMPLATE_KEY)


def accounts(db, nik: str) -> int:
    return db.execute("SELECT count(*) FROM akun WHERE nik = ?", [nik]).fetchone()[0]


def post_code(client, code: str):
    fields = form_fields(client, "/daftar/kode", "/daftar/kode")
    return client.post("/daftar/kode", data={**fields, "kode": code}, follow_redirects=False)


def test_no_account_exists_until_the_phone_is_proven(client, db):
    r = register(client, AHMAD, prove_phone=False)
    assert r.headers["location"] == "/daftar/kode"
    page = text_of(client.get("/daftar/kode"))
    assert "0812****7890" in page and "berlaku 10 menit" in page.lower()
    assert accounts(db, AHMAD["nik"]) == 0
    code = sms_code(client)
    wrong = post_code(client, "000000" if code != "000000" else "111111")
    assert wrong.status_code == 400 and "Kode salah" in text_of(wrong)
    assert accounts(db, AHMAD["nik"]) == 0
    fields = form_fields(client, "/daftar/kode", "/daftar/kode")
    r = client.post("/daftar/kode", data={**fields, "kode": code}, follow_redirects=False)
    assert r.headers["location"] == "/daftar/wajah"
    row = db.execute("SELECT id, tingkat, telepon FROM akun WHERE nik = ?", [AHMAD["nik"]]).fetchone()
    assert (row["tingkat"], row["telepon"]) == ("terdaftar", "081234567890")
    history = db.execute("SELECT tingkat, kanal FROM jaminan WHERE akun_id = ?", [row["id"]]).fetchall()
    assert [tuple(h) for h in history] == [("terdaftar", "sms")]
    assert "Terdaftar" in text_of(client.get("/akun"))


def test_codes_expire_and_are_used_once(db):
    sent = otp.send_code(db, KEY, "uji:1", "081234567890", "10.0.0.1", now=1000.0)
    assert sent.ok
    code = re.search(r"(\d{6})", db.execute("SELECT isi FROM notifikasi ORDER BY id DESC").fetchone()[0]).group(1)
    late = otp.check_code(db, KEY, "uji:1", "081234567890", code, now=1000.0 + otp.CODE_TTL_S + 1)
    assert not late.ok and "kedaluwarsa" in late.message
    otp.send_code(db, KEY, "uji:2", "081234567890", "10.0.0.1", now=1000.0)
    code = re.search(r"(\d{6})", db.execute("SELECT isi FROM notifikasi ORDER BY id DESC").fetchone()[0]).group(1)
    assert otp.check_code(db, KEY, "uji:2", "081234567890", code, now=1001.0).ok
    reused = otp.check_code(db, KEY, "uji:2", "081234567890", code, now=1002.0)
    assert not reused.ok and "sudah dipakai" in reused.message
    # a code proves only the number it was sent to
    otp.send_code(db, KEY, "uji:3", "081234567890", "10.0.0.1", now=1000.0)
    code = re.search(r"(\d{6})", db.execute("SELECT isi FROM notifikasi ORDER BY id DESC").fetchone()[0]).group(1)
    assert not otp.check_code(db, KEY, "uji:3", "081299999999", code, now=1001.0).ok


def test_only_the_hash_of_a_code_is_stored(db):
    otp.send_code(db, KEY, "uji:h", "081234567890", "10.0.0.1")
    code = re.search(r"(\d{6})", db.execute("SELECT isi FROM notifikasi ORDER BY id DESC").fetchone()[0]).group(1)
    row = db.execute("SELECT * FROM kode_otp WHERE tujuan = 'uji:h'").fetchone()
    assert code not in json.dumps(dict(row))


def test_five_wrong_codes_void_every_code_of_that_registration(client, db):
    register(client, AHMAD, prove_phone=False)
    code = sms_code(client)
    wrong = "999999" if code != "999999" else "888888"
    for _ in range(4):
        assert "Kode salah" in text_of(post_code(client, wrong))
    fifth = post_code(client, wrong)
    assert "5 kali" in text_of(fifth)
    after = post_code(client, code)  # the right code no longer works either
    assert after.status_code == 400 and accounts(db, AHMAD["nik"]) == 0


def test_resends_are_limited_and_the_earlier_code_still_works(client, db):
    register(client, AHMAD, prove_phone=False)
    first = sms_code(client)
    for _ in range(2):
        fields = form_fields(client, "/daftar/kode", "/daftar/kode/ulang")
        assert client.post("/daftar/kode/ulang", data=fields, follow_redirects=False).status_code == 303
    fields = form_fields(client, "/daftar/kode", "/daftar/kode/ulang")
    refused = client.post("/daftar/kode/ulang", data=fields)
    assert refused.status_code == 429 and "Tunggu 30 menit" in text_of(refused)
    assert db.execute("SELECT count(*) FROM kode_otp").fetchone()[0] == 3
    assert post_code(client, first).headers["location"] == "/daftar/wajah"  # a late SMS still counts


def test_a_number_is_taken_only_once_proven(app, client, db):
    register(client, AHMAD, prove_phone=False)  # Ahmad types the number but does not prove it yet
    code = sms_code(client)
    dewi = {"nik": "2171115006790002", "nama": "Dewi Lestari Putri", "hari": "10", "bulan": "6", "tahun": "1979",
            "jenis_kelamin": "P", "telepon": AHMAD["telepon"], "kata_sandi": "rahasia-dewi", "setuju": "ya"}
    with TestClient(app, base_url="http://127.0.0.1") as owner:
        assert register(owner, dewi).headers["location"] == "/daftar/wajah"  # the number's real holder
    late = post_code(client, code)
    assert late.status_code == 400 and "dipakai akun lain" in text_of(late)
    assert accounts(db, AHMAD["nik"]) == 0


def test_a_new_account_is_announced_to_the_registry_contacts_who_can_suspend_it(app, client, db):
    register(client, AHMAD)
    sms = db.execute("SELECT isi FROM notifikasi WHERE tujuan = ?", [AHMAD_REGISTRY_PHONE]).fetchall()
    assert len(sms) == 1 and "2171********0002" in sms[0][0] and "0812****7890" in sms[0][0]
    link = re.search(r"https?://\S+(/bukan-saya/\S+)", sms[0][0]).group(1)
    with TestClient(app, base_url="http://127.0.0.1") as owner:
        page = owner.get(link)
        assert page.status_code == 200 and "Ahmad Fauzi" in text_of(page)
        assert db.execute("SELECT status FROM akun WHERE nik = ?", [AHMAD["nik"]]).fetchone()[0] == "aktif"  # GET
        fields = form_fields(owner, link, link)
        done = owner.post(link, data=fields)
        assert done.status_code == 200 and "ditangguhkan" in text_of(done) and "KTP-el" in text_of(done)
    assert db.execute("SELECT status FROM akun WHERE nik = ?", [AHMAD["nik"]]).fetchone()[0] == "ditangguhkan"
    assert client.get("/akun", follow_redirects=False).headers["location"].startswith("/masuk")  # session ended
    again = login(client, AHMAD["nik"], AHMAD["kata_sandi"])
    assert again.status_code == 400 and "ditangguhkan" in text_of(again)
    assert db.execute("SELECT aksi FROM audit ORDER BY id DESC").fetchone()[0] == "bukan_saya"
    forged = client.get(link[:-3] + "abc")
    assert forged.status_code == 404 and "tidak sah" in text_of(forged)


def test_a_level_below_the_service_is_submitted_for_the_counter_to_check_and_says_so(client, db):
    """Below the service's level is no dead end: the application is submitted, officers work on it, and the
    document waits until the identity is checked at the MPP (tests/test_jalan_buntu.py follows it to the end)."""
    register(client, AHMAD)  # terdaftar: registry data and phone, no face yet
    r = start_draft(client, "kartu-keluarga")
    pid = int(re.search(r"/permohonan/(\d+)/isi", r.headers["location"]).group(1))
    page = text_of(client.get(f"/permohonan/{pid}/periksa"))
    assert "Terverifikasi wajah" in page and "Belum dapat diajukan" not in page
    assert "dokumen baru terbit setelah Anda datang ke gerai Disdukcapil" in page and "Verifikasi wajah dulu" in page
    fields = form_fields(client, f"/permohonan/{pid}/isi", f"/permohonan/{pid}/simpan")
    incomplete = client.post(f"/permohonan/{pid}/ajukan", data=fields, follow_redirects=False)
    assert incomplete.status_code == 400 and "wajib diisi" in text_of(incomplete)  # the form's own rules still hold
    assert db.execute("SELECT status FROM permohonan WHERE id = ?", [pid]).fetchone()[0] == "draf"


def test_a_document_waits_for_the_level_its_service_needs_before_it_is_issued(app, client, db):
    register(client, AHMAD)  # terdaftar may submit an akta kelahiran; the akta needs a face check to be issued
    akun = dict(db.execute("SELECT * FROM akun WHERE nik = ?", [AHMAD["nik"]]).fetchone())
    r = start_draft(client, "akta-kelahiran")
    pid = int(re.search(r"/permohonan/(\d+)/isi", r.headers["location"]).group(1))
    assert "Dokumen baru diterbitkan setelah" in text_of(client.get(f"/permohonan/{pid}/periksa"))
    db.execute("UPDATE permohonan SET status = 'disetujui', nomor = 'X-1' WHERE id = ?", [pid])
    db.conn.commit()
    officer = dict(db.execute("SELECT a.*, i.jenis_kode AS instansi_jenis FROM akun a JOIN instansi i "
                              "ON i.id = a.instansi_id WHERE username = 'dukcapil.batam'").fetchone())
    from db import permohonan as q
    p = q.get(db, pid)
    pel = svc.Pelayanan(db=db, registry=None, sisdmk=None, signing_key=app.state.signing_key)
    with pytest.raises(svc.ActionRefused, match="Terverifikasi wajah"):
        svc.officer_action(pel, officer, p, "terbitkan")
    assert q.get(db, pid)["status"] == "disetujui" and akun["tingkat"] == "terdaftar"


def test_catalogue_levels_are_data_with_defaults_that_follow_the_risk(db):
    rows = {r["slug"]: (r["tingkat_ajukan"], r["tingkat_terbit"])
            for r in db.execute("SELECT slug, tingkat_ajukan, tingkat_terbit FROM layanan")}
    assert len(rows) == 39
    assert rows["akta-kelahiran"] == ("terdaftar", "terverifikasi_wajah")
    assert rows["perubahan-data-kependudukan"][1] == "terverifikasi_petugas"
    assert all(rows[s] == ("terverifikasi_wajah", "terverifikasi_wajah") for s in rows if s.startswith("sip-"))
    assert all(jaminan.rank(a) <= jaminan.rank(t) for a, t in rows.values())


def test_the_citizen_adds_a_phone_only_by_proving_it(client, db):
    login(client, BUDI)  # the demo citizen has no phone
    assert "belum ada" in text_of(client.get("/akun"))
    fields = form_fields(client, "/akun", "/akun/telepon")
    assert client.post("/akun/telepon", data={**fields, "telepon": "0813 1111 2222"},
                       follow_redirects=False).status_code == 303
    assert db.execute("SELECT telepon FROM akun WHERE nik = ?", [BUDI]).fetchone()[0] is None
    code = re.search(r"(\d{6})", db.execute("SELECT isi FROM notifikasi WHERE tujuan = '081311112222'"
                                            ).fetchone()[0]).group(1)
    fields = form_fields(client, "/akun", "/akun/telepon/kode")
    bad = client.post("/akun/telepon/kode", data={**fields, "kode": "12"})
    assert bad.status_code == 400 and "6 angka" in text_of(bad)
    fields = form_fields(client, "/akun", "/akun/telepon/kode")
    client.post("/akun/telepon/kode", data={**fields, "kode": code})
    assert db.execute("SELECT telepon FROM akun WHERE nik = ?", [BUDI]).fetchone()[0] == "081311112222"
    assert "0813****2222" in text_of(client.get("/akun"))


class Gateway(BaseHTTPRequestHandler):
    received: list = []
    status = 202

    def do_POST(self):  # noqa: N802 - http.server's naming
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        Gateway.received.append((self.headers.get("Authorization"), body))
        self.send_response(Gateway.status)
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture
def gateway_url():
    Gateway.received, Gateway.status = [], 202
    with serving(Gateway) as url:
        yield url + "/kirim"


def test_the_http_sms_gateway_gets_each_code_and_failures_are_retried(db, gateway_url):
    otp.send_code(db, KEY, "uji:g", "081234567890", "10.0.0.1")
    Gateway.status = 503
    assert notifikasi.deliver_due(db, HttpSmsGateway(gateway_url, "rahasia")) == 0
    row = db.execute("SELECT status, percobaan FROM notifikasi").fetchone()
    assert tuple(row) == ("antri", 1)
    Gateway.status = 202
    db.execute("UPDATE notifikasi SET berikut = 0")
    db.conn.commit()
    assert notifikasi.deliver_due(db, HttpSmsGateway(gateway_url, "rahasia")) == 1
    auth, body = Gateway.received[-1]
    assert auth == "Bearer rahasia" and body["ke"] == "081234567890" and "kode verifikasi" in body["pesan"]


def test_an_account_verified_in_person_cannot_be_taken_over_at_a_counter(client, db):
    login(client, "dukcapil.batam")
    fields = form_fields(client, "/petugas/identitas", "/petugas/identitas")
    desk = client.post("/petugas/identitas", data={**fields, "nik": BUDI})
    assert "pengambilalihan tidak dapat dilakukan" in text_of(desk)
    fields = form_fields(client, "/petugas/identitas", "/petugas/identitas")
    r = client.post("/petugas/identitas/klaim", data={**fields, "nik": BUDI, "telepon": "081311112222",
                                                       "kode": "123456", "kata_sandi": "xxxxxxxxxx",
                                                       "ktp_diperiksa": "ya"})
    assert r.status_code == 400 and "tidak dapat diambil alih" in text_of(r)
    assert db.execute("SELECT status FROM akun WHERE nik = ?", [BUDI]).fetchone()[0] == "aktif"


def test_looking_up_a_nik_at_the_desk_is_audited_and_other_agencies_do_not_see_the_desk(app, client, db):
    login(client, "dukcapil.batam")
    fields = form_fields(client, "/petugas/identitas", "/petugas/identitas")
    client.post("/petugas/identitas", data={**fields, "nik": BUDI})
    assert db.execute("SELECT aksi, objek FROM audit ORDER BY id DESC").fetchone()[:] == ("lihat_identitas",
                                                                                         f"nik:{BUDI}")
    with TestClient(app, base_url="http://127.0.0.1") as other:
        login(other, "dpmptsp.batam")
        assert other.get("/petugas/identitas").status_code == 404


def test_the_new_identity_pages_fit_the_budget_and_need_no_script(app, client, db):
    from tests.test_public_pages import BUDGET, compressed_size
    register(client, AHMAD, prove_phone=False)
    pages = ["/daftar", "/daftar/kode"]
    sizes = {url: compressed_size(client, url) for url in pages}
    page = client.get("/daftar/kode")
    assert 'method="post"' in page.text and "<script" not in page.text.split("</main>")[0].split('<main')[1]
    post_code(client, sms_code(client))
    sizes["/akun"] = compressed_size(client, "/akun")
    link = re.search(r"(/bukan-saya/\S+)", db.execute("SELECT isi FROM notifikasi WHERE tujuan = ?",
                                                      [AHMAD_REGISTRY_PHONE]).fetchone()[0]).group(1)
    with TestClient(app, base_url="http://127.0.0.1") as officer:
        sizes[link] = compressed_size(officer, link)
        login(officer, "dukcapil.batam")
        sizes["/petugas/identitas"] = compressed_size(officer, "/petugas/identitas")
    for url, (gz, br) in sizes.items():
        assert gz <= BUDGET and br <= BUDGET, f"{url}: {gz} gzip, {br} brotli"


def test_two_registrations_of_one_nik_racing_to_their_codes_make_one_account_and_no_error(app, db):
    """Both prove their phone; the second finds the NIK taken under the write lock and gets a message."""
    clients = [TestClient(app, base_url="http://127.0.0.1") for _ in range(2)]
    for c, phone in zip(clients, ("0812-3456-7890", "0813-3456-7890")):
        c.__enter__()
        register(c, {**AHMAD, "telepon": phone}, prove_phone=False)
    codes = [sms_code(c) for c in clients]
    fields = [form_fields(c, "/daftar/kode", "/daftar/kode") for c in clients]
    results = [None, None]

    def prove(i):
        results[i] = clients[i].post("/daftar/kode", data={**fields[i], "kode": codes[i]}, follow_redirects=False)

    threads = [threading.Thread(target=prove, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for c in clients:
        c.__exit__(None, None, None)
    assert sorted(r.status_code for r in results) == [303, 400]
    assert "sudah memiliki akun" in text_of(next(r for r in results if r.status_code == 400))
    assert accounts(db, AHMAD["nik"]) == 1
