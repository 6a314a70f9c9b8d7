"""One account per NIK, proven step by step: registry data + phone, then face, then in person.

Registration: the NIK, name and birth date must match the population registry,
and the phone number is proven with a one-time SMS code before any account
exists (a number counts as taken only once proven). The account then opens at
level ``terdaftar`` and is announced to every phone the registry knows for that
NIK, with a "bukan saya" link that suspends it until the counter checks.

Face: a selfie (three small frames answering a random head-pose and screen-colour
challenge) matched against the registry's photo raises the account to
``terverifikasi_wajah``. A doubtful result (review band, a look-alike of another
NIK, no registry photo, no camera, a presentation-attack suspicion) leaves the
account at ``terdaftar`` and tells the citizen to come to the counter, where an
officer who checks the KTP-el raises it to ``terverifikasi_petugas``.

The real owner always wins: a citizen verified in person can reclaim a NIK held
by an account that was never verified in person; that account is frozen, its
sessions end, its open applications are held and its documents revoked.
Selfies never leave this module: they become a template (encrypted at rest).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import random
import re
import unicodedata
from dataclasses import dataclass, field

import numpy as np
from itsdangerous import BadSignature, URLSafeTimedSerializer
from sqlite_utils import Database

from biometrics.engine import FaceEngine
from biometrics.errors import BiometricRejected
from biometrics.liveness import POSE_INSTRUCTIONS, Challenge, check_liveness, issue_challenge
from biometrics.matching import Thresholds, decide, face_distance, search
from biometrics.templates import SealError, open_sealed, seal
from db import audit
from db import identitas as q
from db import notifikasi as outbox
from db.connection import write
from integrations.dukcapil import Dukcapil, Resident
from services import angka, jaminan, kalender, otp, ratelimit
from services import nik as nik_rules
from services.passwords import hash_password
from services.samaran import mask_nik, mask_phone

CHALLENGE_TTL_S = 300
CHALLENGE_WINDOW_S = 120  # a reload within this window shows the same challenge
FACE_PER_SUBJECT = ratelimit.Limit("wajah:subjek", 5, 3600)
FACE_PER_IP = ratelimit.Limit("wajah:ip", 20, 3600)
MIN_PASSWORD = 8
NOT_ME_DAYS = 30
_PHONE = re.compile(r"^(?:\+?62|0)8\d{7,12}$", re.ASCII)  # \d alone also takes '١' and other scripts' digits
COUNTER = ("Datang ke gerai Disdukcapil di MPP dengan membawa KTP-el asli; petugas akan memverifikasi "
           "Anda di tempat.")


@dataclass
class Identity:
    """What identity checks need, built once per process by the app."""

    db: Database
    registry: Dukcapil
    engine: FaceEngine
    key: bytes
    thresholds: Thresholds
    stepup_minutes: int = 30

    def subkey(self, purpose: str) -> bytes:
        """A key for one purpose (SMS codes, "bukan saya" links), derived from the template key."""
        return hmac.new(self.key, purpose.encode(), hashlib.sha256).digest()


@dataclass
class Outcome:
    status: str  # 'aktif' | 'ditinjau' | 'ulang' | 'terkunci'
    message: str = ""
    akun_id: int | None = None
    distance: float | None = None


@dataclass
class RegistrationInput:
    nik: str = ""
    nama: str = ""
    hari: str = ""
    bulan: str = ""
    tahun: str = ""
    jenis_kelamin: str = ""
    telepon: str = ""
    kata_sandi: str = ""
    setuju: bool = False
    errors: dict[str, str] = field(default_factory=dict)
    wait_s: float = 0.0  # > 0: refused by a limit, try again after this many seconds

    def birth_date(self) -> dt.date | None:
        year, month = angka.to_int(self.tahun, 1, 9999), angka.to_int(self.bulan, 1, 12)
        day = angka.to_int(self.hari, 1, 31)
        try:
            return dt.date(year, month, day) if year and month and day else None
        except ValueError:  # 31 February
            return None


def normalise_name(name: str) -> str:
    """Case-, accent- and spacing-insensitive form of a name, for the registry match."""
    plain = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    return " ".join(re.sub(r"[^a-z ]", " ", plain.lower()).split())


def normalise_phone(raw: str) -> str:
    digits = re.sub(r"[\s\-().]", "", raw or "")
    if not _PHONE.match(digits):
        return ""
    return "0" + digits[digits.index("8"):]


PHONE_TAKEN = ("Nomor HP ini sudah dipakai akun lain. Bila itu akun Anda, masuk dengan nomor ini; bila bukan, "
               "gunakan nomor lain.")
NIK_TAKEN = ("NIK ini sudah memiliki akun. Silakan masuk. Bila bukan Anda yang membuatnya, datang ke MPP dengan "
             "KTP-el: petugas akan membekukan akun itu dan membuatkan akun untuk Anda.")


def _phone_held_by_other(idn: Identity, phone: str, akun_id: int | None) -> bool:
    """A proven number of another account (``akun_id`` None: of any account)."""
    holder = q.account_with_phone(idn.db, phone) if phone else None
    return holder is not None and holder["id"] != akun_id


MISMATCH = ("Data tidak cocok dengan data kependudukan (Dukcapil). Periksa NIK, nama, dan tanggal lahir sesuai "
            "KTP-el.")
# the registry mismatch in the error summary: each field to check, linked, never which one differed
MISMATCH_FIELDS = {"nik": MISMATCH, "nama": "Periksa nama: tulis persis seperti di KTP-el, termasuk gelar.",
                   "hari": "Periksa tanggal lahir: sama seperti di KTP-el."}


def check_registration(idn: Identity, form: RegistrationInput, ip: str = "?") -> Resident | None:
    """Fill ``form.errors`` (field → message); return the registry record when all is well.

    No oracle: the registry is matched first, and only someone who knows the NIK, the name and the
    birth date hears that the NIK already has an account (with the way back through the counter).
    Whether the phone number belongs to an account is said only once its SMS code proves the number
    (``confirm_phone``). Registry look-ups are limited per client; mismatches slow that NIK down.
    """
    errors = form.errors
    born = form.birth_date()
    if born is None or born > kalender.today() or born.year < 1900:
        errors["hari"] = "Isi tanggal lahir yang benar, misalnya 15 8 1990."
    if form.jenis_kelamin not in ("L", "P"):
        errors["jenis_kelamin"] = "Pilih jenis kelamin."
    checked = nik_rules.check(idn.db, form.nik, born, form.jenis_kelamin or None)
    errors.update(checked.bertentangan)  # a date or sex the NIK contradicts: said on that field (no registry asked)
    own = [e for e in checked.errors if e not in checked.bertentangan.values()]
    if own:
        errors["nik"] = own[0]
    if not form.nama.strip():
        errors["nama"] = "Isi nama lengkap sesuai KTP-el."
    phone = normalise_phone(form.telepon)
    if not phone:
        errors["telepon"] = "Isi nomor HP yang aktif, misalnya 0812 3456 7890."
    if len(form.kata_sandi) < MIN_PASSWORD:
        errors["kata_sandi"] = f"Kata sandi minimal {MIN_PASSWORD} karakter."
    if not form.setuju:
        errors["setuju"] = "Centang persetujuan pemrosesan data untuk melanjutkan."
    if errors:
        return None
    form.nik, form.telepon = checked.nik, phone
    nik_key = ratelimit.digest(checked.nik)
    form.wait_s = max(ratelimit.wait_s(idn.db, ratelimit.REGISTER_PER_CLIENT, ip),
                      ratelimit.slow_down_s(idn.db, ratelimit.REGISTER_MISMATCH_PER_NIK, nik_key))
    if form.wait_s > 0:
        errors["nik"] = (f"Terlalu banyak percobaan pendaftaran. Coba lagi dalam "
                         f"{ratelimit.wait_message(form.wait_s)}, atau daftar di gerai MPP dengan membawa KTP-el.")
        return None
    ratelimit.record_failure(idn.db, ratelimit.REGISTER_PER_CLIENT, ip)
    resident = idn.registry.lookup(checked.nik)
    if resident is None or normalise_name(resident.nama) != normalise_name(form.nama) \
            or resident.tanggal_lahir != born.isoformat():
        ratelimit.record_failure(idn.db, ratelimit.REGISTER_MISMATCH_PER_NIK, nik_key)
        errors.update(MISMATCH_FIELDS)  # the same three whichever part differs: nothing to guess from
        return None
    if q.account_by_nik(idn.db, checked.nik):
        errors["nik"] = NIK_TAKEN
        return None
    return resident


def check_nik(idn: Identity, nik: str, born: dt.date | None, sex: str | None) -> nik_rules.NikCheck:
    """The NIK's own rules while the citizen types (the same run again on submit); no registry look-up."""
    return nik_rules.check(idn.db, nik, born, sex)


