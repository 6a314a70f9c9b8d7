"""People who come to the counter (issue 17): an officer files an application for a citizen who is present,
the citizen tracks it without an account, and later claims it into their own account.

**Filing.** An officer of the agency that runs the service in the officer's region types the NIK from the
KTP-el the citizen shows and ticks that the card was checked against the person. The NIK must be in the
population registry, which is asked only within the officer's limit of distinct NIKs a day
(``NIK_PER_OFFICER``; the same NIK again is free). The draft belongs to the NIK's *stand-in*
(``db/bantuan.py``): a row of ``akun`` with status 'tanpa_akun', no NIK of its own (the citizen can still
register), no phone and no usable password. The stand-in and the draft are made at the start because they hold
the answers and papers; the stand-in is raised to ``terverifikasi_petugas`` (recorded in ``jaminan``) only when
an application is submitted under that in-person check and stays with it, so a NIK typed and left leaves no
record that its owner was verified. The officer fills the answers and uploads the papers (the same checks as the
citizen's form; each save audited as ``ubah_di_loket`` with the fields it changed), then submits: the
registration number and the due date are set as for an online submit, and a tracking code is drawn and kept
only as a keyed hash (HMAC, bound to the application). The submit answers with a redirect; the code reaches the
receipt page once, sealed (AES-GCM) in the officer's session, so it is in clear in no stored answer
(``idempotensi``) and nowhere in the database. An SMS with number and code goes to a number the citizen gives,
if any; the outbox keeps the code only until the SMS is sent (``notifikasi.secret``). Who filed it is in the
timeline and the audit log.

**Whose it is.** When the NIK already has an account, active and at a level that reaches the service's issue
level (never below face-verified), the submit files it straight into that account: the citizen sees it at once.
Otherwise it stays with the stand-in. An account only registered (NIK data and any phone) may be an impostor's,
and the owner's papers must not land there; and an application below its account's level would wait for the
document that the in-person check just allowed.

**Tracking and claiming.** ``/lacak`` shows status, timeline (no officer names), due date and whether the
document is ready for the number and the code; a wrong pair is one message, never which half was wrong, and
wrong pairs are limited per client address only (``pengaduan.limited_lookup``, as complaints are). The result
page does not repeat the code: a logged-in citizen whose NIK is the application's types it again to claim it,
and it moves from the stand-in to their account (audited, idempotent). While the document is
still to be issued, the account must have the level the service issues at, or the claim would hold it back.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import json
import secrets
from dataclasses import dataclass, field

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlite_utils import Database

from db import audit
from db import bantuan as q
from db import identitas as identitas_q
from db import notifikasi as outbox
from db import permohonan as permohonan_q
from db.connection import write
from services import angka, dokumen, jaminan, kalender, notifikasi, ratelimit
from services import nik as nik_rules
from services import permohonan as permohonan_svc
from services.identitas import normalise_phone
from services.pengaduan import TrackingPaused, limited_lookup, normalise_number
from services.permohonan import Pelayanan
from services.samaran import mask_nik, mask_phone

KEY_PURPOSE = "kode-lacak-permohonan"  # Identity.subkey: the key of the tracking codes' hashes
SEAL_PURPOSE = "tanda-terima-sekali"  # Identity.subkey: the key that seals a receipt's code in the officer's session
RECEIPT_SHOWN_S = 15 * 60  # the sealed code is shown on the receipt page within this time of the submit, once
CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, no 1/I: read from paper, typed on a phone
CODE_LENGTH = 8  # 40 bits; with the limit below a guess per address succeeds about once in 10^10 years
TRACK_PER_CLIENT = ratelimit.Limit("lacak-permohonan:klien", 20, 3600)
CLAIM_PER_ACCOUNT = ratelimit.Limit("klaim-permohonan:akun", 10, 3600)
# Applicants' NIKs an officer has the registry check at the counter: distinct NIKs per officer and day (the same
# NIK again is free). Not ratelimit.allow_other_nik's 10 per account: a counter serves dozens of people a day.
NIK_PER_OFFICER = ratelimit.Limit("nik-loket:petugas", 60, 86400)
NIK_CHECKED = ratelimit.Limit("nik-loket:dicek", 1, 86400)  # "this officer had this NIK checked today"
RECENT_DAYS = 30
FACE = "terverifikasi_wajah"

NIK_UNKNOWN = ("NIK tidak ditemukan di data kependudukan (Dukcapil). Periksa 16 angka pada KTP-el; permohonan "
               "belum dibuat.")
NIK_LIMITED = ("Pemeriksaan NIK ke data kependudukan dari akun Anda sudah mencapai {n} NIK hari ini. Coba lagi "
               "dalam {wait}; NIK yang sudah diperiksa hari ini tetap dapat dipakai.")
ONCE_SHOWN = ("Kode pelacakan hanya tampil sekali, pada tanda terima saat diajukan, dan tidak disimpan. Bila warga "
              "belum mencatatnya atau kehilangan tanda terima, buat kode baru di bawah.")
NOT_FOUND = ("Nomor registrasi atau kode pelacakan tidak cocok. Periksa keduanya pada tanda terima dari loket, "
             "lalu coba lagi.")
NOT_YOURS = ("Nomor registrasi atau kode pelacakan tidak cocok dengan permohonan atas NIK akun Anda. Periksa "
             "keduanya pada tanda terima dari loket.")
ALREADY_YOURS = "Permohonan ini sudah ada di akun Anda."
OTHER_ACCOUNT = ("Permohonan ini sudah tercatat di akun lain atas NIK ini. Datang ke gerai Disdukcapil di MPP "
                 "dengan KTP-el asli untuk pemeriksaan.")
TRACK_NEXT = {
    **permohonan_svc.NEXT_STEP,
    "perlu_perbaikan": ("Ada isian atau berkas yang perlu diperbaiki (lihat riwayat). Datang ke loket instansi di "
                        "MPP dengan tanda terima ini, atau tambahkan permohonan ini ke akun Anda lalu perbaiki "
                        "sendiri."),
    "selesai": ("Dokumen sudah terbit. Ambil di loket instansi di MPP dengan tanda terima dan KTP-el, atau "
                "tambahkan permohonan ini ke akun Anda untuk mengunduhnya."),
}


@dataclass
class Loket:
    """What counter filing, tracking and claiming need: the application service and the keys of the codes."""

    pel: Pelayanan
    key: bytes   # of the tracking codes' hashes (KEY_PURPOSE)
    seal: bytes  # of a receipt's code on its way to the receipt page (SEAL_PURPOSE)


# --- Tracking codes -----------------------------------------------------------------------------------------

def new_code() -> str:
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))


def shown_code(code: str) -> str:
    """ABCD-EFGH: two groups, read aloud or copied from paper without losing one's place."""
    return f"{code[:4]}-{code[4:]}"


