"""The MPP hall queue: online bookings by slot, walk-in tickets, the officer's calls, the hall display.

Each counter's slot has two separate quotas — online (daring) and walk-in
(langsung) — so walk-ins never eat the places people booked from home, and
online bookings never take the walk-in places. A booking takes its place inside
``BEGIN IMMEDIATE`` (db/antrean.take_place), so two citizens can never both get
the last place; cancelling frees it. A citizen holds one active ticket per counter
and day: checked under the same lock, and said by a unique index as well, so
several bookings fired at once still give one ticket.
"""

from __future__ import annotations

import datetime as dt
import json

from sqlite_utils import Database

import services
from db import antrean as q
from db import audit, penyiapan, wilayah
from db.connection import write
from services import angka, kalender, skm

BOOK_DAYS_AHEAD = 14


STATUS = {"menunggu": "Menunggu", "dipanggil": "Dipanggil", "dilayani": "Sudah dilayani",
          "tidak_hadir": "Tidak hadir", "batal": "Dibatalkan"}
ACTIVE = ("menunggu", "dipanggil")


class QueueRefused(ValueError):
    def __init__(self, message: str, tiket_id: int | None = None):
        super().__init__(message)
        self.message = message
        self.tiket_id = tiket_id  # the ticket the citizen already holds, when that is the reason


NotFound = services.NotFound  # 404 (app.py)


def status_name(status: str) -> str:
    """A ticket's status in words (the one mapping: :data:`STATUS`)."""
    return STATUS.get(status, status)


def tickets_of(db: Database, akun: dict) -> list[dict]:
    """The citizen's tickets for the account page: active ones first, each with its status in words."""
    return [{**t, "status_nama": status_name(t["status"]), "aktif": t["status"] in ACTIVE}
            for t in q.for_citizen(db, akun["id"])]


def hall(db: Database, kode: str, booking: bool = False) -> dict:
    """The MPP of a region code from a path (``NotFound`` when the code is not one, or the region has none;
    for ``booking`` online also when its manager has not opened MPP Digital to citizens yet)."""
    mpp = wilayah.get_mpp(db, kode) if angka.is_digits(kode, 4) else None
    if mpp is None or (booking and not penyiapan.is_live(db, mpp["wilayah_kode"])):
        raise NotFound(kode)
    return mpp


def booking_page(db: Database, kode: str, gerai: str | None, tanggal: str | None,
                 chosen: dict | None = None) -> dict:
    """The booking form: the region's counters, open days and the chosen counter's slots on the chosen day.

    ``gerai`` and ``tanggal`` come from the query (first counter, first open day by default; a bad one is
    ``NotFound``); ``chosen`` (a refused booking's counter and date) wins where it is still valid."""
    mpp = hall(db, kode, booking=True)
    counters = q.counters(db, mpp["wilayah_kode"])
    days = open_days(db, mpp["wilayah_kode"])
    ids = {g["id"] for g in counters}
    gerai_id, day = _chosen(chosen or {}, ids, days)
    if gerai_id is None:
        try:
            gerai_id = angka.to_id(gerai or str(counters[0]["id"]))
            day = dt.date.fromisoformat(tanggal or days[0].isoformat())
        except (ValueError, IndexError):
            raise NotFound(kode) from None
        if gerai_id not in ids:
            raise NotFound(kode)
    return {"mpp": mpp, "gerai": counters, "hari": days, "pilih_gerai": gerai_id, "pilih_tanggal": day,
            "slot": slots(db, gerai_id, day)}


def _chosen(chosen: dict, ids: set[int], days: list[dt.date]) -> tuple[int | None, dt.date | None]:
    """A refused POST's counter and date, when both are still offered; else (None, None)."""
    gerai_id = angka.to_id(chosen.get("gerai"))
    day = kalender.parse_date(chosen.get("tanggal") or "")
    return (gerai_id, day) if gerai_id in ids and day in days else (None, None)


def slot_times(g: dict) -> list[str]:
    start = dt.datetime.strptime(g["jam_buka"], "%H:%M")
    end = dt.datetime.strptime(g["jam_tutup"], "%H:%M")
    times = []
    while start < end:
        times.append(start.strftime("%H:%M"))
        start += dt.timedelta(minutes=g["menit_per_slot"])
    return times


