"""One account per NIK, proven by the registry and a selfie.

Registration: the NIK, name and birth date must match the population registry;
then a selfie (three small frames answering a random head-pose challenge) must
match the registry's reference photo. Only then is an account created — so
nobody can claim someone else's NIK by knowing their data. Selfies never leave
this module: they become a template (encrypted at rest) and are dropped.

Outcomes a citizen sees: account active ("terverifikasi wajah"); try again
(with the reason); or "come to the MPP counter" — when the registry has no
photo, the distance falls in the review band, the face resembles another NIK's
account, or the phone had no camera script (a single photo proves no liveness).
"""

from __future__ import annotations

import datetime as dt
import json
import re
import time
import unicodedata
from dataclasses import dataclass, field

import numpy as np
from sqlite_utils import Database

from biometrics.engine import FaceEngine
from biometrics.errors import BiometricRejected
from biometrics.liveness import POSE_INSTRUCTIONS, Challenge, check_liveness, issue_challenge
from biometrics.matching import Thresholds, decide, face_distance, search
from biometrics.templates import SealError, open_sealed, seal
from db import audit, identitas as q
from db.connection import write
from integrations.dukcapil import Dukcapil, Resident
from services import nik as nik_rules
from services import ratelimit
from services.passwords import hash_password

CHALLENGE_TTL_S = 300
FACE_PER_SUBJECT = ratelimit.Limit("wajah:subjek", 5, 3600)
FACE_PER_IP = ratelimit.Limit("wajah:ip", 20, 3600)
MIN_PASSWORD = 8
_PHONE = re.compile(r"^(?:\+?62|0)8\d{7,12}$")


@dataclass
class Identity:
    """What identity checks need, built once per process by the app."""

    db: Database
    registry: Dukcapil
    engine: FaceEngine
    key: bytes
    thresholds: Thresholds
    stepup_minutes: int = 30


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

    def birth_date(self) -> dt.date | None:
        try:
            return dt.date(int(self.tahun), int(self.bulan), int(self.hari))
        except (TypeError, ValueError):
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


def check_registration(idn: Identity, form: RegistrationInput) -> Resident | None:
    """Fill ``form.errors`` (field → message); return the registry record when all is well."""
    errors = form.errors
    born = form.birth_date()
    if born is None or born > dt.date.today() or born.year < 1900:
        errors["hari"] = "Isi tanggal lahir yang benar, misalnya 15 8 1990."
    if form.jenis_kelamin not in ("L", "P"):
        errors["jenis_kelamin"] = "Pilih jenis kelamin."
    checked = nik_rules.check(idn.db, form.nik, born, form.jenis_kelamin or None)
    if checked.errors:
        errors["nik"] = checked.errors[0]
    if not form.nama.strip():
        errors["nama"] = "Isi nama lengkap sesuai KTP-el."
    phone = normalise_phone(form.telepon)
    if not phone:
        errors["telepon"] = "Isi nomor HP yang aktif, misalnya 0812 3456 7890."
    if len(form.kata_sandi) < MIN_PASSWORD:
        errors["kata_sandi"] = f"Kata sandi minimal {MIN_PASSWORD} karakter."
    if not form.setuju:
        errors["setuju"] = "Centang persetujuan pemrosesan data wajah untuk melanjutkan."
    if errors:
        return None
    form.nik, form.telepon = checked.nik, phone
    taken = q.account_exists_for(idn.db, checked.nik, phone)
    if taken == "nik":
        errors["nik"] = "NIK ini sudah memiliki akun. Silakan masuk, atau datang ke MPP bila Anda tidak membuatnya."
        return None
    if taken == "telepon":
        errors["telepon"] = "Nomor HP ini sudah dipakai akun lain. Gunakan nomor lain."
        return None
    resident = idn.registry.lookup(checked.nik)
    if resident is None or normalise_name(resident.nama) != normalise_name(form.nama) \
            or resident.tanggal_lahir != born.isoformat():
        errors["nik"] = ("Data tidak cocok dengan data kependudukan (Dukcapil). Periksa NIK, nama, "
                         "dan tanggal lahir sesuai KTP-el.")
        return None
    return resident