def normalise_code(raw: str) -> str:
    """A code as typed: spaces and dashes dropped, letters upper-case."""
    return "".join(ch for ch in (raw or "").upper() if ch.isascii() and ch.isalnum())[:16]


def _digest(key: bytes, permohonan_id: int, code: str) -> str:
    return hmac.new(key, f"lacak|{permohonan_id}|{code}".encode(), hashlib.sha256).hexdigest()


def _matching(loket: Loket, nomor: str, kode: str) -> dict | None:
    """The counter record of the application with this number, if the code is its tracking code."""
    nomor, kode = normalise_number(nomor), normalise_code(kode)
    rec = q.record_by_number(loket.pel.db, nomor) if nomor else None
    got = _digest(loket.key, rec["permohonan_id"] if rec else 0, kode)
    if rec and rec["kode_hash"] and hmac.compare_digest(rec["kode_hash"], got):
        return rec
    return None


# --- The officer: start, fill, submit ----------------------------------------------------------------------

def services_for(db: Database, officer: dict) -> list[dict]:
    """The services the officer may file: their agency's, in their region."""
    return q.services_of(db, officer["instansi_id"], officer["wilayah_kode"])


@dataclass
class Started:
    permohonan_id: int | None = None
    errors: dict[str, str] = field(default_factory=dict)


