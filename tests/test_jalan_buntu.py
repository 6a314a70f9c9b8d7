"""No dead ends: every way through "Ajukan" ends in a submitted application, and the page says what comes next.

When a face step cannot settle who is applying online (no camera or no script, no face data, a result in the
review band, too many tries, or the citizen says they cannot take a selfie), the application is submitted all
the same and marked for a counter check (``permohonan.ditahan = 'tatap_muka'``): officers work on it, its
document waits until the applicant's KTP-el is checked in person. Face-free: the face engine is replaced
where a photo would be read, so these tests stay fast.
"""

from __future__ import annotations

import json
import re

import numpy as np
import pytest
from starlette.testclient import TestClient

from biometrics.templates import parse_key, seal
from ops import seed
from services import identitas
from services.akun import WRONG
from tests.conftest import TEMPLATE_KEY
from tests.helpers import answers_for, form_fields, jpeg, login, soup, start_draft, text_of

BUDI = "2171031508900001"  # the demo citizen: no face data
SLUG = "kartu-keluarga"  # submitting needs "terverifikasi_wajah"
FACE = np.full(128, 0.088, dtype=np.float32)  # a stand-in face template (the engine is not run here)


def formulir(db, slug: str) -> list[dict]:
    return json.loads(db.execute("SELECT formulir FROM layanan WHERE slug = ?", [slug]).fetchone()[0])


def budi(db, **columns) -> int:
    sets = ", ".join(f"{k} = ?" for k in columns)
    db.execute(f"UPDATE akun SET {sets} WHERE nik = ?", [*columns.values(), BUDI])
    db.conn.commit()
    return db.execute("SELECT id FROM akun WHERE nik = ?", [BUDI]).fetchone()[0]


def with_face_data(db, **columns) -> int:
    """Budi with an enrolled face (sealed like a real one) whose last check is long past."""
    akun_id = budi(db, wajah_terakhir=None, **columns)
    db.execute("UPDATE akun SET templat_wajah = ? WHERE id = ?",
               [seal(FACE, parse_key(TEMPLATE_KEY), f"akun:{akun_id}"), akun_id])
    db.conn.commit()
    return akun_id


def filled_draft(client, db, slug: str = SLUG, overrides: dict | None = None) -> int:
    """Log in as Budi, start the service in Batam, answer every field and upload every document (no script)."""
    assert login(client, BUDI).status_code == 303
    r = start_draft(client, slug)
    pid = int(re.search(r"/permohonan/(\d+)/isi", r.headers["location"]).group(1))
    fields = form_fields(client, f"/permohonan/{pid}/isi", f"/permohonan/{pid}/simpan")
    r = client.post(f"/permohonan/{pid}/simpan",
                    data={**fields, **answers_for(formulir(db, slug), overrides), "aksi": "lanjut"},
                    follow_redirects=False)
    assert r.status_code == 303, text_of(r)[:400]
    for f in formulir(db, slug):
        if f["jenis"] == "berkas" and f["wajib"]:
            fields = form_fields(client, f"/permohonan/{pid}/isi", f"/permohonan/{pid}/simpan")
            r = client.post(f"/permohonan/{pid}/berkas/{f['nama']}", data=fields,
                            files={"berkas": ("scan.jpg", jpeg(), "image/jpeg")}, follow_redirects=False)
            assert r.status_code == 303, text_of(r)[:400]
    return pid


def press_ajukan(client, pid: int, **extra):
    fields = form_fields(client, f"/permohonan/{pid}/periksa", f"/permohonan/{pid}/ajukan")
    return client.post(f"/permohonan/{pid}/ajukan", data={**fields, **extra}, follow_redirects=False)


def application(db, pid: int) -> dict:
    return dict(db.execute("SELECT status, nomor, ditahan FROM permohonan WHERE id = ?", [pid]).fetchone())


def assert_told_what_happens_next(page):
    text = text_of(page)
    assert "Permohonan Anda sudah diajukan" in text or "Permohonan diajukan" in text, text
    assert "Datang ke MPP sebelum dokumen terbit" in text and "Disdukcapil Mal Pelayanan Publik Kota Batam" in text
    assert "KTP-el asli" in text and "Ambil nomor antrean" in text