def start_registration(idn: Identity, form: RegistrationInput) -> int | None:
    """Check the form against the registry; on success keep a pending registration (no account yet)."""
    resident = check_registration(idn, form)
    if resident is None:
        return None
    now = dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    return q.create_registration(idn.db, form.nik, resident.nama, form.telepon,
                                 hash_password(form.kata_sandi), now)


def challenge_for(idn: Identity, subjek: str) -> Challenge:
    """The current unexpired challenge of ``subjek``, or a new one (a reload keeps the same poses)."""
    row = q.latest_challenge(idn.db, subjek)
    if row and time.time() - row["dibuat"] < CHALLENGE_TTL_S - 60:
        return Challenge(tuple(json.loads(row["pose"])), row["nonce"], row["dibuat"])
    ch = issue_challenge()
    q.store_challenge(idn.db, ch.nonce, subjek, list(ch.poses), ch.issued_at)
    return ch


def instructions(ch: Challenge) -> list[str]:
    return [POSE_INSTRUCTIONS[p] for p in ch.poses]


def _selfie_template(idn: Identity, subjek: str, nonce: str, frames: list[bytes], photo: bytes | None):
    """(template, liveness proven, error message). Frames need the challenge; one photo proves no liveness."""
    if frames:
        row = q.use_challenge(idn.db, nonce, subjek)
        if row is None or time.time() - row["dibuat"] > CHALLENGE_TTL_S:
            return None, False, "Waktu pemeriksaan habis atau sudah dipakai. Silakan ulangi dengan arahan baru."
        ch = Challenge(tuple(json.loads(row["pose"])), row["nonce"], row["dibuat"])
        result = check_liveness(frames, ch, engine=idn.engine)
        if not result.ok:
            return None, False, result.message
        return result.template, True, ""
    if not photo:
        return None, False, "Foto wajah belum terkirim. Ambil foto lalu kirim lagi."
    try:
        return idn.engine.encode(photo), False, ""
    except BiometricRejected as e:
        return None, False, e.message


def _open(idn: Identity, blob: bytes, owner: str) -> np.ndarray | None:
    try:
        return open_sealed(blob, idn.key, owner)
    except SealError:
        return None


def duplicates(idn: Identity, template: np.ndarray, nik: str) -> list[tuple[str, float]]:
    """1:N — enrolled accounts of *other* NIKs whose face is within the review band."""
    enrolled = ((row["nik"], t) for row in q.enrolled_templates(idn.db)
                if (t := _open(idn, row["templat_wajah"], f"akun:{row['id']}")) is not None)
    return [(k, d) for k, d in search(template, enrolled, max_distance=idn.thresholds.review_max) if k != nik]


