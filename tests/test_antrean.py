"""The hall queue: race-free bookings, separate online and walk-in quotas, officer calls."""

from __future__ import annotations

import datetime as dt
import threading

import pytest

from db.connection import connect
from services import antrean as svc
from tests.helpers import form_fields, login, text_of

MONDAY_9 = dt.datetime(2026, 11, 30, 2, 0, tzinfo=dt.UTC)  # Monday 09:00 WIB in Batam


def counter(db, kuota_daring=4, kuota_langsung=4) -> dict:
    g = dict(db.execute("SELECT * FROM gerai WHERE wilayah_kode = '2171' AND nomor = '01'").fetchone())
    db.execute("UPDATE gerai SET kuota_daring = ?, kuota_langsung = ? WHERE id = ?",
               [kuota_daring, kuota_langsung, g["id"]])
    db.conn.commit()
    return {**g, "kuota_daring": kuota_daring, "kuota_langsung": kuota_langsung}


def citizens(db, n: int) -> list[dict]:
    out = []
    for i in range(n):
        db.execute("INSERT INTO akun (peran, nik, nama, kata_sandi, wilayah_kode) VALUES ('warga', ?, ?, 'x', '2171')",
                   [f"21710{i:02d}0101900001", f"Warga {i}"])
        out.append(dict(db.execute("SELECT * FROM akun WHERE nik = ?", [f"21710{i:02d}0101900001"]).fetchone()))
    db.conn.commit()
    return out


def test_two_citizens_can_never_both_get_the_last_place(db, db_path):
    g = counter(db, kuota_daring=1)
    people = citizens(db, 8)
    start = threading.Barrier(len(people))
    results = []

    def attempt(person):
        conn = connect(db_path)
        start.wait()
        try:
            results.append(svc.book(conn, person, g["id"], "2026-11-30", "10:00", now=MONDAY_9))
        except svc.QueueRefused as e:
            results.append(e.message)
        finally:
            conn.conn.close()

    threads = [threading.Thread(target=attempt, args=(p,)) for p in people]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    tickets = [r for r in results if isinstance(r, dict)]
    assert len(tickets) == 1
    assert all("kuota daring" in r for r in results if isinstance(r, str))
    assert db.execute("SELECT count(*) FROM tiket WHERE jam = '10:00'").fetchone()[0] == 1


def test_cancelling_frees_the_place(db):
    g = counter(db, kuota_daring=1)
    a, b = citizens(db, 2)
    t = svc.book(db, a, g["id"], "2026-11-30", "10:00", now=MONDAY_9)
    with pytest.raises(svc.QueueRefused):
        svc.book(db, b, g["id"], "2026-11-30", "10:00", now=MONDAY_9)
    svc.cancel(db, a, t["id"])
    assert svc.book(db, b, g["id"], "2026-11-30", "10:00", now=MONDAY_9)["kode"] == "01-002"


def test_online_bookings_never_touch_the_walk_in_quota(db):
    g = counter(db, kuota_daring=2, kuota_langsung=2)
    people = citizens(db, 2)
    for p in people:
        svc.book(db, p, g["id"], "2026-11-30", "09:30", now=MONDAY_9)
    slot = next(s for s in svc.slots(db, g["id"], dt.date(2026, 11, 30), MONDAY_9) if s["jam"] == "09:30")
    assert slot["sisa_daring"] == 0 and slot["sisa_langsung"] == 2
    officer = dict(db.execute("SELECT * FROM akun WHERE username = 'dukcapil.batam'").fetchone())
    first = svc.walk_in(db, officer, g["id"], now=MONDAY_9)   # 09:00 slot, walk-in place
    assert first["jenis"] == "langsung" and first["jam"] == "09:00"


def test_weekends_and_holidays_cannot_be_booked(db):
    g = counter(db)
    (a,) = citizens(db, 1)
    for day in ("2026-11-28", "2026-12-25"):  # Saturday; Natal
        with pytest.raises(svc.QueueRefused):
            svc.book(db, a, g["id"], day, "10:00", now=MONDAY_9)


