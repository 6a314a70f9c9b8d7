"""One account per NIK: registry match and SMS code, selfie with liveness, the counter for everything else.

Frames are made from the shared photos with a simulated head turn
(``faces_support.turned``); the reference photos of the demo residents are the
first photo of each person (obama1.jpg for Ahmad Fauzi, biden1.jpg for Lukman Hakim).
"""

from __future__ import annotations

import datetime as dt
import random
import re

import pytest
from faces_support import needs_faces, read
from posed import frames_for

from biometrics.liveness import issue_challenge
from services import identitas
from tests.helpers import form_fields, login, register, soup, text_of

# Ahmad's registry photo is obama1.jpg; his live selfie is re-rendered from obama5-1080p.jpg, a video frame of
# the same portrait. His other photos, taken years apart, sit at 0.33-0.39 from it: over the 0.35 band that
# keeps East-Asian strangers out, so they go to an officer (test_another_photo_..._goes_to_an_officer).
SELFIE = "obama/obama5-1080p.jpg"
AHMAD = {"nik": "2171100402850002", "nama": "ahmad   FAUZI", "hari": "4", "bulan": "2", "tahun": "1985",
         "jenis_kelamin": "L", "telepon": "0812-3456-7890", "kata_sandi": "rahasia-ahmad", "setuju": "ya"}
DEWI = {"nik": "2171115006790002", "nama": "Dewi Lestari Putri", "hari": "10", "bulan": "6", "tahun": "1979",
        "jenis_kelamin": "P", "telepon": "081377788899", "kata_sandi": "rahasia-dewi", "setuju": "ya"}


def face_page(client, url="/daftar/wajah"):
    form = soup(client.get(url)).find("form", id="form-wajah")
    hidden = {i["name"]: i.get("value", "") for i in form.find_all("input", type="hidden")}
    return hidden, form["data-pose"].split(","), [c for c in form.get("data-warna", "").split(",") if c]


def send_frames(client, photo: str, url="/daftar/wajah", poses_override=None):
    """Frames of a live head (re-rendered in 3-D, lit by the page's screen colours) answering the page."""
    hidden, poses, colours = face_page(client, url)
    poses = poses_override or poses
    frames = frames_for(photo, poses, colours or None)
    files = [("frame", (f"f{i}.jpg", f, "image/jpeg")) for i, f in enumerate(frames)]
    return client.post(url, data=hidden, files=files, follow_redirects=False)


def test_registration_form_checks_each_field_in_bahasa_indonesia(client):
    r = register(client, prove_phone=False,
                 person={"nik": "123", "nama": "", "hari": "31", "bulan": "2", "tahun": "1990",
                         "telepon": "12", "kata_sandi": "pendek"})
    assert r.status_code == 400
    text = text_of(r)
    for message in ("NIK harus 16 angka", "Isi nama lengkap", "tanggal lahir yang benar", "Pilih jenis kelamin",
                    "nomor HP yang aktif", "minimal 8 karakter", "persetujuan"):
        assert message in text
    assert 'value="pendek"' not in r.text  # a password is never sent back


def test_registry_mismatch_is_refused_without_saying_which_part(client, db):
    r = register(client, {**AHMAD, "nama": "Orang Lain"})
    assert r.status_code == 400 and "tidak cocok dengan data kependudukan" in text_of(r)
    assert db.execute("SELECT count(*) FROM pendaftaran").fetchone()[0] == 0


def test_nik_is_checked_while_typing(client):
    fields = form_fields(client, "/daftar", "/daftar")
    bad = client.post("/fragmen/cek-nik", data={**fields, "nik": "2171103302850002"})
    assert "tanggal lahir yang sah" in bad.text and "<html" not in bad.text
    good = client.post("/fragmen/cek-nik", data={**fields, "nik": "2171100402850002"})
    assert "Format NIK benar" in good.text


@pytest.mark.faces
@needs_faces
def test_register_with_live_selfie_then_log_in_with_nik_or_phone(client, db):
    r = register(client, AHMAD)
    assert r.status_code == 303 and r.headers["location"] == "/daftar/wajah"
    assert "Terdaftar" in text_of(client.get("/akun"))
    r = send_frames(client, SELFIE)
    assert r.headers["location"] == "/akun", text_of(client.get(r.headers["location"]))
    page = client.get("/akun")
    assert "Terverifikasi wajah" in text_of(page) and "Ahmad Fauzi" in text_of(page)
    row = db.execute("SELECT tingkat, persetujuan_biometrik, telepon FROM akun WHERE nik = ?",
                     [AHMAD["nik"]]).fetchone()
    assert row["tingkat"] == "terverifikasi_wajah" and row["persetujuan_biometrik"] and row["telepon"] == "081234567890"
    client.post("/keluar", data=form_fields(client, "/akun", "/keluar"))
    assert login(client, AHMAD["nik"], AHMAD["kata_sandi"]).headers["location"] == "/akun"
    client.post("/keluar", data=form_fields(client, "/akun", "/keluar"))
    assert login(client, "0812 3456 7890", AHMAD["kata_sandi"]).headers["location"] == "/akun"