def verify_registration(idn: Identity, pendaftaran_id: int, nonce: str, frames: list[bytes],
                        photo: bytes | None, ip: str) -> Outcome:
    reg = q.get_registration(idn.db, pendaftaran_id)
    if reg is None or reg["status"] != "menunggu_wajah":
        return Outcome("ditinjau" if reg and reg["status"] == "ditinjau" else "ulang",
                       "Pendaftaran ini sudah diproses.", reg["akun_id"] if reg else None)
    subjek = f"pendaftaran:{pendaftaran_id}"
    if ratelimit.blocked(idn.db, FACE_PER_SUBJECT, reg["nik"]) or ratelimit.blocked(idn.db, FACE_PER_IP, ip):
        return Outcome("terkunci", "Terlalu banyak percobaan verifikasi wajah. Coba lagi 1 jam lagi, "
                                   "atau datang ke MPP untuk aktivasi dibantu petugas.")
    region = nik_rules.current_kecamatan_code(reg["nik"][:6])[:4]
    resident = idn.registry.lookup(reg["nik"])
    if resident is None or resident.templat_wajah is None:
        q.record_face_check(idn.db, subjek, "daftar", "tanpa_foto", None, "")
        return _to_counter(idn, reg, region, "tanpa_foto", "Data kependudukan belum memiliki foto rujukan.")
    template, live, error = _selfie_template(idn, subjek, nonce, frames, photo)
    if template is None:
        ratelimit.record_failure(idn.db, FACE_PER_SUBJECT, reg["nik"])
        ratelimit.record_failure(idn.db, FACE_PER_IP, ip)
        q.record_face_check(idn.db, subjek, "daftar", "ditolak", None, error)
        return Outcome("ulang", error)
    distance = face_distance(template, resident.templat_wajah)
    decision = decide(distance, idn.thresholds)
    q.record_face_check(idn.db, subjek, "daftar", decision, distance, "" if live else "tanpa_liveness")
    if decision == "no_match":
        ratelimit.record_failure(idn.db, FACE_PER_SUBJECT, reg["nik"])
        ratelimit.record_failure(idn.db, FACE_PER_IP, ip)
        return Outcome("ulang", "Wajah tidak cocok dengan foto KTP-el di data kependudukan. Coba lagi di tempat "
                                "yang terang, atau datang ke MPP untuk aktivasi dibantu petugas.", distance=distance)
    dups = duplicates(idn, template, reg["nik"])
    if dups:
        return _to_counter(idn, reg, region, "duplikat_wajah",
                           json.dumps({"mirip_nik": [k for k, _ in dups[:3]]}), distance)
    if decision == "review":
        return _to_counter(idn, reg, region, "zona_tinjauan", f"jarak {distance:.3f}", distance)
    if not live:
        return _to_counter(idn, reg, region, "tanpa_liveness", f"jarak {distance:.3f}", distance)
    akun_id = _create_account(idn, reg, region, template, "terverifikasi_wajah")
    return Outcome("aktif", "Akun Anda aktif dan terverifikasi wajah.", akun_id, distance)


def _to_counter(idn: Identity, reg: dict, region: str, reason: str, detail: str,
                distance: float | None = None) -> Outcome:
    q.open_review(idn.db, reg["id"], region, reason, detail)
    return Outcome("ditinjau", "Data Anda perlu diperiksa petugas. Datang ke MPP dengan membawa KTP-el; "
                               "petugas akan mengaktifkan akun Anda di tempat.", distance=distance)


def _create_account(idn: Identity, reg: dict, region: str, template: np.ndarray, level: str) -> int:
    with write(idn.db):
        akun_id = q.create_citizen(idn.db, reg, level, region)
        q.set_account_template(idn.db, akun_id, seal(template, idn.key, f"akun:{akun_id}"))
        q.set_registration_status(idn.db, reg["id"], "selesai", akun_id)
    return akun_id