def _registry_wait(db: Database, officer: dict, nik: str) -> float:
    """0 when the registry may be asked about this NIK for this officer now (counted), else seconds to wait."""
    who = str(officer["id"])
    checked = f"{who}:{ratelimit.digest(nik)}"
    if ratelimit.blocked(db, NIK_CHECKED, checked):
        return 0.0
    wait = ratelimit.wait_s(db, NIK_PER_OFFICER, who)
    if not wait:
        with write(db):
            ratelimit.record_failure(db, NIK_CHECKED, checked)
            ratelimit.record_failure(db, NIK_PER_OFFICER, who)
    return wait


def start(loket: Loket, officer: dict, nik_raw: str, layanan_raw: str, ktp_checked: bool) -> Started:
    """The draft of a citizen present at the counter for one of the officer's services. The registry is asked,
    within the officer's limit (raises ServiceUnavailable when it does not answer: nothing is written then)."""
    db = loket.pel.db
    errors = {}
    checked = nik_rules.check(db, nik_raw)
    if not checked.nik:
        errors["nik"] = "Isi NIK pada KTP-el warga yang hadir (16 angka)."
    elif checked.errors:
        errors["nik"] = checked.errors[0]
    layanan_id = angka.to_id(layanan_raw)
    offered = {s["id"]: s for s in services_for(db, officer)}
    if layanan_id not in offered:
        errors["layanan"] = "Pilih layanan instansi Anda yang dimohon warga."
    if not ktp_checked:
        errors["ktp_diperiksa"] = "Periksa KTP-el asli warga yang hadir, lalu centang pernyataannya."
    if errors:
        return Started(errors=errors)
    wait = _registry_wait(db, officer, checked.nik)
    if wait:
        return Started(errors={"nik": NIK_LIMITED.format(n=NIK_PER_OFFICER.attempts,
                                                         wait=ratelimit.wait_message(wait))})
    resident = loket.pel.registry.lookup(checked.nik)
    if resident is None:
        return Started(errors={"nik": NIK_UNKNOWN})
    stamp = kalender.stamp()
    with write(db):
        akun_id = q.stand_in_of(db, checked.nik)
        if akun_id is None:  # not verified yet: the submit records the in-person check (``file``)
            akun_id = q.create_stand_in(db, checked.nik, resident.nama, officer["wilayah_kode"],
                                        f"loket-{secrets.token_hex(8)}", stamp)
        pid = permohonan_q.draft_for(db, akun_id, layanan_id, officer["wilayah_kode"], officer["instansi_id"])
        q.open_record(db, pid, checked.nik, officer["id"], stamp)
        audit.append(db, officer["id"], "mulai_di_loket", f"permohonan:{pid}",
                     {"nik": checked.nik, "layanan": offered[layanan_id]["slug"], "ktp_diperiksa": True}, waktu=stamp)
    return Started(pid)


def counter_case(db: Database, officer: dict, permohonan_id: int) -> tuple[dict, dict] | None:
    """An application filed at the counter by the officer's agency (its region): it and its counter record."""
    p = permohonan_q.get(db, permohonan_id)
    rec = q.record_of(db, permohonan_id) if p else None
    if p is None or rec is None or p["instansi_id"] != officer["instansi_id"]:
        return None
    return p, rec


def other_case(db: Database, officer: dict, permohonan_id: int) -> bool:
    """Whether this is a case of the officer's agency that was not filed at the counter (its own page has it)."""
    return permohonan_svc.for_officer(db, officer, permohonan_id) is not None


def form_page(loket: Loket, p: dict, rec: dict, errors: dict | None = None, reload: bool = False) -> dict:
    return {**permohonan_svc.form_page(loket.pel, p, reload), "r": rec, "nik": mask_nik(rec["nik"]),
            "errors": errors or {}}


def summary_page(db: Database, p: dict, rec: dict) -> dict:
    """A submitted application filed at the counter, as the officer's counter page shows it."""
    owner = q.owner_of(db, p["id"])
    return {"p": p, "r": rec, "nik": mask_nik(rec["nik"]), "status": permohonan_svc.STATUS,
            "di_akun": bool(owner and owner["status"] != q.STAND_IN)}