@pytest.mark.faces
@needs_faces
def test_another_photo_of_the_same_man_years_apart_goes_to_an_officer_not_in(client, db, monkeypatch):
    """The price of a band safe for East-Asian faces: a live selfie that looks less like the registry photo
    than 0.35 waits for the counter, and the account keeps working at level terdaftar meanwhile.

    obama4 re-rendered sits at 0.34-0.42 from obama1 depending on the poses asked, so the page asks one
    fixed challenge (kanan, depan, kanan: 0.42) instead of a random one that could land either side."""
    monkeypatch.setattr(identitas, "issue_challenge", lambda *seed: issue_challenge(random.Random(10), now=0.0))
    register(client, AHMAD)
    r = send_frames(client, "obama/obama4.jpg")
    assert r.headers["location"] == "/daftar/status"
    assert db.execute("SELECT alasan FROM tinjauan").fetchone()[0] == "zona_tinjauan"
    assert db.execute("SELECT tingkat FROM akun WHERE nik = ?", [AHMAD["nik"]]).fetchone()[0] == "terdaftar"


@pytest.mark.faces
@needs_faces
def test_templates_are_encrypted_and_no_photo_is_kept(client, db):
    register(client, AHMAD)
    send_frames(client, SELFIE)
    akun_id, blob = db.execute("SELECT id, templat_wajah FROM akun WHERE nik = ?", [AHMAD["nik"]]).fetchone()
    assert blob and len(blob) < 1024
    from biometrics.templates import SealError, open_sealed, parse_key
    from tests.conftest import TEMPLATE_KEY
    assert open_sealed(blob, parse_key(TEMPLATE_KEY), f"akun:{akun_id}").shape == (128,)
    with pytest.raises(SealError):
        open_sealed(blob, parse_key(TEMPLATE_KEY), f"akun:{akun_id + 1}")
    for table, in db.execute("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE '%fts%'"):
        for col in db.table(table).columns:
            hits = db.execute(f"SELECT count(*) FROM [{table}] WHERE typeof([{col.name}]) = 'blob' "
                              f"AND (hex(substr([{col.name}], 1, 3)) = 'FFD8FF' "
                              f"OR hex(substr([{col.name}], 1, 4)) = '89504E47')"
                              ).fetchone()[0]
            assert hits == 0, f"an image is stored in {table}.{col.name}"


@pytest.mark.faces
@needs_faces
def test_someone_elses_face_does_not_match_and_attempts_are_limited(client, db):
    register(client, AHMAD)
    r = send_frames(client, "alex_lacamoire/alex3.jpg")
    assert r.headers["location"] == "/daftar/wajah"
    assert "tidak cocok" in text_of(client.get("/daftar/wajah"))
    level = db.execute("SELECT tingkat, templat_wajah FROM akun WHERE nik = ?", [AHMAD["nik"]]).fetchone()
    assert tuple(level) == ("terdaftar", None)  # the account stays at the level its phone proved
    for _ in range(4):
        send_frames(client, "alex_lacamoire/alex3.jpg")
    r = send_frames(client, SELFIE)  # even the right face waits now
    assert r.headers["location"] == "/daftar/status"
    assert "Terlalu banyak percobaan" in text_of(client.get("/daftar/status"))


@pytest.mark.faces
@needs_faces
def test_a_photo_answering_the_wrong_order_is_refused(client):
    register(client, AHMAD)
    hidden, poses, colours = face_page(client)
    r = send_frames(client, SELFIE, poses_override=list(reversed(poses)) if poses[0] != poses[-1]
                    else ["depan", "depan", "depan"])
    assert r.headers["location"] == "/daftar/wajah"
    assert "Belum berhasil" in text_of(client.get("/daftar/wajah"))


