"""Rules that hold when two requests arrive at once: checked inside the write transaction, backed by
the schema where it can say it, and answered with a message rather than an IntegrityError."""

from __future__ import annotations

import re
import threading

import numpy as np
import pytest

from biometrics.matching import Thresholds
from biometrics.templates import parse_key
from db import antrean as antrean_q
from db.connection import connect
from integrations.dukcapil import EmbeddedDukcapil
from services import antrean, identitas
from tests.conftest import TEMPLATE_KEY
from tests.helpers import form_fields, register, sms_code, text_of
from tests.test_antrean import MONDAY_9, citizens, counter

AHMAD = {"nik": "2171100402850002", "nama": "Ahmad Fauzi", "hari": "4", "bulan": "2", "tahun": "1985",
         "jenis_kelamin": "L", "telepon": "0812 3456 7890", "kata_sandi": "rahasia-ahmad", "setuju": "ya"}
KEY = parse_key(TEMPLATE_KEY)


def in_threads(n: int, work) -> list:
    """Run ``work(i)`` in n threads released together; what each returned or raised."""
    start = threading.Barrier(n)
    results: list = [None] * n

    def run(i):
        start.wait()
        try:
            results[i] = work(i)
        except Exception as e:  # noqa: BLE001 - the test looks at what came out
            results[i] = e

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results


# --- the queue -----------------------------------------------------------------------------------------------

def test_one_citizen_firing_bookings_at_once_gets_one_ticket(db, db_path):
    """Eight tabs (or a script) book eight different slots of one counter and day in the same moment."""
    g = counter(db)
    (person,) = citizens(db, 1)
    times = ["09:30", "10:00", "10:30", "11:00", "11:30", "12:00", "12:30", "13:00"]

    def book(i):
        conn = connect(db_path)
        try:
            return antrean.book(conn, person, g["id"], "2026-11-30", times[i], now=MONDAY_9)
        except antrean.QueueRefused as e:
            return e.message
        finally:
            conn.conn.close()

    results = in_threads(len(times), book)
    assert not [r for r in results if isinstance(r, Exception)], results
    tickets = [r for r in results if isinstance(r, dict)]
    assert len(tickets) == 1
    kept = tickets[0]
    for refused in (r for r in results if isinstance(r, str)):
        assert "sudah memiliki tiket" in refused and kept["kode"] in refused
    assert db.execute("SELECT count(*) FROM tiket WHERE akun_id = ? AND status != 'batal'",
                      [person["id"]]).fetchone()[0] == 1


def test_a_duplicate_that_gets_past_the_check_meets_the_index_and_a_message(db, monkeypatch):
    """Whatever path skips the check (a future one, a bug), the schema refuses a second active ticket
    and the citizen reads the same answer, not a 500."""
    g = counter(db)
    (person,) = citizens(db, 1)
    first = antrean.book(db, person, g["id"], "2026-11-30", "10:00", now=MONDAY_9)
    real, skipped = antrean_q.active_booking, []

    def check_skipped_once(*args):
        if not skipped:
            skipped.append(args)
            return None
        return real(*args)

    monkeypatch.setattr(antrean_q, "active_booking", check_skipped_once)
    with pytest.raises(antrean.QueueRefused, match="sudah memiliki tiket") as refused:
        antrean.book(db, person, g["id"], "2026-11-30", "11:00", now=MONDAY_9)
    assert first["kode"] in refused.value.message
    assert db.execute("SELECT count(*) FROM tiket").fetchone()[0] == 1


def test_the_same_booking_sent_twice_lands_on_the_one_ticket(db):
    """A double tap on "Pesan" for the same slot is not an error: the citizen gets their ticket."""
    g = counter(db)
    (person,) = citizens(db, 1)
    first = antrean.book(db, person, g["id"], "2026-11-30", "10:00", now=MONDAY_9)
    again = antrean.book(db, person, g["id"], "2026-11-30", "10:00", now=MONDAY_9)
    assert again["id"] == first["id"]
    assert db.execute("SELECT count(*) FROM tiket").fetchone()[0] == 1


# --- registration ---------------------------------------------------------------------------------------------

class StubEngine:
    """Stands in for the face model (not what these tests are about); ``between`` runs once, at the moment
    the real engine would be busy encoding, i.e. after the look-ups and before the write."""

    def __init__(self, between=None):
        self.between = between

    def encode(self, photo: bytes) -> np.ndarray:
        if self.between is not None:
            step, self.between = self.between, None
            step()
        return np.full(128, 0.05, dtype=np.float32)


def identity(db, engine=None) -> identitas.Identity:
    return identitas.Identity(db=db, registry=EmbeddedDukcapil(db, KEY), engine=engine or StubEngine(), key=KEY,
                              thresholds=Thresholds())


def officer(db, username: str = "dukcapil.batam") -> dict:
    return dict(db.execute("SELECT * FROM akun WHERE username = ?", [username]).fetchone())