@dataclass
class Once:
    """What only the receipt page shows, once: sealed into the officer's session by the submit (or a new code)
    and opened by the page it redirects to (``seal``, ``receipt``)."""

    permohonan_id: int
    kode: str = ""            # the tracking code as drawn (8 characters); '' on a resubmit (the first stays valid)
    sms: str = ""             # masked number the SMS went to
    kode_baru: bool = False   # a new code replacing a lost receipt's


@dataclass
class Receipt:
    """What the citizen takes home: the number, the code (shown only here), where and how to track it."""

    permohonan_id: int
    nomor: str
    kode: str                 # ABCD-EFGH; '' on a resubmit (the first receipt's code stays valid)
    layanan: str
    instansi: str
    wilayah_kode: str
    nama: str
    nik: str                  # masked
    tenggat: str              # ISO date
    di_akun: bool             # in the citizen's own account
    sms: str = ""             # masked number the SMS went to
    kode_baru: bool = False   # a new code replacing a lost receipt's


@dataclass
class Filed:
    errors: dict[str, str] = field(default_factory=dict)
    once: Once | None = None  # submitted: what its receipt page shows once
    already: bool = False     # submitted before (another tab, a reload): nothing filed again


def _bound_to(officer: dict, permohonan_id: int) -> bytes:
    return f"tanda-terima|{officer['id']}|{permohonan_id}".encode()


def seal(loket: Loket, officer: dict, once: Once) -> str:
    """The code on its way from the submit to the receipt page, for the officer's session: encrypted and bound to
    the officer and the application, so the session (and the stored answer of the submit, which replays it to a
    retry) holds no code in clear."""
    body = json.dumps({"kode": once.kode, "sms": once.sms, "baru": once.kode_baru, "t": kalender.seconds()})
    nonce = secrets.token_bytes(12)
    box = AESGCM(loket.seal).encrypt(nonce, body.encode(), _bound_to(officer, once.permohonan_id))
    return base64.urlsafe_b64encode(nonce + box).decode()


def receipt(loket: Loket, officer: dict, p: dict, rec: dict, sealed) -> Receipt | None:
    """The receipt with its code from what ``seal`` made (taken from the session by the caller: shown once).
    None when there is none, it is another officer's or application's, older than ``RECEIPT_SHOWN_S``, or its
    code was replaced by a newer one."""
    if not isinstance(sealed, str) or permohonan_svc.editable(p):
        return None
    try:
        raw = base64.urlsafe_b64decode(sealed.encode())
        body = json.loads(AESGCM(loket.seal).decrypt(raw[:12], raw[12:], _bound_to(officer, p["id"])))
        kode, sms, baru, t = str(body["kode"]), str(body["sms"]), bool(body["baru"]), float(body["t"])
    except (ValueError, TypeError, KeyError, InvalidTag):
        return None
    if not 0 <= kalender.seconds() - t <= RECEIPT_SHOWN_S:
        return None
    if kode and not hmac.compare_digest(rec["kode_hash"] or "", _digest(loket.key, p["id"], kode)):
        return None
    owner = q.owner_of(loket.pel.db, p["id"])
    return Receipt(permohonan_id=p["id"], nomor=p["nomor"], kode=shown_code(kode) if kode else "",
                   layanan=p["layanan_nama"], instansi=p["instansi_nama"], wilayah_kode=p["wilayah_kode"],
                   nama=p["pemohon_nama"], nik=mask_nik(rec["nik"]), tenggat=p["tenggat"] or "",
                   di_akun=bool(owner and owner["status"] != q.STAND_IN), sms=sms, kode_baru=baru)


def _level_to_file_into(p: dict) -> str:
    return jaminan.higher(FACE, permohonan_svc.issue_level(p))


def _account_to_file_into(db: Database, nik: str, p: dict) -> dict | None:
    """The citizen's own account, when the application may go straight into it (see the module's text)."""
    found = identitas_q.account_by_nik(db, nik)
    if found and found["status"] == "aktif" and jaminan.meets(found["tingkat"], _level_to_file_into(p)):
        return found
    return None


