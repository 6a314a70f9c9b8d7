"""Replica lag: how long after a COMMIT the write can be restored from a Litestream file replica.

``measure()`` seeds a database in a temporary folder, runs the real ``litestream replicate``
(litestream.file.yml, sync-interval 1 s, as in production) on it, then nine times commits one
row and restores the replica into a new file every 50 ms until the row is there. The median is
the expected loss window if the machine *and* its volume vanished right after a write (the WAL
on a surviving volume is shipped on restart, so a crash of the processes alone loses nothing).
Bounded to about 20 s; prints nothing itself.
"""

from __future__ import annotations

import contextlib
import random
import signal
import sqlite3
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

from ops import replica

SAMPLES = 9
BUDGET_S = 20.0


def _restored_has(env: dict[str, str], folder: Path, marker: str, attempt: int) -> bool:
    out = folder / f"probe-{attempt}.db"
    try:
        replica.restore(out, env, timeout=10)
    except RuntimeError:
        return False  # no snapshot yet
    try:
        conn = sqlite3.connect(out)
        try:
            return conn.execute("SELECT 1 FROM batas_laju WHERE kunci = ?", [marker]).fetchone() is not None
        finally:
            conn.close()
    finally:
        for p in folder.glob(f"probe-{attempt}.db*"):
            p.unlink()


def measure() -> list[str]:
    from db.connection import connect
    from ops import seed

    deadline = time.monotonic() + BUDGET_S
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        db_path = folder / "lag.db"
        db = connect(db_path)
        seed.seed(db, demo=False)
        db.conn.close()
        env = replica.env_for(db_path, folder / "replica")
        log = open(folder / "litestream.log", "wb")
        proc = subprocess.Popen([replica.binary(), "replicate", "-config", str(replica.FILE_CONFIG)], env=env,
                                stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        lags: list[float] = []
        attempt = 0
        try:
            conn = sqlite3.connect(db_path, isolation_level=None)
            conn.execute("PRAGMA busy_timeout=10000")
            while not (folder / "replica" / "ltx" / "9").exists() and time.monotonic() < deadline:
                time.sleep(0.05)  # the first snapshot
            for i in range(SAMPLES):
                time.sleep(random.uniform(0, 0.5))  # commit at a random phase of the sync ticker
                marker = f"bench:litestream-lag:{i}:{time.time_ns()}"
                conn.execute("BEGIN IMMEDIATE")
                conn.execute("INSERT INTO batas_laju (kunci, waktu) VALUES (?, ?)", [marker, time.time()])
                conn.execute("COMMIT")
                committed = time.monotonic()
                while time.monotonic() < deadline:
                    attempt += 1
                    if _restored_has(env, folder, marker, attempt):
                        lags.append((time.monotonic() - committed) * 1000)
                        break
                    time.sleep(0.05)
                if time.monotonic() >= deadline:
                    break
            conn.close()
        finally:
            with contextlib.suppress(ProcessLookupError):
                proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(10)
            log.close()
    if not lags:
        return ["litestream_replica_lag_samples=0 count"]
    return [f"litestream_replica_lag_ms={statistics.median(lags):.4g} ms",
            f"litestream_replica_lag_max_ms={max(lags):.4g} ms",
            f"litestream_replica_lag_samples={len(lags)} count"]


if __name__ == "__main__":
    print("\n".join(measure()), flush=True)