def second_officer(db) -> dict:
    from services.passwords import hash_password
    first = officer(db)
    db.execute("INSERT INTO akun (peran, username, nama, kata_sandi, wilayah_kode, instansi_id, jabatan) "
               "VALUES ('petugas', 'dukcapil.batam2', 'Petugas Kedua', ?, '2171', ?, ?)",
               [hash_password("x" * 12), first["instansi_id"], first["jabatan"]])
    db.conn.commit()
    return officer(db, "dukcapil.batam2")


def test_a_number_proven_by_someone_else_between_the_form_and_the_code_gets_a_message(app, client, db):
    register(client, AHMAD, prove_phone=False)
    code = sms_code(client)
    # meanwhile, another citizen proves the same number on their account
    db.execute("UPDATE akun SET telepon = '081234567890' WHERE nik = '2171031508900001'")
    db.conn.commit()
    fields = form_fields(client, "/daftar/kode", "/daftar/kode")
    r = client.post("/daftar/kode", data={**fields, "kode": code}, follow_redirects=False)
    assert r.status_code == 400 and "dipakai akun lain" in text_of(r)
    assert db.execute("SELECT count(*) FROM akun WHERE nik = ?", [AHMAD["nik"]]).fetchone()[0] == 0


def test_a_nik_given_an_account_at_the_counter_between_the_form_and_the_code_gets_a_message(app, client, db):
    register(client, AHMAD, prove_phone=False)
    code = sms_code(client)
    idn = identity(db)
    desk = officer(db)
    identitas.send_counter_code(idn, desk, AHMAD["nik"], "0813 1111 2222", "10.0.0.1")
    counter_code = _last_code(db, "081311112222")
    made = identitas.reclaim(idn, desk, identitas.ReclaimInput(AHMAD["nik"], "0813 1111 2222", counter_code,
                                                               "sandi-di-gerai", b"foto", True))
    assert made.status == "aktif", made.message
    fields = form_fields(client, "/daftar/kode", "/daftar/kode")
    r = client.post("/daftar/kode", data={**fields, "kode": code}, follow_redirects=False)
    assert r.status_code == 400 and "sudah memiliki akun" in text_of(r)
    assert db.execute("SELECT count(*) FROM akun WHERE nik = ?", [AHMAD["nik"]]).fetchone()[0] == 1


def _last_code(db, phone: str) -> str:
    sms = db.execute("SELECT isi FROM notifikasi WHERE tujuan = ? ORDER BY id DESC", [phone]).fetchone()[0]
    return re.search(r"(\d{6})", sms).group(1)


def _impostor_account(client, db) -> int:
    register(client, {**AHMAD, "telepon": "0819 0000 1111", "kata_sandi": "punya-penipu"})
    return db.execute("SELECT id FROM akun WHERE nik = ?", [AHMAD["nik"]]).fetchone()[0]


def test_two_officers_reclaiming_one_nik_at_once_make_one_account_and_a_message(app, client, db):
    """Two desks serve the real owner (or one owner and a second person claiming the same NIK): both
    looked the NIK up while the remote account still held it; the second desk finishes after the first."""
    impostor = _impostor_account(client, db)
    idn, first, second = identity(db), officer(db), second_officer(db)
    identitas.send_counter_code(idn, first, AHMAD["nik"], "0812 1111 0001", "10.0.0.1")
    identitas.send_counter_code(idn, second, AHMAD["nik"], "0812 1111 0002", "10.0.0.2")
    codes = {o["id"]: _last_code(db, p) for o, p in ((first, "081211110001"), (second, "081211110002"))}

    def first_desk_finishes():
        done = identitas.reclaim(identity(db), first, identitas.ReclaimInput(
            AHMAD["nik"], "0812 1111 0001", codes[first["id"]], "sandi-pertama", b"foto", True))
        assert done.status == "aktif", done.message

    late = identitas.reclaim(identity(db, StubEngine(between=first_desk_finishes)), second, identitas.ReclaimInput(
        AHMAD["nik"], "0812 1111 0002", codes[second["id"]], "sandi-kedua", b"foto", True))
    assert late.status == "ulang" and "baru saja" in late.message
    holders = db.execute("SELECT id, telepon FROM akun WHERE nik = ?", [AHMAD["nik"]]).fetchall()
    assert [tuple(h)[1] for h in holders] == ["081211110001"]
    assert db.execute("SELECT status FROM akun WHERE id = ?", [impostor]).fetchone()[0] == "dibekukan"


def test_an_in_person_check_of_an_account_reclaimed_meanwhile_at_another_desk_changes_nothing(app, client, db):
    """Desk A checks the person holding the remote account while desk B hands the NIK to its owner: A's
    check must not raise or reactivate the account B has just frozen; A reads a message to look again."""
    impostor = _impostor_account(client, db)
    idn, first, second = identity(db), officer(db), second_officer(db)
    identitas.send_counter_code(idn, second, AHMAD["nik"], "0812 1111 0002", "10.0.0.2")
    code = _last_code(db, "081211110002")

    def other_desk_reclaims():
        done = identitas.reclaim(identity(db), second, identitas.ReclaimInput(
            AHMAD["nik"], "0812 1111 0002", code, "sandi-pemilik", b"foto", True))
        assert done.status == "aktif", done.message

    late = identitas.verify_in_person(identity(db, StubEngine(between=other_desk_reclaims)), first, AHMAD["nik"],
                                      b"foto", True)
    assert late.status == "ulang" and "baru saja" in late.message
    frozen = db.execute("SELECT status, tingkat FROM akun WHERE id = ?", [impostor]).fetchone()
    assert tuple(frozen) == ("dibekukan", "terdaftar")