def file(loket: Loket, officer: dict, p: dict, answers: dict[str, str], files: dict[str, tuple[str, bytes]],
         submit: bool, telepon: str, lacak_url: str) -> Filed:
    """Save what the officer typed and uploaded; with ``submit``, submit it (or resubmit it after a request
    for fixes). A submit that finds the application no longer editable files nothing."""
    pel, db = loket.pel, loket.pel.db
    if not permohonan_svc.editable(p):
        return Filed(already=True)
    errors = {}
    phone = normalise_phone(telepon) if telepon.strip() else ""
    if telepon.strip() and not phone:
        errors["telepon"] = "Nomor HP tidak dikenali. Tulis seperti 0812 3456 7890, atau kosongkan."
    saved = permohonan_svc.save(pel, p, answers, files)
    errors.update(saved)
    p = _record_changes(db, officer, p, files, saved)
    if errors or not submit:
        return Filed(errors=errors)
    p = permohonan_svc.with_registry_values(pel, p)  # the pages only show them; the submit stores them
    errors = permohonan_svc.check_answers(pel, p)
    if errors:
        return Filed(errors=errors)
    rec = q.record_of(db, p["id"])
    today = kalender.region_today(db, p["wilayah_kode"])
    due = kalender.add_working_days(db, p["wilayah_kode"], today, p["jangka_waktu_hari"])
    stamp, code = kalender.stamp(), new_code()
    again = p["status"] == "perlu_perbaikan"
    objek = f"permohonan:{p['id']}"
    with write(db):
        if permohonan_q.current_status(db, p["id"]) != p["status"]:
            return Filed(already=True)  # submitted a moment ago from another tab or desk: once is enough
        nomor = p["nomor"] or f"{p['wilayah_kode']}-{today:%y%m%d}-{p['id']:06d}"
        note = ("Diajukan kembali di loket MPP setelah perbaikan" if again else
                "Diajukan di loket MPP dengan bantuan petugas; KTP-el pemohon diperiksa langsung")
        permohonan_q.set_status(db, p["id"], "diajukan", officer["id"], note, diubah=stamp, nomor=nomor,
                                diajukan=stamp, tenggat=due.isoformat(), perbaikan="{}")
        owner = _account_to_file_into(db, rec["nik"], p) if not again else None
        if owner is not None:
            q.move_to(db, p["id"], owner["id"])
        elif q.verify_stand_in(db, p["akun_id"]):  # stays with the stand-in: the in-person check counts from now
            identitas_q.record_assurance(db, p["akun_id"], "terverifikasi_petugas", "gerai", petugas_id=officer["id"],
                                         keterangan="KTP-el diperiksa langsung saat permohonan diajukan di loket")
        q.mark_submitted(db, p["id"], officer["id"], stamp, None if again else _digest(loket.key, p["id"], code))
        audit.append(db, officer["id"], "ajukan_di_loket", objek, {
            "keterangan": f"diajukan di loket oleh {officer['nama']}", "petugas": officer["id"], "nomor": nomor,
            "ke_akun_warga": owner["id"] if owner else None, "sms": mask_phone(phone), "diajukan_kembali": again},
            waktu=stamp)
        _tell(db, p, owner, phone, nomor, "" if again else code, due, lacak_url)
    return Filed(once=Once(p["id"], "" if again else code, mask_phone(phone)))


def _record_changes(db: Database, officer: dict, p: dict, uploads: dict[str, tuple[str, bytes]],
                    refused: dict[str, str]) -> dict:
    """After the officer's save ("Simpan dulu", or the save before "Ajukan"): the audit log names the answers it
    changed and the papers it kept (never their values). The application as it is now."""
    now = permohonan_q.get(db, p["id"])
    kinds = {f["nama"]: f["jenis"] for f in p["formulir"]}
    changed = sorted(name for name, kind in kinds.items()
                     if kind != "berkas" and str(now["data"].get(name, "")) != str(p["data"].get(name, "")))
    papers = sorted(name for name, (_, data) in uploads.items()
                    if kinds.get(name) == "berkas" and data and name not in refused)
    if changed or papers:
        with write(db):
            audit.append(db, officer["id"], "ubah_di_loket", f"permohonan:{p['id']}", {
                "keterangan": f"diubah di loket oleh {officer['nama']}", "isian": changed, "berkas": papers},
                waktu=kalender.stamp())
    return now