def needs_step_up(akun: dict, minutes: int, now: dt.datetime | None = None) -> bool:
    """True when the last face check is older than ``minutes`` (or never happened)."""
    if not akun.get("wajah_terakhir"):
        return True
    last = dt.datetime.strptime(akun["wajah_terakhir"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=dt.timezone.utc)
    now = now or dt.datetime.now(dt.timezone.utc)
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
    """A fresh selfie against the account's own enrolled template, before a sensitive action."""
    subjek = f"akun:{akun['id']}"
    if ratelimit.blocked(idn.db, FACE_PER_SUBJECT, subjek) or ratelimit.blocked(idn.db, FACE_PER_IP, ip):
        return Outcome("terkunci", "Terlalu banyak percobaan verifikasi wajah. Coba lagi 1 jam lagi.")
    references = _references(idn, akun)
    if not references:
        return Outcome("ditinjau", "Akun Anda belum memiliki data wajah. Datang ke MPP untuk aktivasi.")
    template, live, error = _selfie_template(idn, subjek, nonce, frames, photo)
    if template is None or not live:
        ratelimit.record_failure(idn.db, FACE_PER_SUBJECT, subjek)
        ratelimit.record_failure(idn.db, FACE_PER_IP, ip)
        q.record_face_check(idn.db, subjek, "step_up", "ditolak", None, error or "tanpa_liveness")
        return Outcome("ulang", error or "Verifikasi ulang perlu kamera dengan arahan gerakan kepala.")
    distance = min(face_distance(template, ref) for ref in references)
    decision = decide(distance, idn.thresholds)
    q.record_face_check(idn.db, subjek, "step_up", decision, distance, "")
    if decision != "match":
        ratelimit.record_failure(idn.db, FACE_PER_SUBJECT, subjek)
        return Outcome("ulang", "Wajah tidak cocok dengan data akun. Coba lagi di tempat yang terang.",
                       distance=distance)
    q.mark_face_checked(idn.db, akun["id"])
    return Outcome("aktif", "Wajah terverifikasi.", akun["id"], distance)


def activate_at_counter(idn: Identity, officer: dict, tinjauan_id: int, photo: bytes, ktp_checked: bool) -> Outcome:
    """An officer who checked the KTP-el in person captures the reference photo and activates the account."""
    review = q.get_review(idn.db, tinjauan_id, officer["wilayah_kode"])
    if review is None or review["status"] != "menunggu":
        return Outcome("ulang", "Tinjauan tidak ditemukan atau sudah diputuskan.")
    if not ktp_checked:
        return Outcome("ulang", "Centang bahwa KTP-el asli sudah diperiksa dan cocok dengan pemohon.")
    try:
        template = idn.engine.encode(photo)
    except BiometricRejected as e:
        return Outcome("ulang", e.message)
    reg = q.get_registration(idn.db, review["pendaftaran_id"])
    if q.account_exists_for(idn.db, reg["nik"]):
        return Outcome("ulang", "NIK ini sudah memiliki akun.")
    with write(idn.db):
        akun_id = _create_account(idn, reg, review["wilayah_kode"], template, "terverifikasi_petugas")
        if q.registry_lacks_photo(idn.db, reg["nik"]):
            q.set_registry_template(idn.db, reg["nik"], seal(template, idn.key, f"penduduk:{reg['nik']}"))
        q.close_review(idn.db, tinjauan_id, "diaktifkan", officer["id"])
        q.record_face_check(idn.db, f"akun:{akun_id}", "aktivasi", "match", None, "petugas")
        audit.append(idn.db, officer["id"], "aktivasi_akun", f"tinjauan:{tinjauan_id}",
                     {"nik": reg["nik"], "alasan": review["alasan"], "akun": akun_id, "ktp_diperiksa": True})
    return Outcome("aktif", f"Akun {reg['nama']} aktif.", akun_id)


def reject_at_counter(idn: Identity, officer: dict, tinjauan_id: int, reason: str) -> Outcome:
    review = q.get_review(idn.db, tinjauan_id, officer["wilayah_kode"])
    if review is None or review["status"] != "menunggu":
        return Outcome("ulang", "Tinjauan tidak ditemukan atau sudah diputuskan.")
    if not reason.strip():
        return Outcome("ulang", "Tuliskan alasan penolakan.")
    with write(idn.db):
        q.close_review(idn.db, tinjauan_id, "ditolak", officer["id"])
        q.set_registration_status(idn.db, review["pendaftaran_id"], "ditolak")
        audit.append(idn.db, officer["id"], "tolak_aktivasi", f"tinjauan:{tinjauan_id}",
                     {"nik": review["nik"], "alasan": reason.strip()[:500]})
    return Outcome("ulang", "Pendaftaran ditolak.")


def enrol_registry_photo(idn: Identity, nik: str, photo: bytes) -> None:
    """Operator CLI: put a reference face into the embedded registry."""
    q.set_registry_template(idn.db, nik, seal(idn.engine.encode(photo), idn.key, f"penduduk:{nik}"))
