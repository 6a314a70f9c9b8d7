"""People who come to the counter (issue 17): an officer files for a citizen present, the citizen tracks it with
number and code without an account, and later claims it into their own account."""

from __future__ import annotations

import base64
import dataclasses
import json
import re
import zlib

from starlette.testclient import TestClient

from app import create_app
from services import bantuan, notifikasi, ratelimit
from services.passwords import hash_password
from tests.helpers import answers_for, form_fields, jpeg, login, register, soup, text_of

SITI = "2171064712880001"      # in the registry, no account
BUDI = "2171031508900001"      # the demo citizen: an account verified in person
UNKNOWN = "2171031508900099"   # a well-formed NIK the registry does not hold
AHMAD = {"nik": "2171100402850002", "nama": "Ahmad Fauzi", "hari": "4", "bulan": "2", "tahun": "1985",
         "jenis_kelamin": "L", "telepon": "0812-3456-7890", "kata_sandi": "rahasia-ahmad", "setuju": "ya"}
NUMBER = re.compile(r"\b\d{4}-\d{6}-\d{6}\b")
CODE = re.compile(r"\b[A-Z2-9]{4}-[A-Z2-9]{4}\b")


def _client(app, **headers) -> TestClient:
    return TestClient(app, base_url="http://127.0.0.1", headers=headers)


def _layanan(db, slug: str) -> tuple[int, list[dict]]:
    row = db.execute("SELECT id, formulir FROM layanan WHERE slug = ?", [slug]).fetchone()
    return row["id"], json.loads(row["formulir"])


def _start(client, db, nik: str, slug: str = "ktp-el", ktp: bool = True):
    fields = form_fields(client, "/petugas/bantu", "/petugas/bantu")
    data = {**fields, "nik": nik, "layanan": str(_layanan(db, slug)[0]), **({"ktp_diperiksa": "ya"} if ktp else {})}
    return client.post("/petugas/bantu", data=data, follow_redirects=False)


def _submit_body(client, db, url: str, slug: str, phone: str = "") -> dict:
    return {**form_fields(client, url, url), **answers_for(_layanan(db, slug)[1]), "sms_telepon": phone,
            "aksi": "ajukan"}


def _file(client, db, nik: str, slug: str = "ktp-el", phone: str = "") -> tuple[int, str, str, object]:
    """Start and submit at the counter; (application id, number, code, receipt page)."""
    r = _start(client, db, nik, slug)
    assert r.status_code == 303, text_of(r)
    url = r.headers["location"]
    pid = int(url.split("/")[3])
    submitted = client.post(url, data=_submit_body(client, db, url, slug, phone), follow_redirects=False)
    assert submitted.status_code == 303 and submitted.headers["location"] == url, text_of(submitted)
    receipt = client.get(url)
    assert receipt.status_code == 200, text_of(receipt)
    text = text_of(receipt)
    return pid, NUMBER.search(text).group(0), CODE.search(text).group(0), receipt


def _kept_for_retries(db) -> str:
    """All the idempotency table holds: the answers kept for retried submits and the sessions they left."""
    rows = db.execute("SELECT isi, sesi FROM idempotensi").fetchall()
    return "\n".join(zlib.decompress(r["isi"]).decode("utf-8", "replace") + (r["sesi"] or "") for r in rows)


def _in_clear(code: str, text: str) -> bool:
    return code in text or code.replace("-", "") in text


class Gateway:
    """An SMS gateway that keeps what it was handed."""

    def __init__(self):
        self.sent = []

    def send(self, kanal, tujuan, isi):
        self.sent.append((tujuan, isi))


def _track(client, nomor: str, kode: str):
    fields = form_fields(client, "/lacak", "/lacak")
    return client.post("/lacak", data={**fields, "nomor": nomor, "kode": kode})


def _claim(client, nomor: str, kode: str):
    fields = form_fields(client, "/lacak", "/lacak")
    return client.post("/lacak/klaim", data={**fields, "nomor": nomor, "kode": kode}, follow_redirects=False)


def _officer_id(db, username: str = "dukcapil.batam") -> int:
    return db.execute("SELECT id FROM akun WHERE username = ?", [username]).fetchone()[0]