def test_officer_calls_recalls_serves_and_transfers(db):
    g = counter(db)
    a, b = citizens(db, 2)
    t1 = svc.book(db, a, g["id"], "2026-11-30", "10:00", now=MONDAY_9)
    t2 = svc.book(db, b, g["id"], "2026-11-30", "10:30", now=MONDAY_9)
    officer = dict(db.execute("SELECT * FROM akun WHERE username = 'dukcapil.batam'").fetchone())
    called = svc.call_next(db, officer, g["id"], now=MONDAY_9)
    assert called["id"] == t1["id"]
    svc.act(db, officer, t1["id"], "dilayani", now=MONDAY_9)
    other = db.execute("SELECT id FROM gerai WHERE wilayah_kode = '2171' AND nomor = '02'").fetchone()[0]
    svc.act(db, officer, t2["id"], "alihkan", to_gerai=other, now=MONDAY_9)
    moved = db.execute("SELECT gerai_id, status, kode FROM tiket WHERE id = ?", [t2["id"]]).fetchone()
    assert tuple(moved) == (other, "menunggu", t2["kode"])
    dpmptsp = dict(db.execute("SELECT * FROM akun WHERE username = 'dpmptsp.batam'").fetchone())
    with pytest.raises(svc.QueueRefused):
        svc.call_next(db, dpmptsp, g["id"], now=MONDAY_9)  # another agency's counter


def test_booking_page_and_ticket_work_without_javascript(client, db, monkeypatch):
    monkeypatch.setenv("MPP_NOW", MONDAY_9.isoformat())
    login(client, "2171031508900001")
    page = client.get("/mpp/2171/antrean?tanggal=2026-11-30")
    assert page.status_code == 200 and "sisa 4 kuota daring" in text_of(page)
    fields = form_fields(client, "/mpp/2171/antrean?tanggal=2026-11-30", "/mpp/2171/antrean")
    r = client.post("/mpp/2171/antrean", data={**fields, "jam": "11:00"}, follow_redirects=False)
    assert r.status_code == 303
    ticket = client.get(r.headers["location"])
    assert "01-001" in text_of(ticket) and "<svg" in ticket.text and "KTP-el" in text_of(ticket)


def test_the_hall_display_answers_204_when_nothing_changed(client, db, monkeypatch):
    monkeypatch.setenv("MPP_NOW", MONDAY_9.isoformat())
    page = client.get("/mpp/2171/layar")
    assert '<meta http-equiv="refresh"' in page.text
    version = page.text.split("?v=")[1].split('"')[0]
    assert client.get(f"/fragmen/layar/2171?v={version}").status_code == 204
    g = counter(db)
    (a,) = citizens(db, 1)
    svc.book(db, a, g["id"], "2026-11-30", "10:00", now=MONDAY_9)
    officer = dict(db.execute("SELECT * FROM akun WHERE username = 'dukcapil.batam'").fetchone())
    svc.call_next(db, officer, g["id"], now=MONDAY_9)
    changed = client.get(f"/fragmen/layar/2171?v={version}")
    assert changed.status_code == 200 and "01-001" in changed.text


def test_walk_in_tickets_are_not_limited_to_one_per_counter_and_day(db):
    """Walk-in tickets belong to no account: the one-ticket rule for citizens never stops the hall desk."""
    g = counter(db, kuota_langsung=3)
    officer = dict(db.execute("SELECT * FROM akun WHERE username = 'dukcapil.batam'").fetchone())
    kodes = [svc.walk_in(db, officer, g["id"], now=MONDAY_9)["kode"] for _ in range(3)]
    assert kodes == ["01-001", "01-002", "01-003"]


def test_transferring_a_ticket_to_a_counter_where_its_holder_already_waits_is_refused_with_a_message(db):
    g = counter(db)
    (a,) = citizens(db, 1)
    other = dict(db.execute("SELECT * FROM gerai WHERE wilayah_kode = '2171' AND nomor = '02'").fetchone())
    here = svc.book(db, a, g["id"], "2026-11-30", "10:00", now=MONDAY_9)
    there = svc.book(db, a, other["id"], "2026-11-30", "10:30", now=MONDAY_9)
    officer = dict(db.execute("SELECT * FROM akun WHERE username = 'dukcapil.batam'").fetchone())
    with pytest.raises(svc.QueueRefused, match="sudah memiliki tiket") as refused:
        svc.act(db, officer, here["id"], "alihkan", to_gerai=other["id"], now=MONDAY_9)
    assert there["kode"] in refused.value.message
    assert db.execute("SELECT gerai_id, status FROM tiket WHERE id = ?", [here["id"]]).fetchone()[0] == g["id"]


