"""Event-loop lag while other writers hold the SQLite write lock: ``python -m bench.loop_lag``.

``measure()`` serves the real app (bench.server: uvicorn, production limits) on a seeded database in
a temporary folder, logs in ``CITIZENS`` citizens and opens a draft for each, then for ``SECONDS``:

- ``WRITERS`` threads of this process, each with its own connection to the same file, take the write
  lock with ``BEGIN IMMEDIATE``, hold it ``HOLD_S`` and commit, ``GAP_S`` apart: the lock is held
  most of the time, as by a long import or a burst of submissions;
- the citizens send requests that touch the database (autosave POSTs that must wait for the lock,
  their draft, the catalogue), each ``PAUSE_S`` after its previous answer;
- a probe thread fetches the stylesheet (``/static/app.<hash>.css``, no cookie) every ``PROBE_EVERY_S``
  on its own keep-alive connection. That answer is made on the event loop alone (precompressed bytes,
  no database, no thread pool), so its round trip is the time the loop took to get to it: if any
  request waits for the write lock or compresses a page on the loop, every probe behind it waits too.

``loop_lag_p99_ms`` is the 99th percentile of those round trips (they include ~1 ms of the probe's
own work and of sharing two cores with the load client: ``loop_lag_idle_p99_ms`` is the same probe
with nothing else running, just before). Bounded to about a minute; prints nothing itself.
"""

from __future__ import annotations

import asyncio
import contextlib
import http.client
import random
import re
import sqlite3
import tempfile
import threading
import time
from pathlib import Path

import httpx2 as httpx

from bench import users
from bench.server import running_server

CITIZENS = 20
WRITERS = 2
HOLD_S = 0.2
GAP_S = 0.05
PAUSE_S = 0.1
PROBE_EVERY_S = 0.02
IDLE_S = 3.0
SECONDS = 10.0


def _pick(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(q * len(values)))] if values else float("nan")


def _probe(base: str, path: str, stop: threading.Event, out: list[float]) -> None:
    """Round trips (ms) of GET ``path``, one every PROBE_EVERY_S, until ``stop`` is set."""
    host, port = base.removeprefix("http://").split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=30)
    try:
        while not stop.is_set():
            t0 = time.perf_counter()
            conn.request("GET", path, headers={"Accept-Encoding": "br"})
            conn.getresponse().read()
            out.append((time.perf_counter() - t0) * 1000)
            stop.wait(PROBE_EVERY_S)
    finally:
        conn.close()


@contextlib.contextmanager
def probing(base: str, path: str) -> list[float]:
    samples: list[float] = []
    stop = threading.Event()
    thread = threading.Thread(target=_probe, args=(base, path, stop, samples), daemon=True)
    thread.start()
    try:
        yield samples
    finally:
        stop.set()
        thread.join(35)


def _hold_write_lock(db_path: str, stop: threading.Event, held: list[int]) -> None:
    conn = sqlite3.connect(db_path, timeout=30, isolation_level=None)
    try:
        while not stop.is_set():
            conn.execute("BEGIN IMMEDIATE")
            time.sleep(HOLD_S)
            conn.execute("COMMIT")
            held.append(1)
            stop.wait(GAP_S)
    finally:
        conn.close()


@contextlib.contextmanager
def writers_holding_the_lock(db_path: str):
    stop = threading.Event()
    held: list[int] = []
    threads = [threading.Thread(target=_hold_write_lock, args=(db_path, stop, held), daemon=True)
               for _ in range(WRITERS)]
    for t in threads:
        t.start()
    try:
        yield held
    finally:
        stop.set()
        for t in threads:
            t.join(35)


async def _citizen(stats: users.Stats, c, pid: str, stop: float) -> None:
    while time.monotonic() < stop:
        page = await stats.call(c, "GET", f"/permohonan/{pid}/isi")
        if page is not None and time.monotonic() < stop:
            await asyncio.sleep(PAUSE_S)
            await stats.call(c, "POST", f"/permohonan/{pid}/simpan", headers={"HX-Request": "true"},
                             data={**users.hidden(page.text), "alamat": f"Jl. Uji {random.randint(1, 999)}"})
        await asyncio.sleep(PAUSE_S)
        await stats.call(c, "GET", "/layanan?q=akta")
        await asyncio.sleep(PAUSE_S)


async def _load(base: str, db_path: str, probe_path: str) -> dict:
    """Log the citizens in and open their drafts (no lock held yet), then the measured window."""
    setup, stats = users.Stats(), users.Stats()
    async with contextlib.AsyncExitStack() as stack:
        clients = [await stack.enter_async_context(httpx.AsyncClient(base_url=base, timeout=30,
                                                                     follow_redirects=True,
                                                                     limits=users.CLIENT_LIMITS))
                   for _ in range(CITIZENS)]
        await asyncio.gather(*[users.login(setup, c, users.citizen_login(i)) for i, c in enumerate(clients)])
        drafts = await asyncio.gather(*[users.start_draft(setup, c) for c in clients])
        pids = [re.search(r"/permohonan/(\d+)/isi", str(r.url)) if r is not None else None for r in drafts]
        if setup.errors or not all(pids):
            raise RuntimeError(f"loop_lag set-up failed: {setup.errors[:3]}")
        with probing(base, probe_path) as lags, writers_holding_the_lock(db_path) as held:
            stop = time.monotonic() + SECONDS
            await asyncio.gather(*[_citizen(stats, c, m.group(1), stop) for c, m in zip(clients, pids, strict=True)])
    return {"lags": lags, "held": len(held), "stats": stats}


def _stylesheet(base: str) -> str:
    from bench.__main__ import css_url
    return css_url(base)


def measure() -> list[str]:
    with tempfile.TemporaryDirectory() as tmp:
        db_path = str(Path(tmp) / "lag.db")
        users.seeded(db_path, citizens=CITIZENS, officers=0)
        env = {"MPP_SECRET_KEY": "bench-only-key", "MPP_FACE_WARMUP": "0"}
        with running_server(db_path=db_path, env=env) as server:
            css = _stylesheet(server.url)
            with probing(server.url, css) as idle:
                time.sleep(IDLE_S)
            run = asyncio.run(_load(server.url, db_path, css))
    lags, stats = run["lags"], run["stats"]
    return [f"loop_lag_idle_p99_ms={_pick(idle, 0.99):.1f} ms",
            f"loop_lag_p50_ms={_pick(lags, 0.5):.1f} ms",
            f"loop_lag_p99_ms={_pick(lags, 0.99):.1f} ms",
            f"loop_lag_max_ms={max(lags, default=float('nan')):.1f} ms",
            f"loop_lag_probes={len(lags)} requests",
            f"loop_lag_lock_holds={run['held']} transactions",
            f"loop_lag_db_requests={len(stats.latencies)} requests",
            f"loop_lag_db_p99_ms={_pick(stats.latencies, 0.99) * 1000:.1f} ms",
            f"loop_lag_db_errors={len(stats.errors)} count",
            *[f"# error sample: {e}" for e in stats.errors[:3]]]


if __name__ == "__main__":
    print(*measure(), sep="\n", flush=True)