def start_registration(idn: Identity, form: RegistrationInput, ip: str = "?") -> int | None:
    """Check the form against the registry; keep a pending registration and send the SMS code."""
    resident = check_registration(idn, form, ip)
    if resident is None:
        return None
    now = kalender.stamp()
    pendaftaran_id = q.create_registration(idn.db, form.nik, resident.nama, form.telepon,
                                           hash_password(form.kata_sandi), now)
    otp.send_code(idn.db, idn.subkey("otp"), f"daftar:{pendaftaran_id}", form.telepon, ip)
    return pendaftaran_id


def pending_registration(idn: Identity, pendaftaran_id) -> dict | None:
    """The registration still waiting for its phone code, or None."""
    if not isinstance(pendaftaran_id, int):
        return None
    reg = q.get_registration(idn.db, pendaftaran_id)
    return reg if reg and reg["status"] == "menunggu_wajah" and not reg["akun_id"] else None


def resend_registration_code(idn: Identity, reg: dict, ip: str) -> otp.CodeResult:
    return otp.send_code(idn.db, idn.subkey("otp"), f"daftar:{reg['id']}", reg["telepon"], ip)


def confirm_phone(idn: Identity, reg: dict, code: str, base_url: str, now: float | None = None) -> Outcome:
    """The code proves the phone: the account opens at ``terdaftar`` and the registry's contacts are told."""
    checked = otp.check_code(idn.db, idn.subkey("otp"), f"daftar:{reg['id']}", reg["telepon"], code, now)
    if not checked.ok:
        return Outcome("ulang", checked.message)
    region = nik_rules.current_kecamatan_code(reg["nik"][:6])[:4]
    resident = idn.registry.lookup(reg["nik"])
    with write(idn.db):  # checked under the write lock: another registration may have just taken either
        if q.account_by_nik(idn.db, reg["nik"]):
            return Outcome("ulang", NIK_TAKEN)
        if _phone_held_by_other(idn, reg["telepon"], None):  # said only now that the code proved the number
            return Outcome("ulang", PHONE_TAKEN)
        q.mark_phone_proven(idn.db, reg["id"], kalender.stamp())
        akun_id = q.create_citizen(idn.db, reg, "terdaftar", region, kalender.stamp(), face_checked=False)
        q.set_registration_status(idn.db, reg["id"], "selesai", akun_id)
        q.record_assurance(idn.db, akun_id, "terdaftar", "sms", keterangan=f"nomor {mask_phone(reg['telepon'])}")
        announce_new_account(idn, akun_id, reg, resident, base_url)
    return Outcome("aktif", "Nomor HP terbukti. Akun Anda aktif pada tingkat Terdaftar.", akun_id)


