"""Complaints the way SP4N-LAPOR runs them, in working days of the region.

Filed → forwarded to the agency within 3 working days → followed up (answered)
within 5 working days of forwarding → closed by the citizen, or automatically
10 working days after the answer without a reply. Anyone may complain without
an account (rate-limited per IP, size-capped); the tracking page needs the
number and a secret tracking code.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets

from sqlite_utils import Database

import services
from db import admin_wilayah as agencies_q
from db import audit
from db import katalog as katalog_q
from db import pengaduan as q
from db import permohonan as permohonan_q
from db import wilayah as wilayah_q
from db.connection import write
from db.spool import Spool
from services import angka, jejak, kalender, ratelimit
from services.passwords import same_secret

MAX_CHARS = 2000
ANONYMOUS = ratelimit.Limit("pengaduan:ip", 5, 3600)
TRACK_PER_CLIENT = ratelimit.Limit("lacak-pengaduan:klien", 20, 3600)
STATUS = {"diterima": "Diterima", "diteruskan": "Diteruskan ke instansi", "ditindaklanjuti": "Ditindaklanjuti",
          "selesai": "Selesai", "ditutup_otomatis": "Ditutup otomatis (10 hari kerja tanpa tanggapan)"}


def regions(db: Database) -> list[dict]:
    """Where a complaint can be filed: every kab/kota with an MPP, not only the MPP Digital pilots.

    In a pilot region the complaint is forwarded by the region's MPP manager (admin_wilayah) to the
    agency; in any other region it goes to that region's MPP manager as well (no agency is chosen,
    since those regions have no catalogue rows). Until a region has a manager account, its
    complaints are listed to the ministry in monitoring (:func:`unattended`, /pemantauan/pengaduan)."""
    return wilayah_q.mpp_regions(db)


def unattended(db: Database, now: dt.datetime | None = None) -> list[dict]:
    """Open complaints of regions with no MPP manager account yet, each marked when past its deadline."""
    rows = q.unattended(db)
    for r in rows:
        r["terlambat"] = overdue({**r, "batas_tindak": None}, _today(db, r["wilayah_kode"], now))
    return rows


def normalise_number(nomor: str) -> str:
    """A number as a person types it from a note or a receipt (a complaint's, or an application's filed at the
    counter, services/bantuan.py): spaces dropped (its dashes stay), letters upper-case."""
    return "".join((nomor or "").split()).upper()[:40]


def normalise_code(kode: str) -> str:
    """A tracking code as typed: spaces dropped, lower-case (codes are hex, ``secrets.token_hex``)."""
    return "".join((kode or "").split()).lower()[:40]


class ComplaintRefused(ValueError):
    def __init__(self, errors: dict[str, str]):
        super().__init__(errors)
        self.errors = errors


NotFound = services.NotFound  # 404 (app.py)


def form_page(db: Database, values: dict, errors: dict) -> dict:
    """The complaint form (/pengaduan): what was typed, what was wrong, the regions and services to choose."""
    return {"v": values, "errors": errors, "daerah": regions(db), "layanan": katalog_q.list_services(db)}


def new_form(db: Database, akun: dict | None, permohonan_id: str) -> dict:
    """A fresh complaint form; from an application's page (``permohonan_id``) it names the citizen's own
    application, its region and its service."""
    values = {"isi": prefill(db, akun, permohonan_id), "permohonan": permohonan_id,
              "wilayah": (akun or {}).get("wilayah_kode") or "", "layanan": "", "kontak": ""}
    if p := _own_application(db, akun, permohonan_id):
        values.update(wilayah=p["wilayah_kode"], layanan=str(p["layanan_id"]))
    return form_page(db, values, {})


def _own_application(db: Database, akun: dict | None, permohonan_id) -> dict | None:
    """The signed-in citizen's application with this id (as typed in a form or a link); None otherwise."""
    chosen = angka.to_id(permohonan_id)
    p = permohonan_q.get(db, chosen) if akun and chosen is not None else None
    return p if p and p["akun_id"] == akun["id"] else None


