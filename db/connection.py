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
import contextvars
import logging
import sqlite3
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from sqlite_utils import Database

BUSY_TIMEOUT_MS = 10_000
log = logging.getLogger("mpp.db")


class EventLoopBlocked(RuntimeError):
    """Database work attempted on the thread that runs the event loop."""


class WriteWhileReading(RuntimeError):
    """A write to SQLite while a GET or HEAD request is being answered (``READ_ONLY`` is set)."""


@dataclass
class ReadOnly:
    """What a request that must not write is (``what``: "GET /petugas/permohonan/{id}"), and what to do when it
    writes anyway: ``mode`` "raise" (the tests: the statement is refused) or "log" (production: logged with its
    stack, allowed). ``seen`` is told of every write tried (the tests collect them per app)."""

    what: Callable[[], str] | str
    mode: str = "log"
    seen: Callable[[str], None] | None = None
    tried: list[str] = field(default_factory=list)

    def label(self) -> str:
        return self.what() if callable(self.what) else self.what

    def write_tried(self, statement: str) -> bool:
        """Record one write; True when it is to be refused."""
        found = f"{self.label()}: {statement}"
        self.tried.append(found)
        if self.seen is not None:
            self.seen(found)
        if self.mode != "raise":
            log.warning("SQLite write while answering %s", found, stack_info=True)
        return self.mode == "raise"


# Set (by web/readonly.py) while a GET or HEAD is answered: LiteFS replicas serve those, and a replica cannot
# write. Starlette copies the context into the thread-pool thread of each route, so the guard below sees it there.
READ_ONLY: contextvars.ContextVar[ReadOnly | None] = contextvars.ContextVar("mpp_read_only", default=None)

# Authorizer actions that change the database file (a TEMP table is the connection's own: allowed).
_WRITES = {
    sqlite3.SQLITE_INSERT: "INSERT", sqlite3.SQLITE_UPDATE: "UPDATE", sqlite3.SQLITE_DELETE: "DELETE",
    sqlite3.SQLITE_CREATE_TABLE: "CREATE TABLE", sqlite3.SQLITE_CREATE_INDEX: "CREATE INDEX",
    sqlite3.SQLITE_CREATE_TRIGGER: "CREATE TRIGGER", sqlite3.SQLITE_CREATE_VIEW: "CREATE VIEW",
    sqlite3.SQLITE_DROP_TABLE: "DROP TABLE", sqlite3.SQLITE_DROP_INDEX: "DROP INDEX",
    sqlite3.SQLITE_DROP_TRIGGER: "DROP TRIGGER", sqlite3.SQLITE_DROP_VIEW: "DROP VIEW",
    sqlite3.SQLITE_ALTER_TABLE: "ALTER TABLE", sqlite3.SQLITE_REINDEX: "REINDEX", sqlite3.SQLITE_ANALYZE: "ANALYZE",
    sqlite3.SQLITE_CREATE_VTABLE: "CREATE VIRTUAL TABLE", sqlite3.SQLITE_DROP_VTABLE: "DROP VIRTUAL TABLE",
}
# A plain BEGIN is let through (sqlite3 says it before any INSERT: the INSERT is what is refused); ``write()``
# checks for itself, since its BEGIN IMMEDIATE takes the write lock, which a LiteFS replica refuses.


def _authorize(action: int, arg1, arg2, db_name, trigger) -> int:
    """sqlite3 authorizer of a connection while it serves a read-only request: writes are reported (and refused
    in "raise" mode). Called when a statement is prepared, never per row."""
    reading = READ_ONLY.get()
    if reading is None:
        return sqlite3.SQLITE_OK
    if action not in _WRITES or db_name == "temp" or trigger:  # a trigger's own statements: told with its cause
        return sqlite3.SQLITE_OK
    if action == sqlite3.SQLITE_UPDATE and arg1 in ("sqlite_master", "sqlite_schema"):
        # FTS5 connecting a connection to its table (the first search on it) declares the table's shape, which
        # the authorizer is shown as an UPDATE of the schema; nothing is written (a real schema change is a
        # CREATE, DROP or ALTER, refused above). Refused, the search failed ("vtable constructor failed").
        return sqlite3.SQLITE_OK
    statement = f"{_WRITES[action]} {arg1 or ''}".strip()
    return sqlite3.SQLITE_DENY if reading.write_tried(statement) else sqlite3.SQLITE_OK


def is_busy(exc: BaseException) -> bool:
    """The write lock stayed taken past ``busy_timeout`` (a long write elsewhere): nothing of this request was
    committed, and the same request sent again will do."""
    return isinstance(exc, sqlite3.OperationalError) and str(exc).startswith(("database is locked", "database is busy"))


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
    reading = READ_ONLY.get()
    if reading is not None and reading.write_tried("BEGIN IMMEDIATE (db.connection.write)"):
        raise WriteWhileReading(f"{reading.label()} menulis ke SQLite; permintaan GET/HEAD hanya membaca")
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
        local = self._local
        db = getattr(local, "db", None)
        if db is None:
            db = connect(self.path)
            local.db = db
            local.guarded = False
            with self._lock:
                self._all.append(db)
        reading = READ_ONLY.get() is not None
        if reading != local.guarded:
            self._guard(db, reading)
        return db

    def _guard(self, db: Database, reading: bool) -> None:
        """The write guard of this thread's connection, on while it serves a GET/HEAD (``READ_ONLY``).

        SQLite asks an authorizer only when it prepares a statement, and sqlite3 keeps prepared statements;
        installing an authorizer expires every prepared statement of the connection, so each is prepared (and
        checked) again the first time a read-only request runs it. Between two read-only requests nothing
        changes; a POST in between turns it off (no cost on writes) and the next GET on again."""
        db.conn.set_authorizer(_authorize if reading else None)
        self._local.guarded = reading

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