def test_officer_files_for_a_citizen_present_and_the_receipt_shows_number_and_code(client, db):
    assert login(client, "dukcapil.batam").status_code == 303
    r = _start(client, db, SITI)
    url = r.headers["location"]
    form = client.get(url)
    assert "Siti Rahmawati" in text_of(form) and "2171********0001" in text_of(form)
    body = _submit_body(client, db, url, "ktp-el", phone="0812-7000-0003")
    receipt = client.post(url, data=body, files={"berkas_surat_kehilangan": ("surat.jpg", jpeg(), "image/jpeg")})
    assert [r.status_code for r in receipt.history] == [303]  # the submit redirects to the receipt page
    assert receipt.status_code == 200 and receipt.headers["cache-control"] == "no-store"
    text = text_of(receipt)
    nomor, kode = NUMBER.search(text).group(0), CODE.search(text).group(0)
    pid = int(url.split("/")[3])
    p = db.execute("SELECT * FROM permohonan WHERE id = ?", [pid]).fetchone()
    assert p["status"] == "diajukan" and p["nomor"] == nomor and p["tenggat"]
    assert db.execute("SELECT count(*) FROM berkas WHERE permohonan_id = ?", [pid]).fetchone()[0] == 1
    # only a keyed hash of the code is kept
    kept = db.execute("SELECT kode_hash FROM bantuan_loket WHERE permohonan_id = ?", [pid]).fetchone()[0]
    assert kept and kode not in kept and kode.replace("-", "") not in kept
    # the applicant without an account: a stand-in verified in person by this officer; the NIK stays free
    owner = db.execute("SELECT * FROM akun WHERE id = ?", [p["akun_id"]]).fetchone()
    assert owner["status"] == "tanpa_akun" and owner["nik"] is None and owner["tingkat"] == "terverifikasi_petugas"
    proof = db.execute("SELECT kanal, petugas_id FROM jaminan WHERE akun_id = ?", [owner["id"]]).fetchone()
    assert tuple(proof) == ("gerai", _officer_id(db))
    # the audit names the officer who filed it
    row = db.execute("SELECT akun_id, detail FROM audit WHERE aksi = 'ajukan_di_loket' AND objek = ?",
                     [f"permohonan:{pid}"]).fetchone()
    assert row["akun_id"] == _officer_id(db) and "diajukan di loket oleh Rina Wulandari" in row["detail"]
    # the SMS carries number and code, through the outbox
    sms = db.execute("SELECT tujuan, isi FROM notifikasi WHERE tujuan = '081270000003'").fetchone()
    assert nomor in sms["isi"] and kode in sms["isi"] and "/lacak" in sms["isi"]
    # the code is shown once: the page again shows the number, says so, and offers a new code
    again = text_of(client.get(url))
    assert nomor in again and not CODE.search(again) and "hanya tampil sekali" in again
    assert "Buat kode baru" in again
    # "which applications reached the server": today's list has it
    listing = text_of(client.get("/petugas/bantu"))
    assert nomor in listing.split("Hari ini", 1)[1]
    # the case works as any other: the officers' case page names the applicant's NIK
    assert SITI in text_of(client.get(f"/petugas/permohonan/{pid}"))


def test_unknown_nik_unchecked_card_and_another_agencys_service_are_refused(client, db):
    assert login(client, "dukcapil.batam").status_code == 303
    before = db.execute("SELECT count(*) FROM permohonan").fetchone()[0]
    r = _start(client, db, UNKNOWN)
    assert r.status_code == 400 and "NIK tidak ditemukan di data kependudukan" in text_of(r)
    r = _start(client, db, SITI, ktp=False)
    assert r.status_code == 400 and "Periksa KTP-el asli" in text_of(r)
    r = _start(client, db, SITI, slug="sip-dokter")  # DPMPTSP's, not this officer's agency
    assert r.status_code == 400 and "Pilih layanan instansi Anda" in text_of(r)
    assert db.execute("SELECT count(*) FROM permohonan").fetchone()[0] == before
    assert db.execute("SELECT count(*) FROM akun WHERE status = 'tanpa_akun'").fetchone()[0] == 0


def test_tracking_with_number_and_code_needs_no_account_and_a_wrong_pair_tells_nothing(app, client, db):
    assert login(client, "dukcapil.batam").status_code == 303
    _, nomor, kode, _ = _file(client, db, SITI)
    with _client(app) as anyone:
        assert anyone.get("/lacak").status_code == 200
        r = _track(anyone, f" {nomor} ", kode.lower().replace("-", " "))  # as typed from paper
        text = text_of(r)
        assert r.status_code == 200 and r.headers["cache-control"] == "no-store"
        assert "Diajukan" in text and "Batas waktu" in text and "belum terbit" in text
        assert "Diajukan di loket MPP" in text
        assert "Rina" not in text and "Siti" not in text and SITI not in text  # no officer, no name, no full NIK
        wrong_code = _track(anyone, nomor, "ABCD-EFGH")
        wrong_number = _track(anyone, nomor[:-1] + ("2" if nomor[-1] != "2" else "3"), kode)
        for r in (wrong_code, wrong_number):
            assert r.status_code == 400 and "Nomor registrasi atau kode pelacakan tidak cocok" in text_of(r)
            assert "Diajukan di loket" not in text_of(r) and "Status" not in text_of(r)
    assert "Lacak pengaduan" in text_of(client.get("/pengaduan/lacak?nomor=&kode="))  # complaints: as before