def _today(db: Database, wilayah_kode: str, now: dt.datetime | None) -> dt.date:
    return kalender.region_today(db, wilayah_kode, now)


def deadlines(db: Database, wilayah_kode: str, start: dt.date) -> dict[str, str]:
    return {"batas_teruskan": kalender.add_working_days(db, wilayah_kode, start, 3).isoformat()}


def prefill(db: Database, akun: dict | None, permohonan_id: str) -> str:
    """Text linking a complaint to the citizen's application, with any SLA breach."""
    p = _own_application(db, akun, permohonan_id)
    if p is None or not p["nomor"]:
        return ""
    text = f"Permohonan {p['layanan_nama']} nomor {p['nomor']}."
    today = kalender.region_today(db, p["wilayah_kode"])
    if p["tenggat"] and p["tenggat"] < today.isoformat() and p["status"] not in ("selesai", "ditolak"):
        late = kalender.working_days_between(db, p["wilayah_kode"], dt.date.fromisoformat(p["tenggat"]), today)
        text += (f" Melewati batas waktu {kalender.format_date(dt.date.fromisoformat(p['tenggat']))} "
                 f"({late} hari kerja).")
    return text


def file(db: Database, form: dict, akun: dict | None, ip: str, now: dt.datetime | None = None) -> dict:
    isi = (form.get("isi") or "").strip()
    wilayah_kode = (form.get("wilayah") or "").strip()
    errors = {}
    if len(isi) < 10:
        errors["isi"] = "Tuliskan pengaduan Anda (minimal 10 karakter)."
    elif len(isi) > MAX_CHARS:
        errors["isi"] = f"Pengaduan terlalu panjang (maks. {MAX_CHARS} karakter)."
    if not wilayah_q.has_mpp(db, wilayah_kode):
        errors["wilayah"] = "Pilih daerah tempat layanan diberikan (kabupaten/kota yang sudah memiliki MPP)."
    if akun is None and ratelimit.blocked(db, ANONYMOUS, ip):
        errors["isi"] = "Terlalu banyak pengaduan dari jaringan ini. Coba lagi 1 jam lagi, atau masuk ke akun Anda."
    if errors:
        raise ComplaintRefused(errors)
    layanan_id = angka.to_id(form.get("layanan")) or None
    if layanan_id is not None and not katalog_q.service_exists(db, layanan_id):
        layanan_id = None  # a tampered choice is dropped, the complaint itself is kept
    instansi_id = katalog_q.regional_agency(db, layanan_id, wilayah_kode) if layanan_id else None
    linked = _own_application(db, akun, form.get("permohonan"))
    if akun is None:
        ratelimit.record_failure(db, ANONYMOUS, ip)  # counts every anonymous complaint
    row = q.create(db, kode_lacak=secrets.token_hex(4), wilayah_kode=wilayah_kode, instansi_id=instansi_id,
                   layanan_id=layanan_id, permohonan_id=linked["id"] if linked else None,
                   akun_id=akun["id"] if akun else None, kontak=(form.get("kontak") or "").strip()[:100], isi=isi,
                   **deadlines(db, wilayah_kode, _today(db, wilayah_kode, now)))
    return row


RESENT_MINUTES = 60  # the same complaint sent again from the same browser within this time is the same one


def _fingerprint(form: dict) -> str:
    """What makes a complaint the same one: its text (spacing aside) and its region."""
    text = " ".join(str(form.get("isi") or "").split())
    return hashlib.sha256(f"{form.get('wilayah') or ''}\0{text}".encode()).hexdigest()


def filed_note(row: dict, form: dict, now: dt.datetime | None = None) -> dict:
    """What the browser's session keeps of a complaint just filed, to recognise it when sent again
    (back, then "Kirim" once more: the page came back fresh, with a new one-time key)."""
    return {"sidik": _fingerprint(form), "nomor": row["nomor"], "kode": row["kode_lacak"],
            "waktu": (now or kalender.utc_now()).isoformat()}