class Officer:
    def __init__(self, app, username: str = "dukcapil.batam"):
        self.c = TestClient(app, base_url="http://127.0.0.1")
        self.c.__enter__()
        assert login(self.c, username).status_code == 303

    def act(self, pid: int, aksi: str):
        fields = form_fields(self.c, f"/petugas/permohonan/{pid}", f"/petugas/permohonan/{pid}/tindakan")
        return self.c.post(f"/petugas/permohonan/{pid}/tindakan", data={**fields, "aksi": aksi},
                           follow_redirects=False)

    def verify_in_person(self, nik: str):
        fields = form_fields(self.c, "/petugas/identitas", "/petugas/identitas")
        self.c.post("/petugas/identitas", data={**fields, "nik": nik})
        fields = form_fields(self.c, "/petugas/identitas", "/petugas/identitas")  # the CSRF token of this session
        return self.c.post("/petugas/identitas/tatap-muka", data={**fields, "nik": nik, "ktp_diperiksa": "ya"},
                           files={"foto": ("gerai.jpg", jpeg(), "image/jpeg")})

    def close(self):
        self.c.__exit__(None, None, None)


@pytest.fixture
def no_face_engine(app, monkeypatch):
    """The counter's photo becomes the stand-in template: no face model is loaded."""
    monkeypatch.setattr(app.state.faces.engine, "encode", lambda photo: FACE.copy())


# --- No face data, below the service's level: submitted, and the counter checks the identity -------------------

def test_without_face_data_the_citizen_submits_and_the_counter_checks_before_issue(app, client, db, no_face_engine):
    """The demo citizen with no face data, registered online only (terdaftar): no selfie can lift him to the
    service's level here, so "Ajukan" submits the application for officer review and names the counter visit."""
    budi(db, tingkat="terdaftar", telepon="081200001111")
    pid = filled_draft(client, db)
    check = text_of(client.get(f"/permohonan/{pid}/periksa"))
    assert "Belum dapat diajukan" not in check
    assert "Anda tetap dapat mengajukan" in check and "Disdukcapil Mal Pelayanan Publik Kota Batam" in check, check

    r = press_ajukan(client, pid)
    assert r.status_code == 303 and r.headers["location"] == f"/permohonan/{pid}"
    assert application(db, pid)["status"] == "diajukan" and application(db, pid)["nomor"]
    assert application(db, pid)["ditahan"] == "tatap_muka"
    status_page = client.get(f"/permohonan/{pid}")
    assert_told_what_happens_next(status_page)
    assert "kami mengirim SMS" in text_of(status_page)

    officer = Officer(app)
    try:
        inbox = text_of(officer.c.get("/petugas"))
        assert application(db, pid)["nomor"] in inbox and "periksa KTP-el di loket" in inbox
        case = text_of(officer.c.get(f"/petugas/permohonan/{pid}"))
        assert "Identitas belum terverifikasi wajah: periksa KTP-el pemohon di loket" in case
        assert officer.act(pid, "verifikasi").status_code == 303
        assert officer.act(pid, "setujui").status_code == 303
        refused = officer.act(pid, "terbitkan")
        assert refused.status_code == 400 and "periksa KTP-el pemohon" in text_of(refused)
        assert application(db, pid)["status"] == "disetujui"

        assert "terverifikasi tatap muka" in text_of(officer.verify_in_person(BUDI))
        assert application(db, pid)["ditahan"] == ""
        assert officer.act(pid, "terbitkan").status_code == 303
        assert application(db, pid)["status"] == "selesai"
    finally:
        officer.close()


def test_a_submission_held_for_the_counter_is_never_issued_by_fiktif_positif(app, client, db):
    from services import permohonan as svc

    budi(db, tingkat="terdaftar")
    pid = filled_draft(client, db, "sip-perawat", {"nomor_str": "3100000123456789", "nama_fasyankes": "Klinik A"})
    assert press_ajukan(client, pid).status_code == 303 and application(db, pid)["ditahan"] == "tatap_muka"
    db.execute("UPDATE permohonan SET tenggat = '2000-01-01' WHERE id = ?", [pid])
    db.conn.commit()
    pel = svc.Pelayanan(db=db, registry=None, sisdmk=None, signing_key=app.state.signing_key)
    assert svc.deem_overdue_permits(pel) == [] and application(db, pid)["status"] == "diajukan"


# --- With face data: the step-up selfie before a document service ------------------------------------------------