def _tell(db: Database, p: dict, owner: dict | None, phone: str, nomor: str, code: str, due: dt.date,
          lacak_url: str) -> None:
    """The SMS of a counter submit: number and code to the number the citizen gave; the usual message to the
    phone of the account it is in (inside the submit's transaction, like every status message)."""
    when = kalender.format_date(due)
    if phone:
        text = (f"MPP Digital: permohonan {p['layanan_nama']} nomor {nomor} diterima di loket. "
                + (f"Kode pelacakan {notifikasi.secret(shown_code(code))}. " if code else "")
                + f"Lacak di {lacak_url}. Batas waktu {when}.")
        outbox.enqueue(db, owner["id"] if owner else None, "sms", phone, text, kalender.seconds())
    account = owner or ({"id": p["akun_id"], "telepon": p["pemohon_telepon"]} if p["pemohon_status"] != q.STAND_IN
                        else None)
    if account and account.get("telepon") and account["telepon"] != phone:
        notifikasi.enqueue_for(db, account, f"MPP Digital: permohonan {p['layanan_nama']} nomor {nomor} diajukan di "
                                            f"loket MPP dan ada di akun Anda. Batas waktu layanan {when}.")


def renew_code(loket: Loket, officer: dict, p: dict, rec: dict, ktp_checked: bool) -> tuple[Once | None, str]:
    """A new tracking code for a lost receipt (the old one stops working): the citizen is at the counter again
    with the KTP-el. (what its receipt page shows once, '') or (None, why not)."""
    db = loket.pel.db
    if not ktp_checked:
        return None, "Periksa lagi KTP-el asli warga yang hadir, lalu centang pernyataannya."
    if p["status"] == "draf" or not rec["kode_hash"]:
        return None, "Permohonan ini belum diajukan; kode pelacakan tercetak pada tanda terima saat diajukan."
    if rec["diklaim"]:
        return None, "Permohonan ini sudah ditambahkan ke akun warga: ia melihatnya dengan masuk ke akunnya."
    code, stamp = new_code(), kalender.stamp()
    with write(db):
        q.set_code(db, p["id"], _digest(loket.key, p["id"], code))
        audit.append(db, officer["id"], "kode_lacak_baru", f"permohonan:{p['id']}",
                     {"keterangan": f"kode pelacakan baru dibuat di loket oleh {officer['nama']}",
                      "ktp_diperiksa": True}, waktu=stamp)
    return Once(p["id"], code, kode_baru=True), ""


def filed_page(db: Database, officer: dict) -> dict:
    """What reached the server: the applications this officer started or filed, today's first, then the
    previous days' (``RECENT_DAYS``)."""
    since = kalender.stamp(kalender.utc_now() - dt.timedelta(days=RECENT_DAYS))
    today = kalender.region_today(db, officer["wilayah_kode"])
    rows = q.filed_by(db, officer["id"], since)
    for r in rows:
        when = dt.datetime.fromisoformat((r["diajukan"] or r["dibuat"]).replace("Z", "+00:00"))
        r["hari_ini"] = kalender.region_today(db, r["wilayah_kode"], when) == today
        r["nik"] = mask_nik(r["nik"])
        r["di_akun"] = r["pemilik_status"] != q.STAND_IN
    return {"hari_ini": [r for r in rows if r["hari_ini"]], "sebelumnya": [r for r in rows if not r["hari_ini"]],
            "layanan": services_for(db, officer), "status": permohonan_svc.STATUS}


# --- The citizen: track, claim -----------------------------------------------------------------------------

def paused_message(wait_s: float) -> str:
    return (f"Terlalu banyak nomor atau kode yang tidak cocok dari jaringan ini. Coba lagi dalam "
            f"{ratelimit.wait_message(wait_s)}.")