@pytest.mark.faces
@needs_faces
def test_a_used_challenge_cannot_be_replayed(client, db):
    register(client, AHMAD)
    hidden, poses, colours = face_page(client)
    frames = [("frame", (f"f{i}.jpg", f, "image/jpeg"))
              for i, f in enumerate(frames_for("alex_lacamoire/alex3.jpg", poses, colours))]
    client.post("/daftar/wajah", data=hidden, files=frames)
    replay = dict(hidden, _idem="baru")  # a new submit carrying the old nonce
    good = [("frame", (f"f{i}.jpg", f, "image/jpeg")) for i, f in enumerate(frames_for(SELFIE, poses, colours))]
    r = client.post("/daftar/wajah", data=replay, files=good, follow_redirects=False)
    assert r.headers["location"] == "/daftar/wajah"
    assert "sudah dipakai" in text_of(client.get("/daftar/wajah"))


@pytest.mark.faces
@needs_faces
def test_without_camera_script_one_photo_goes_to_the_counter(client, db):
    register(client, AHMAD)
    hidden, _, _ = face_page(client)
    photo = read("obama/obama4.jpg")
    r = client.post("/daftar/wajah", data=hidden, files={"foto": ("s.jpg", photo, "image/jpeg")},
                    follow_redirects=False)
    assert r.headers["location"] == "/daftar/status"
    status = text_of(client.get("/daftar/status"))
    assert "datang ke gerai Disdukcapil" in status and "tetap aktif pada tingkat Terdaftar" in status
    assert db.execute("SELECT alasan FROM tinjauan").fetchone()[0] == "tanpa_liveness"
    assert db.execute("SELECT tingkat FROM akun WHERE nik = ?", [AHMAD["nik"]]).fetchone()[0] == "terdaftar"


@pytest.mark.faces
@needs_faces
def test_registry_without_photo_then_officer_activates_in_person(app, client, db):
    from starlette.testclient import TestClient
    register(client, DEWI)  # Dewi has no photo in the registry
    assert client.get("/daftar/wajah").status_code == 200
    r = send_frames(client, "rose_leslie/rose2.jpg")
    assert r.headers["location"] == "/daftar/status"
    with TestClient(app, base_url="http://127.0.0.1") as officer:
        # an officer of another agency does not even see the case
        login(officer, "dpmptsp.batam")
        assert officer.get("/petugas/aktivasi/1").status_code == 404
        officer.post("/keluar", data=form_fields(officer, "/petugas", "/keluar"))
        login(officer, "dukcapil.batam")
        assert "Dewi Lestari Putri" in text_of(officer.get("/petugas"))
        fields = form_fields(officer, "/petugas/aktivasi/1", "/petugas/aktivasi/1")
        photo = read("rose_leslie/rose1.jpg")
        missing_check = officer.post("/petugas/aktivasi/1", data=fields, files={"foto": ("f.jpg", photo, "image/jpeg")})
        assert missing_check.status_code == 400 and "KTP-el asli" in text_of(missing_check)
        fields = form_fields(officer, "/petugas/aktivasi/1", "/petugas/aktivasi/1")
        r = officer.post("/petugas/aktivasi/1", data={**fields, "ktp_diperiksa": "ya"},
                         files={"foto": ("f.jpg", photo, "image/jpeg")}, follow_redirects=False)
        assert r.status_code == 303
    row = db.execute("SELECT id, tingkat, templat_wajah IS NOT NULL FROM akun WHERE nik = ?", [DEWI["nik"]]).fetchone()
    assert tuple(row)[1:] == ("terverifikasi_petugas", 1)
    levels = [tuple(r) for r in db.execute("SELECT tingkat, kanal FROM jaminan WHERE akun_id = ? ORDER BY id",
                                           [row[0]])]
    assert levels == [("terdaftar", "sms"), ("terverifikasi_petugas", "gerai")]
    audit_row = db.execute("SELECT aksi, akun_id FROM audit").fetchone()
    assert audit_row["aksi"] == "verifikasi_tatap_muka"
    # the registry had no photo: the one taken at the counter becomes its reference
    assert db.execute("SELECT templat_wajah IS NOT NULL FROM penduduk WHERE nik = ?", [DEWI["nik"]]).fetchone()[0]
    assert login(client, DEWI["nik"], DEWI["kata_sandi"]).headers["location"] == "/akun"
    from db.audit import verify_chain
    assert verify_chain(db) is None


