"""The spool: what a read-only request must record, kept outside SQLite until the primary takes it in.

A GET or HEAD writes nothing to SQLite (LiteFS serves them on read-only replicas), yet some reads must leave a
trace that is never lost: an officer opening a case ("who opened my data"), a wrong complaint tracking code
(the guessing limit). Such an entry is appended here, one JSON line, and ``fsync``ed before the page is
answered, in a folder on the machine's own volume (MPP_SPOOL_DIR; never in the LiteFS mount, which holds
databases only). The background job seals the open file into a batch and, on the primary, writes the batch into
SQLite (services/jejak.py); on a replica it hands the batch to the primary over HTTP. A batch file is removed
only after its entries are committed, and each entry carries an id the database remembers, so a batch taken in
twice (a crash between commit and removal, a hand-over whose answer was lost) is applied once.

Reads (``entries``) see every entry not yet removed, so a page can show them beside the rows already in SQLite.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
from collections.abc import Iterator
from pathlib import Path

OPEN = "terbuka.jsonl"  # the file entries are appended to
LOCK = ".kunci"         # held while appending, sealing or removing: by every thread and every worker process
BATCH = "kumpulan-"     # sealed batches: kumpulan-<number>.jsonl, oldest first by name


class Spool:
    def __init__(self, folder: str | Path):
        self.folder = Path(folder)

    @contextlib.contextmanager
    def _locked(self):
        """One writer of the folder at a time, across threads and the machine's worker processes (WEB_CONCURRENCY):
        an entry appended to the open file while another process seals it could land in a batch already taken
        in. A descriptor of its own each time, so threads exclude each other too (flock is per open file)."""
        self.folder.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.folder / LOCK, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)

    def append(self, entry: dict) -> None:
        """One entry, durable when this returns (written with O_APPEND and fsynced, the folder too on a new file)."""
        line = (json.dumps(entry, ensure_ascii=False, separators=(",", ":")) + "\n").encode()
        with self._locked():
            path = self.folder / OPEN
            new = not path.exists()
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
            try:
                os.write(fd, line)
                os.fsync(fd)
            finally:
                os.close(fd)
            if new:
                self._sync_folder()

    def seal(self) -> list[Path]:
        """Close the open file into a batch (new entries start a new file); every batch waiting, oldest first."""
        with self._locked():
            path = self.folder / OPEN
            if path.exists() and path.stat().st_size:
                waiting = self.batches()
                number = int(waiting[-1].stem.removeprefix(BATCH)) + 1 if waiting else 1
                path.rename(self.folder / f"{BATCH}{number:012d}.jsonl")
                self._sync_folder()
        return self.batches()

    def batches(self) -> list[Path]:
        return sorted(self.folder.glob(f"{BATCH}*.jsonl")) if self.folder.exists() else []

    @staticmethod
    def read(path: Path) -> list[dict]:
        """A batch's entries; a last line cut short (the machine stopped mid-write, before the request was
        answered) is left out."""
        out = []
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            return out
        for line in data.split(b"\n"):
            if not line.strip():
                continue
            try:
                out.append(json.loads(line))
            except ValueError:
                continue
        return out

    def remove(self, path: Path) -> None:
        """A batch whose entries are committed (here or on the primary)."""
        with self._locked():
            path.unlink(missing_ok=True)
            self._sync_folder()

    def entries(self, contains: str = "") -> Iterator[dict]:
        """Every entry not yet removed (batches, then the open file); with ``contains``, only lines holding that text
        (a cheap filter before parsing, e.g. an object's name)."""
        files = [*self.batches(), self.folder / OPEN]
        for path in files:
            try:
                data = path.read_bytes()
            except FileNotFoundError:
                continue
            for line in data.split(b"\n"):
                if not line.strip() or (contains and contains.encode() not in line):
                    continue
                try:
                    yield json.loads(line)
                except ValueError:
                    continue

    def waiting(self) -> int:
        """How many entries wait (for /metrics and the tests)."""
        return sum(1 for _ in self.entries())

    def _sync_folder(self) -> None:
        fd = os.open(self.folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
