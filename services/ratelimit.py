"""Limits on attempts (logins, registrations, registry look-ups, face checks, SMS codes), kept in SQLite.

Kept in the database rather than in memory so a limit holds across restarts and
across worker processes. Two kinds:

* ``Limit``: a hard sliding window, N attempts per window. Key it on something
  the attacker owns (their address, their pair of account and address), never
  on a victim alone, or the victim is the one locked out.
* ``SlowDown``: for keys an attacker can share with a victim (an account tried
  from everywhere): the first ``free`` attempts in the window pass, then each
  further one waits a delay that doubles up to ``cap_s`` after the previous one.
  Nobody is ever refused for longer than ``cap_s``.

Limits measure elapsed real time (``kalender.seconds``): the pinned calendar clock of
demos (``MPP_NOW``) would freeze every window.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Callable
from dataclasses import dataclass

from sqlite_utils import Database

from db import akun
from db.connection import write
from services import kalender


@dataclass(frozen=True)
class Limit:
    name: str
    attempts: int
    window_s: int


@dataclass(frozen=True)
class SlowDown:
    name: str
    free: int
    window_s: int
    cap_s: int


# Logins: hard per (account, client) pair and per client over all accounts; slow-down per account.
LOGIN_PER_ACCOUNT_AND_CLIENT = Limit("masuk:akun-klien", 5, 15 * 60)
LOGIN_PER_CLIENT = Limit("masuk:klien", 30, 15 * 60)
LOGIN_PER_ACCOUNT = SlowDown("masuk:akun", 10, 3600, 300)
# Registration: registry look-ups per client; mismatches per NIK slow that NIK down.
REGISTER_PER_CLIENT = Limit("daftar:klien", 20, 3600)
REGISTER_MISMATCH_PER_NIK = SlowDown("daftar:nik", 5, 3600, 600)
# Another person's NIK (a family member in a form) looked up in the registry: distinct NIKs per day.
OTHER_NIK_PER_ACCOUNT = Limit("nik-lain:akun", 10, 86400)
OTHER_NIK_PER_CLIENT = Limit("nik-lain:klien", 30, 86400)
OTHER_NIK_LIMITED = ("pemeriksaan NIK orang lain ke data kependudukan dibatasi 10 NIK per hari untuk setiap "
                     "akun. Coba lagi besok, atau bawa Kartu Keluarga ke gerai MPP.")




def digest(value: str) -> str:
    """A short stand-in for a typed identifier in a key (the attempt log holds no NIK in clear)."""
    return hashlib.sha256(value.encode()).hexdigest()[:20]


def blocked(db: Database, limit: Limit, who: str) -> bool:
    return wait_s(db, limit, who) > 0


def key(limit: Limit | SlowDown, who: str) -> str:
    """The attempt log's key of ``who`` under ``limit``."""
    return f"{limit.name}:{who}"


def wait_s(db: Database, limit: Limit, who: str, now: float | None = None,
           waiting: Callable[[str, float], list[float]] | None = None) -> float:
    """Seconds until ``who`` may try again under ``limit`` (0: now). ``waiting(key, since)``: the times of
    attempts not yet in the database (recorded while reading, in the spool: services/jejak.py), which count too."""
    now = kalender.seconds() if now is None else now
    since = now - limit.window_s
    extra = waiting(key(limit, who), since) if waiting is not None else []
    if extra:
        times = sorted([*akun.latest_attempts(db, key(limit, who), since, limit.attempts), *extra], reverse=True)
        oldest_that_counts = times[limit.attempts - 1] if len(times) >= limit.attempts else None
    else:
        oldest_that_counts = akun.nth_latest_attempt(db, key(limit, who), since, limit.attempts)
    return 0.0 if oldest_that_counts is None else max(0.0, oldest_that_counts + limit.window_s - now)


def slow_down_s(db: Database, slow: SlowDown, who: str, now: float | None = None) -> float:
    """Seconds ``who`` must still wait under ``slow`` (0: now)."""
    now = kalender.seconds() if now is None else now
    n, latest = akun.attempts_since(db, f"{slow.name}:{who}", now - slow.window_s)
    if n < slow.free or latest is None:
        return 0.0
    delay = min(float(slow.cap_s), 2.0 ** min(n - slow.free + 1, 30))
    return max(0.0, latest + delay - now)


def record_failure(db: Database, limit: Limit | SlowDown, who: str, now: float | None = None) -> None:
    akun.record_attempt(db, f"{limit.name}:{who}", kalender.seconds() if now is None else now)


def reset(db: Database, limit: Limit | SlowDown, who: str) -> None:
    akun.clear_attempts(db, f"{limit.name}:{who}")


def wait_message(seconds: float) -> str:
    """'30 detik', '4 menit', '1 jam 5 menit': how long, in words a citizen reads at a glance."""
    if seconds <= 60:
        return f"{max(1, math.ceil(seconds))} detik"
    minutes = math.ceil(seconds / 60)
    if minutes < 60:
        return f"{minutes} menit"
    hours, rest = divmod(minutes, 60)
    return f"{hours} jam" + (f" {rest} menit" if rest else "")


def allow_other_nik(db: Database, akun_id: int, client: str, nik: str, now: float | None = None) -> bool:
    """May this account (from this client) look up another person's NIK in the registry now?

    The same NIK again within the day is free (a review page re-checks the form on every visit);
    each new one counts per account and per client, so a form is no open door into the registry.
    """
    now = kalender.seconds() if now is None else now
    seen = f"{akun_id}:{digest(nik)}"
    if other_nik_counted(db, akun_id, nik, now):
        return True
    if not other_nik_room(db, akun_id, client, now):
        return False
    with write(db):
        akun.record_attempt(db, f"nik-lain:dicek:{seen}", now)
        record_failure(db, OTHER_NIK_PER_ACCOUNT, str(akun_id), now)
        record_failure(db, OTHER_NIK_PER_CLIENT, client, now)
    return True


def other_nik_counted(db: Database, akun_id: int, nik: str, now: float | None = None) -> bool:
    """Whether this account's look-up of ``nik`` was counted within the day (read only: it may be asked again)."""
    now = kalender.seconds() if now is None else now
    since = now - OTHER_NIK_PER_ACCOUNT.window_s
    return bool(akun.count_attempts(db, f"nik-lain:dicek:{akun_id}:{digest(nik)}", since))


def other_nik_room(db: Database, akun_id: int, client: str, now: float | None = None) -> bool:
    """Whether one more NIK may be counted for this account and client now (read only)."""
    now = kalender.seconds() if now is None else now
    return not (wait_s(db, OTHER_NIK_PER_ACCOUNT, str(akun_id), now) or wait_s(db, OTHER_NIK_PER_CLIENT, client, now))