def announce_new_account(idn: Identity, akun_id: int, reg: dict, resident: Resident | None, base_url: str) -> None:
    """Tell every phone the registry knows for this NIK, with a link to suspend the account if it is not theirs."""
    link = f"{base_url.rstrip('/')}/bukan-saya/{not_me_token(idn, akun_id)}"
    for contact in sorted(set(resident.kontak if resident else [])):
        phone = normalise_phone(contact)
        if phone and phone != reg["telepon"]:
            outbox.enqueue(idn.db, None, "sms", phone,
                           f"MPP Digital: akun baru dibuat untuk NIK {mask_nik(reg['nik'])} dengan nomor "
                           f"{mask_phone(reg['telepon'])}. Bukan Anda? Buka {link}", kalender.seconds())


def not_me_token(idn: Identity, akun_id: int) -> str:
    return URLSafeTimedSerializer(idn.subkey("bukan-saya"), salt="bukan-saya").dumps({"a": akun_id})


def account_of_not_me(idn: Identity, token: str) -> dict | None:
    """The account a "bukan saya" link names, if the link is genuine and younger than 30 days."""
    try:
        data = URLSafeTimedSerializer(idn.subkey("bukan-saya"), salt="bukan-saya").loads(
            token, max_age=NOT_ME_DAYS * 86400)
    except BadSignature:
        return None
    found = q.get_account(idn.db, data.get("a")) if isinstance(data, dict) and isinstance(data.get("a"), int) else None
    return found if found and found["peran"] == "warga" else None


def suspend_not_me(idn: Identity, token: str) -> Outcome:
    """"Bukan saya": suspend the account, end its sessions and hold its applications until the counter checks."""
    found = account_of_not_me(idn, token)
    if found is None:
        return Outcome("ulang", "Tautan tidak sah atau sudah kedaluwarsa (berlaku 30 hari). " + COUNTER)
    if found["status"] != "aktif":
        return Outcome("ditinjau", "Akun ini sudah ditangguhkan. " + COUNTER, found["id"])
    with write(idn.db):
        q.set_account_status(idn.db, found["id"], "ditangguhkan")
        held = q.hold_applications(idn.db, found["id"], "bukan_saya")
        audit.append(idn.db, None, "bukan_saya", f"akun:{found['id']}",
                     {"nik": mask_nik(found["nik"]), "permohonan_ditahan": held}, waktu=kalender.stamp())
        if found["telepon"]:
            outbox.enqueue(idn.db, found["id"], "sms", found["telepon"],
                           "MPP Digital: akun Anda ditangguhkan karena pemilik NIK melaporkan bukan dia yang "
                           "membuatnya. Datang ke MPP dengan KTP-el untuk pemeriksaan.", kalender.seconds())
    return Outcome("ditinjau", "Akun itu sudah ditangguhkan: tidak bisa dipakai masuk, dan permohonannya "
                               "ditahan. " + COUNTER + " Petugas akan membuatkan akun untuk Anda.", found["id"])


