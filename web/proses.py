"""What the worker processes of one machine share (``WEB_CONCURRENCY`` > 1: one uvicorn worker per core).

Each worker is a process of its own with its own memory, so two things that used to live in memory are held by
the kernel instead, where they end with the process that held them (a crashed worker leaves nothing to clean up):

- ``SubmitClaims``: a submit in flight (web/formguard.py). A retry of the same submit (a double tap, the browser
  resending after the line dropped) may reach another worker while the first is still running; it must wait for
  the first answer rather than do the work twice. The claim is a one-byte ``lockf`` lock, at an offset made from
  the submit's key, on one file of the machine (beside the spool, on the volume). It writes nothing anywhere: a
  refused or failed POST still leaves the database as it was. Threads of one process share its locks, so the
  formguard keeps its in-memory wait for those; this is for the other processes.
- ``JobLease``: the one process that runs the background job (SMS, deadlines, the spool, purges, the storage
  sweep). It is the process bound to an abstract Unix socket named after the database file: binding is exclusive,
  and the kernel frees the name when the process ends, so another worker takes the job over at its next try.
  The same socket wakes the job from any worker: a page that queued an SMS code sends it one byte.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import hashlib
import logging
import os
import socket
import threading
from pathlib import Path

import uvicorn
from uvicorn.supervisors import Multiprocess

log = logging.getLogger("mpp.proses")

CLAIM_FILE = "klaim-kirim.lock"
_OFFSETS = 1 << 40  # a claim's byte is one of 2^40: two submits in flight sharing one is never seen


class SubmitClaims:
    """Submits in flight on this machine, across its worker processes (see the module's docstring)."""

    def __init__(self, folder: str | Path):
        self.path = Path(folder) / CLAIM_FILE
        self._fd: int | None = None
        self._lock = threading.Lock()

    def _file(self) -> int:
        with self._lock:
            if self._fd is None:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                # one descriptor for the process's life: closing any descriptor of the file would drop its locks
                self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
            return self._fd

    @staticmethod
    def _offset(key: bytes) -> int:
        return int.from_bytes(key[:8], "big") % _OFFSETS

    def take(self, key: bytes) -> bool:
        """Claim ``key`` for this process; False while another process holds it (never waits)."""
        try:
            fcntl.lockf(self._file(), fcntl.LOCK_EX | fcntl.LOCK_NB, 1, self._offset(key))
        except OSError as e:
            if e.errno in (errno.EAGAIN, errno.EACCES):
                return False
            raise
        return True

    def release(self, key: bytes) -> None:
        fd = self._fd
        if fd is not None:
            with contextlib.suppress(OSError):
                fcntl.lockf(fd, fcntl.LOCK_UN, 1, self._offset(key))

    def close(self) -> None:
        with self._lock:
            fd, self._fd = self._fd, None
        if fd is not None:
            os.close(fd)


class JobLease:
    """Which process of this machine runs the background job for one database (see the module's docstring)."""

    def __init__(self, db_path: str | Path):
        digest = hashlib.sha256(os.path.realpath(db_path).encode()).hexdigest()[:32]
        self.address = f"\0mpp-latar-{digest}"
        self.sock: socket.socket | None = None
        self._holders = 0
        self._lock = threading.Lock()

    @property
    def held(self) -> bool:
        return self.sock is not None

    def take(self) -> bool:
        """Hold the lease if no other process does; True while this process holds it. Counted: two job loops of
        one process (test clients nested on one app) share it, and it is let go when the last one releases it."""
        with self._lock:
            return self._take()

    def _take(self) -> bool:
        if self.sock is None:
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
            try:
                sock.bind(self.address)
            except OSError:
                sock.close()
                return False
            sock.setblocking(False)
            self.sock = sock
            log.info("proses %d menjalankan pekerjaan latar", os.getpid())
        self._holders += 1
        return True

    def drain(self) -> None:
        """Read the wake-ups that arrived (their content means nothing)."""
        if self.sock is None:
            return
        with contextlib.suppress(BlockingIOError, OSError):
            while self.sock.recv(64):
                pass

    def wake(self) -> None:
        """Ask the process holding the lease to run its short round now (best effort: the next round comes anyway)."""
        with contextlib.suppress(OSError), socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as s:
            s.setblocking(False)
            s.sendto(b"!", self.address)

    def release(self) -> None:
        """One holder less; the last one lets the lease go."""
        with self._lock:
            self._holders = max(0, self._holders - 1)
            if not self._holders:
                self._let_go()

    def close(self) -> None:
        """Let the lease go, whoever holds it (the app's end)."""
        with self._lock:
            self._let_go()

    def _let_go(self) -> None:
        self._holders = 0
        sock, self.sock = self.sock, None
        if sock is not None:
            sock.close()


@contextlib.contextmanager
def one_at_a_time(folder: str | Path, name: str = "mulai.lock"):
    """Across this machine's processes, one at a time (blocks: call it off the event loop). The start-up's
    migrations and seeding: two workers starting on a new database must not both create it."""
    path = Path(folder)
    path.mkdir(parents=True, exist_ok=True)
    fd = os.open(path / name, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing it frees the lock


class TcpConfig(uvicorn.Config):
    """uvicorn's listening socket for several workers, marked as TCP (``IPPROTO_TCP``).

    uvicorn binds it with ``socket.socket(family)``, whose protocol number reads 0. The workers' asyncio then does
    not set TCP_NODELAY on the connections it accepts (it checks for IPPROTO_TCP), and every answer written in more
    than one piece waited for the client's delayed ACK: 44 ms more per request, measured on /healthz (1.1 ms with
    one process). A single process binds by host and port, and never had it."""

    def bind_socket(self) -> socket.socket:
        sock = super().bind_socket()
        if sock.family in (socket.AF_INET, socket.AF_INET6) and sock.proto == 0:
            sock = socket.socket(sock.family, sock.type, socket.IPPROTO_TCP, fileno=sock.detach())
            sock.set_inheritable(True)
        return sock


def serve_workers(app: str, workers: int, **options) -> None:
    """``uvicorn.run(app, workers=…, factory=True)``, each connection without Nagle's delay (``TcpConfig``)."""
    config = TcpConfig(app, workers=workers, factory=True, **options)
    Multiprocess(config, sockets=[config.bind_socket()]).run()
