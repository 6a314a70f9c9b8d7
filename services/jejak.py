"""Traces a read leaves (issue 18): who opened whose data, and wrong guesses at a secret code.

A GET writes nothing to SQLite (web/readonly.py), because LiteFS answers GETs on read-only replicas. When a page
that only reads must still be recorded — an officer opening a case is an access to a citizen's data, shown to the
citizen under "Siapa yang membuka permohonan Anda"; a wrong complaint tracking code counts towards the guessing
limit — the entry goes to the machine's spool (db/spool.py: appended and fsynced before the page is sent), with
its own time and a random id. Then:

- on the primary, the background job (web/jobs.py, woken at once) writes each batch into SQLite in one
  transaction: an access as an audit row appended to the hash chain with the entry's *original* time, an attempt
  into the attempt log; ``jejak_diterima`` remembers the ids, so a batch taken in twice counts once;
- on a replica, the job hands each batch to the primary (``POST /_intern/jejak`` with the deployment's internal
  token, web/litefs.py), which takes it in the same way, and removes the batch only after the primary's 200.

Until then the entry is read from the spool with the rows: the citizen's page lists a waiting opening beside the
audit rows (``with_waiting``), and a limit counts waiting attempts (``attempt_times``), so neither is ever behind
on the machine that recorded it.
"""

from __future__ import annotations

import json
import logging
import re
import secrets
from collections.abc import Callable

from sqlite_utils import Database

from db import akun as akun_q
from db import audit
from db import jejak as q
from db.connection import write
from db.spool import Spool
from services import kalender

log = logging.getLogger("mpp.jejak")

AUDIT, ATTEMPT = "audit", "percobaan"
SPOOLED_ACTIONS = {"buka"}  # the audit actions a read may record (an entry from elsewhere naming another is refused)
_STAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$")


def record_access(spool: Spool, who: dict, aksi: str, objek: str, detail: dict | None = None) -> None:
    """An access to ``objek`` by the account ``who``, durable when this returns (its name and role go with it, so
    the page can show the entry before the primary has it)."""
    spool.append({"id": secrets.token_urlsafe(16), "jenis": AUDIT, "waktu": kalender.stamp(), "akun_id": who["id"],
                  "aksi": aksi, "objek": objek, "detail": detail or {}, "akun_nama": who.get("nama"),
                  "peran": who.get("peran")})


def record_attempt(spool: Spool, kunci: str, now: float | None = None) -> None:
    """A failed attempt under the rate-limit key ``kunci`` (services/ratelimit.key), made while reading."""
    spool.append({"id": secrets.token_urlsafe(16), "jenis": ATTEMPT, "kunci": kunci,
                  "waktu": kalender.seconds() if now is None else now})


def waiting_for(spool: Spool | None, objek: str) -> list[dict]:
    """The accesses to ``objek`` still in this machine's spool, shaped as ``db.audit.for_object`` rows."""
    if spool is None:
        return []
    needle = json.dumps({"objek": objek}, ensure_ascii=False, separators=(",", ":"))[1:-1]
    return [{"waktu": e["waktu"], "aksi": e["aksi"], "detail": json.dumps(e.get("detail") or {}, sort_keys=True),
             "akun_nama": e.get("akun_nama"), "peran": e.get("peran")}
            for e in spool.entries(needle) if e.get("jenis") == AUDIT and e.get("objek") == objek]


def with_waiting(rows: list[dict], waiting: list[dict]) -> list[dict]:
    """The audit rows and the waiting entries of one object, in time order (an entry taken in late keeps its own
    time, so its row may come after later ones in the log)."""
    return sorted([*rows, *waiting], key=lambda r: r["waktu"]) if waiting else rows


def attempt_times(spool: Spool | None, kunci: str, since: float) -> list[float]:
    """Times of the attempts under ``kunci`` since ``since`` that wait in this machine's spool."""
    if spool is None:
        return []
    needle = json.dumps({"kunci": kunci}, ensure_ascii=False, separators=(",", ":"))[1:-1]
    return [float(e["waktu"]) for e in spool.entries(needle)
            if e.get("jenis") == ATTEMPT and e.get("kunci") == kunci and float(e.get("waktu", 0)) > since]


def _valid(e) -> bool:
    """An entry as ``record_access``/``record_attempt`` make it (a replica's hand-over is checked like input)."""
    if not isinstance(e, dict) or not isinstance(e.get("id"), str) or not 8 <= len(e["id"]) <= 64:
        return False
    if e.get("jenis") == AUDIT:
        return (isinstance(e.get("waktu"), str) and bool(_STAMP.match(e["waktu"])) and e.get("aksi") in SPOOLED_ACTIONS
                and isinstance(e.get("objek"), str) and 0 < len(e["objek"]) <= 100
                and (e.get("akun_id") is None or (isinstance(e["akun_id"], int) and not isinstance(e["akun_id"], bool)))
                and isinstance(e.get("detail", {}), dict))
    if e.get("jenis") == ATTEMPT:
        return (isinstance(e.get("kunci"), str) and 0 < len(e["kunci"]) <= 200
                and isinstance(e.get("waktu"), int | float) and not isinstance(e["waktu"], bool))
    return False


def take_in(db: Database, entries: list, now: float | None = None) -> int:
    """Write spooled entries into SQLite (the primary only), all in one transaction; how many were new. An entry
    seen before (by id) is skipped; one that is not well formed is logged and skipped."""
    now = kalender.seconds() if now is None else now
    applied = 0
    with write(db):
        for e in entries:
            if not _valid(e):
                log.warning("spooled entry refused: %r", str(e)[:200])
                continue
            if not q.take_once(db, e["id"], now):
                continue
            if e["jenis"] == AUDIT:
                audit.append(db, e["akun_id"], e["aksi"], e["objek"], e.get("detail") or {}, waktu=e["waktu"])
            else:
                akun_q.record_attempt(db, e["kunci"], float(e["waktu"]))
            applied += 1
        q.forget_older_than(db, now - q.KEPT_S)
    return applied


def drain(db: Database, spool: Spool) -> int:
    """On the primary: every batch of this machine's spool into SQLite, each removed once committed."""
    applied = 0
    for batch in spool.seal():
        applied += take_in(db, Spool.read(batch))
        spool.remove(batch)
    return applied


def ship(spool: Spool, send: Callable[[list[dict]], None]) -> int:
    """On a replica: every batch to the primary (``send`` raises when it was not taken), each removed once sent."""
    sent = 0
    for batch in spool.seal():
        entries = Spool.read(batch)
        if entries:
            send(entries)
        spool.remove(batch)
        sent += len(entries)
    return sent


def metrics_lines(spool: Spool, get_writes: list[str], primary: str | None) -> list[str]:
    """/metrics: entries waiting in this machine's spool, writes a GET tried (see the log for each), and whether this
    machine is the primary (a replica names the primary it hands its spool to)."""
    return [f"jejak_menunggu {spool.waiting()}", f"get_menulis {len(get_writes)}",
            f"litefs_primer {0 if primary else 1}"]