@pytest.mark.faces
@needs_faces
def test_one_face_one_nik_sends_a_lookalike_to_review(app, client, db):
    from starlette.testclient import TestClient
    register(client, AHMAD)
    assert send_frames(client, SELFIE).headers["location"] == "/akun"
    # someone enrols Dewi's registry record with the same face as Ahmad's account
    dewi_ref = db.execute("SELECT templat_wajah FROM penduduk WHERE nik = ?", [AHMAD["nik"]]).fetchone()[0]
    from biometrics.templates import open_sealed, parse_key, seal
    from tests.conftest import TEMPLATE_KEY
    key = parse_key(TEMPLATE_KEY)
    template = open_sealed(dewi_ref, key, f"penduduk:{AHMAD['nik']}")
    db.execute("UPDATE penduduk SET templat_wajah = ? WHERE nik = ?",
               [seal(template, key, f"penduduk:{DEWI['nik']}"), DEWI["nik"]])
    db.conn.commit()
    with TestClient(app, base_url="http://127.0.0.1") as other:
        register(other, DEWI)
        r = send_frames(other, "obama/obama3.jpg")
        assert r.headers["location"] == "/daftar/status"
    assert db.execute("SELECT alasan FROM tinjauan").fetchone()[0] == "duplikat_wajah"
    assert db.execute("SELECT tingkat FROM akun WHERE nik = ?", [DEWI["nik"]]).fetchone()[0] == "terdaftar"


@pytest.mark.faces
@needs_faces
def test_step_up_asks_for_a_fresh_selfie(client, db):
    register(client, AHMAD)
    send_frames(client, SELFIE)
    r = send_frames(client, "alex_lacamoire/alex3.jpg", url="/verifikasi-wajah")
    assert r.headers["location"] == "/verifikasi-wajah"
    db.execute("UPDATE akun SET wajah_terakhir = '2020-01-01T00:00:00Z' WHERE nik = ?", [AHMAD["nik"]])
    db.conn.commit()
    r = send_frames(client, SELFIE, url="/verifikasi-wajah")
    assert r.headers["location"] == "/akun", text_of(client.get(r.headers["location"]))
    last = db.execute("SELECT wajah_terakhir FROM akun WHERE nik = ?", [AHMAD["nik"]]).fetchone()[0]
    assert last > "2026-01-01"


def test_step_up_is_due_after_the_configured_time_for_accounts_with_face_data():
    now = dt.datetime(2026, 11, 28, 12, 0, tzinfo=dt.UTC)
    face = {"templat_wajah": b"sealed"}
    assert identitas.needs_step_up({**face, "wajah_terakhir": None}, 30, now)
    assert not identitas.needs_step_up({**face, "wajah_terakhir": "2026-11-28T11:45:00Z"}, 30, now)
    assert identitas.needs_step_up({**face, "wajah_terakhir": "2026-11-28T11:15:00Z"}, 30, now)
    assert not identitas.needs_step_up({"templat_wajah": None, "wajah_terakhir": None}, 30, now)


def test_names_match_regardless_of_case_accents_and_spacing():
    assert identitas.normalise_name("  AHMAD   fauzi ") == identitas.normalise_name("Ahmad Fauzi")
    assert identitas.normalise_name("Désy  Ratnasari") == identitas.normalise_name("desy ratnasari")
    assert identitas.normalise_name("Ahmad Fauzi") != identitas.normalise_name("Ahmad Fauzan")


def _issued_document_of(app, db, akun_id: int) -> str:
    """An akta issued to ``akun_id`` through the real signing path; its QR token."""
    from db import permohonan as pq
    from services import permohonan as svc
    layanan = db.execute("SELECT id FROM layanan WHERE slug = 'akta-kelahiran'").fetchone()[0]
    instansi = db.execute("SELECT id FROM instansi WHERE wilayah_kode = '2171' AND jenis_kode = 'disdukcapil'"
                          ).fetchone()[0]
    ids = []
    for status in ("disetujui", "diajukan"):
        ids.append(db.execute("INSERT INTO permohonan (akun_id, layanan_id, wilayah_kode, instansi_id, status, nomor) "
                              "VALUES (?, ?, '2171', ?, ?, ?)", [akun_id, layanan, instansi, status,
                                                                  f"2171-X-{status}"]).lastrowid)
    db.conn.commit()
    pel = svc.Pelayanan(db=db, registry=None, sisdmk=None, signing_key=app.state.signing_key)
    officer = dict(db.execute("SELECT * FROM akun WHERE username = 'dukcapil.batam'").fetchone())
    svc.issue_document(pel, pq.get(db, ids[0]), officer)
    return db.execute("SELECT token FROM dokumen WHERE permohonan_id = ?", [ids[0]]).fetchone()[0]