def test_two_officers_calling_next_at_once_call_two_different_people(db, db_path, monkeypatch):
    """Two desks of one counter press "Panggil" together: each calls its own person, never the same one."""
    from db import antrean as q

    g = counter(db)
    people = citizens(db, 2)
    for p, jam in zip(people, ("10:00", "10:30")):
        svc.book(db, p, g["id"], "2026-11-30", jam, now=MONDAY_9)
    officer = dict(db.execute("SELECT * FROM akun WHERE username = 'dukcapil.batam'").fetchone())
    both_looked = threading.Barrier(2, timeout=1)  # each desk has read the next ticket before either calls it
    real_next = q.next_waiting

    def next_waiting(*args):
        found = real_next(*args)
        try:
            both_looked.wait()
        except threading.BrokenBarrierError:
            pass  # the other desk waits for the write lock instead: the interleaving cannot happen
        return found

    monkeypatch.setattr(q, "next_waiting", next_waiting)
    start = threading.Barrier(2)
    called = []

    def call():
        conn = connect(db_path)
        start.wait()
        try:
            called.append(svc.call_next(conn, officer, g["id"], now=MONDAY_9)["id"])
        finally:
            conn.conn.close()

    threads = [threading.Thread(target=call) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(set(called)) == 2
    assert db.execute("SELECT count(*) FROM tiket WHERE status = 'dipanggil'").fetchone()[0] == 2



def test_the_migration_keeps_one_active_ticket_of_the_duplicates_the_old_check_let_through(db):
    """A database from before the index may hold a citizen's several tickets for one counter and day:
    the migration keeps the one already called (else the first) and cancels the rest; then the index holds."""
    import sqlite3

    from db.migrations import migrate, migrations

    g = counter(db)
    a, b = citizens(db, 2)
    db.execute("DROP INDEX tiket_satu_aktif")  # as before 012
    db.execute("DROP INDEX permohonan_nomor_str")
    db.execute(f"DELETE FROM {migrations.migrations_table} WHERE name = '012_aturan_dalam_transaksi'")
    rows = [(a, "10:00", "menunggu"), (a, "10:30", "dipanggil"), (a, "11:00", "menunggu"),
            (b, "10:00", "menunggu"), (b, "11:00", "menunggu"), (None, "10:00", "menunggu"),
            (None, "10:00", "menunggu")]
    for n, (person, jam, status) in enumerate(rows, start=1):
        db.execute("INSERT INTO tiket (wilayah_kode, gerai_id, tanggal, jam, jenis, nomor, kode, akun_id, status) "
                   "VALUES ('2171', ?, '2026-11-30', ?, ?, ?, ?, ?, ?)",
                   [g["id"], jam, "daring" if person else "langsung", n, f"01-{n:03d}", person and person["id"],
                    status])
    db.conn.commit()
    assert migrate(db) == ["012_aturan_dalam_transaksi"]
    active = db.execute("SELECT akun_id, jam FROM tiket WHERE status IN ('menunggu', 'dipanggil') "
                        "ORDER BY akun_id, jam").fetchall()
    assert [tuple(r) for r in active] == [(None, "10:00"), (None, "10:00"), (a["id"], "10:30"), (b["id"], "10:00")]
    with pytest.raises(sqlite3.IntegrityError):
        db.execute("UPDATE tiket SET status = 'menunggu' WHERE akun_id = ? AND jam = '11:00'", [b["id"]])


def test_a_ticket_called_a_moment_ago_is_not_cancelled_and_the_citizen_reads_why(client, db, monkeypatch):
    monkeypatch.setenv("MPP_NOW", MONDAY_9.isoformat())
    login(client, "2171031508900001")
    fields = form_fields(client, "/mpp/2171/antrean?tanggal=2026-11-30", "/mpp/2171/antrean")
    ticket = client.post("/mpp/2171/antrean", data={**fields, "jam": "11:00"}).url.path
    cancel = form_fields(client, ticket, f"{ticket}/batal")
    g = counter(db)
    officer = dict(db.execute("SELECT * FROM akun WHERE username = 'dukcapil.batam'").fetchone())
    svc.call_next(db, officer, g["id"], now=MONDAY_9)  # the desk calls it while the citizen presses "Batalkan"
    page = client.post(f"{ticket}/batal", data=cancel)
    assert "sudah dipanggil" in text_of(page)
    assert db.execute("SELECT status FROM tiket").fetchone()[0] == "dipanggil"
