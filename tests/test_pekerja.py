"""One worker process per core (WEB_CONCURRENCY): real server processes sharing one database on this machine.

What a citizen or an operator would notice if the workers did not share what they must:
- a complaint sent twice at once (a double tap; the browser resending after the line dropped) filed twice,
  because each copy reached another worker;
- two workers starting on a new database both creating it (a crash at start, demo accounts twice);
- SMS codes sent twice (two background jobs), or only at the next 30-second round because the page that queued
  the code ran in a worker that does not send;
- no background job at all once the worker running it died.
"""

from __future__ import annotations

import contextlib
import re
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx2 as httpx
import pytest

from bench.server import free_port
from tests.helpers import form_fields
from tests.proses_support import LEASE_LINE, ROOT, serving
from tests.test_identitas import AHMAD, DEWI
from tests.test_litestream import app_env


def worker_pids(pid: int) -> list[int]:
    """The worker processes uvicorn started (its spawned children, not its resource tracker)."""
    found = []
    for child in Path(f"/proc/{pid}/task/{pid}/children").read_text().split():
        with contextlib.suppress(FileNotFoundError):
            cmdline = Path(f"/proc/{child}/cmdline").read_bytes().replace(b"\0", b" ").decode()
            if "spawn_main" in cmdline and "resource_tracker" not in cmdline:
                found.append(int(child))
    return found


def complaint_form(base: str) -> tuple[dict[str, str], dict[str, str]]:
    """A visitor's cookies and the complaint form's hidden fields, filled in."""
    with httpx.Client(base_url=base, timeout=30) as c:
        fields = form_fields(c, "/pengaduan", "/pengaduan")
        return dict(c.cookies), {**fields, "wilayah": "2171", "isi": "Antrean loket KTP tidak bergerak satu jam."}


def send(base: str, cookies: dict, data: dict, out: list, i: int) -> None:
    """One copy of the submit on a connection of its own (a copy may reach any worker)."""
    with httpx.Client(base_url=base, cookies=cookies, timeout=60) as c:
        r = c.post("/pengaduan", data=data)
        out[i] = (r.status_code, r.headers.get("location"))


def complaints(db_file: str) -> int:
    with contextlib.closing(sqlite3.connect(db_file)) as conn:
        return conn.execute("SELECT count(*) FROM pengaduan").fetchone()[0]


def sms_status(db_file: str, phone: str) -> str | None:
    with contextlib.closing(sqlite3.connect(db_file)) as conn:
        row = conn.execute("SELECT status FROM notifikasi WHERE tujuan = ? ORDER BY id DESC LIMIT 1",
                           [phone]).fetchone()
    return row[0] if row else None


def register(base: str, person: dict) -> None:
    with httpx.Client(base_url=base, timeout=30) as c:
        fields = form_fields(c, "/daftar", "/daftar")
        r = c.post("/daftar", data={**fields, **person})
        assert r.status_code == 303, (r.status_code, r.text[:500])


def sent_within(db_file: str, phone: str, seconds: float) -> float:
    """Seconds until the SMS to ``phone`` was sent; fails after ``seconds`` (the job's own round is 30 s)."""
    start = time.monotonic()
    while sms_status(db_file, phone) != "terkirim":
        if time.monotonic() - start > seconds:
            raise AssertionError(f"SMS to {phone} not sent within {seconds} s: {sms_status(db_file, phone)}")
        time.sleep(0.05)
    return time.monotonic() - start


def test_two_workers_start_on_a_new_database_and_a_submit_sent_six_times_at_once_is_filed_once(tmp_path):
    db_file = str(tmp_path / "baru" / "mpp.db")  # nothing there yet: both workers start on an empty folder
    env = app_env(db_file, {"MPP_FACE_WARMUP": "0"})
    with serving(env, tmp_path / "server.log", workers=2) as server:
        workers = worker_pids(server.proc.pid)
        assert len(workers) == 2, (workers, server.log()[-2000:])
        log = server.log()
        assert log.count("Akun demo") == 1, log[-3000:]  # created (and printed) by one worker, found by the other
        server.wait_for(LEASE_LINE, 30)
        assert log.count(LEASE_LINE) <= 1 and server.log().count(LEASE_LINE) == 1  # one background job

        for attempt in range(4):  # an anonymous network may send 5 complaints an hour
            cookies, data = complaint_form(server.url)
            answers: list = [None] * 6
            copies = [threading.Thread(target=send, args=(server.url, cookies, data, answers, i)) for i in range(6)]
            for t in copies:
                t.start()
            for t in copies:
                t.join(90)
            assert len(set(answers)) == 1 and answers[0][0] == 303, answers  # every copy: the same complaint
            assert complaints(db_file) == attempt + 1
        assert all(Path(f"/proc/{pid}").exists() for pid in workers)  # the same two served it all