def open_days(db: Database, wilayah_kode: str, now: dt.datetime | None = None, count: int = 7) -> list[dt.date]:
    """The next working days (today included) a citizen can book."""
    today = kalender.region_today(db, wilayah_kode, now)
    days, current = [], today
    while len(days) < count and current <= today + dt.timedelta(days=BOOK_DAYS_AHEAD):
        if kalender.working_days_between(db, wilayah_kode, current - dt.timedelta(days=1), current) == 1:
            days.append(current)
        current += dt.timedelta(days=1)
    return days


def slots(db: Database, gerai_id: int, tanggal: dt.date, now: dt.datetime | None = None) -> list[dict]:
    """Each slot of a counter on a day with the places left, online and walk-in apart."""
    g = q.counter(db, gerai_id)
    taken = q.booked(db, gerai_id, tanggal.isoformat())
    local = kalender.local_now(kalender_zone(db, g["wilayah_kode"]), now)
    out = []
    for t in slot_times(g):
        past = tanggal < local.date() or (tanggal == local.date() and t <= local.strftime("%H:%M"))
        out.append({"jam": t, "lalu": past,
                    "sisa_daring": max(0, g["kuota_daring"] - taken.get((t, "daring"), 0)),
                    "sisa_langsung": max(0, g["kuota_langsung"] - taken.get((t, "langsung"), 0))})
    return out


def kalender_zone(db: Database, wilayah_kode: str) -> str:
    region = wilayah.get_kabkota(db, wilayah_kode)
    return region["zona_waktu"] if region else "WIB"


def book_at(db: Database, kode: str, akun: dict, gerai_id: int, tanggal: str, jam: str) -> dict:
    """The booking form's POST: ``NotFound`` when the path names no MPP, else :func:`book`."""
    hall(db, kode, booking=True)
    return book(db, akun, gerai_id, tanggal, jam)


def book(db: Database, akun: dict, gerai_id: int, tanggal: str, jam: str, layanan_id: int | None = None,
         now: dt.datetime | None = None) -> dict:
    """An online booking; raises QueueRefused with the reason a citizen reads."""
    g = q.counter(db, gerai_id)
    if g is None or not penyiapan.is_live(db, g["wilayah_kode"]):
        raise QueueRefused("Gerai tidak ditemukan.")  # or its region is not open to citizens online yet
    try:
        day = dt.date.fromisoformat(tanggal)
    except ValueError:
        raise QueueRefused("Pilih tanggal kunjungan.") from None
    if day not in open_days(db, g["wilayah_kode"], now, count=BOOK_DAYS_AHEAD):
        raise QueueRefused("Tanggal itu bukan hari layanan atau di luar 14 hari ke depan.")
    slot = next((s for s in slots(db, gerai_id, day, now) if s["jam"] == jam), None)
    if slot is None or slot["lalu"]:
        raise QueueRefused("Pilih jam kunjungan yang masih tersedia.")
    ticket = held = None
    try:
        with write(db):  # the one-ticket check and the insert under one lock: bookings fired at once give one
            held = q.active_booking(db, akun["id"], gerai_id, tanggal)
            if held is None:
                ticket = q.take_place(db, g, tanggal, jam, "daring", akun["id"], layanan_id)
    except q.AlreadyHeld:  # the unique index caught what a check let through
        held = q.active_booking(db, akun["id"], gerai_id, tanggal)
    if held is not None:
        if held["jam"] == jam:
            return q.get(db, held["id"])  # the same booking sent twice: the ticket it made
        raise QueueRefused(f"Anda sudah memiliki tiket {held['kode']} pukul {held['jam']} di gerai ini pada "
                           "tanggal tersebut. Batalkan tiket itu dulu bila ingin memilih jam lain.", held["id"])
    if ticket is None:
        raise QueueRefused("Maaf, kuota daring jam itu baru saja habis. Pilih jam lain.")
    return ticket


