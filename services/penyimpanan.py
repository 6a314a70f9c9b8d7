"""Files outside SQLite: requirement documents and sealed PDFs as objects in storage, the rows naming them.

The store is an adapter (``integrations/penyimpanan.py``: a local folder, or S3); the row keeps the key,
size, type and SHA-256. The rules:

- **Nothing acknowledged is lost.** ``put_verified`` stores the object and reads it back (size and SHA-256 must
  match) before the caller commits the row that names it, and the answer comes only after that commit. A crash
  or a failed commit in between leaves an object that no row names — an *orphan*, never a row without its
  object.
- **Orphans are swept** by ``reconcile`` (the background job, hourly: ``check_when_due``; or `python -m
  ops.penyimpanan sapu`): an object no row names, older than ``ORPHAN_AGE_S`` (so an upload in flight is never
  taken), is deleted after one more look at the database. A sweep that finds more orphans than
  ``SWEEP_FREE`` and a tenth of all objects deletes nothing and says so (a database that is not the one the
  bucket belongs to must not empty it); ``--paksa`` overrides.
- **Missing objects are reported.** A row whose object is absent (or of another size) is counted by the same
  comparison (`make check-storage`, the hourly job), kept in ``penyimpanan_cek`` for ``/metrics``, and its
  download answers a page that says so (``FileMissing``), never a 500.
- **Blobs move out** with ``move_blobs`` (`python -m ops.penyimpanan pindahkan`): batch by batch, each batch's
  objects stored and verified, then its rows pointed at them in one transaction; run again, it continues where
  it stopped; when none is left, ``VACUUM`` gives the space back. Rows not yet moved are served from ``isi``.

The comparison walks the store's listing and the rows' keys side by side, both in key order, so it holds
neither in memory, and it never reads the database inside one long transaction.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
from collections.abc import Callable, Iterator
from concurrent.futures import Executor, Future
from dataclasses import dataclass, field

from sqlite_utils import Database

from db import penyimpanan as q
from integrations.penyimpanan import ObjectMissing, ObjectStore, StorageUnavailable, StoredObject
from services import kalender

log = logging.getLogger("mpp.penyimpanan")

ORPHAN_AGE_S = 3600      # an object younger than this is an upload in flight, never an orphan
CHECK_EVERY_S = 3600     # the background job compares storage with the rows this often
SWEEP_FREE = 20          # orphans a sweep removes without a second thought (more: only up to a tenth of all)
RECHECK_MAX = 1000       # missing candidates looked at once more (exists) before they are reported
PAGE = 1000
BERKAS, DOKUMEN = "berkas/", "dokumen/"


class FileMissing(LookupError):
    """A row names an object the store does not have: the download page says so (and the check reports it)."""

    def __init__(self, key: str):
        super().__init__(key)
        self.key = key


@dataclass(frozen=True)
class Download:
    """A file to hand out: name, type, size (for Content-Length) and its bytes as chunks from storage."""

    nama_file: str
    jenis: str
    ukuran: int | None
    chunks: Iterator[bytes]


def new_key(prefix: str, owner_id: int, suffix: str = "") -> str:
    """A key never used before: ``berkas/<application>/<random>`` or ``dokumen/<document>/<random>.pdf``."""
    return f"{prefix}{int(owner_id)}/{secrets.token_urlsafe(12)}{suffix}"


def put_verified(objects: ObjectStore, key: str, data: bytes, content_type: str, sha256: str | None = None) -> str:
    """Store ``data`` under ``key`` and read it back: the stored size and SHA-256 must be the sent ones. Returns
    the SHA-256 (hex). StorageUnavailable when the store fails or keeps other bytes: nothing may be acknowledged."""
    digest = sha256 or hashlib.sha256(data).hexdigest()
    objects.put(key, data, content_type)
    size, stored = 0, hashlib.sha256()
    try:
        for chunk in objects.stream(key):
            size += len(chunk)
            stored.update(chunk)
    except ObjectMissing:
        raise StorageUnavailable(f"objek {key} tidak ada setelah disimpan") from None
    if size != len(data) or stored.hexdigest() != digest:
        raise StorageUnavailable(f"objek {key} tersimpan berbeda: {size} byte, sha256 {stored.hexdigest()}")
    return digest


def forget(objects: ObjectStore, key: str | None) -> None:
    """Delete an object no row names any more (best effort: what fails here, the sweep removes later)."""
    if not key:
        return
    try:
        objects.delete(key)
    except StorageUnavailable:
        log.warning("objek %s tidak terhapus; penyapuan berikut menghapusnya", key)


def download(objects: ObjectStore, row: dict, nama_file: str, jenis: str) -> Download:
    """A stored file of a row (``kunci``, ``ukuran``; ``isi`` for a row not yet moved out of SQLite).
    FileMissing when the store does not have its object; StorageUnavailable when it does not answer."""
    if row.get("kunci") is None:
        data = row.get("isi") or b""
        return Download(nama_file, jenis, len(data), iter((data,)))
    try:
        chunks = objects.stream(row["kunci"])
    except ObjectMissing:
        log.error("objek %s hilang dari penyimpanan (baris masih ada); jalankan make check-storage", row["kunci"])
        raise FileMissing(row["kunci"]) from None
    return Download(nama_file, jenis, row.get("ukuran"), chunks)


# ------------------------------------------------------------------------------------------- the comparison

@dataclass
class Report:
    objects: int = 0
    missing: list[str] = field(default_factory=list)     # keys of rows whose object is absent or of another size
    missing_count: int = 0
    orphans: list[StoredObject] = field(default_factory=list)  # objects no row names, older than ORPHAN_AGE_S
    orphan_count: int = 0
    deleted: int = 0
    refused: bool = False   # too many orphans to sweep without --paksa

    def lines(self) -> list[str]:
        out = [f"objek={self.objects}", f"hilang={self.missing_count}", f"yatim={self.orphan_count}",
               f"yatim_dihapus={self.deleted}"]
        out += [f"# hilang: {key}" for key in self.missing]
        if self.refused:
            out.append(f"# {self.orphan_count} objek yatim tidak dihapus: terlalu banyak (lebih dari {SWEEP_FREE} dan "
                       "sepersepuluh semua objek). Pastikan MPP_DB dan penyimpanan memang pasangannya; hapus dengan "
                       "`python -m ops.penyimpanan sapu --paksa`.")
        return out


def _row_keys(db: Database, table: str) -> Iterator[tuple[str, int | None]]:
    after = ""
    while True:
        page = q.keys_after(db, table, after, PAGE)
        yield from page
        if len(page) < PAGE:
            return
        after = page[-1][0]


def reconcile(db: Database, objects: ObjectStore, *, sweep: bool, now: float | None = None,
              force: bool = False) -> Report:
    """Compare storage with the rows: missing objects, and (with ``sweep``) delete orphans older than
    ORPHAN_AGE_S. Only keys under the app's own prefixes are looked at (a bucket may hold other things, such as
    Litestream's replica)."""
    now = kalender.seconds() if now is None else now
    report = Report()
    candidates: list[str] = []
    for prefix, (table, _) in q.TABLES.items():
        rows = _row_keys(db, table)
        row = next(rows, None)
        previous = ""
        for obj in objects.list(prefix):
            if obj.key < previous:
                raise StorageUnavailable("penyimpanan tidak mendaftar objek menurut urutan kunci")
            previous = obj.key
            report.objects += 1
            while row is not None and row[0] < obj.key:
                report.missing_count += 1
                if len(candidates) < RECHECK_MAX:
                    candidates.append(row[0])
                row = next(rows, None)
            if row is not None and row[0] == obj.key:
                if row[1] is not None and row[1] != obj.size:
                    report.missing_count += 1
                    report.missing.append(obj.key)
                row = next(rows, None)
            elif obj.modified < now - ORPHAN_AGE_S:
                report.orphan_count += 1
                if len(report.orphans) < 10 * PAGE:
                    report.orphans.append(obj)
        while row is not None:
            report.missing_count += 1
            if len(candidates) < RECHECK_MAX:
                candidates.append(row[0])
            row = next(rows, None)
    for key in candidates:  # a row committed while the listing went on has its object: not missing
        if objects.exists(key):
            report.missing_count -= 1
        else:
            report.missing.append(key)
    if sweep and report.orphans:
        if report.orphan_count > max(SWEEP_FREE, report.objects // 10) and not force:
            report.refused = True
            log.warning("%d objek yatim tidak dihapus: terlalu banyak untuk disapu tanpa --paksa", report.orphan_count)
        else:
            for obj in report.orphans:
                if not q.key_in_use(db, obj.key):  # one more look: never take an object a row names
                    objects.delete(obj.key)
                    report.deleted += 1
    return report


def check(db: Database, objects: ObjectStore, *, sweep: bool, force: bool = False,
          now: float | None = None) -> Report:
    """``reconcile`` and keep its result for /metrics (`make check-storage`, the sweep command, the job)."""
    started = kalender.seconds() if now is None else now
    try:
        report = reconcile(db, objects, sweep=sweep, now=started, force=force)
    except Exception as e:
        q.record_failure(db, f"{type(e).__name__}: {e}")
        raise
    q.record_check(db, started, kalender.stamp(), report.objects, report.missing, report.orphan_count,
                   report.deleted)
    if report.missing_count:
        log.error("%d berkas hilang dari penyimpanan, mis. %s", report.missing_count, report.missing[:3])
    return report


def check_when_due(db: Database, objects: ObjectStore, pool: Executor, now: float | None = None) -> Future | None:
    """The background job's step: once every CHECK_EVERY_S, compare and sweep — in ``pool`` (a thread of its own,
    web/wiring.py), since listing a large bucket takes minutes and the job's other steps (SMS codes) must not
    wait. Returns the running check, or None when it is not due (or another process took it)."""
    now = kalender.seconds() if now is None else now
    last = q.last_check(db)
    if last is None or last["mulai"] > now - CHECK_EVERY_S or not q.claim_check(db, now, CHECK_EVERY_S):
        return None
    return pool.submit(_checked, db, objects, now)


def _checked(db: Database, objects: ObjectStore, now: float) -> Report | None:
    try:
        return check(db, objects, sweep=True, now=now)
    except Exception:
        log.exception("pemeriksaan penyimpanan gagal; dicoba lagi dalam satu jam")
        return None


def metrics_lines(db: Database, now: float | None = None) -> list[str]:
    """The storage lines of /metrics: the last comparison's figures and the blobs still in SQLite."""
    now = kalender.seconds() if now is None else now
    last = q.last_check(db) or {"mulai": 0, "selesai": None, "objek": 0, "hilang": 0, "yatim": 0, "dihapus": 0,
                                "galat": ""}
    left = q.blobs_left(db)
    age = int(now - last["mulai"]) if last["selesai"] else -1
    return ["# storage value", f"storage_objects {last['objek']}", f"storage_objects_missing {last['hilang']}",
            f"storage_orphans {last['yatim']}", f"storage_orphans_deleted {last['dihapus']}",
            f"storage_check_age_s {age}", f"storage_check_failed {int(bool(last['galat']))}",
            f"storage_blobs_in_sqlite {left['berkas'] + left['dokumen_pdf']}"]


# ------------------------------------------------------------------------------------- moving blobs out

@dataclass
class Moved:
    rows: int = 0
    bytes: int = 0
    batches: int = 0
    other_hash: int = 0          # rows whose recorded SHA-256 did not match their bytes (recorded anew)
    left: dict = field(default_factory=dict)
    vacuumed: bool = False

    def lines(self) -> list[str]:
        left = sum(self.left.values())
        return [f"dipindahkan={self.rows} baris", f"byte={self.bytes}", f"batch={self.batches}",
                f"sisa_di_sqlite={left} baris", f"sha256_berbeda={self.other_hash}",
                "VACUUM selesai" if self.vacuumed else "belum VACUUM: jalankan lagi untuk melanjutkan"]


def move_blobs(db: Database, objects: ObjectStore, batch: int = 50, max_batches: int | None = None,
               progress: Callable[[Moved], None] | None = None) -> Moved:
    """Move the bytes still in SQLite (``berkas.isi``, ``dokumen_pdf.isi``) to storage, ``batch`` rows at a
    time, at most ``max_batches`` batches; then, when none is left, VACUUM. Safe to stop at any moment and to
    run again: a batch's rows change only after its objects are stored and verified, in one transaction, and
    only rows still in SQLite (a row that got a new upload meanwhile keeps it; the object made for it is
    deleted)."""
    done = Moved()
    for table, prefix, suffix in (("berkas", BERKAS, ""), ("dokumen_pdf", DOKUMEN, ".pdf")):
        while max_batches is None or done.batches < max_batches:
            rows = q.blobs_to_move(db, table, batch)
            if not rows:
                break
            moved = []
            for r in rows:
                data = q.blob(db, table, r["row_id"])
                if data is None:
                    continue
                digest = hashlib.sha256(data).hexdigest()
                if r["sha256"] and r["sha256"] != digest:
                    done.other_hash += 1
                key = new_key(prefix, r["pemilik"], suffix)
                put_verified(objects, key, data, r["jenis"], digest)
                moved.append((r["row_id"], key, len(data), digest))
                done.bytes += len(data)
            unused = q.mark_moved(db, table, moved)
            for key in unused:
                forget(objects, key)
            done.rows += len(moved) - len(unused)
            done.batches += 1
            if progress:
                progress(done)
    done.left = q.blobs_left(db)
    if not any(done.left.values()):
        q.vacuum(db)
        done.vacuumed = True
    return done


def object_bytes_per_application(db: Database) -> float:
    """Average bytes of files and sealed PDFs per submitted application (0 when none)."""
    count, total = q.object_bytes_per_application(db)
    return total / count if count else 0.0