def _waiting_registration(db, phone: str) -> int:
    """A registration from before phone codes, waiting at the counter without an account."""
    reg = db.execute("INSERT INTO pendaftaran (nik, nama, telepon, kata_sandi, persetujuan_biometrik, status) "
                     "VALUES (?, 'Ahmad Fauzi', ?, 'x', '2026-11-01T00:00:00Z', 'ditinjau')",
                     [AHMAD["nik"], phone]).lastrowid
    review = db.execute("INSERT INTO tinjauan (pendaftaran_id, wilayah_kode, alasan) VALUES (?, '2171', 'tanpa_foto')",
                        [reg]).lastrowid
    db.conn.commit()
    return review


def test_two_counter_activations_of_one_nik_at_once_make_one_account_and_a_message(app, db, db_path):
    reviews = [_waiting_registration(db, "081277770001"), _waiting_registration(db, "081277770002")]
    desks = [officer(db), second_officer(db)]

    def activate(i):
        conn = connect(db_path)
        try:
            return identitas.activate_at_counter(identity(conn), desks[i], reviews[i], b"foto", True)
        finally:
            conn.conn.close()

    results = in_threads(2, activate)
    assert not [r for r in results if isinstance(r, Exception)], results
    assert sorted(r.status for r in results) == ["aktif", "ulang"]
    assert "sudah memiliki akun" in next(r for r in results if r.status == "ulang").message
    assert db.execute("SELECT count(*) FROM akun WHERE nik = ?", [AHMAD["nik"]]).fetchone()[0] == 1


def test_a_counter_activation_after_the_number_was_taken_online_gets_a_message(db):
    review = _waiting_registration(db, "081234567890")
    db.execute("UPDATE akun SET telepon = '081234567890' WHERE nik = '2171031508900001'")
    db.conn.commit()
    out = identitas.activate_at_counter(identity(db), officer(db), review, b"foto", True)
    assert out.status == "ulang" and "sudah memiliki akun" in out.message
    assert db.execute("SELECT count(*) FROM akun WHERE nik = ?", [AHMAD["nik"]]).fetchone()[0] == 0


# --- practice places -------------------------------------------------------------------------------------------

def test_two_sip_applications_submitted_at_once_cannot_make_a_fourth_place(app, client, db, db_path, monkeypatch):
    """One place held and one application in progress: two more submitted in the same moment would each
    see room for one. The check under the write lock lets one through and tells the other why."""
    from db import permohonan as pq
    from integrations.sisdmk import EmbeddedSisdmk
    from services import permohonan as svc
    from tests.test_permohonan import BUDI, BUDI_STR, fill, login, start, submitted_sip

    db.execute("UPDATE akun SET wajah_terakhir = strftime('%Y-%m-%dT%H:%M:%SZ', 'now') WHERE nik = ?", [BUDI])
    db.conn.commit()
    login(client, BUDI)
    submitted_sip(client, db, "Klinik Sehat Batam")
    drafts = []
    for name, wilayah in (("Klinik Harapan Batam", "2171"), ("Klinik di Banda Aceh", "1171")):
        pid = start(client, "sip-perawat", wilayah)  # one draft per service and region: two regions
        fill(client, db, pid, "sip-perawat", {"nomor_str": BUDI_STR, "nama_fasyankes": name})
        drafts.append(pid)
    akun = dict(db.execute("SELECT * FROM akun WHERE nik = ?", [BUDI]).fetchone())
    both_checked = threading.Barrier(2)
    real_check = svc.check_answers

    def check_then_wait(pel, p):
        errors = real_check(pel, p)
        both_checked.wait()  # each has passed the form's checks before either writes
        return errors

    monkeypatch.setattr(svc, "check_answers", check_then_wait)

    def submit(i):
        conn = connect(db_path)
        try:
            pel = svc.Pelayanan(conn, EmbeddedDukcapil(conn, KEY), EmbeddedSisdmk(conn), app.state.signing_key)
            return svc.submit(pel, akun, pq.get(conn, drafts[i]))
        finally:
            conn.conn.close()

    results = in_threads(2, submit)
    assert not [r for r in results if isinstance(r, Exception)], results
    assert sorted(bool(r) for r in results) == [False, True], results
    refused = next(r for r in results if r)
    assert "masih diproses" in refused["nomor_str"]
    assert db.execute("SELECT count(*) FROM permohonan WHERE status = 'diajukan'").fetchone()[0] == 2
