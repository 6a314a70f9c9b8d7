"""Hostile bodies: nothing read before the CSRF check can pass, small forms stay small, a stalled
upload is cut off, a refused POST writes nothing, invented methods share one /metrics line, and
the request log lines really reach stderr."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import threading
import time
import urllib.request

import pytest
import uvicorn
from starlette.testclient import TestClient

from app import create_app
from bench.server import ROOT, free_port
from tests.helpers import form_fields, login, text_of
from web import jobs
from web.settings import SERVER_LIMITS

BOUNDARY = "----batasuji"


def counts(db) -> tuple[int, int]:
    return (db.execute("SELECT count(*) FROM idempotensi").fetchone()[0],
            db.execute("SELECT count(*) FROM pengaduan").fetchone()[0])


def data_version(db) -> int:
    """Changes whenever another connection commits: 'nothing was written' without guessing file sizes."""
    return db.execute("PRAGMA data_version").fetchone()[0]


def asgi(client, method: str, path: str, headers: dict, chunks: list[bytes], stall: bool = False):
    """One request straight into the app (inside the client's lifespan), counting how often the app
    asked for the body. ``stall``: after ``chunks`` the client sends nothing more, ever."""
    calls = 0
    out: dict = {"status": None, "body": b"", "headers": {}}

    async def run():
        nonlocal calls
        done = asyncio.Event()

        async def receive():
            nonlocal calls
            calls += 1
            if calls <= len(chunks):
                return {"type": "http.request", "body": chunks[calls - 1],
                        "more_body": stall or calls < len(chunks)}
            if stall:
                await asyncio.sleep(3600)
            await done.wait()
            return {"type": "http.disconnect"}

        async def send(message):
            if message["type"] == "http.response.start":
                out["status"] = message["status"]
                out["headers"] = {k.decode().lower(): v.decode() for k, v in message["headers"]}
            elif message["type"] == "http.response.body":
                out["body"] += message.get("body", b"")
                if not message.get("more_body"):
                    done.set()

        scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": method,
                 "scheme": "http", "path": path, "raw_path": path.encode(), "query_string": b"", "root_path": "",
                 "headers": [(k.lower().encode(), v.encode()) for k, v in {"host": "127.0.0.1", **headers}.items()],
                 "client": ("127.0.0.1", 50000), "server": ("127.0.0.1", 80), "state": {}}
        await client.app(scope, receive, send)

    client.portal.call(run)
    return out["status"], out["body"].decode("utf-8", "replace"), calls, out["headers"]


def cookie_of(client) -> str:
    return f"mpp_sesi={client.cookies.get('mpp_sesi')}"


def multipart(fields: dict[str, str], file: bytes = b"") -> bytes:
    parts = [f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n'.encode()
             for k, v in fields.items()]
    if file:
        parts.append(f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="lampiran"; filename="a.jpg"\r\n'
                     f"Content-Type: image/jpeg\r\n\r\n".encode() + file + b"\r\n")
    return b"".join(parts) + f"--{BOUNDARY}--\r\n".encode()


# --- bodies refused before they are read ------------------------------------------------------

def test_an_anonymous_12_mb_post_is_refused_before_any_of_it_is_read(client):
    headers = {"content-type": f"multipart/form-data; boundary={BOUNDARY}", "content-length": str(12 * 1024 * 1024 - 1)}
    status, body, reads, _ = asgi(client, "POST", "/pengaduan", headers, [b"x" * 65536] * 3, stall=True)
    assert status == 403 and "Formulir kedaluwarsa" in body
    assert reads == 0  # not one chunk asked for: a stalled or huge body costs nothing


def test_a_wrong_csrf_header_is_refused_before_the_body(client):
    form_fields(client, "/pengaduan", "/pengaduan")  # a session with a token
    headers = {"cookie": cookie_of(client), "x-csrf-token": "palsu", "content-length": "5000000",
               "content-type": f"multipart/form-data; boundary={BOUNDARY}"}
    status, body, reads, _ = asgi(client, "POST", "/pengaduan", headers, [b"x" * 65536], stall=True)
    assert status == 403 and reads == 0


def test_a_wrong_token_in_a_big_upload_is_refused_as_soon_as_it_arrives(client):
    fields = form_fields(client, "/pengaduan", "/pengaduan")
    first = multipart({"csrf_token": "palsu", "_idem": fields["_idem"]})[:-len(f"--{BOUNDARY}--\r\n")]
    headers = {"cookie": cookie_of(client), "content-length": str(10 * 1024 * 1024),
               "content-type": f"multipart/form-data; boundary={BOUNDARY}"}
    status, body, reads, _ = asgi(client, "POST", "/pengaduan", headers, [first, b"x" * 65536], stall=True)
    assert status == 403 and "Formulir kedaluwarsa" in body and reads <= 2


@pytest.mark.parametrize("declared", ["²", "١٢", "12abc", "-1", "99999999999999999999999999"])
def test_a_junk_content_length_is_a_clear_answer_not_a_500(client, declared):
    form_fields(client, "/masuk", "/masuk")
    headers = {"cookie": cookie_of(client), "content-type": "application/x-www-form-urlencoded",
               "content-length": declared}
    status, body, _, _ = asgi(client, "POST", "/masuk", headers, [b"login=x"])
    assert status in (400, 413) and "Terjadi gangguan" not in body


def test_an_urlencoded_form_over_64_kb_is_refused_in_bahasa_indonesia(client):
    fields = form_fields(client, "/masuk", "/masuk")
    r = client.post("/masuk", data={**fields, "login": "x" * 70_000, "kata_sandi": "x"}, follow_redirects=False)
    assert r.status_code == 413 and "terlalu besar" in text_of(r)
    r = client.post("/pengaduan", content=b"x" * 70_000, headers={"x-csrf-token": fields["csrf_token"],
                                                                   "content-type": "text/plain"})
    assert r.status_code == 413  # no other kind of body is big either: only files are


def test_a_multipart_upload_keeps_the_big_limit(client, db):
    fields = form_fields(client, "/pengaduan", "/pengaduan")
    r = client.post("/pengaduan", data={**fields, "wilayah": "2171", "isi": "Kiriman multipart yang besar diterima."},
                    files={"catatan": (None, "x" * 900_000)}, follow_redirects=False)
    assert r.status_code == 303 and counts(db)[1] == 1


def test_a_stalled_body_is_cut_off_with_408(settings):
    quick = create_app(dataclasses.replace(settings, body_idle_seconds=0.3), quiet=True)
    with TestClient(quick, base_url="http://127.0.0.1") as other:
        fields = form_fields(other, "/pengaduan", "/pengaduan")
        start = multipart({"csrf_token": fields["csrf_token"], "_idem": fields["_idem"]})[:-len(f"--{BOUNDARY}--\r\n")]
        headers = {"cookie": cookie_of(other), "content-length": "400000",
                   "content-type": f"multipart/form-data; boundary={BOUNDARY}"}
        status, body, _, _ = asgi(other, "POST", "/pengaduan", headers, [start], stall=True)
    assert status == 408 and "terlalu lama" in body


# --- the same over a real socket: what a phone or an attacker actually sees --------------------

def test_the_image_make_run_and_the_bench_run_uvicorn_with_the_same_limits(monkeypatch):
    import app as app_module

    cmd = next(line for line in (ROOT / "Dockerfile").read_text().splitlines() if line.startswith("CMD "))
    assert cmd.endswith('"-exec", "python app.py"]')  # app.main below: the limits, no proxy headers
    litefs = (ROOT / "scripts" / "litefs-exec").read_text()  # the multi-VM image (DB_MODE=litefs) too
    assert re.search(r"--init-groups \\\n\s+python app.py\n", litefs), litefs
    called: dict = {}
    monkeypatch.setattr(uvicorn, "run", lambda target, **kw: called.update(kw))
    monkeypatch.setattr(app_module, "create_app", lambda: None)
    app_module.main()
    assert {k: called[k] for k in SERVER_LIMITS} == SERVER_LIMITS and called["proxy_headers"] is False


@contextlib.contextmanager
def live(settings, **changes):
    """The app under uvicorn (the limits used in production) in a thread, on a free port."""
    app = create_app(dataclasses.replace(settings, **changes), quiet=True)
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", timeout_graceful_shutdown=2,
                                           **SERVER_LIMITS))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.02)
    try:
        yield sock.getsockname()[1]
    finally:
        server.should_exit = True
        thread.join(10)


def session_of(port: int, path: str) -> tuple[str, str, str]:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}") as r:
        cookie = r.headers["set-cookie"].split(";")[0]
        html = r.read().decode()
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)
    idem = re.search(r'name="_idem" value="([^"]+)"', html).group(1)
    return cookie, csrf, idem


def answer(port: int, head: str, body: bytes = b"") -> str:
    """Send the head and ``body``, then nothing more; whatever the server answers (until it closes)."""
    data = b""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        s.sendall(head.encode() + body)
        with contextlib.suppress(TimeoutError, ConnectionResetError):
            while chunk := s.recv(65536):
                data += chunk
    return data.decode("utf-8", "replace")


def test_over_a_socket_a_huge_anonymous_post_is_answered_before_its_body_is_sent(settings):
    with live(settings) as port:
        got = answer(port, f"POST /pengaduan HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: {12 * 1024 * 1024 - 1}\r\n"
                           f"Content-Type: multipart/form-data; boundary={BOUNDARY}\r\n\r\n")
    assert got.startswith("HTTP/1.1 403") and "Formulir kedaluwarsa" in got


def test_over_a_socket_an_upload_that_stalls_gets_408(settings):
    with live(settings, body_idle_seconds=0.5) as port:
        cookie, csrf, idem = session_of(port, "/pengaduan")
        start = multipart({"csrf_token": csrf, "_idem": idem})[:-len(f"--{BOUNDARY}--\r\n")]
        got = answer(port, f"POST /pengaduan HTTP/1.1\r\nHost: 127.0.0.1\r\nCookie: {cookie}\r\n"
                           f"Content-Length: 350000\r\nContent-Type: multipart/form-data; boundary={BOUNDARY}\r\n\r\n",
                     start + b"\xff" * 2000)
    assert got.startswith("HTTP/1.1 408") and "terlalu lama" in got


# --- the idempotency store ------------------------------------------------------------------------

def test_refused_posts_write_nothing_to_the_database(client, db, db_path):
    login(client, "2171031508900001")
    fields = form_fields(client, "/pengaduan", "/pengaduan")
    wal_size = lambda: os.path.getsize(db_path + "-wal") if os.path.exists(db_path + "-wal") else 0  # noqa: E731
    rows, before, wal = counts(db)[0], data_version(db), wal_size()
    for i in range(20):
        fresh = {**fields, "_idem": f"sampah-{i}"}
        assert client.post("/tidak-ada", data=fresh).status_code == 404
        assert client.post("/layanan", data=fresh).status_code == 405
        assert client.post("/permohonan/999999/simpan", data=fresh).status_code == 404
        assert client.post("/pengaduan", data={**fresh, "isi": "x" * 70_000}).status_code == 413
        assert client.post("/pengaduan", data={**fresh, "csrf_token": "palsu"}).status_code == 403
        anonymous = f"csrf_token=&_idem=a-{i}&login=x".encode()  # no session at all
        urlencoded = {"content-type": "application/x-www-form-urlencoded"}
        assert asgi(client, "POST", "/masuk", urlencoded, [anonymous])[0] == 403
    assert counts(db)[0] == rows  # the login's answer only
    assert data_version(db) == before  # no other connection committed anything
    assert wal_size() == wal  # and the WAL Litestream ships did not grow


def test_a_double_submitted_upload_replays_one_answer_even_with_a_new_boundary(client, db):
    fields = form_fields(client, "/pengaduan", "/pengaduan")
    data = {**fields, "wilayah": "2171", "isi": "Pengaduan dengan lampiran dikirim dua kali."}
    files = {"catatan": (None, "a" * 5000)}  # multipart, as unggah.js sends it
    first = client.post("/pengaduan", data=data, files=files, follow_redirects=False)
    second = client.post("/pengaduan", data=data, files=files, follow_redirects=False)  # httpx draws a new boundary
    assert first.status_code == second.status_code == 303
    assert second.headers["location"] == first.headers["location"]
    assert second.headers.get("x-idempotent-replay") == "1"
    assert counts(db) == (1, 1)
    edited = client.post("/pengaduan", data={**data, "isi": "Isi diubah sebelum dikirim lagi."}, files=files,
                         follow_redirects=False)
    assert edited.status_code == 303 and "x-idempotent-replay" not in edited.headers  # an edited form is new


def test_a_double_tap_while_the_first_is_running_waits_for_it(client, db):
    fields = form_fields(client, "/pengaduan", "/pengaduan")
    body = multipart({**fields, "wilayah": "2171", "isi": "Dua ketukan bersamaan, satu pengaduan."})
    headers = {"cookie": cookie_of(client), "content-type": f"multipart/form-data; boundary={BOUNDARY}",
               "content-length": str(len(body))}
    outs: list = []

    async def both():
        async def one():
            outs.append(await asyncio.to_thread(asgi, client, "POST", "/pengaduan", headers, [body]))
        await asyncio.gather(one(), one())

    asyncio.run(both())
    assert [o[0] for o in outs] == [303, 303]
    assert sum(o[3].get("x-idempotent-replay") == "1" for o in outs) == 1
    assert counts(db) == (1, 1)


def test_stored_answers_are_compressed_and_kept_hours_not_days(app, client, db):
    fields = form_fields(client, "/masuk", "/masuk")
    first = client.post("/masuk", data={**fields, "login": "2171031508900001", "kata_sandi": "salah"})
    assert first.status_code == 400
    stored = db.execute("SELECT length(isi) FROM idempotensi").fetchone()[0]
    assert stored < len(first.content) * 0.6
    db.execute("UPDATE idempotensi SET dibuat = strftime('%Y-%m-%dT%H:%M:%SZ', 'now', ?)",
               [f"-{app.state.settings.idem_hours + 1} hours"])
    db.conn.commit()
    jobs.one_round(app)
    assert counts(db)[0] == 0


# --- /metrics and the request log -----------------------------------------------------------------

def test_invented_methods_and_paths_share_one_metrics_line_each(client):
    for method in ("FOOBAR", "BAZQUX", "PROPFIND", "X" * 40):
        client.request(method, "/")
        client.request(method, f"/tidak-ada-{method}")
    for i in range(5):
        client.get(f"/tidak-ada/{i}")
    login(client, "kemenpanrb")
    lines = client.get("/metrics").text.split("\n#")[0].splitlines()[1:]  # the routes' section (storage follows)
    assert not [line for line in lines if line.split(" ")[0] not in
                ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "LAIN")]
    counted = {" ".join(line.split(" ")[:-5]): int(line.split(" ")[-5]) for line in lines}
    assert {k: v for k, v in counted.items() if k.startswith("LAIN ")} == {"LAIN /": 4, "LAIN (tidak ditemukan)": 4}
    assert counted["GET (tidak ditemukan)"] == 5


def test_request_log_lines_reach_stderr_under_uvicorn(db_path, tmp_path):
    """`uvicorn --factory app:create_app` as in the image: one JSON line per request on stderr, no NIK."""
    copy = tmp_path / "log.db"
    shutil.copy(db_path, copy)
    port = free_port()
    log = tmp_path / "stderr.txt"
    env = {**os.environ, "MPP_DB": str(copy), "MPP_FACE_WARMUP": "0", "MPP_SECRET_KEY": "uji-log"}
    with open(log, "wb") as err:
        proc = subprocess.Popen([sys.executable, "-m", "uvicorn", "--factory", "app:create_app", "--host", "127.0.0.1",
                                 "--port", str(port), "--log-level", "warning"], cwd=ROOT, env=env, stderr=err)
        try:
            deadline = time.monotonic() + 60
            while True:
                try:
                    urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2).close()
                    break
                except OSError:
                    assert proc.poll() is None and time.monotonic() < deadline
                    time.sleep(0.2)
            cookie, csrf, idem = session_of(port, "/masuk")
            body = f"csrf_token={csrf}&_idem={idem}&login=2171031508900001&kata_sandi=salah".encode()
            req = urllib.request.Request(f"http://127.0.0.1:{port}/masuk", data=body, headers={"Cookie": cookie})
            with contextlib.suppress(urllib.error.HTTPError):
                urllib.request.urlopen(req)
        finally:
            proc.terminate()
            proc.wait(10)
    text = log.read_text()
    lines = [json.loads(line) for line in text.splitlines() if line.startswith("{")]
    assert {"method": "POST", "path": "/masuk", "status": 400} in [
        {k: line[k] for k in ("method", "path", "status")} for line in lines]
    assert "2171031508900001" not in text and csrf not in text and idem not in text