def test_wrong_pairs_pause_that_address_only(settings, db):
    app = create_app(dataclasses.replace(settings, client_ip_header="x-klien"), quiet=True)
    with _client(app, **{"x-klien": "10.0.0.9"}) as officer:
        assert login(officer, "dukcapil.batam").status_code == 303
        _, nomor, kode, _ = _file(officer, db, SITI)
    with _client(app, **{"x-klien": "10.0.0.1"}) as guesser, _client(app, **{"x-klien": "10.0.0.2"}) as owner:
        for _ in range(20):
            assert _track(guesser, nomor, "AAAA-AAAA").status_code == 400
        paused = _track(guesser, nomor, kode)
        assert paused.status_code == 429 and paused.headers["retry-after"] and "Coba lagi dalam" in text_of(paused)
        assert _track(owner, nomor, kode).status_code == 200  # the citizen elsewhere is never locked out


def test_retrying_the_same_submit_files_once(client, db):
    assert login(client, "dukcapil.batam").status_code == 303
    first = _start(client, db, SITI)
    url = first.headers["location"]
    assert _start(client, db, SITI).headers["location"] == url  # the same visit again: the same draft
    body = _submit_body(client, db, url, "ktp-el", phone="081270000003")
    a = client.post(url, data=body, follow_redirects=False)
    b = client.post(url, data=body, follow_redirects=False)  # the line dropped, the laptop sends it again (same _idem)
    assert a.status_code == b.status_code == 303 and b.headers.get("x-idempotent-replay") == "1"
    assert a.headers["location"] == b.headers["location"] == url
    receipt = text_of(client.get(url))  # the retry leads to the receipt, code and all
    assert "Permohonan diajukan" in receipt and CODE.search(receipt)
    assert not CODE.search(text_of(client.get(url)))  # and only once
    pid = int(url.split("/")[3])
    fresh = form_fields(client, url, f"/petugas/permohonan/{pid}/kode-lacak")  # the page again: a new key
    again = client.post(url, data={**body, **fresh})
    assert "tidak diajukan dua kali" in text_of(again) and not CODE.search(text_of(again))
    assert db.execute("SELECT count(*) FROM riwayat WHERE permohonan_id = ?", [pid]).fetchone()[0] == 1
    assert db.execute("SELECT count(*) FROM audit WHERE aksi = 'ajukan_di_loket'").fetchone()[0] == 1
    assert db.execute("SELECT count(*) FROM notifikasi WHERE tujuan = '081270000003'").fetchone()[0] == 1


def test_another_agency_or_region_gets_404(app, client, db):
    assert login(client, "dukcapil.batam").status_code == 303
    pid, *_ = _file(client, db, SITI)
    aceh = db.execute("SELECT id FROM instansi WHERE wilayah_kode = '1171' AND jenis_kode = 'disdukcapil'"
                      ).fetchone()[0]
    db.execute("INSERT INTO akun (peran, username, nama, kata_sandi, wilayah_kode, instansi_id, jabatan) VALUES "
               "('petugas', 'dukcapil.aceh', 'Petugas Banda Aceh', ?, '1171', ?, 'verifikator')",
               [hash_password("mpp-demo-2026"), aceh])
    db.conn.commit()
    for username in ("dpmptsp.batam", "dukcapil.aceh"):
        with _client(app) as other:
            assert login(other, username).status_code == 303
            assert other.get(f"/petugas/permohonan/{pid}/bantu").status_code == 404
            fields = form_fields(other, "/petugas/bantu", "/petugas/bantu")
            for path in (f"/petugas/permohonan/{pid}/bantu", f"/petugas/permohonan/{pid}/kode-lacak"):
                assert other.post(path, data={**fields, "ktp_diperiksa": "ya"}).status_code == 404
            listing = text_of(other.get("/petugas/bantu"))
            assert "Siti" not in listing
    with _client(app) as dpmptsp:
        login(dpmptsp, "dpmptsp.batam")
        choices = [o.text for o in soup(dpmptsp.get("/petugas/bantu")).select("#layanan option")]
        assert "KTP-el" not in " ".join(choices) and any("SIP" in c or "Dokter" in c for c in choices)