def challenge_for(idn: Identity, subjek: str) -> Challenge:
    """The challenge ``subjek`` is shown now, made without writing (the selfie page is a GET, which only reads):
    poses, colours and nonce follow from a keyed hash of the subject, the current window of
    ``CHALLENGE_WINDOW_S`` and the last challenge it used, so a reload within the window shows the same poses and a
    used challenge is followed by a new one. It is valid ``CHALLENGE_TTL_S`` after its window ends (never less than
    five minutes after it is shown); the POST checks the hash and takes it once (:func:`_selfie`)."""
    window = int(kalender.seconds() // CHALLENGE_WINDOW_S)
    after = hashlib.sha256(q.last_used_challenge(idn.db, subjek).encode()).hexdigest()[:12]
    return _derived(idn, subjek, window, after)


def _derived(idn: Identity, subjek: str, window: int, after: str) -> Challenge:
    tag = hmac.new(idn.subkey("tantangan"), f"{subjek}|{window}|{after}".encode(), hashlib.sha256).hexdigest()[:32]
    chosen = issue_challenge(random.Random(tag))  # poses and colours seeded by the keyed hash: the same tag, the same
    return Challenge(chosen.poses, f"{window}.{after}.{tag}", float(window * CHALLENGE_WINDOW_S), chosen.colours)


def _challenge_sent(idn: Identity, subjek: str, nonce: str) -> Challenge | None:
    """The challenge a posted nonce names, if this server made it for ``subjek`` and it is still valid."""
    parts = (nonce or "").split(".")
    if len(parts) != 3 or not angka.is_digits(parts[0]) or len(parts[0]) > 12:
        return None
    ch = _derived(idn, subjek, int(parts[0]), parts[1][:12])
    if not hmac.compare_digest(ch.nonce.encode(), nonce.encode()):
        return None
    age = kalender.seconds() - ch.issued_at
    return ch if 0 <= age <= CHALLENGE_WINDOW_S + CHALLENGE_TTL_S else None


def colours_of(ch: Challenge) -> tuple[str, ...]:
    return ch.colours


def instructions(ch: Challenge) -> list[str]:
    return [POSE_INSTRUCTIONS[p] for p in ch.poses]


@dataclass
class Selfie:
    """What the frames proved: a template, whether liveness held, and why not."""

    template: np.ndarray | None = None
    live: bool = False
    error: str = ""
    review: str = ""  # a liveness doubt an officer should settle (presentation-attack suspicion)
    pad: dict = field(default_factory=dict)


def _selfie(idn: Identity, subjek: str, nonce: str, frames: list[bytes], photo: bytes | None) -> Selfie:
    """Frames need the challenge; one photo proves no liveness."""
    if frames:
        ch = _challenge_sent(idn, subjek, nonce)
        if ch is None or not q.use_challenge(idn.db, ch.nonce, subjek, list(ch.poses), ch.issued_at, list(ch.colours),
                                             kalender.seconds()):
            return Selfie(error="Waktu pemeriksaan habis atau sudah dipakai. Silakan ulangi dengan arahan baru.")
        result = check_liveness(frames, ch, engine=idn.engine)
        pad = dict(result.pad)
        if result.review:
            return Selfie(result.template, False, "", result.reason or "pad", pad)
        if not result.ok:
            return Selfie(error=result.message or "Pemeriksaan wajah gagal. Silakan ulangi.", pad=pad)
        return Selfie(result.template, True, "", "", pad)
    if not photo:
        return Selfie(error="Foto wajah belum terkirim. Ambil foto lalu kirim lagi.")
    try:
        return Selfie(idn.engine.encode(photo))
    except BiometricRejected as e:
        return Selfie(error=e.message)


def _open(idn: Identity, blob: bytes, owner: str) -> np.ndarray | None:
    try:
        return open_sealed(blob, idn.key, owner)
    except SealError:
        return None


def duplicates(idn: Identity, template: np.ndarray, nik: str) -> list[tuple[str, float]]:
    """1:N — enrolled accounts of *other* NIKs whose face is within the review band."""
    enrolled = ((row["nik"], t) for row in q.enrolled_templates(idn.db)
                if row["nik"] and (t := _open(idn, row["templat_wajah"], f"akun:{row['id']}")) is not None)
    return [(k, d) for k, d in search(template, enrolled, max_distance=idn.thresholds.review_max) if k != nik]


def _limited(idn: Identity, subjek: str, ip: str) -> bool:
    return ratelimit.blocked(idn.db, FACE_PER_SUBJECT, subjek) or ratelimit.blocked(idn.db, FACE_PER_IP, ip)


def _count_failure(idn: Identity, subjek: str, ip: str) -> None:
    ratelimit.record_failure(idn.db, FACE_PER_SUBJECT, subjek)
    ratelimit.record_failure(idn.db, FACE_PER_IP, ip)


def verify_face(idn: Identity, akun: dict, nonce: str, frames: list[bytes], photo: bytes | None, ip: str) -> Outcome:
    """The selfie step of registration: match the registry photo and raise the account to face-verified."""
    subjek = f"akun:{akun['id']}"
    if _limited(idn, subjek, ip):
        return Outcome("terkunci", "Terlalu banyak percobaan verifikasi wajah. Coba lagi 1 jam lagi, atau "
                                   "datang ke MPP untuk verifikasi oleh petugas.")
    resident = idn.registry.lookup(akun["nik"])
    if resident is None or resident.templat_wajah is None:
        q.record_face_check(idn.db, subjek, "daftar", "tanpa_foto", None, "")
        return _to_counter(idn, akun, "tanpa_foto", "Data kependudukan belum memiliki foto rujukan.")
    selfie = _selfie(idn, subjek, nonce, frames, photo)
    if selfie.template is None:
        _count_failure(idn, subjek, ip)
        q.record_face_check(idn.db, subjek, "daftar", "ditolak", None, selfie.error)
        return Outcome("ulang", selfie.error)
    distance = face_distance(selfie.template, resident.templat_wajah)
    decision = decide(distance, idn.thresholds)
    q.record_face_check(idn.db, subjek, "daftar", decision, distance, _liveness_note(selfie))
    if decision == "no_match":
        _count_failure(idn, subjek, ip)
        return Outcome("ulang", "Wajah tidak cocok dengan foto KTP-el di data kependudukan. Coba lagi di tempat "
                                "yang terang, atau datang ke MPP untuk verifikasi oleh petugas.", distance=distance)
    dups = duplicates(idn, selfie.template, akun["nik"])
    if dups:
        return _to_counter(idn, akun, "duplikat_wajah", json.dumps({"mirip_nik": [k for k, _ in dups[:3]]}), distance)
    if selfie.review:
        _count_failure(idn, subjek, ip)
        return _to_counter(idn, akun, "pad_tinjauan", json.dumps({"alasan": selfie.review, **selfie.pad}), distance)
    if not selfie.live:  # one photo proves no liveness, whatever its distance
        return _to_counter(idn, akun, "tanpa_liveness", f"jarak {distance:.3f}", distance)
    if decision == "review":
        return _to_counter(idn, akun, "zona_tinjauan", f"jarak {distance:.3f}", distance)
    level = jaminan.higher(akun["tingkat"], "terverifikasi_wajah")
    with write(idn.db):
        q.set_account_template(idn.db, akun["id"], seal(selfie.template, idn.key, f"akun:{akun['id']}"))
        q.set_level(idn.db, akun["id"], level)
        q.mark_face_checked(idn.db, akun["id"], kalender.stamp())
        q.release_counter_checks(idn.db, akun["id"])
        q.record_assurance(idn.db, akun["id"], "terverifikasi_wajah", "selfie", jarak=distance,
                           liveness=json.dumps({"lolos": True, **selfie.pad}))
    return Outcome("aktif", "Wajah Anda cocok dengan foto KTP-el. Akun Anda terverifikasi wajah.", akun["id"],
                   distance)


def _liveness_note(selfie: Selfie) -> str:
    if selfie.review:
        return f"pad:{selfie.review}"
    return "" if selfie.live else "tanpa_liveness"


def _to_counter(idn: Identity, akun: dict, reason: str, detail: str, distance: float | None = None) -> Outcome:
    """A doubt for an officer: the account stays at its level; the review waits at the person's MPP."""
    reg = q.registration_of_account(idn.db, akun["id"])
    if reg is not None:
        q.open_review(idn.db, reg["id"], akun["wilayah_kode"] or reg["nik"][:4], reason, detail, akun["id"])
    level = jaminan.SHORT.get(akun["tingkat"], "Terdaftar")
    return Outcome("ditinjau", f"Wajah Anda belum bisa dipastikan secara daring. Akun Anda tetap aktif pada "
                               f"tingkat {level}; untuk layanan yang memerlukan verifikasi wajah, {COUNTER[0].lower()}"
                               f"{COUNTER[1:]}", akun["id"], distance)


def needs_step_up(akun: dict, minutes: int, now: dt.datetime | None = None) -> bool:
    """True when the account has face data and its last face check is older than ``minutes``.

    An account without face data (verified in person only) cannot take a selfie
    check; asking it for one would leave the citizen on a page that cannot succeed.
    """
    if not akun.get("templat_wajah"):
        return False
    if not akun.get("wajah_terakhir"):
        return True
    last = dt.datetime.strptime(akun["wajah_terakhir"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=dt.UTC)
    now = now or kalender.utc_now()
    return now - last > dt.timedelta(minutes=minutes)


def _references(idn: Identity, akun: dict) -> list[np.ndarray]:
    """The trusted faces of an account: the registry's photo and the template enrolled at activation."""
    refs = []
    if akun.get("templat_wajah"):
        own = _open(idn, akun["templat_wajah"], f"akun:{akun['id']}")
        if own is not None:
            refs.append(own)
    resident = idn.registry.lookup(akun["nik"]) if akun.get("nik") else None
    if resident is not None and resident.templat_wajah is not None:
        refs.append(resident.templat_wajah)
    return refs


def step_up(idn: Identity, akun: dict, nonce: str, frames: list[bytes], photo: bytes | None, ip: str) -> Outcome:
    """A fresh selfie against the account's own enrolled template, before a sensitive action.

    ``ulang``: worth another try (the reason says why); ``ditinjau`` or ``terkunci``: a selfie cannot settle it
    (no face data, a single photo, a doubtful or review-band result, too many tries), the counter must.
    """
    subjek = f"akun:{akun['id']}"
    if _limited(idn, subjek, ip):
        return Outcome("terkunci", "Terlalu banyak percobaan verifikasi wajah dalam satu jam.")
    references = _references(idn, akun)
    if not references:
        return Outcome("ditinjau", "Akun Anda belum memiliki data wajah untuk dicocokkan.")
    if not frames and photo:  # the no-camera form: one photo cannot show that the person is there
        q.record_face_check(idn.db, subjek, "step_up", "ditolak", None, "tanpa_liveness")
        return Outcome("ditinjau", "Satu foto tanpa kamera langsung tidak dapat membuktikan bahwa Anda hadir.")
    selfie = _selfie(idn, subjek, nonce, frames, photo)
    if selfie.review:
        _count_failure(idn, subjek, ip)
        q.record_face_check(idn.db, subjek, "step_up", "ditolak", None, _liveness_note(selfie))
        return Outcome("ditinjau", "Pemeriksaan keaktifan wajah belum meyakinkan secara daring.")
    if selfie.template is None or not selfie.live:
        _count_failure(idn, subjek, ip)
        q.record_face_check(idn.db, subjek, "step_up", "ditolak", None, selfie.error or _liveness_note(selfie))
        return Outcome("ulang", selfie.error or "Pemeriksaan wajah gagal. Ulangi di tempat yang terang, dengan "
                                                "wajah langsung di depan kamera.")
    distance = min(face_distance(selfie.template, ref) for ref in references)
    decision = decide(distance, idn.thresholds)
    q.record_face_check(idn.db, subjek, "step_up", decision, distance, "")
    if decision == "review":  # another selfie would land in the same band: a person decides
        return Outcome("ditinjau", "Wajah Anda belum bisa dipastikan cocok dengan data akun secara daring.",
                       distance=distance)
    if decision != "match":
        ratelimit.record_failure(idn.db, FACE_PER_SUBJECT, subjek)
        return Outcome("ulang", "Wajah tidak cocok dengan data akun. Coba lagi di tempat yang terang, dengan wajah "
                                "langsung di depan kamera.", distance=distance)
    with write(idn.db):
        q.mark_face_checked(idn.db, akun["id"], kalender.stamp())
        q.release_counter_checks(idn.db, akun["id"])
    return Outcome("aktif", "Wajah terverifikasi.", akun["id"], distance)


def assurance(db: Database, akun_id: int) -> dict:
    """What an officer or the citizen reads about an account's identity: its levels so far and the last face check."""
    return {"riwayat": q.assurance_history(db, akun_id), "wajah": q.last_face_check(db, f"akun:{akun_id}")}


def reviews_waiting(db: Database, wilayah_kode: str) -> list[dict]:
    return q.reviews_for_region(db, wilayah_kode)


def review_in_region(db: Database, tinjauan_id: int, wilayah_kode: str) -> dict | None:
    return q.get_review(db, tinjauan_id, wilayah_kode)


# --- At the counter: an officer who checks the KTP-el in person ------------------------------------------------

@dataclass
class DeskView:
    """What a Disdukcapil officer sees for one NIK at the identity desk."""

    nik: str
    resident: Resident | None = None
    akun: dict | None = None
    history: list[dict] = field(default_factory=list)
    review: dict | None = None
    can_reclaim: bool = False


def desk_lookup(idn: Identity, nik: str) -> DeskView:
    nik = "".join(ch for ch in nik if angka.is_digits(ch))[:16]
    view = DeskView(nik=nik, resident=idn.registry.lookup(nik) if len(nik) == 16 else None)
    view.akun = q.account_by_nik(idn.db, nik) if view.resident else None
    if view.akun:
        view.history = q.assurance_history(idn.db, view.akun["id"])
        view.review = q.open_review_of_account(idn.db, view.akun["id"])
        view.can_reclaim = view.akun["tingkat"] != "terverifikasi_petugas"
    else:
        view.can_reclaim = view.resident is not None
    return view


def desk_lookup_audited(idn: Identity, officer: dict, nik: str) -> DeskView:
    """The desk view of a NIK, with the look-up itself in the audit log (who looked at whose identity)."""
    view = desk_lookup(idn, nik)
    if view.resident is not None:
        audit.append(idn.db, officer["id"], "lihat_identitas", f"nik:{view.nik}",
                     {"akun": view.akun["id"] if view.akun else None}, waktu=kalender.stamp())
    return view


def _counter_template(idn: Identity, resident: Resident, photo: bytes) -> tuple[np.ndarray | None, float | None, str]:
    """The photo taken at the counter, compared with the registry's photo where there is one."""
    try:
        template = idn.engine.encode(photo)
    except BiometricRejected as e:
        return None, None, e.message
    if resident.templat_wajah is None:
        return template, None, ""
    distance = face_distance(template, resident.templat_wajah)
    if decide(distance, idn.thresholds) == "no_match":
        return None, distance, ("Wajah pada foto gerai tidak cocok dengan foto KTP-el di data kependudukan. "
                                "Periksa kembali orangnya; bila KTP-el memang miliknya, ajukan pemutakhiran foto.")
    return template, distance, ""


def verify_in_person(idn: Identity, officer: dict, nik: str, photo: bytes, ktp_checked: bool) -> Outcome:
    """The account holder is at the counter with their KTP-el: raise to ``terverifikasi_petugas``.

    Also lifts a "bukan saya" suspension, since the person present is the one the registry names.
    """
    if not ktp_checked:
        return Outcome("ulang", "Centang bahwa KTP-el asli sudah diperiksa dan cocok dengan orang yang hadir.")
    view = desk_lookup(idn, nik)
    if view.resident is None or view.akun is None:
        return Outcome("ulang", "NIK ini belum memiliki akun. Gunakan formulir pembuatan akun di gerai.")
    template, distance, error = _counter_template(idn, view.resident, photo)
    if template is None:
        return Outcome("ulang", error)
    with write(idn.db):
        akun = q.account_by_nik(idn.db, view.akun["nik"])  # another desk may have reclaimed the NIK since
        if akun is None or akun["id"] != view.akun["id"]:
            return Outcome("ulang", "Akun NIK ini baru saja diubah di meja lain. Cari NIK ini lagi lalu ulangi.")
        q.set_account_template(idn.db, akun["id"], seal(template, idn.key, f"akun:{akun['id']}"))
        q.set_level(idn.db, akun["id"], "terverifikasi_petugas")
        q.mark_face_checked(idn.db, akun["id"], kalender.stamp())
        q.release_counter_checks(idn.db, akun["id"])
        if akun["status"] == "ditangguhkan":
            q.set_account_status(idn.db, akun["id"], "aktif")
            q.release_applications(idn.db, akun["id"])
        if q.registry_lacks_photo(idn.db, akun["nik"]):
            q.set_registry_template(idn.db, akun["nik"], seal(template, idn.key, f"penduduk:{akun['nik']}"))
        q.close_reviews_of_account(idn.db, akun["id"], "diaktifkan", officer["id"], kalender.stamp())
        q.record_face_check(idn.db, f"akun:{akun['id']}", "aktivasi", "match", distance, "petugas")
        q.record_assurance(idn.db, akun["id"], "terverifikasi_petugas", "gerai", jarak=distance,
                           petugas_id=officer["id"], keterangan="KTP-el diperiksa langsung")
        audit.append(idn.db, officer["id"], "verifikasi_tatap_muka", f"akun:{akun['id']}",
                     {"nik": akun["nik"], "ktp_diperiksa": True, "jarak": distance,
                      "dipulihkan": akun["status"] == "ditangguhkan"}, waktu=kalender.stamp())
    return Outcome("aktif", f"Akun {akun['nama']} terverifikasi tatap muka.", akun["id"], distance)


def send_counter_code(idn: Identity, officer: dict, nik: str, telepon: str, ip: str) -> otp.CodeResult:
    nik = "".join(ch for ch in nik if angka.is_digits(ch))[:16]
    phone = normalise_phone(telepon)
    if not phone:
        return otp.CodeResult(False, "Isi nomor HP pemilik NIK yang aktif, misalnya 0812 3456 7890.")
    return otp.send_code(idn.db, idn.subkey("otp"), f"klaim:{nik}:{officer['id']}", phone, ip)


@dataclass
class ReclaimInput:
    nik: str
    telepon: str
    kode: str
    kata_sandi: str
    photo: bytes
    ktp_checked: bool


def reclaim(idn: Identity, officer: dict, form: ReclaimInput) -> Outcome:
    """The NIK's owner, verified in person, takes the NIK: a new account at ``terverifikasi_petugas``.

    An account that holds the NIK without an in-person check is frozen: its NIK
    and number are released, its sessions end, its unfinished applications are
    held, its issued documents revoked; both numbers get an SMS; all audited.
    """
    if not form.ktp_checked:
        return Outcome("ulang", "Centang bahwa KTP-el asli sudah diperiksa dan cocok dengan orang yang hadir.")
    view = desk_lookup(idn, form.nik)
    if view.resident is None:
        return Outcome("ulang", "NIK tidak ditemukan di data kependudukan.")
    if not view.can_reclaim:
        return Outcome("ulang", "Akun NIK ini sudah diverifikasi tatap muka oleh petugas, sehingga tidak dapat "
                                "diambil alih di gerai. Teruskan ke Disdukcapil untuk pemeriksaan lebih lanjut.")
    phone = normalise_phone(form.telepon)
    if len(form.kata_sandi) < MIN_PASSWORD:
        return Outcome("ulang", f"Kata sandi baru minimal {MIN_PASSWORD} karakter (diketik oleh pemilik NIK).")
    if _phone_held_by_other(idn, phone, view.akun["id"] if view.akun else None):
        return Outcome("ulang", "Nomor HP ini dipakai akun lain. Gunakan nomor lain milik pemilik NIK.")
    checked = otp.check_code(idn.db, idn.subkey("otp"), f"klaim:{view.nik}:{officer['id']}", phone, form.kode)
    if not checked.ok:
        return Outcome("ulang", checked.message)
    template, distance, error = _counter_template(idn, view.resident, form.photo)
    if template is None:
        return Outcome("ulang", error)
    old = view.akun
    with write(idn.db):
        if _phone_held_by_other(idn, phone, old["id"] if old else None):
            return Outcome("ulang", "Nomor HP ini baru saja dipakai akun lain. Gunakan nomor lain milik pemilik NIK.")
        holder = q.account_by_nik(idn.db, view.nik)  # another desk may have reclaimed it since the look-up
        if holder is not None and (old is None or holder["id"] != old["id"]):
            return Outcome("ulang", "NIK ini baru saja mendapat akun. Cari NIK ini lagi lalu ulangi.")
        held, revoked = 0, []
        if old is not None:
            held = q.hold_applications(idn.db, old["id"], "klaim_gerai")
            revoked = q.revoke_documents_of(idn.db, old["id"], "identitas_diambil_alih", officer["id"],
                                            kalender.stamp())
            q.close_reviews_of_account(idn.db, old["id"], "ditolak", officer["id"], kalender.stamp())
            q.release_frozen_account(idn.db, old["id"])
        reg = {"nik": view.nik, "nama": view.resident.nama, "telepon": phone,
               "kata_sandi": hash_password(form.kata_sandi), "persetujuan_biometrik":
               kalender.stamp()}
        akun_id = q.create_citizen(idn.db, reg, "terverifikasi_petugas", officer["wilayah_kode"], kalender.stamp())
        q.set_account_template(idn.db, akun_id, seal(template, idn.key, f"akun:{akun_id}"))
        q.record_assurance(idn.db, akun_id, "terdaftar", "sms", petugas_id=officer["id"],
                           keterangan=f"nomor {mask_phone(phone)}, kode dibacakan di gerai")
        q.record_assurance(idn.db, akun_id, "terverifikasi_petugas", "klaim_gerai" if old else "gerai",
                           jarak=distance, petugas_id=officer["id"], keterangan="KTP-el diperiksa langsung")
        audit.append(idn.db, officer["id"], "klaim_nik" if old else "akun_di_gerai", f"akun:{akun_id}", {
            "nik": view.nik, "akun_dibekukan": old["id"] if old else None,
            "nomor_lama": mask_phone(old["telepon"]) if old else None, "permohonan_ditahan": held,
            "dokumen_dicabut": revoked, "ktp_diperiksa": True, "jarak": distance}, waktu=kalender.stamp())
        now = kalender.seconds()
        if old is not None and old["telepon"]:
            outbox.enqueue(idn.db, old["id"], "sms", old["telepon"],
                           f"MPP Digital: akun untuk NIK {mask_nik(view.nik)} dibekukan karena pemilik sah NIK "
                           "telah diverifikasi petugas di MPP. Bila ini keliru, datang ke MPP dengan KTP-el.", now)
        outbox.enqueue(idn.db, akun_id, "sms", phone,
                       "MPP Digital: akun Anda aktif dan terverifikasi tatap muka."
                       + (f" Akun lain atas NIK Anda dibekukan; {held} permohonan ditahan, {len(revoked)} "
                          "dokumen dicabut." if old else ""), now)
    what = (f" Akun lama dibekukan, {held} permohonan ditahan, {len(revoked)} dokumen dicabut." if old else "")
    return Outcome("aktif", f"Akun {view.resident.nama} aktif dan terverifikasi tatap muka.{what}", akun_id, distance)


def activate_at_counter(idn: Identity, officer: dict, tinjauan_id: int, photo: bytes, ktp_checked: bool) -> Outcome:
    """A review on the officer's list: the person came; the officer checks the KTP-el and takes a photo."""
    review = q.get_review(idn.db, tinjauan_id, officer["wilayah_kode"])
    if review is None or review["status"] != "menunggu":
        return Outcome("ulang", "Tinjauan tidak ditemukan atau sudah diputuskan.")
    if review["akun_id"]:
        return verify_in_person(idn, officer, review["nik"], photo, ktp_checked)
    return _activate_waiting_registration(idn, officer, review, photo, ktp_checked)


def _activate_waiting_registration(idn: Identity, officer: dict, review: dict, photo: bytes,
                                   ktp_checked: bool) -> Outcome:
    """Registrations made before phone codes existed waited here without an account."""
    if not ktp_checked:
        return Outcome("ulang", "Centang bahwa KTP-el asli sudah diperiksa dan cocok dengan pemohon.")
    try:
        template = idn.engine.encode(photo)
    except BiometricRejected as e:
        return Outcome("ulang", e.message)
    reg = q.get_registration(idn.db, review["pendaftaran_id"])
    with write(idn.db):
        if q.account_by_nik(idn.db, reg["nik"]) or _phone_held_by_other(idn, reg["telepon"], None):
            return Outcome("ulang", "NIK atau nomor HP ini sudah memiliki akun. Cari NIK ini di meja identitas.")
        akun_id = q.create_citizen(idn.db, reg, "terverifikasi_petugas", review["wilayah_kode"], kalender.stamp())
        q.set_account_template(idn.db, akun_id, seal(template, idn.key, f"akun:{akun_id}"))
        q.set_registration_status(idn.db, reg["id"], "selesai", akun_id)
        if q.registry_lacks_photo(idn.db, reg["nik"]):
            q.set_registry_template(idn.db, reg["nik"], seal(template, idn.key, f"penduduk:{reg['nik']}"))
        q.close_review(idn.db, review["id"], "diaktifkan", officer["id"], kalender.stamp())
        q.record_face_check(idn.db, f"akun:{akun_id}", "aktivasi", "match", None, "petugas")
        q.record_assurance(idn.db, akun_id, "terverifikasi_petugas", "gerai", petugas_id=officer["id"],
                           keterangan="KTP-el diperiksa langsung")
        audit.append(idn.db, officer["id"], "aktivasi_akun", f"tinjauan:{review['id']}",
                     {"nik": reg["nik"], "alasan": review["alasan"], "akun": akun_id, "ktp_diperiksa": True},
                     waktu=kalender.stamp())
    return Outcome("aktif", f"Akun {reg['nama']} aktif.", akun_id)


def reject_at_counter(idn: Identity, officer: dict, tinjauan_id: int, reason: str) -> Outcome:
    review = q.get_review(idn.db, tinjauan_id, officer["wilayah_kode"])
    if review is None or review["status"] != "menunggu":
        return Outcome("ulang", "Tinjauan tidak ditemukan atau sudah diputuskan.")
    if not reason.strip():
        return Outcome("ulang", "Tuliskan alasan penolakan.")
    with write(idn.db):
        q.close_review(idn.db, tinjauan_id, "ditolak", officer["id"], kalender.stamp())
        if not review["akun_id"]:
            q.set_registration_status(idn.db, review["pendaftaran_id"], "ditolak")
        audit.append(idn.db, officer["id"], "tolak_aktivasi", f"tinjauan:{tinjauan_id}",
                     {"nik": review["nik"], "alasan": reason.strip()[:500]}, waktu=kalender.stamp())
    return Outcome("ditolak", "Tinjauan ditolak.")


# --- The citizen's own phone number -----------------------------------------------------------------------------

def start_phone_change(idn: Identity, akun: dict, telepon: str, ip: str) -> tuple[str, otp.CodeResult]:
    """Send a code to the new number; the number changes only once the code comes back."""
    phone = normalise_phone(telepon)
    if not phone:
        return "", otp.CodeResult(False, "Isi nomor HP yang aktif, misalnya 0812 3456 7890.")
    # whether another account holds the number is said only once the code proves it (confirm_phone_change)
    if phone == akun.get("telepon"):
        return "", otp.CodeResult(False, "Nomor ini sudah menjadi nomor akun Anda.")
    return phone, otp.send_code(idn.db, idn.subkey("otp"), f"telepon:{akun['id']}", phone, ip, akun_id=akun["id"])


def confirm_phone_change(idn: Identity, akun: dict, telepon: str, code: str) -> Outcome:
    phone = normalise_phone(telepon)
    checked = otp.check_code(idn.db, idn.subkey("otp"), f"telepon:{akun['id']}", phone, code)
    if not checked.ok:
        return Outcome("ulang", checked.message)
    with write(idn.db):
        if _phone_held_by_other(idn, phone, akun["id"]):
            return Outcome("ulang", "Nomor HP ini sudah dipakai akun lain. Gunakan nomor lain.")
        old = akun.get("telepon")
        q.set_phone(idn.db, akun["id"], phone)
        level = jaminan.higher(akun["tingkat"], "terdaftar")
        q.set_level(idn.db, akun["id"], level)
        q.record_assurance(idn.db, akun["id"], "terdaftar", "sms",
                           keterangan=f"nomor diganti ke {mask_phone(phone)}" if old else f"nomor {mask_phone(phone)}")
        if old:
            outbox.enqueue(idn.db, akun["id"], "sms", old,
                           f"MPP Digital: nomor HP akun Anda diganti ke {mask_phone(phone)}. Bukan Anda? Datang ke "
                           "MPP dengan KTP-el.", kalender.seconds())
    return Outcome("aktif", f"Nomor HP akun Anda sekarang {mask_phone(phone)}.", akun["id"])


def enrol_registry_photo(idn: Identity, nik: str, photo: bytes) -> None:
    """Operator CLI: put a reference face into the embedded registry."""
    q.set_registry_template(idn.db, nik, seal(idn.engine.encode(photo), idn.key, f"penduduk:{nik}"))
