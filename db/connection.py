"""SQLite connections: one per thread, WAL, and one way to write.

Why these settings:
- WAL lets readers run while one writer writes; ``synchronous=NORMAL`` is durable
  across application crashes in WAL mode (only an OS crash can lose the last
  transactions, which Litestream replicates anyway).
- ``busy_timeout`` makes a writer wait for the lock instead of failing at once.
- Every write transaction starts with ``BEGIN IMMEDIATE``: a transaction that
  reads first under ``BEGIN DEFERRED`` and then tries to write cannot be retried
  by busy_timeout and fails with SQLITE_BUSY under concurrency.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sqlite3
import threading
from collections.abc import Iterator
from pathlib import Path

from sqlite_utils import Database

BUSY_TIMEOUT_MS = 10_000
log = logging.getLogger("mpp.db")


class EventLoopBlocked(RuntimeError):
    """Database work attempted on the thread that runs the event loop."""


def connect(path: str | Path) -> Database:
    """Open one connection with the project's pragmas applied."""
    if str(path) != ":memory:":
        Path(path).parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(str(path), timeout=BUSY_TIMEOUT_MS / 1000, check_same_thread=False)
    conn.row_factory = sqlite3.Row
    db = Database(conn)
    with db.ensure_autocommit_on():
        conn.execute("PRAGMA journal_mode=WAL")
    conn.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
    conn.execute("PRAGMA synchronous=NORMAL")
    conn.execute("PRAGMA foreign_keys=ON")
    return db


@contextlib.contextmanager
def write(db: Database) -> Iterator[Database]:
    """A write transaction that takes the write lock up front (``BEGIN IMMEDIATE``).

    Nested calls become savepoints of the outer transaction, so a service
    function can group several writes and still call helpers that write.
    """
    conn = db.conn
    if conn.in_transaction:
        with db.atomic():
            yield db
        return
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield db
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise
    else:
        conn.execute("COMMIT")


class Store:
    """Hands each thread its own connection to one database file.

    Starlette runs ``def`` endpoints in a thread pool; a sqlite3 connection
    must not be shared by two threads mid-transaction, so each thread gets one.
    ``store.db`` is a proxy that finds the *calling* thread's connection on every
    use, so a handle taken on the event loop and passed to a worker thread still
    uses the worker's own connection (sharing one was how writers ended up
    waiting on each other's half-open transactions under load).
    """

    def __init__(self, path: str | Path, loop_guard: str = "log"):
        self.path = str(path)
        self.loop_guard = loop_guard  # "raise" (tests), "log" (production) or "off"
        self._local = threading.local()
        self._all: list[Database] = []
        self._lock = threading.Lock()
        self.db = ThreadBoundDatabase(self)

    def for_this_thread(self) -> Database:
        if self.loop_guard != "off":
            self._check_not_on_event_loop()
        db = getattr(self._local, "db", None)
        if db is None:
            db = connect(self.path)
            self._local.db = db
            with self._lock:
                self._all.append(db)
        return db

    def _check_not_on_event_loop(self) -> None:
        """SQLite waits up to ``busy_timeout`` for the write lock: on the event loop that wait would stop
        every request of the process. Database work belongs in the thread pool; a call from a thread that
        runs an event loop is a bug, raised in tests and logged with its stack in production."""
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            return
        if self.loop_guard == "raise":
            raise EventLoopBlocked("SQLite dipanggil di event loop; jalankan di thread pool")
        log.warning("SQLite called on the event loop", stack_info=True)

    def close(self) -> None:
        with self._lock:
            for db in self._all:
                db.conn.close()
            self._all.clear()
        self._local = threading.local()


class ThreadBoundDatabase:
    """Looks like a sqlite_utils Database; every attribute is the calling thread's."""

    def __init__(self, store: Store):
        object.__setattr__(self, "_store", store)

    def __getattr__(self, name: str):
        return getattr(self._store.for_this_thread(), name)

    def __getitem__(self, name: str):
        return self._store.for_this_thread()[name]


def ping(db: Database) -> None:
    """One trivial query: raises if the database does not answer."""
    db.execute("SELECT 1").fetchone()


def integrity_and_counts(path: str | Path, tables: tuple[str, ...] | list[str]) -> tuple[str, dict[str, int]]:
    """``PRAGMA integrity_check`` of a database file opened read-only, and the row counts of ``tables``."""
    conn = sqlite3.connect(f"file:{Path(path).resolve()}?mode=ro", uri=True)
    try:
        integrity = "; ".join(r[0] for r in conn.execute("PRAGMA integrity_check"))
        present = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        counts = {t: conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in tables if t in present}
    finally:
        conn.close()
    return integrity, counts