def test_a_citizen_with_an_account_verified_in_person_sees_it_at_once(app, client, db):
    assert login(client, "dukcapil.batam").status_code == 303
    pid, nomor, _, receipt = _file(client, db, BUDI)
    assert "ada di akun MPP Digital Anda" in text_of(receipt)
    budi = db.execute("SELECT id FROM akun WHERE nik = ?", [BUDI]).fetchone()[0]
    assert db.execute("SELECT akun_id FROM permohonan WHERE id = ?", [pid]).fetchone()[0] == budi
    with _client(app) as citizen:
        assert login(citizen, BUDI).status_code == 303
        assert nomor in text_of(citizen.get("/permohonan"))
        page = text_of(citizen.get(f"/permohonan/{pid}"))
        assert "Diajukan di loket MPP" in page and "Rina Wulandari" in page


def test_the_citizen_registers_later_and_claims_it_into_their_account(app, client, db):
    assert login(client, "dukcapil.batam").status_code == 303
    pid, nomor, kode, receipt = _file(client, db, AHMAD["nik"], slug="kartu-keluarga")
    assert "Tambahkan ke akun saya" in text_of(receipt)
    with _client(app) as ahmad:
        assert register(ahmad, AHMAD).status_code == 303  # registering is not blocked by the application
        tracked = _track(ahmad, nomor, kode)
        assert "Tambahkan ke akun saya" in text_of(tracked)
        claim_form = soup(tracked).find("form", action="/lacak/klaim")
        assert claim_form.find("input", attrs={"name": "kode"}).get("value", "") == ""  # typed again, not carried
        fields = form_fields(ahmad, "/lacak", "/lacak")
        untyped = ahmad.post("/lacak/klaim", data={**fields, "nomor": nomor, "kode": ""})
        assert untyped.status_code == 400 and "Isi kode pelacakan" in text_of(untyped)
        early = _claim(ahmad, nomor, kode)  # only registered: the document would wait for the account's level
        assert early.status_code == 400 and "Terverifikasi wajah" in text_of(early)
        db.execute("UPDATE akun SET tingkat = 'terverifikasi_wajah' WHERE nik = ?", [AHMAD["nik"]])
        db.conn.commit()
        done = _claim(ahmad, nomor, kode)
        assert done.status_code == 303 and done.headers["location"] == f"/permohonan/{pid}"
        page = ahmad.get(done.headers["location"])
        assert "kini ada di akun Anda" in text_of(page)
        opened = soup(page).find("h2", string="Siapa yang membuka permohonan Anda").find_next("ul").get_text(" ")
        assert "tambahkan ke akun pemohon" in opened and "klaim_permohonan" not in opened
        assert nomor in text_of(ahmad.get("/permohonan"))
        again = _claim(ahmad, nomor, kode)  # pressed again later: nothing more happens
        assert again.headers["location"] == f"/permohonan/{pid}"
    ahmad_id = db.execute("SELECT id FROM akun WHERE nik = ?", [AHMAD["nik"]]).fetchone()[0]
    assert db.execute("SELECT akun_id FROM permohonan WHERE id = ?", [pid]).fetchone()[0] == ahmad_id
    claims = db.execute("SELECT akun_id FROM audit WHERE aksi = 'klaim_permohonan' AND objek = ?",
                        [f"permohonan:{pid}"]).fetchall()
    assert [r[0] for r in claims] == [ahmad_id]
    # the officer's page says where it went; a new code is no longer offered
    assert "ditambahkan ke akun warga" in text_of(client.get(f"/petugas/permohonan/{pid}/bantu"))


def test_nobody_claims_another_persons_application(app, client, db):
    assert login(client, "dukcapil.batam").status_code == 303
    pid, nomor, kode, _ = _file(client, db, SITI)
    with _client(app) as budi:
        assert login(budi, BUDI).status_code == 303
        assert "Tambahkan ke akun saya" not in text_of(_track(budi, nomor, kode))
        r = _claim(budi, nomor, kode)  # the right pair, another NIK
        assert r.status_code == 400 and "tidak cocok" in text_of(r)
    owner = db.execute("SELECT a.status FROM permohonan p JOIN akun a ON a.id = p.akun_id WHERE p.id = ?",
                       [pid]).fetchone()[0]
    assert owner == "tanpa_akun"


