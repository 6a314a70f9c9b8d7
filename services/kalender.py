"""Working days (hari kerja) of a region: weekends, national holidays, cuti bersama and
the region's own holidays excluded; "today" in the region's own time zone.

SLA deadlines of applications (UU 25/2009 standar pelayanan), the legal 5 working
days of a health-worker permit and the complaint deadlines all count this way.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import time

from sqlite_utils import Database

from db import kalender, wilayah

ZONES = {"WIB": 7, "WITA": 8, "WIT": 9}


def utc_now() -> dt.datetime:
    """The one clock of the calendar: every "now" and "today" of a rule comes from here.

    ``MPP_NOW`` (ISO, with zone) pins it for browser tests and demos of a working day. It is the one
    setting read outside ``Settings``, and read at each call, so a test can move the day forward.
    Durations (code expiry, rate limits, the outbox's schedule) use ``seconds()``, never pinned: a
    pinned calendar must not freeze a code's expiry or a lock-out."""
    pinned = os.environ.get("MPP_NOW")
    return dt.datetime.fromisoformat(pinned) if pinned else dt.datetime.now(dt.UTC)


def stamp(now: dt.datetime | None = None) -> str:
    """``utc_now()`` as the database stores instants: ``2026-12-02T05:30:00Z``."""
    return (now or utc_now()).astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def today() -> dt.date:
    """Today's date in UTC by the one clock (a region's own day: ``region_today``)."""
    return utc_now().date()


def seconds() -> float:
    """Seconds since the epoch for durations: the real clock, even when the calendar is pinned."""
    return time.time()


def local_now(zona: str, now: dt.datetime | None = None) -> dt.datetime:
    now = now or utc_now()
    return now.astimezone(dt.timezone(dt.timedelta(hours=ZONES[zona]), zona))


def region_today(db: Database, wilayah_kode: str, now: dt.datetime | None = None) -> dt.date:
    region = wilayah.get_kabkota(db, wilayah_kode)
    return local_now(region["zona_waktu"] if region else "WIB", now).date()


def add_working_days(db: Database, wilayah_kode: str, start: dt.date, days: int) -> dt.date:
    """The date ``days`` working days after ``start`` (the day of submission itself is not counted)."""
    holidays = kalender.holidays_between(db, wilayah_kode, start.isoformat(),
                                         (start + dt.timedelta(days=days * 3 + 30)).isoformat())
    current, left = start, days
    while left > 0:
        current += dt.timedelta(days=1)
        if current.weekday() < 5 and current.isoformat() not in holidays:
            left -= 1
    return current


def working_days_between(db: Database, wilayah_kode: str, start: dt.date, end: dt.date) -> int:
    """Working days after ``start`` up to and including ``end`` (0 when end <= start)."""
    if end <= start:
        return 0
    holidays = kalender.holidays_between(db, wilayah_kode, start.isoformat(), end.isoformat())
    days, current = 0, start
    while current < end:
        current += dt.timedelta(days=1)
        if current.weekday() < 5 and current.isoformat() not in holidays:
            days += 1
    return days


def working_days_until(db: Database, wilayah_kode: str, start: dt.date, ends: list[dt.date | None]) -> list[int | None]:
    """:func:`working_days_between` from ``start`` to each of ``ends`` (None stays None), with one holiday query
    for them all (a page of 50 cases asks once, not 50 times)."""
    last = max((end for end in ends if end is not None), default=start)
    if last <= start:
        return [None if end is None else 0 for end in ends]
    holidays = kalender.holidays_between(db, wilayah_kode, start.isoformat(), last.isoformat())
    counted, days, current = {}, 0, start
    while current < last:
        current += dt.timedelta(days=1)
        if current.weekday() < 5 and current.isoformat() not in holidays:
            days += 1
        counted[current] = days
    return [None if end is None else counted.get(end, 0) for end in ends]


MONTHS = ("Januari", "Februari", "Maret", "April", "Mei", "Juni", "Juli", "Agustus", "September", "Oktober",
          "November", "Desember")


_PROVINCE_ZONES: dict[str, str] = {}


_DATE_FORMS = (r"^(\d{4})-(\d{1,2})-(\d{1,2})$", r"^(\d{1,2})[/.-](\d{1,2})[/.-](\d{4})$")


def parse_date(value: str) -> dt.date | None:
    """A date as citizens type it: 2024-12-31, 31-12-2024, 31/12/2024 or 31.12.2024; None otherwise."""
    for pattern in _DATE_FORMS:
        m = re.match(pattern, value.strip(), re.ASCII)
        if m:
            a, b, c = (int(x) for x in m.groups())
            try:
                return dt.date(a, b, c) if pattern.startswith(r"^(\d{4})") else dt.date(c, b, a)
            except ValueError:
                return None
    return None


def format_date(day: dt.date) -> str:
    """A date as Indonesians write it on letters and documents: "28 November 2026"."""
    return f"{day.day} {MONTHS[day.month - 1]} {day.year}"


def load_zones(db: Database) -> None:
    """Remember each province's time zone, so pages can show times in the reader's region without a query."""
    _PROVINCE_ZONES.update(wilayah.province_zones(db))


def format_local(stamp: str | None, where: str | None = "WIB") -> str:
    """A stored UTC stamp as a person reads it: "2 Desember 2026, 14.05 WITA"; '' when empty or unreadable.

    ``where`` is a zone (WIB/WITA/WIT) or a region code (its province's zone).
    """
    zona = where if where in ZONES else _PROVINCE_ZONES.get((where or "")[:2], "WIB")
    if not stamp:
        return ""
    try:
        when = dt.datetime.fromisoformat(stamp.replace("Z", "+00:00"))
    except ValueError:
        return ""
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    local = local_now(zona, when)
    return f"{format_date(local)}, {local:%H.%M} {local.tzname()}"