def walk_in(db: Database, officer: dict, gerai_id: int, now: dt.datetime | None = None) -> dict:
    """A ticket for someone at the hall: the current or next slot with walk-in places."""
    g = _own_counter(db, officer, gerai_id)
    today = kalender.region_today(db, g["wilayah_kode"], now)
    for s in slots(db, gerai_id, today, now):
        if s["sisa_langsung"] and not _ended(s["jam"], g, db, now):
            ticket = q.take_place(db, g, today.isoformat(), s["jam"], "langsung", None, None)
            if ticket:
                audit.append(db, officer["id"], "tiket_langsung", f"tiket:{ticket['id']}", {}, waktu=kalender.stamp())
                return ticket
    raise QueueRefused("Kuota antrean langsung hari ini sudah habis.")


def _ended(jam: str, g: dict, db: Database, now) -> bool:
    local = kalender.local_now(kalender_zone(db, g["wilayah_kode"]), now)
    end = (dt.datetime.strptime(jam, "%H:%M") + dt.timedelta(minutes=g["menit_per_slot"])).strftime("%H:%M")
    return end <= local.strftime("%H:%M")


def own_ticket(db: Database, akun: dict, tiket_id: int) -> dict:
    """The citizen's own ticket; ``NotFound`` for anyone else's (or none)."""
    t = q.get(db, tiket_id)
    if t is None or t["akun_id"] != akun["id"]:
        raise NotFound(tiket_id)
    return t


def ticket_page(db: Database, akun: dict, tiket_id: int) -> dict:
    """The holder's ticket page: the ticket in words and whether its survey (SKM) was filled."""
    t = ticket_view(own_ticket(db, akun, tiket_id), db)
    return {"t": t, "skm_selesai": skm.done(db, f"tiket:{t['id']}")}


def withdraw(db: Database, akun: dict, tiket_id: int) -> str | None:
    """The citizen's "Batalkan": ``NotFound`` when not theirs; the reason it still stands, or None when cancelled."""
    own_ticket(db, akun, tiket_id)
    try:
        cancel(db, akun, tiket_id)
    except QueueRefused as e:  # e.g. called a moment ago
        return e.message
    return None


def cancel(db: Database, akun: dict, tiket_id: int) -> None:
    with write(db):  # read under the lock: a ticket called a moment ago is no longer the citizen's to cancel
        t = q.get(db, tiket_id)
        if t is None or t["akun_id"] != akun["id"]:
            raise QueueRefused("Tiket tidak ditemukan.")
        if t["status"] != "menunggu":
            raise QueueRefused("Tiket ini tidak dapat dibatalkan lagi: sudah dipanggil, dilayani, atau dibatalkan.")
        q.set_status(db, tiket_id, "batal")


def _own_counter(db: Database, officer: dict, gerai_id: int) -> dict:
    g = q.counter(db, gerai_id)
    if g is None or g["instansi_id"] != officer["instansi_id"]:
        raise QueueRefused("Gerai tidak ditemukan.")
    return g


def officer_counters(db: Database, officer: dict) -> list[dict]:
    return [g for g in q.counters(db, officer["wilayah_kode"]) if g["instansi_id"] == officer["instansi_id"]]


def officer_page(db: Database, officer: dict) -> dict:
    """The officer's queue screen: today's waiting and called tickets of their counters, every counter of the
    region (to transfer a ticket to)."""
    today = kalender.region_today(db, officer["wilayah_kode"]).isoformat()
    return {"gerai": [{**g, "antre": q.waiting(db, g["id"], today)} for g in officer_counters(db, officer)],
            "semua_gerai": q.counters(db, officer["wilayah_kode"])}


def desk(db: Database, officer: dict, action: str, gerai_id: int, tiket_id: int, to_gerai: int | None) -> str | None:
    """One press at the officer's desk: call the next, issue a walk-in ticket, or act on a ticket.
    Returns the note to show (the walk-in ticket's code), if any; raises QueueRefused with the reason."""
    if action == "panggil":
        call_next(db, officer, gerai_id)
    elif action == "langsung":
        t = walk_in(db, officer, gerai_id)
        return f"Tiket langsung {t['kode']} ({t['jam']})."
    else:
        act(db, officer, tiket_id, action, to_gerai)
    return None