def test_a_lost_receipt_gets_a_new_code_and_the_old_one_stops_working(app, client, db):
    assert login(client, "dukcapil.batam").status_code == 303
    pid, nomor, old, _ = _file(client, db, SITI)
    url = f"/petugas/permohonan/{pid}/kode-lacak"
    fields = form_fields(client, f"/petugas/permohonan/{pid}/bantu", url)
    assert client.post(url, data=fields).status_code == 400  # the card is checked again first
    fields = form_fields(client, f"/petugas/permohonan/{pid}/bantu", url)
    r = client.post(url, data={**fields, "ktp_diperiksa": "ya"})
    assert [h.status_code for h in r.history] == [303] and "Kode pelacakan baru" in text_of(r)
    new = CODE.search(text_of(r)).group(0)
    assert r.status_code == 200 and new != old
    assert not CODE.search(text_of(client.get(f"/petugas/permohonan/{pid}/bantu")))  # shown once
    assert not _in_clear(new, _kept_for_retries(db))
    with _client(app) as anyone:
        assert _track(anyone, nomor, old).status_code == 400
        assert _track(anyone, nomor, new).status_code == 200
    assert db.execute("SELECT akun_id FROM audit WHERE aksi = 'kode_lacak_baru'").fetchone()[0] == _officer_id(db)


def test_the_tracking_code_is_kept_in_clear_nowhere(app, client, db):
    """Only its HMAC stays: not the answer of the submit kept for retries, not the session, not the /lacak pages,
    not the SMS once it is sent."""
    assert login(client, "dukcapil.batam").status_code == 303
    url = _start(client, db, SITI).headers["location"]
    client.post(url, data=_submit_body(client, db, url, "ktp-el", phone="081270000003"), follow_redirects=False)
    cookie = client.cookies.get("mpp_sesi").split(".")[0]  # the session on its way to the receipt page
    session = base64.b64decode(cookie + "=" * (-len(cookie) % 4)).decode()
    assert "tanda_terima" in session
    receipt = text_of(client.get(url))
    nomor, kode = NUMBER.search(receipt).group(0), CODE.search(receipt).group(0)
    assert not _in_clear(kode, session)
    with _client(app) as anyone:
        tracked = _track(anyone, nomor, kode)
        assert tracked.status_code == 200 and not _in_clear(kode, tracked.text)  # not even in a hidden field
    kept_for_retries = _kept_for_retries(db)
    assert "tanda_terima" in kept_for_retries and nomor in kept_for_retries  # the submit's session, the track page
    assert not _in_clear(kode, kept_for_retries)
    # the SMS: the outbox holds the code until the gateway has it, then no more
    row = db.execute("SELECT id, isi FROM notifikasi WHERE tujuan = '081270000003'").fetchone()
    assert kode in notifikasi.readable(row["isi"])
    gateway = Gateway()
    assert notifikasi.deliver_due(db, gateway, now=1e12) >= 1
    assert [isi for tujuan, isi in gateway.sent if tujuan == "081270000003"][0].count(kode) == 1
    kept = db.execute("SELECT status, isi FROM notifikasi WHERE id = ?", [row["id"]]).fetchone()
    assert kept["status"] == "terkirim" and not _in_clear(kode, kept["isi"])
    assert nomor in kept["isi"] and notifikasi.HIDDEN in kept["isi"]
    with _client(app) as anyone:  # the receipt's pair still works: the hash is what is checked
        assert _track(anyone, nomor, kode).status_code == 200


def test_the_demo_outbox_never_shows_a_tracking_code(client, db):
    """An SMS to a number given at the counter for a citizen with an account is listed to the region's officers
    on /demo/pesan: without its code, even before it is sent."""
    assert login(client, "dukcapil.batam").status_code == 303
    _, nomor, kode, _ = _file(client, db, BUDI, phone="081270000004")
    page = text_of(client.get("/demo/pesan"))
    assert nomor in page and "[disembunyikan]" in page and not _in_clear(kode, page)