def track(loket: Loket, nomor: str, kode: str, client: str, akun: dict | None = None) -> dict | None:
    """What the holder of the receipt sees, or None for a wrong pair (counted for this client address only;
    raises TrackingPaused past the limit, so codes cannot be guessed at speed). The page it makes is the
    answer to a POST, kept for retries (``idempotensi``): it holds no code."""
    db = loket.pel.db
    rec = limited_lookup(db, lambda: _matching(loket, nomor, kode), (TRACK_PER_CLIENT, client))
    if rec is None:
        return None
    p = permohonan_q.get(db, rec["permohonan_id"])
    doc = dokumen.of_application(db, p["id"])
    citizen = akun if akun and akun["peran"] == "warga" else None
    return {
        "p": {k: p[k] for k in ("id", "nomor", "status", "layanan_nama", "instansi_nama", "wilayah_nama",
                                "wilayah_kode", "tenggat", "jangka_waktu_hari", "fiktif_positif")},
        "nik": mask_nik(rec["nik"]), "langkah": TRACK_NEXT[p["status"]], "status": permohonan_svc.STATUS,
        "riwayat": [{"status": r["status"], "waktu": r["waktu"], "catatan": r["catatan"]}
                    for r in permohonan_q.timeline(db, p["id"])],
        "dokumen": doc.status if doc else "", "nomor": p["nomor"],
        "milik_saya": bool(citizen and p["akun_id"] == citizen["id"]),
        "bisa_klaim": bool(citizen and p["akun_id"] != citizen["id"] and citizen.get("nik") == rec["nik"]),
    }


@dataclass
class Claimed:
    permohonan_id: int | None = None
    message: str = ""
    wait_s: float = 0.0


def claim(loket: Loket, akun: dict, nomor: str, kode: str, client: str) -> Claimed:
    """The logged-in citizen takes the application with this number and code into their account: only when its
    applicant's NIK is theirs. Wrong pairs count per client address and per account (the claimer's own)."""
    db = loket.pel.db

    def theirs():
        found = _matching(loket, nomor, kode)
        return found if found and akun.get("nik") and found["nik"] == akun["nik"] else None

    try:
        rec = limited_lookup(db, theirs, (TRACK_PER_CLIENT, client), (CLAIM_PER_ACCOUNT, str(akun["id"])))
    except TrackingPaused as e:
        return Claimed(message=paused_message(e.wait_s), wait_s=e.wait_s)
    if rec is None:
        return Claimed(message=NOT_YOURS)
    pid = rec["permohonan_id"]
    p = permohonan_q.get(db, pid)
    if p["akun_id"] == akun["id"]:
        return Claimed(pid, ALREADY_YOURS)
    if p["pemohon_status"] != q.STAND_IN:
        return Claimed(message=OTHER_ACCOUNT)
    needed = permohonan_svc.issue_level(p)
    if p["terbitkan_dokumen"] and p["status"] not in ("selesai", "ditolak") and not jaminan.meets(akun["tingkat"],
                                                                                                  needed):
        return Claimed(message=(
            f"Dokumen permohonan ini baru terbit untuk akun yang \u201c{jaminan.SHORT[needed]}\u201d, sedangkan akun "
            f"Anda \u201c{jaminan.SHORT.get(akun['tingkat'], akun['tingkat'])}\u201d; bila ditambahkan sekarang, "
            f"dokumennya tertahan. Tambahkan setelah dokumen terbit, atau setelah Anda "
            f"{jaminan.HOW_TO_REACH[needed]}. Sementara itu pantau statusnya di halaman ini."))
    stamp = kalender.stamp()
    with write(db):
        owner = q.owner_of(db, pid)  # again under the lock: two claims at once move it once
        if owner["id"] == akun["id"]:
            return Claimed(pid, ALREADY_YOURS)
        if owner["status"] != q.STAND_IN:
            return Claimed(message=OTHER_ACCOUNT)
        q.move_to(db, pid, akun["id"])
        q.mark_claimed(db, pid, akun["id"], stamp)
        permohonan_q.add_note(db, pid, p["status"], "Ditambahkan ke akun pemohon dengan nomor registrasi dan kode "
                                                    "pelacakan dari loket", akun["id"])
        audit.append(db, akun["id"], "klaim_permohonan", f"permohonan:{pid}",
                     {"dari_akun": owner["id"], "nik": mask_nik(rec["nik"])}, waktu=stamp)
    return Claimed(pid, f"Permohonan {p['layanan_nama']} nomor {p['nomor']} kini ada di akun Anda.")