def display(db: Database, kode: str, now: dt.datetime | None = None) -> dict:
    """The hall screen of a region's MPP: today's called tickets, the clock, and a version that changes when
    the screen would (a call, a ticket served, or the minute moving on)."""
    mpp = hall(db, kode)
    local = kalender.local_now(kalender_zone(db, mpp["wilayah_kode"]), now)
    today = local.date().isoformat()
    return {"mpp": mpp, "dipanggil": q.called(db, mpp["wilayah_kode"], today),
            "versi": f"{q.display_version(db, mpp['wilayah_kode'], today)}.{local:%H%M}",
            "jam": f"{local:%H.%M} {local.tzname()}"}


def call_next(db: Database, officer: dict, gerai_id: int, now: dt.datetime | None = None) -> dict | None:
    g = _own_counter(db, officer, gerai_id)
    today = kalender.region_today(db, g["wilayah_kode"], now).isoformat()
    with write(db):  # two desks of one counter pressing at once call two people, never one twice
        ticket = q.next_waiting(db, gerai_id, today)
        if ticket:
            q.set_status(db, ticket["id"], "dipanggil", dipanggil=_stamp(now), loket=g["nomor"])
            audit.append(db, officer["id"], "panggil", f"tiket:{ticket['id']}", {}, waktu=kalender.stamp())
    return ticket


def act(db: Database, officer: dict, tiket_id: int, action: str, to_gerai: int | None = None,
        now: dt.datetime | None = None) -> None:
    """recall / served / no-show / transfer on a ticket of the officer's own counters."""
    with write(db):  # the status read under the lock it is changed in: two desks never both act on one ticket
        t = q.get(db, tiket_id)
        if t is None:
            raise QueueRefused("Tiket tidak ditemukan.")
        _own_counter(db, officer, t["gerai_id"])
        if action == "ulang" and t["status"] == "dipanggil":
            q.set_status(db, tiket_id, "dipanggil", dipanggil=_stamp(now))
        elif action == "dilayani" and t["status"] == "dipanggil":
            q.set_status(db, tiket_id, "dilayani", selesai=_stamp(now))
        elif action == "tidak_hadir" and t["status"] in ACTIVE:
            q.set_status(db, tiket_id, "tidak_hadir", selesai=_stamp(now))
        elif action == "alihkan" and to_gerai and t["status"] in ACTIVE:
            target = q.counter(db, to_gerai)
            if target is None or target["wilayah_kode"] != t["wilayah_kode"]:
                raise QueueRefused("Gerai tujuan tidak ditemukan.")
            held = q.active_booking(db, t["akun_id"], to_gerai, t["tanggal"]) if t["akun_id"] else None
            if held and held["id"] != tiket_id:  # one active ticket per citizen, counter and day
                raise QueueRefused(f"Pemilik tiket ini sudah memiliki tiket {held['kode']} di gerai tujuan hari "
                                   "itu. Layani dia dengan tiket tersebut.")
            q.set_status(db, tiket_id, "menunggu", gerai_id=to_gerai, loket=target["nomor"])
        else:
            raise QueueRefused("Tindakan ini tidak berlaku untuk tiket tersebut.")
        audit.append(db, officer["id"], action, f"tiket:{tiket_id}", {"ke_gerai": to_gerai} if to_gerai else {},
                     waktu=kalender.stamp())


def _stamp(now: dt.datetime | None) -> str:
    return (now or kalender.utc_now()).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def ticket_view(t: dict, db: Database | None = None) -> dict:
    """A ticket as its holder reads it: status in words, the requirements to bring, the region's time zone."""
    t = dict(t)
    t["status_nama"] = status_name(t["status"])
    t["zona_waktu"] = kalender_zone(db, t["wilayah_kode"]) if db is not None else ""
    t["persyaratan"] = json.loads(t["persyaratan"]) if t.get("persyaratan") else []
    extra = t.get("persyaratan_tambahan")  # the region's own
    t["persyaratan"] += json.loads(extra) if extra else []
    return t
