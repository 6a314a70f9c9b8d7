"""Hostile bodies against a real server: ``python -m bench.stalled``.

``measure()`` starts the app under uvicorn (bench.server, production limits, face models loaded)
on a seeded database in a temporary folder and reports:

- ``rss_idle_mb``: resident memory at rest;
- ``rss_stalled_bodies_mb``: the highest resident memory while 20 connections each send the head
  and ~11 MB of a 12 MB multipart upload to /pengaduan and then stall (10 with no session, 10 with
  a session and a valid CSRF token sent first), sampled every 0.1 s until 3 s after the last;
- ``idem_bytes_per_junk_post``: growth of the database file + WAL over 1,000 junk POSTs, each with a
  fresh ``_idem`` (an unknown path and a GET-only page with the attacker's own session and token,
  no session at all, a wrong token), divided by 1,000; ``idem_rows_after_junk_posts`` the rows stored;
- ``idem_bytes_per_form_answer``: what one real retried-able answer (a login form shown again,
  400) keeps in the store (key, headers, compressed page, time).

Loopback only; about a minute with the face models' warm-up. Prints nothing itself.
"""

from __future__ import annotations

import http.client
import os
import re
import socket
import sqlite3
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

from bench.server import running_server

BOUNDARY = "----bangkubench"
STALLED = 20
DECLARED = 12 * 1024 * 1024 - 4096  # just under the 12 MB limit, so it is not refused for its size
SENT = 11 * 1024 * 1024
JUNK_POSTS = 1000


def _form(base: str, path: str = "/pengaduan") -> tuple[str, str, str]:
    """A session of our own: its cookie, CSRF token and a fresh idempotency key from a form."""
    with urllib.request.urlopen(base + path) as r:
        cookie = r.headers["set-cookie"].split(";")[0]
        html = r.read().decode()
    token = re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)
    idem = re.search(r'name="_idem" value="([^"]+)"', html).group(1)
    return cookie, token, idem


def _stall(port: int, session: tuple[str, str, str] | None) -> socket.socket:
    """Head and ~11 MB of a 12 MB upload, then nothing: the connection is left open."""
    s = socket.create_connection(("127.0.0.1", port), timeout=30)
    head = ("POST /pengaduan HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            + (f"Cookie: {session[0]}\r\n" if session else "")
            + f"Content-Type: multipart/form-data; boundary={BOUNDARY}\r\nContent-Length: {DECLARED}\r\n\r\n")
    first = b""
    if session:
        for name, value in (("csrf_token", session[1]), ("_idem", session[2])):
            first += f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode()
    first += (f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="lampiran"; filename="scan.jpg"\r\n'
              f"Content-Type: image/jpeg\r\n\r\n").encode()
    filler = b"\xff" * 65536
    try:
        s.sendall(head.encode() + first)
        for _ in range(SENT // len(filler)):
            s.sendall(filler)
    except OSError:  # answered and closed early (refused): nothing more to send
        pass
    return s


def _db_bytes(db_path: str) -> int:
    return sum(os.path.getsize(p) for p in (db_path, db_path + "-wal") if os.path.exists(p))


def _post(conn: http.client.HTTPConnection, path: str, body: str, cookie: str | None) -> int:
    headers = {"Content-Type": "application/x-www-form-urlencoded"}
    if cookie:
        headers["Cookie"] = cookie
    conn.request("POST", path, body=body.encode(), headers=headers)
    r = conn.getresponse()
    r.read()
    return r.status


def _junk(base: str, port: int) -> None:
    cookie, token, _ = _form(base)
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    for i in range(JUNK_POSTS):
        idem = f"sampah{i:05d}"
        path, body, sent_cookie = [
            (f"/tidak-ada/{i}", f"csrf_token={token}&_idem={idem}&x=1", cookie),  # 404, own session
            ("/layanan", f"csrf_token={token}&_idem={idem}&x=1", cookie),         # 405, own session
            ("/pengaduan", f"csrf_token=&_idem={idem}&isi=x", None),              # 403, no session
            ("/pengaduan", f"csrf_token=palsu&_idem={idem}&isi=x", cookie),       # 403, wrong token
        ][i % 4]
        try:
            _post(conn, path, body, sent_cookie)
        except (OSError, http.client.HTTPException):
            conn.close()
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    conn.close()


def _form_answer_bytes(base: str, port: int, db_path: str) -> float:
    """Three wrong-password logins from three fresh sessions: the bytes one kept answer takes."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    for _ in range(3):
        cookie, token, idem = _form(base, "/masuk")
        _post(conn, "/masuk", f"csrf_token={token}&_idem={idem}&login=2171031508900001&kata_sandi=salah", cookie)
    conn.close()
    with sqlite3.connect(db_path) as db:
        row = db.execute("SELECT avg(length(kunci) + length(header) + length(isi) + ifnull(length(sesi), 0)"
                         " + length(dibuat) + 8) FROM idempotensi WHERE status = 400").fetchone()
    return row[0] or 0.0


def measure() -> list[str]:
    from db.connection import connect
    from ops import seed

    with tempfile.TemporaryDirectory() as tmp:
        db_path = str(Path(tmp) / "stalled.db")
        db = connect(db_path)
        seed.seed(db, demo=True)
        db.conn.close()
        env = {"MPP_SECRET_KEY": "bench-only-key", "MPP_DEMO": "1", "MPP_FACE_WARMUP": "1"}
        with running_server(db_path=db_path, env=env) as server:
            port = int(server.url.rsplit(":", 1)[1])
            with urllib.request.urlopen(server.url + "/healthz?siap=wajah", timeout=90) as r:
                r.read()
            time.sleep(1)
            idle = server.rss_mb()

            peak = [idle]
            sampling = threading.Event()

            def sample() -> None:
                while not sampling.is_set():
                    peak[0] = max(peak[0], server.rss_mb())
                    time.sleep(0.1)

            sampler = threading.Thread(target=sample, daemon=True)
            sampler.start()
            sessions = [_form(server.url) if i % 2 else None for i in range(STALLED)]
            held = [_stall(port, session) for session in sessions]
            time.sleep(3)
            sampling.set()
            sampler.join()
            for s in held:
                s.close()

            before = _db_bytes(db_path)
            _junk(server.url, port)
            grown = _db_bytes(db_path) - before
            with sqlite3.connect(db_path) as ro:
                rows = ro.execute("SELECT count(*) FROM idempotensi").fetchone()[0]
            per_answer = _form_answer_bytes(server.url, port, db_path)
    return [f"rss_idle_mb={idle:.0f} MB",
            f"rss_stalled_bodies_mb={peak[0]:.0f} MB",
            f"idem_bytes_per_junk_post={grown / JUNK_POSTS:.0f} bytes",
            f"idem_rows_after_junk_posts={rows} rows",
            f"idem_bytes_per_form_answer={per_answer:.0f} bytes"]


if __name__ == "__main__":
    print(*measure(), sep="\n", flush=True)