def test_counter_nik_checks_are_limited_per_officer_before_the_registry_is_asked(app, client, db, monkeypatch):
    assert login(client, "dukcapil.batam").status_code == 303
    asked = []
    registry = app.state.deps.pelayanan.registry
    real = registry.lookup
    monkeypatch.setattr(registry, "lookup", lambda nik: asked.append(nik) or real(nik))
    officer = str(_officer_id(db))
    for _ in range(bantuan.NIK_PER_OFFICER.attempts - 1):  # an officer's busy day so far
        ratelimit.record_failure(db, bantuan.NIK_PER_OFFICER, officer)
    db.conn.commit()
    assert "NIK tidak ditemukan" in text_of(_start(client, db, UNKNOWN))  # the last one of the day: asked
    refused = _start(client, db, SITI)
    assert refused.status_code == 400 and "sudah mencapai 60 NIK hari ini" in text_of(refused)
    assert asked == [UNKNOWN]  # the registry never heard of SITI
    assert db.execute("SELECT count(*) FROM akun WHERE status = 'tanpa_akun'").fetchone()[0] == 0
    assert "NIK tidak ditemukan" in text_of(_start(client, db, UNKNOWN))  # the same NIK again: still free
    assert asked == [UNKNOWN, UNKNOWN]


def test_a_nik_typed_leaves_no_verification_until_an_application_is_filed(client, db):
    """The stand-in holds the draft from the start, but the in-person check is recorded only by the submit."""
    assert login(client, "dukcapil.batam").status_code == 303
    url = _start(client, db, SITI).headers["location"]
    stand_in = db.execute("SELECT id, tingkat FROM akun WHERE nik_asal = ? AND status = 'tanpa_akun'",
                          [SITI]).fetchone()
    assert stand_in["tingkat"] == "dasar"
    assert db.execute("SELECT count(*) FROM jaminan WHERE akun_id = ?", [stand_in["id"]]).fetchone()[0] == 0
    client.post(url, data=_submit_body(client, db, url, "ktp-el"))
    assert db.execute("SELECT tingkat FROM akun WHERE id = ?", [stand_in["id"]]).fetchone()[0] == \
        "terverifikasi_petugas"
    proof = db.execute("SELECT kanal, petugas_id FROM jaminan WHERE akun_id = ?", [stand_in["id"]]).fetchall()
    assert [tuple(r) for r in proof] == [("gerai", _officer_id(db))]


def test_saving_at_the_counter_is_audited_and_the_citizen_reads_each_step_in_words(app, client, db):
    assert login(client, "dukcapil.batam").status_code == 303
    url = _start(client, db, BUDI).headers["location"]
    pid = int(url.split("/")[3])
    fields = form_fields(client, url, url)
    saved = client.post(url, data={**fields, "tanggal_datang": "01-12-2026", "aksi": "simpan"},
                        files={"berkas_surat_kehilangan": ("surat.jpg", jpeg(), "image/jpeg")})
    assert "Isian dan berkas tersimpan" in text_of(saved)
    row = db.execute("SELECT akun_id, detail FROM audit WHERE aksi = 'ubah_di_loket' AND objek = ?",
                     [f"permohonan:{pid}"]).fetchone()
    detail = json.loads(row["detail"])
    assert row["akun_id"] == _officer_id(db) and detail["isian"] == ["tanggal_datang"]
    assert detail["berkas"] == ["berkas_surat_kehilangan"] and "Rina Wulandari" in detail["keterangan"]
    client.post(url, data={**form_fields(client, url, url), "tanggal_datang": "01-12-2026", "aksi": "simpan"})
    assert db.execute("SELECT count(*) FROM audit WHERE aksi = 'ubah_di_loket'").fetchone()[0] == 1  # no change
    client.post(url, data=_submit_body(client, db, url, "ktp-el"))
    with _client(app) as budi:
        assert login(budi, BUDI).status_code == 303
        page = soup(budi.get(f"/permohonan/{pid}"))
        opened = page.find("h2", string="Siapa yang membuka permohonan Anda").find_next("ul").get_text(" ")
        for words in ("mulai mengisi di loket MPP", "ubah isian atau berkas di loket MPP", "ajukan di loket MPP"):
            assert words in opened
        assert "_di_loket" not in opened


def test_a_tracking_code_sms_given_up_keeps_no_code(client, db):
    assert login(client, "dukcapil.batam").status_code == 303
    _, _, kode, _ = _file(client, db, SITI, phone="081270000003")

    class Down:
        def send(self, kanal, tujuan, isi):
            raise ConnectionError("gateway SMS tidak menjawab")

    for i in range(notifikasi.MAX_ATTEMPTS):
        notifikasi.deliver_due(db, Down(), now=1e12 + i * 10_000)
    row = db.execute("SELECT status, isi FROM notifikasi WHERE tujuan = '081270000003'").fetchone()
    assert row["status"] == "gagal" and not _in_clear(kode, row["isi"])