def test_a_retry_on_another_worker_waits_for_the_first_and_gets_its_answer(tmp_path, db_path):
    env = app_env(db_path, {"MPP_FACE_WARMUP": "0"})
    with serving(env, tmp_path / "a.log") as a, serving(env, tmp_path / "b.log") as b:
        cookies, data = complaint_form(a.url)
        before = complaints(db_path)
        answers: list = [None, None]
        holder = sqlite3.connect(db_path, isolation_level=None)
        holder.execute("BEGIN IMMEDIATE")  # the first attempt claims the submit, then waits for the database
        try:
            first = threading.Thread(target=send, args=(a.url, cookies, data, answers, 0))
            first.start()
            time.sleep(1.0)
            second = threading.Thread(target=send, args=(b.url, cookies, data, answers, 1))  # the other process
            second.start()
            time.sleep(1.0)
            assert answers == [None, None]  # neither answered while the first cannot write
        finally:
            holder.execute("ROLLBACK")
            holder.close()
        first.join(60)
        second.join(60)
        assert answers[0] == answers[1] and answers[0][0] == 303, answers
        assert complaints(db_path) == before + 1


def test_one_background_job_per_machine_woken_from_any_worker_and_taken_over_when_its_worker_dies(tmp_path,
                                                                                                   db_path):
    env = app_env(db_path, {"MPP_FACE_WARMUP": "0"})
    with serving(env, tmp_path / "a.log") as a, serving(env, tmp_path / "b.log") as b:
        deadline = time.monotonic() + 30
        while not (a.holds_lease() or b.holds_lease()) and time.monotonic() < deadline:
            time.sleep(0.1)
        time.sleep(6)  # past the other's next try (jobs.LEASE_RETRY_S): still one
        assert [a.holds_lease(), b.holds_lease()].count(True) == 1, (a.log()[-1500:], b.log()[-1500:])
        runner, other = (a, b) if a.holds_lease() else (b, a)

        register(other.url, AHMAD)  # the code is queued by the worker that does not send...
        assert sent_within(db_path, re.sub(r"\D", "", AHMAD["telepon"]), 10) < 10  # ...and goes out at once

        runner.kill9()
        other.wait_for(LEASE_LINE, 30)  # the survivor takes the job over
        register(other.url, DEWI)
        sent_within(db_path, DEWI["telepon"], 10)
        with contextlib.closing(sqlite3.connect(db_path)) as conn:
            sent = conn.execute("SELECT count(*) FROM notifikasi WHERE tujuan IN (?, ?) AND status = 'terkirim'",
                                ["081234567890", DEWI["telepon"]]).fetchone()[0]
        assert sent == 2  # each code once


@pytest.mark.parametrize("value", ["0", "-2", "dua", "65"])
def test_a_wrong_worker_count_stops_the_start_with_a_message(tmp_path, value):
    env = {**app_env(tmp_path / "mpp.db"), "WEB_CONCURRENCY": value, "HOST": "127.0.0.1", "PORT": str(free_port())}
    r = subprocess.run([sys.executable, "app.py"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert r.returncode != 0 and "WEB_CONCURRENCY" in r.stderr and "Traceback" not in r.stderr, r.stderr[-1500:]


def test_a_submit_that_waits_too_long_for_the_database_is_told_to_send_again_and_loses_nothing(tmp_path, db_path):
    """Another process holds SQLite's write lock past busy_timeout (10 s): the answer is a 503 page that says to
    send again, not a 500; the same form sent again once the lock is free files the complaint once."""
    env = app_env(db_path, {"MPP_FACE_WARMUP": "0"})
    with serving(env, tmp_path / "server.log") as server:
        cookies, data = complaint_form(server.url)
        before = complaints(db_path)
        holder = sqlite3.connect(db_path, isolation_level=None)
        holder.execute("BEGIN IMMEDIATE")
        try:
            with httpx.Client(base_url=server.url, cookies=cookies, timeout=60) as c:
                r = c.post("/pengaduan", data=data)
        finally:
            holder.execute("ROLLBACK")
            holder.close()
        assert r.status_code == 503 and r.headers["retry-after"] == "30", (r.status_code, r.text[:300])
        assert "Sistem sedang sibuk" in r.text and "Kirim lagi" in r.text
        assert complaints(db_path) == before
        answers: list = [None]
        send(server.url, cookies, data, answers, 0)  # the same form again (the browser's "send again")
        assert answers[0][0] == 303 and complaints(db_path) == before + 1


def test_the_workers_listen_on_a_socket_marked_tcp_so_every_connection_is_sent_without_delay():
    """uvicorn's own socket for several workers reads protocol 0, and asyncio then leaves Nagle's algorithm on:
    every page waited 44 ms for the browser's delayed ACK (web/proses.py TcpConfig; `make bench`: served_*)."""
    import socket

    from web.proses import TcpConfig

    sock = TcpConfig("app:create_app", host="127.0.0.1", port=0, workers=2, factory=True).bind_socket()
    try:
        assert sock.proto == socket.IPPROTO_TCP and sock.get_inheritable()
    finally:
        sock.close()