@pytest.mark.faces
@needs_faces
def test_the_real_owner_reclaims_a_nik_that_someone_took_remotely(app, client, db):
    from starlette.testclient import TestClient
    # an impostor knows Ahmad's KTP data and uses their own phone: an account at level terdaftar
    register(client, {**AHMAD, "telepon": "0819 0000 1111", "kata_sandi": "punya-penipu"})
    impostor = db.execute("SELECT id FROM akun WHERE nik = ?", [AHMAD["nik"]]).fetchone()[0]
    token = _issued_document_of(app, db, impostor)
    assert "Dokumen sah" in text_of(client.get(f"/verifikasi/{token}"))
    # the real Ahmad comes to the counter with his KTP-el
    with TestClient(app, base_url="http://127.0.0.1") as officer:
        login(officer, "dukcapil.batam")
        fields = form_fields(officer, "/petugas/identitas", "/petugas/identitas")
        desk = officer.post("/petugas/identitas", data={**fields, "nik": AHMAD["nik"]})
        assert "Pemilik sah NIK mengambil alih" in text_of(desk) and "0819****1111" in text_of(desk)
        fields = form_fields(officer, "/petugas/identitas", "/petugas/identitas")
        officer.post("/petugas/identitas/kode", data={**fields, "nik": AHMAD["nik"], "telepon": "0812 3456 7890"})
        sms = db.execute("SELECT isi FROM notifikasi WHERE tujuan = '081234567890' ORDER BY id DESC").fetchone()[0]
        code = re.search(r"(\d{6})", sms).group(1)
        claim = {"nik": AHMAD["nik"], "telepon": "0812 3456 7890", "kode": code, "kata_sandi": "milik-ahmad-asli",
                 "ktp_diperiksa": "ya"}
        r = officer.post("/petugas/identitas/klaim", data={**fields, **claim},
                         files={"foto": ("f.jpg", read("obama/obama2.jpg"), "image/jpeg")})
        assert r.status_code == 200 and "Akun lama dibekukan, 1 permohonan ditahan, 1 dokumen dicabut" in text_of(r)
    old = db.execute("SELECT status, nik, nik_asal, telepon FROM akun WHERE id = ?", [impostor]).fetchone()
    assert tuple(old) == ("dibekukan", None, AHMAD["nik"], None)
    assert client.get("/akun", follow_redirects=False).status_code == 303  # the impostor's session ended
    assert db.execute("SELECT ditahan FROM permohonan WHERE akun_id = ? AND status = 'diajukan'",
                      [impostor]).fetchone()[0] == "klaim_gerai"
    revoked = client.get(f"/verifikasi/{token}")
    assert "Dokumen dicabut" in text_of(revoked) and "Dokumen sah" not in text_of(revoked)
    owner = db.execute("SELECT id, tingkat, telepon FROM akun WHERE nik = ?", [AHMAD["nik"]]).fetchone()
    assert (owner["tingkat"], owner["telepon"]) == ("terverifikasi_petugas", "081234567890")
    told = [r[0] for r in db.execute("SELECT tujuan FROM notifikasi WHERE isi LIKE '%dibekukan%'")]
    assert "081900001111" in told and "081234567890" in told  # both numbers hear of it
    assert db.execute("SELECT aksi FROM audit WHERE aksi = 'klaim_nik'").fetchone()
    with TestClient(app, base_url="http://127.0.0.1") as ahmad:
        assert login(ahmad, AHMAD["nik"], "milik-ahmad-asli").headers["location"] == "/akun"
    assert login(client, "081900001111", "punya-penipu").status_code == 400
    from db.audit import verify_chain
    assert verify_chain(db) is None


@pytest.mark.faces
@needs_faces
def test_the_selfie_script_is_told_where_to_go_so_the_reason_is_still_there_to_read(client):
    """selfie.js sends X-Unggah: a 204 with the next address, not a redirect its XHR would follow and
    throw away together with the one-time message (the person used to see a new challenge, no reason)."""
    register(client, AHMAD)
    hidden, poses, colours = face_page(client)
    frames = frames_for("alex_lacamoire/alex3.jpg", poses, colours)
    files = [("frame", (f"f{i}.jpg", f, "image/jpeg")) for i, f in enumerate(frames)]
    r = client.post("/daftar/wajah", data=hidden, files=files, headers={"X-Unggah": "1"}, follow_redirects=False)
    assert r.status_code == 204 and r.headers["x-lanjut"] == "/daftar/wajah"
    assert "tidak cocok" in text_of(client.get("/daftar/wajah"))