def already_filed(note: dict | None, form: dict, now: dt.datetime | None = None) -> dict | None:
    """The note of the complaint this form repeats, if this browser filed the same one a moment ago."""
    if not isinstance(note, dict) or note.get("sidik") != _fingerprint(form):
        return None
    try:
        age = (now or kalender.utc_now()) - dt.datetime.fromisoformat(str(note.get("waktu")))
    except (ValueError, TypeError):  # not a time, or one without its zone: not ours
        return None
    return note if age <= dt.timedelta(minutes=RESENT_MINUTES) else None


class TrackingPaused(Exception):
    """Too many wrong number/code pairs from this address (or account): it waits ``wait_s`` before trying again."""

    def __init__(self, wait_s: float = 0.0):
        super().__init__(wait_s)
        self.wait_s = wait_s


def limited_lookup(db: Database, find, *limits: tuple[ratelimit.Limit, str], spool: Spool | None = None):
    """``find()``: a record found by its number and secret code, or None. Wrong pairs count against each
    ``(limit, who)``, ``who`` being something the asker owns (their address, their account), never the record:
    past any limit this raises TrackingPaused before ``find`` runs, so codes cannot be guessed at speed, and the
    holder of the right code elsewhere is never slowed by anyone else's guesses. Complaints and applications
    filed at the counter (services/bantuan.py) are looked up this way. With ``spool`` (a GET: it writes nothing
    to SQLite) a wrong pair is recorded in the spool instead, and the spool's waiting attempts count too."""
    def waiting(kunci: str, since: float) -> list[float]:
        return jejak.attempt_times(spool, kunci, since)
    wait = max(ratelimit.wait_s(db, limit, who, waiting=waiting if spool else None) for limit, who in limits)
    if wait:
        raise TrackingPaused(wait)
    found = find()
    if found is None and spool is not None:
        for limit, who in limits:
            jejak.record_attempt(spool, ratelimit.key(limit, who))
    elif found is None:
        with write(db):
            for limit, who in limits:
                ratelimit.record_failure(db, limit, who)
    return found


def track(db: Database, nomor: str, kode: str, client: str, spool: Spool | None = None) -> dict | None:
    """The complaint with this number, if the code is its tracking code; wrong guesses count per address
    (:data:`TRACK_PER_CLIENT`): the code is the only key to a complaint's text. The tracking page (a GET) passes
    its ``spool``: a wrong guess there is counted without writing to SQLite."""
    def find():
        row = q.by_number(db, nomor)
        return row if row is not None and same_secret(kode or "", row["kode_lacak"]) else None
    return limited_lookup(db, find, (TRACK_PER_CLIENT, client), spool=spool)


def handling_page(db: Database, who: dict) -> dict:
    """Region admins see all complaints of the region (and forward them); officers their agency's.
    Each is marked when past its deadline; the region's agencies are the choices to forward to."""
    rows = q.for_region(db, who["wilayah_kode"], who["instansi_id"] if who["peran"] == "petugas" else None)
    today = kalender.region_today(db, who["wilayah_kode"])
    for r in rows:
        r["terlambat"] = overdue(r, today)
    return {"daftar": rows, "status": STATUS, "instansi": agencies_q.agencies(db, who["wilayah_kode"])}


def _handled(db: Database, who: dict, pengaduan_id: int) -> dict:
    """A complaint of the admin's region, or of the officer's agency; ``NotFound`` otherwise."""
    row = q.get(db, pengaduan_id)
    if row is None or row["wilayah_kode"] != who["wilayah_kode"] or \
            (who["peran"] == "petugas" and row["instansi_id"] != who["instansi_id"]):
        raise NotFound(pengaduan_id)
    return row


def detail_page(db: Database, who: dict, pengaduan_id: int) -> dict:
    return {"a": _handled(db, who, pengaduan_id), "status": STATUS,
            "instansi": agencies_q.agencies(db, who["wilayah_kode"])}


