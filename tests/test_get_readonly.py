"""Every GET only reads (issue 18): LiteFS serves GETs on read-only replicas, and its proxy counts on it.

The app marks each GET/HEAD (web/readonly.py) and the Store's connections refuse any write tried meanwhile
(``MPP_GET_WRITES=raise`` in the tests: an sqlite3 authorizer, and ``db.connection.write``). This walks every
GET route of the route table as every role, like ``test_access_matrix.py``, on objects that exist, and fails
on any write tried — including the access log of an officer opening a case, which goes to the spool instead.
"""

from __future__ import annotations

import sqlite3

import pytest
from starlette.testclient import TestClient

from db.connection import READ_ONLY, ReadOnly, WriteWhileReading, connect, write
from tests.helpers import form_fields, login
from tests.test_access_matrix import LOGINS, ROLES, build_world, concrete, route_keys

# more than one way into some pages: with the query a link or a form sends
EXTRA = ["/permohonan/baru?layanan=kia&wilayah=2171", "/permohonan/baru?layanan=akta-kelahiran",
         "/permohonan/baru?layanan=kia&wilayah=2171&untuk=2171031508900099", "/petugas?status=diajukan&hal=2",
         "/layanan?q=akta+kelahran", "/mpp/2171/antrean?tanggal=2026-12-03", "/pengaduan/lacak?nomor=ADU-2171-000001",
         "/daftar/kode", "/verifikasi/xyz", "/pemantauan/wilayah/2171", "/fragmen/layanan?q=ktp"]


def _walk(app, world, role: str) -> list[str]:
    wrong = []
    with TestClient(app, base_url="http://127.0.0.1", raise_server_exceptions=False) as c:
        if role != "anonim":
            assert login(c, LOGINS[role]).status_code == 303, role
        urls = [concrete(k, world, c) for k in route_keys(app) if k.startswith("GET ") and "/keluar" not in k]
        for url in [*urls, *EXTRA]:
            for method in ("GET", "HEAD"):
                r = c.request(method, url, follow_redirects=False)
                if r.status_code >= 500:
                    wrong.append(f"{role} {method} {url}: {r.status_code}")
    return wrong


@pytest.mark.parametrize("role", ROLES)
def test_no_get_route_writes_for_any_role(app, db, role):
    """Every GET and HEAD of the route table, as each role, on objects that exist; an officer opening a case goes to
    the spool (``test_jejak.py``), everything else only reads."""
    world = build_world(app, db)
    wrong = _walk(app, world, role)
    assert app.state.get_writes == [], "\n" + "\n".join(app.state.get_writes)
    assert wrong == [], "\n" + "\n".join(wrong)


def test_the_guard_refuses_writes_while_reading(tmp_path):
    """The guard itself: a write statement and ``write()`` are refused while READ_ONLY is set, reads are not, and
    a statement prepared (cached) before the mark is checked again under it."""
    from db.connection import Store

    store = Store(tmp_path / "g.db", loop_guard="off")
    store.db.execute("CREATE TABLE t (x)")
    store.db.execute("INSERT INTO t VALUES (1)")  # prepared and cached unmarked
    store.db.conn.commit()
    tried: list[str] = []
    token = READ_ONLY.set(ReadOnly("GET /uji", mode="raise", seen=tried.append))
    try:
        assert store.db.execute("SELECT count(*) FROM t").fetchone()[0] == 1
        with pytest.raises(sqlite3.DatabaseError):
            store.db.execute("INSERT INTO t VALUES (1)")
        with pytest.raises(WriteWhileReading), write(store.db):
            pass
        store.db.execute("CREATE TEMP TABLE scratch (y)")  # the connection's own
    finally:
        READ_ONLY.reset(token)
    store.db.execute("INSERT INTO t VALUES (2)")  # unmarked again: allowed
    store.db.conn.commit()
    assert [t.split(": ", 1)[1] for t in tried] == ["INSERT t", "BEGIN IMMEDIATE (db.connection.write)"]
    assert store.db.execute("SELECT count(*) FROM t").fetchone()[0] == 2
    store.close()


def test_the_first_search_of_a_new_connection_while_reading_is_answered(template_db, tmp_path):
    """A thread's new connection whose first full-text search comes in a GET (the search box's fragment): FTS5
    connecting to its table is no write, and the search is answered (it was a 500: "vtable constructor failed")."""
    import shutil

    from db import katalog
    from db.connection import Store

    shutil.copy(template_db, tmp_path / "cari.db")
    store = Store(tmp_path / "cari.db", loop_guard="off")
    tried: list[str] = []
    token = READ_ONLY.set(ReadOnly("GET /fragmen/layanan", mode="raise", seen=tried.append))
    try:
        found = katalog.list_services(store.db, match='"akta"*')
    finally:
        READ_ONLY.reset(token)
        store.close()
    assert any("Akta" in s["nama"] for s in found) and tried == []


def test_log_mode_logs_and_lets_the_write_through(tmp_path, caplog):
    conn = connect(tmp_path / "l.db")
    conn.execute("CREATE TABLE t (x)")
    from db.connection import Store

    store = Store(tmp_path / "l.db", loop_guard="off")
    token = READ_ONLY.set(ReadOnly("GET /uji", mode="log"))
    try:
        store.db.execute("INSERT INTO t VALUES (1)")
        store.db.conn.commit()
    finally:
        READ_ONLY.reset(token)
    assert "SQLite write while answering GET /uji: INSERT t" in caplog.text
    assert conn.execute("SELECT count(*) FROM t").fetchone()[0] == 1
    store.close()
    conn.conn.close()


def test_a_post_still_writes_after_a_get_on_the_same_thread(client):
    """The guard is per request: a POST after GETs (the same pool threads) writes as before."""
    fields = form_fields(client, "/masuk", "/masuk")
    assert client.get("/layanan").status_code == 200
    r = client.post("/masuk", data={**fields, "login": "2171031508900001", "kata_sandi": "salah"},
                    follow_redirects=False)
    assert r.status_code in (200, 400)
    assert client.app.state.get_writes == []


def test_the_selfie_challenge_is_shown_without_a_row_and_taken_once(app, db):
    """The selfie page (a GET) shows a challenge derived from a keyed hash (subject, 2-minute window, last one
    used): the same on a reload, another after it was used, never another subject's; the POST takes it once."""
    from db import identitas as q
    from services import identitas, kalender

    idn = app.state.deps.identity
    first = identitas.challenge_for(idn, "akun:1")
    assert identitas.challenge_for(idn, "akun:1") == first  # a reload shows the same poses
    assert db.execute("SELECT count(*) FROM tantangan").fetchone()[0] == 0  # nothing stored by showing it
    assert identitas._challenge_sent(idn, "akun:1", first.nonce) == first
    assert identitas._challenge_sent(idn, "akun:2", first.nonce) is None  # made for another subject
    window, after, tag = first.nonce.split(".")
    assert identitas._challenge_sent(idn, "akun:1", f"{int(window) - 10}.{after}.{tag}") is None  # forged window
    now = kalender.seconds()
    assert q.use_challenge(idn.db, first.nonce, "akun:1", list(first.poses), first.issued_at, list(first.colours), now)
    assert not q.use_challenge(idn.db, first.nonce, "akun:1", list(first.poses), first.issued_at, list(first.colours),
                               now)  # a replay
    assert identitas.challenge_for(idn, "akun:1").nonce != first.nonce  # used: the next one differs
    app.state.deps.store.close()