def test_check_answers_says_a_selfie_follows_and_offers_a_way_without_one(client, db):
    with_face_data(db)
    pid = filled_draft(client, db)
    page = client.get(f"/permohonan/{pid}/periksa")
    assert "Anda diminta swafoto singkat" in text_of(page) and "tidak perlu menekan “Ajukan” lagi" in text_of(page)
    assert soup(page).find("input", attrs={"name": "tanpa_swafoto"}) is not None
    budi(db, wajah_terakhir=None, tingkat="terverifikasi_petugas")
    db.execute("UPDATE akun SET templat_wajah = NULL WHERE nik = ?", [BUDI])
    db.conn.commit()
    assert "swafoto" not in text_of(client.get(f"/permohonan/{pid}/periksa"))  # no selfie will be asked


def test_a_photo_sent_without_camera_submits_for_the_counter(client, db):
    """No script: the step-up page has a file input; one photo proves no presence, so the application goes on."""
    with_face_data(db, telepon="081200001111")
    pid = filled_draft(client, db)
    r = press_ajukan(client, pid)
    assert r.headers["location"] == f"/verifikasi-wajah?lanjut=/permohonan/{pid}/periksa"
    page = client.get(r.headers["location"])
    text = text_of(page)
    assert "sebelum akun aktif" not in text and "permohonan Anda tetap diajukan" in text
    form = soup(page).find("form", id="form-wajah")
    hidden = {i["name"]: i.get("value", "") for i in form.find_all("input", type="hidden")}
    r = client.post("/verifikasi-wajah", data=hidden, files={"foto": ("selfie.jpg", jpeg(), "image/jpeg")},
                    follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == f"/permohonan/{pid}"
    assert application(db, pid)["status"] == "diajukan" and application(db, pid)["ditahan"] == "tatap_muka"
    page = client.get(f"/permohonan/{pid}")
    assert "Satu foto tanpa kamera langsung" in text_of(page)
    assert_told_what_happens_next(page)


def test_i_cannot_take_a_selfie_submits_for_the_counter(client, db):
    with_face_data(db)
    pid = filled_draft(client, db)
    fields = form_fields(client, f"/verifikasi-wajah?lanjut=/permohonan/{pid}/periksa", f"/permohonan/{pid}/ajukan")
    r = client.post(f"/permohonan/{pid}/ajukan", data={**fields, "tanpa_swafoto": "1"}, follow_redirects=False)
    assert r.headers["location"] == f"/permohonan/{pid}"
    assert application(db, pid)["ditahan"] == "tatap_muka"
    assert_told_what_happens_next(client.get(f"/permohonan/{pid}"))


def _post_frames(client, pid: int, script: bool = True):
    url = f"/verifikasi-wajah?lanjut=/permohonan/{pid}/periksa"
    form = soup(client.get(url)).find("form", id="form-wajah")
    hidden = {i["name"]: i.get("value", "") for i in form.find_all("input", type="hidden")}
    files = [("frame", (f"f{i}.jpg", jpeg(300, 300), "image/jpeg")) for i in range(3)]
    return client.post("/verifikasi-wajah", data=hidden, files=files, follow_redirects=False,
                       headers={"X-Unggah": "1"} if script else {})


def test_a_successful_selfie_submits_without_a_second_press(client, db, monkeypatch):
    with_face_data(db)
    pid = filled_draft(client, db)
    monkeypatch.setattr(identitas, "_selfie", lambda *a: identitas.Selfie(FACE.copy(), live=True))
    r = _post_frames(client, pid)
    assert r.status_code == 204 and r.headers["X-Lanjut"] == f"/permohonan/{pid}"
    assert application(db, pid) | {"nomor": None} == {"status": "diajukan", "nomor": None, "ditahan": ""}
    assert "Wajah terverifikasi. Permohonan Anda sudah diajukan." in text_of(client.get(f"/permohonan/{pid}"))


def test_a_failed_selfie_shows_its_reason_and_keeps_where_it_was_going(client, db, monkeypatch):
    with_face_data(db)
    pid = filled_draft(client, db)
    monkeypatch.setattr(identitas, "_selfie", lambda *a: identitas.Selfie(error="Wajah tidak terlihat jelas."))
    r = _post_frames(client, pid)
    assert r.status_code == 204
    assert r.headers["X-Lanjut"] == f"/verifikasi-wajah?lanjut=/permohonan/{pid}/periksa"
    page = client.get(r.headers["X-Lanjut"])
    summary = soup(page).find(class_="error-summary")
    assert summary is not None and "Wajah tidak terlihat jelas." in summary.get_text()
    assert soup(page).find("input", attrs={"name": "lanjut"})["value"] == f"/permohonan/{pid}/periksa"
    assert application(db, pid)["status"] == "draf"


def test_a_review_band_selfie_ends_in_officer_review_not_a_loop(client, db, monkeypatch):
    with_face_data(db)
    pid = filled_draft(client, db)
    monkeypatch.setattr(identitas, "_selfie", lambda *a: identitas.Selfie(FACE.copy(), live=True))
    monkeypatch.setattr(identitas, "decide", lambda distance, thresholds: "review")
    r = _post_frames(client, pid)
    assert r.status_code == 204 and r.headers["X-Lanjut"] == f"/permohonan/{pid}"
    assert application(db, pid)["ditahan"] == "tatap_muka"
    page = client.get(f"/permohonan/{pid}")
    assert "belum bisa dipastikan" in text_of(page)
    assert_told_what_happens_next(page)


def test_too_many_tries_also_end_in_officer_review(client, db, monkeypatch):
    with_face_data(db)
    pid = filled_draft(client, db)
    monkeypatch.setattr(identitas, "_limited", lambda *a: True)
    r = _post_frames(client, pid, script=False)
    assert r.headers["location"] == f"/permohonan/{pid}" and application(db, pid)["ditahan"] == "tatap_muka"


def test_a_later_selfie_lifts_the_counter_check(client, db, monkeypatch):
    with_face_data(db)
    pid = filled_draft(client, db)
    press_ajukan(client, pid, tanpa_swafoto="1")
    assert application(db, pid)["ditahan"] == "tatap_muka"
    monkeypatch.setattr(identitas, "_selfie", lambda *a: identitas.Selfie(FACE.copy(), live=True))
    r = _post_frames(client, pid, script=False)  # no draft to submit any more: the step-up alone
    assert r.status_code == 303 and application(db, pid)["ditahan"] == ""


# --- The officer's case page speaks Indonesian ---------------------------------------------------------------------

def test_the_case_page_states_the_face_check_in_indonesian(app, client, db):
    akun_id = budi(db, tingkat="terverifikasi_petugas")
    pid = filled_draft(client, db)
    press_ajukan(client, pid)
    db.execute("INSERT INTO verifikasi_wajah (subjek, tujuan, hasil, jarak, alasan) VALUES (?, 'daftar', 'match', "
               "0.19, '')", [f"akun:{akun_id}"])
    db.conn.commit()
    officer = Officer(app)
    try:
        text = text_of(officer.c.get(f"/petugas/permohonan/{pid}"))
    finally:
        officer.close()
    assert "cocok (jarak 0,19)" in text and "match" not in text


# --- Logging in to a registration that has no account yet ----------------------------------------------------------

def _registration(db, status: str, password: str = "rahasia-sekali") -> None:
    from services.passwords import hash_password

    db.execute("INSERT INTO pendaftaran (nik, nama, telepon, kata_sandi, persetujuan_biometrik, status) "
               "VALUES ('2171100402850002', 'Ahmad Fauzi', '081234567890', ?, '2026-11-01T00:00:00Z', ?)",
               [hash_password(password), status])
    db.conn.commit()


def test_a_registration_waiting_for_an_officer_is_told_so_with_the_right_password_only(client, db):
    _registration(db, "ditinjau")
    right = login(client, "2171100402850002", "rahasia-sekali")
    assert right.status_code == 400 and "Pendaftaran Anda menunggu pemeriksaan petugas" in text_of(right)
    assert WRONG not in text_of(right)
    wrong = login(client, "2171100402850002", "bukan-sandinya")
    assert WRONG in text_of(wrong) and "menunggu" not in text_of(wrong)
    assert WRONG in text_of(login(client, "2171100402850003", "rahasia-sekali"))


def test_a_registration_without_its_sms_code_continues_where_it_stopped(client, db):
    _registration(db, "menunggu_wajah")
    r = login(client, "081234567890", "rahasia-sekali")
    assert r.status_code == 303 and r.headers["location"] == "/daftar/kode"
    assert "nomor HP belum dibuktikan" in text_of(client.get("/daftar/kode"))


def test_the_demo_accounts_still_log_in(client):
    assert login(client, BUDI, seed.DEMO_PASSWORD).headers["location"] == "/akun"