def handle(db: Database, who: dict, pengaduan_id: int, instansi_id: int, jawaban: str) -> None:
    """The handling form's POST: a region admin forwards the complaint to an agency, an officer answers it.
    ``NotFound`` when it is not theirs to handle; ``ComplaintRefused`` with the reason."""
    _handled(db, who, pengaduan_id)
    if who["peran"] == "admin_wilayah":
        forward(db, who, pengaduan_id, instansi_id)
    else:
        answer(db, who, pengaduan_id, jawaban)


def forward(db: Database, admin: dict, pengaduan_id: int, instansi_id: int, now: dt.datetime | None = None) -> None:
    """Each step reads the complaint under the write lock it changes it in: two admins (or an admin and an
    officer answering) acting at once cannot both pass the status check and overwrite each other."""
    with write(db):  # check, update and audit: one transaction
        row = q.get(db, pengaduan_id)
        if row is None or row["wilayah_kode"] != admin["wilayah_kode"] or row["status"] != "diterima":
            raise ComplaintRefused({"_": "Pengaduan tidak dapat diteruskan."})
        if agencies_q.agency(db, admin["wilayah_kode"], instansi_id) is None:
            raise ComplaintRefused({"_": "Pilih instansi tujuan."})
        due = kalender.add_working_days(db, row["wilayah_kode"], _today(db, row["wilayah_kode"], now), 5)
        q.update(db, pengaduan_id, status="diteruskan", instansi_id=instansi_id, batas_tindak=due.isoformat())
        audit.append(db, admin["id"], "teruskan_pengaduan", f"pengaduan:{pengaduan_id}", {"instansi": instansi_id},
                     waktu=kalender.stamp())


def answer(db: Database, officer: dict, pengaduan_id: int, jawaban: str, now: dt.datetime | None = None) -> None:
    with write(db):  # check, update and audit: one transaction
        row = q.get(db, pengaduan_id)
        if row is None or row["instansi_id"] != officer["instansi_id"] or \
                row["status"] not in ("diteruskan", "diterima"):
            raise ComplaintRefused({"_": "Pengaduan tidak dapat dijawab."})
        if len(jawaban.strip()) < 10:
            raise ComplaintRefused({"jawaban": "Tuliskan tindak lanjut (minimal 10 karakter)."})
        due = kalender.add_working_days(db, row["wilayah_kode"], _today(db, row["wilayah_kode"], now), 10)
        q.update(db, pengaduan_id, status="ditindaklanjuti", jawaban=jawaban.strip()[:MAX_CHARS],
                 batas_tutup=due.isoformat())
        audit.append(db, officer["id"], "jawab_pengaduan", f"pengaduan:{pengaduan_id}", {}, waktu=kalender.stamp())


def confirm_tracked(db: Database, nomor: str, kode: str, client: str) -> dict | None:
    """The citizen's "Selesai" on the tracking page (:func:`track` first); None when the code is wrong."""
    row = track(db, nomor, kode, client)
    if row is not None:
        confirm(db, row)
    return row


def confirm(db: Database, row: dict) -> None:
    with write(db):
        if q.get(db, row["id"])["status"] == "ditindaklanjuti":
            q.update(db, row["id"], status="selesai")


def close_unanswered(db: Database, now: dt.datetime | None = None) -> list[int]:
    """Close answered complaints the citizen left 10 working days without reply."""
    closed = []
    for pid in q.answered_past(db, kalender.local_now("WIT", now).date().isoformat()):
        with write(db):  # re-read under the lock: the citizen may confirm it at this moment
            row = q.get(db, pid)
            today = _today(db, row["wilayah_kode"], now).isoformat()
            if row["status"] == "ditindaklanjuti" and row["batas_tutup"] < today:
                q.update(db, pid, status="ditutup_otomatis")
                closed.append(pid)
    return closed


def overdue(row: dict, today: dt.date) -> bool:
    t = today.isoformat()
    return (row["status"] == "diterima" and row["batas_teruskan"] < t) or \
        (row["status"] == "diteruskan" and bool(row["batas_tindak"]) and row["batas_tindak"] < t)
