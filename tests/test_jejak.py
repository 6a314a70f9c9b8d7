"""What a read must record, without writing to SQLite while reading (issue 18): services/jejak.py, db/spool.py.

An officer opening a case is an access the citizen sees ("Siapa yang membuka permohonan Anda"); the page is a
GET, so the access goes to the machine's spool (appended and fsynced) and the primary's background job writes it
into the hash-chained audit log with its own time. A replica hands its spool to the primary over an internal,
authenticated POST. Nothing is lost or counted twice on the way.
"""

from __future__ import annotations

import json
import re

import pytest
from starlette.testclient import TestClient

from db import audit
from db.spool import OPEN, Spool
from services import jejak, kalender
from tests.helpers import form_fields, login, soup, text_of
from tests.test_permohonan import citizen, fill, officer_client, start, submit  # noqa: F401
from web import jobs


@pytest.fixture
def case(app, citizen, db):  # noqa: F811
    """A submitted application of Budi in Disdukcapil Kota Batam."""
    pid = start(citizen, "akta-kelahiran")
    fill(citizen, db, pid, "akta-kelahiran")
    _, r = submit(citizen, pid)
    assert r.status_code == 303, text_of(r)[:300]
    return pid


def openings(db, pid: int) -> list[dict]:
    return [r for r in audit.for_object(db, f"permohonan:{pid}") if r["aksi"] == "buka"]


def shown_to_citizen(citizen, pid: int) -> str:  # noqa: F811
    page = soup(citizen.get(f"/permohonan/{pid}"))
    return page.find("h2", string="Siapa yang membuka permohonan Anda").find_next("ul").get_text(" ", strip=True)


def test_an_opening_is_spooled_shown_at_once_and_drained_into_the_chain_with_its_own_time(app, citizen, db, case):  # noqa: F811
    spool = app.state.deps.spool
    officer = officer_client(app, "dukcapil.batam")
    try:
        assert officer.get(f"/petugas/permohonan/{case}").status_code == 200
    finally:
        officer.__exit__(None, None, None)
    assert app.state.get_writes == []  # the GET wrote nothing to SQLite
    assert openings(db, case) == [] and spool.waiting() == 1  # the access waits in the spool, on disk
    waiting = next(spool.entries())
    assert waiting["aksi"] == "buka" and waiting["objek"] == f"permohonan:{case}"
    name = db.execute("SELECT nama FROM akun WHERE username = 'dukcapil.batam'").fetchone()[0]
    before = shown_to_citizen(citizen, case)
    assert f"{name} · buka" in before  # the citizen sees it at once, before any job ran

    jobs.one_round(app)  # the primary's background round (woken at once in a running server)
    rows = openings(db, case)
    assert len(rows) == 1 and rows[0]["waktu"] == waiting["waktu"]  # the entry's own time, not the drain's
    assert spool.waiting() == 0 and audit.verify_chain(db) is None
    assert shown_to_citizen(citizen, case) == before  # shown once, before and after
    jobs.one_round(app)
    assert len(openings(db, case)) == 1


def test_a_batch_taken_in_twice_counts_once_and_a_torn_line_is_left_out(app, db, tmp_path):
    spool = Spool(tmp_path / "spool")
    officer = {"id": db.execute("SELECT id FROM akun WHERE username = 'dukcapil.batam'").fetchone()[0],
               "nama": "Rina", "peran": "petugas"}
    jejak.record_access(spool, officer, "buka", "permohonan:777")
    jejak.record_attempt(spool, "lacak:klien:203.0.113.5")
    with open(tmp_path / "spool" / OPEN, "ab") as f:
        f.write(b'{"id":"potongan","jenis":"audit","waktu":"2026-')  # the machine stopped mid-write
    (batch,) = spool.seal()
    entries = Spool.read(batch)
    assert len(entries) == 2
    store = app.state.deps.store
    assert jejak.take_in(store.db, entries) == 2
    assert jejak.take_in(store.db, entries) == 0  # a crash after the commit, before the file went: taken again
    spool.remove(batch)
    assert len(openings(db, 777)) == 1
    assert db.execute("SELECT count(*) FROM batas_laju WHERE kunci = 'lacak:klien:203.0.113.5'").fetchone()[0] == 1
    forged = [{"id": "x" * 16, "jenis": "audit", "waktu": kalender.stamp(), "akun_id": 1, "aksi": "terbitkan",
               "objek": "permohonan:777", "detail": {}}, {"id": "y" * 16, "jenis": "lain"}, "bukan objek"]
    assert jejak.take_in(store.db, forged) == 0  # a read records accesses only
    store.close()


def test_a_replica_hands_its_spool_to_the_primary_and_keeps_it_until_taken(app, settings, db, tmp_path, case):
    """Two machines on one database file: the replica's job ships over the internal POST (here through a
    TestClient of the primary), never dropping a batch the primary did not confirm."""
    from dataclasses import replace

    from app import create_app

    (tmp_path / "litefs").mkdir()
    (tmp_path / "litefs" / ".primary").write_text("mesin-primer\n")
    replica = create_app(replace(settings, litefs_dir=str(tmp_path / "litefs"), spool_dir=str(tmp_path / "r")),
                         quiet=True)
    token = settings.internal_bearer
    with TestClient(app, base_url="http://127.0.0.1") as primary, \
            TestClient(replica, base_url="http://127.0.0.1") as officer:
        login_replayed = officer.post("/masuk", data=form_fields(officer, "/masuk", "/masuk"), follow_redirects=False)
        assert "fly-replay" in login_replayed.headers  # the replica writes nothing itself (web/litefs.py)
        sid = _session_on_primary(primary, "dukcapil.batam")
        officer.cookies.clear()
        officer.cookies.set("mpp_sesi", sid)
        assert officer.get(f"/petugas/permohonan/{case}", follow_redirects=False).status_code == 200  # on the replica
        assert replica.state.deps.spool.waiting() == 1 and openings(db, case) == []

        sent: list[str] = []

        def unreachable(entries):
            raise OSError("primary unreachable")

        def through_primary(entries):
            r = primary.post("/_intern/jejak", json={"entri": entries}, headers={"Authorization": f"Bearer {token}"})
            sent.append(r.status_code)
            if r.status_code != 200:
                raise OSError(r.status_code)

        def answer_lost(entries):
            through_primary(entries)
            raise OSError("connection reset before the answer")

        for send, waiting in ((unreachable, 1), (answer_lost, 1), (through_primary, 0)):
            replica.state.deps.primary.sender = lambda host, send=send: send
            jobs.one_round(replica)  # a replica's round only ships
            assert replica.state.deps.spool.waiting() == waiting
        assert sent == [200, 200] and len(openings(db, case)) == 1  # sent twice, taken once
        wrong = primary.post("/_intern/jejak", json={"entri": []}, headers={"Authorization": "Bearer salah"})
        assert wrong.status_code == 404
        private = primary.post("/_intern/jejak", json={"entri": []}, headers={  # the Machine's private address
            "Authorization": f"Bearer {token}", "Host": "e784079b449483.vm.mpp-digital.internal:8081"})
        assert private.status_code == 200 and private.json() == {"diterima": 0}
        taken_on_replica = officer.post("/_intern/jejak", json={"entri": []},
                                        headers={"Authorization": f"Bearer {token}"})
        assert taken_on_replica.status_code == 409  # a replica writes nothing: the batch waits for a primary


def _session_on_primary(client, username: str) -> str:
    assert login(client, username).status_code == 303
    return client.cookies.get("mpp_sesi")


def test_wrong_tracking_codes_on_the_get_page_count_without_writing(app, client, db, monkeypatch):
    from services import pengaduan
    from services.ratelimit import Limit

    monkeypatch.setattr(pengaduan, "TRACK_PER_CLIENT", Limit("lacak-uji", 3, 3600))
    fields = form_fields(client, "/pengaduan", "/pengaduan")
    r = client.post("/pengaduan", data={**fields, "isi": "Antrean di loket KTP sangat lama, mohon ditindaklanjuti.",
                                        "wilayah": "2171"}, follow_redirects=False)
    assert r.status_code == 303
    nomor = re.search(r"/pengaduan/([^?]+)", r.headers["location"]).group(1)
    for _ in range(3):
        assert client.get(f"/pengaduan/{nomor}?kode=SALAH123").status_code == 404
    assert client.get(r.headers["location"]).status_code == 429  # the right code too, from this address, for now
    assert app.state.get_writes == [] and app.state.deps.spool.waiting() == 3
    assert db.execute("SELECT count(*) FROM batas_laju WHERE kunci LIKE 'lacak-uji:%'").fetchone()[0] == 0
    jobs.one_round(app)
    assert db.execute("SELECT count(*) FROM batas_laju WHERE kunci LIKE 'lacak-uji:%'").fetchone()[0] == 3
    assert client.get(r.headers["location"]).status_code == 429  # counted from the database now


def test_a_spooled_entry_is_on_disk_before_the_page_is_answered(app, tmp_path):
    spool = Spool(tmp_path / "s")
    jejak.record_access(spool, {"id": 3, "nama": "Rina", "peran": "petugas"}, "buka", "permohonan:5")
    line = (tmp_path / "s" / OPEN).read_text()
    assert json.loads(line)["objek"] == "permohonan:5" and line.endswith("\n")
    assert jejak.waiting_for(spool, "permohonan:5")[0]["akun_nama"] == "Rina"
    assert jejak.waiting_for(spool, "permohonan:50") == []
