"""Applications (permohonan): draft → check answers → submit → officers decide → signed document.

Every answer is saved as the citizen types (a draft survives a dropped line or a
new session); submit runs every check again, gives the registration number and
the SLA due date in the region's working days; officers of the agency that runs
the service in that region move it on, each action audited; health-worker
permits not decided within their legal 5 working days are issued automatically
("fiktif positif", UU 30/2014 art. 53 as amended) and the record says so.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, replace

from sqlite_utils import Database

from db import audit
from db import permohonan as q
from db import wilayah as wilayah_q
from db.connection import write
from db.spool import Spool
from integrations.dukcapil import Dukcapil, Member
from integrations.http import ServiceUnavailable
from integrations.penyimpanan import ObjectStore
from integrations.sisdmk import MAX_PRACTICE_PLACES, Sisdmk, StrRecord
from services import (
    angka,
    berkas,
    dokumen,
    identitas,
    jaminan,
    jejak,
    kalender,
    notifikasi,
    penyimpanan,
    perwalian,
    ratelimit,
    sekali_isi,
    skm,
    ttd,
)
from services import nik as nik_rules

STATUS = {
    "draf": "Draf", "diajukan": "Diajukan", "diverifikasi": "Berkas diverifikasi",
    "perlu_perbaikan": "Perlu perbaikan", "disetujui": "Disetujui", "ditolak": "Ditolak", "selesai": "Selesai",
}
NEXT_STEP = {
    "draf": "Lengkapi formulir, periksa jawaban, lalu ajukan.",
    "diajukan": "Petugas akan memeriksa berkas Anda.",  # the SMS promise depends on a phone: permohonan.html
    "diverifikasi": "Berkas lengkap. Permohonan sedang divalidasi dan menunggu persetujuan.",
    "perlu_perbaikan": "Perbaiki isian yang ditandai, lalu ajukan kembali.",
    "disetujui": "Disetujui. Dokumen sedang ditandatangani secara elektronik.",
    "ditolak": "Permohonan ditolak. Baca alasannya; Anda dapat mengajukan permohonan baru atau pengaduan.",
    "selesai": "Dokumen sudah terbit. Unduh atau cetak dokumen Anda.",
}
# The audit log's names of actions on an application, as the citizen's page lists them ("Siapa yang membuka
# permohonan Anda"); an officer action's own name (buka, verifikasi, setujui, terbitkan, perbaikan, tolak) is a word.
ACTION_WORDS = {
    "fiktif_positif": "dianggap dikabulkan (fiktif positif)", "fiktif_positif_ditunda": "fiktif positif ditunda",
    "cabut_dokumen": "cabut dokumen",
    "mulai_di_loket": "mulai mengisi di loket MPP", "ubah_di_loket": "ubah isian atau berkas di loket MPP",
    "ajukan_di_loket": "ajukan di loket MPP", "kode_lacak_baru": "buat kode pelacakan baru di loket MPP",
    "klaim_permohonan": "tambahkan ke akun pemohon",
}
HELD = ("Permohonan ini ditahan sementara identitas pemilik NIK diperiksa di gerai Disdukcapil MPP. "
        "Datang dengan KTP-el asli.")
# ``permohonan.ditahan`` = COUNTER_CHECK: submitted and worked on as usual, but its document is issued only after
# the applicant's KTP-el is checked in person (or a selfie succeeds): where a face step could not be done online.
COUNTER_CHECK = "tatap_muka"
COUNTER_NOTE = "Identitas pemohon diperiksa tatap muka di MPP sebelum dokumen terbit"


@dataclass(frozen=True)
class Action:
    """One officer action: who may take it, on which statuses, what it leads to, and how the case page offers it."""

    duty: str                     # the jabatan needed
    statuses: tuple[str, ...]     # the statuses it applies to
    new_status: str
    button: str                   # the button's text
    reason_label: str = ""        # the reason field's label; '' when the action takes no reason
    legend: str = ""              # the form's fieldset legend, if it has one
    pick_fields: bool = False     # the officer ticks the fields the citizen must fix


# the one table of officer actions, in the order the case page offers them
ACTIONS = {
    "verifikasi": Action("verifikator", ("diajukan",), "diverifikasi", "Berkas lengkap dan benar"),
    "setujui": Action("validator", ("diverifikasi",), "disetujui", "Setujui"),
    "terbitkan": Action("penandatangan", ("disetujui",), "selesai", "Tandatangani dan terbitkan dokumen"),
    "perbaikan": Action("verifikator", ("diajukan", "diverifikasi"), "perlu_perbaikan", "Kirim permintaan perbaikan",
                        reason_label="Alasan (dibaca pemohon)", legend="Minta perbaikan", pick_fields=True),
    "tolak": Action("validator", ("diajukan", "diverifikasi", "disetujui"), "ditolak", "Tolak permohonan",
                    reason_label="Alasan penolakan (wajib)"),
}

# the duties that process a service, in order (a service's "alur"): the full chain, or without a validator
FLOW_FULL = ("verifikator", "validator", "penandatangan")
FLOW_SHORT = ("verifikator", "penandatangan")


def actions_for(p: dict) -> dict[str, Action]:
    """The officer actions of this application's service: without a validator in its flow, verification
    approves at once, and the verifier is the one who may refuse."""
    out = dict(ACTIONS)
    if not p.get("terbitkan_dokumen", 1):  # the result is handed over at the counter: the signer closes the case
        out["terbitkan"] = replace(ACTIONS["terbitkan"], button="Selesaikan permohonan (hasil diserahkan di gerai)")
    if "validator" in p.get("alur", FLOW_FULL):
        return out
    base, out = out, {}
    for name, a in base.items():
        if name == "verifikasi":
            out[name] = replace(a, new_status="disetujui", button="Berkas lengkap dan benar: setujui")
        elif name == "tolak":
            out[name] = replace(a, duty="verifikator")
        elif name != "setujui":
            out[name] = a
    return out


@dataclass
class Pelayanan:
    """What application rules need: built once by web/wiring.py, with the client's address per request."""

    db: Database
    registry: Dukcapil
    sisdmk: Sisdmk
    signing_key: object  # Ed25519PrivateKey
    klien: str = "?"  # the client's address: looking up other people's NIKs is limited per client too
    objects: ObjectStore | None = None  # where uploaded documents are kept (integrations/penyimpanan.py)


class ActionRefused(ValueError):
    """An officer action refused; ``field`` names the form field the message is about ("alasan", "kolom"), if any."""

    def __init__(self, message: str, field: str = ""):
        super().__init__(message)
        self.message = message
        self.field = field


class NoPlaceLeft(ActionRefused):
    """A SIP that would hold a practice place beyond the limit on its STR."""

    def __init__(self, message: str, held: int):
        super().__init__(message)
        self.held = held


@dataclass(frozen=True)
class Start:
    """A draft about to be started (``GET /permohonan/baru`` shows it; ``POST`` starts it): the service as offered
    in the region, whom it is for, and the citizen's open draft for exactly that, if there is one."""

    layanan_id: int
    layanan_nama: str
    wilayah_kode: str
    wilayah_nama: str
    instansi_id: int
    untuk_nik: str | None
    untuk_nama: str | None
    perwalian_id: int | None
    draf_id: int | None


def find_start(pel: Pelayanan, akun: dict, slug: str, wilayah_kode: str, untuk: str = "") -> Start | None:
    """What starting a draft for ``slug`` in ``wilayah_kode`` (for ``untuk``, a member of the citizen's Kartu
    Keluarga or a ward) means, read only: None when the service is not offered there or the registry does not
    list that NIK as the citizen's (ServiceUnavailable when it does not answer)."""
    offer = q.offering(pel.db, slug, wilayah_kode)
    if offer is None:
        return None
    member, guardianship = None, None
    if untuk and untuk != akun["nik"]:  # the registry is asked; when it does not answer, the app says so (503)
        on_kk, wards = _family(pel, akun, quiet=False)
        member = next((m for m in on_kk if m.nik == untuk), None)
        if member is None:  # not on the KK: only with a guardianship recorded at the counter
            member = next((m for m in wards if m.nik == untuk), None)
            if member is None:
                return None
            guardianship = perwalian.record_id(pel.db, akun, member.nik)
    nik, nama = (member.nik, member.nama) if member else (None, None)
    return Start(offer["layanan_id"], offer["layanan_nama"], wilayah_kode, offer["wilayah_nama"],
                 offer["instansi_id"], nik, nama, guardianship,
                 q.open_draft(pel.db, akun["id"], offer["layanan_id"], wilayah_kode, nik))


def start(pel: Pelayanan, akun: dict, slug: str, wilayah_kode: str, untuk: str = "") -> int | None:
    """The citizen's draft for a service in a region (None when not offered there), for themselves or, with
    ``untuk``, for a member of their Kartu Keluarga (None when the registry does not list that NIK on it).
    Only a POST starts one (``find_start`` tells a GET what it would be)."""
    found = find_start(pel, akun, slug, wilayah_kode, untuk)
    if found is None:
        return None
    pid = found.draf_id or q.draft_for(pel.db, akun["id"], found.layanan_id, wilayah_kode, found.instansi_id,
                                       found.untuk_nik, found.untuk_nama, found.perwalian_id)
    sekali_isi.fill(pel.db, pel.registry, q.get(pel.db, pid))  # what the registry holds, stored with the draft
    return pid


def family_members(pel: Pelayanan, akun: dict, quiet: bool = True) -> list[Member]:
    """The other members of the citizen's Kartu Keluarga, as the population registry lists them, and the
    people an identity-desk officer recorded them as guardian of: the people a parent may apply for (a
    child's birth certificate, KIA). When the registry does not answer: empty with
    ``quiet`` (a page that only offers the choice), else ServiceUnavailable."""
    on_kk, wards = _family(pel, akun, quiet)
    return on_kk + [w for w in wards if w.nik not in {m.nik for m in on_kk}]


def _family(pel: Pelayanan, akun: dict, quiet: bool) -> tuple[list[Member], list[Member]]:
    """(the others on the citizen's KK by the registry, the wards recorded at the counter)."""
    wards = perwalian.wards(pel.db, akun) if akun.get("id") else []
    try:
        members = pel.registry.family_of(akun["nik"]) if akun.get("nik") else []
    except ServiceUnavailable:
        if quiet:
            return [], wards
        raise
    return [m for m in members if m.nik != akun["nik"]], wards


def for_citizen(db: Database, akun: dict, permohonan_id: int) -> dict | None:
    """The application if it is this citizen's; None otherwise (the route answers 404)."""
    p = q.get(db, permohonan_id)
    return p if p and p["akun_id"] == akun["id"] else None


def for_officer(db: Database, officer: dict, permohonan_id: int) -> dict | None:
    """The case if it belongs to this officer's agency in this region and is not a draft."""
    p = q.get(db, permohonan_id)
    if p is None or p["instansi_id"] != officer["instansi_id"] or p["status"] == "draf":
        return None
    return p


def citizen_applications(db: Database, akun: dict) -> list[dict]:
    """The citizen's applications, the most recently changed first."""
    return q.for_citizen(db, akun["id"])


def form_page(pel: Pelayanan, p: dict, reload: bool = False) -> dict:
    """What the form page shows: the application (read again after a save) with what the population registry
    fills (``dukcapil``: field → value shown read-only; ``catatan_dukcapil`` when it did not answer), its files,
    the fields to fix."""
    if reload:
        p = q.get(pel.db, p["id"])
    filled = sekali_isi.fill(pel.db, pel.registry, p, store=False)
    return {"p": filled.p, "dukcapil": filled.tetap, "catatan_dukcapil": filled.catatan,
            "berkas": q.files(pel.db, p["id"]), "perbaiki": fields_needing_fix(p)}


def file_of(db: Database, objects: ObjectStore, p: dict, berkas_id: int) -> penyimpanan.Download | None:
    """One uploaded file of the application, streamed from storage; None when it is not this application's.
    penyimpanan.FileMissing when its row names an object the store does not have."""
    row = q.file_content(db, p["id"], berkas_id)
    return penyimpanan.download(objects, row, row["nama_file"], row["jenis"]) if row else None


def step_up_due(akun: dict, p: dict, minutes: int) -> bool:
    """Whether "Ajukan" first asks for a fresh selfie (a document service, an account with face data)."""
    return bool(p["terbitkan_dokumen"] and minutes and identitas.needs_step_up(akun, minutes))


def review_page(pel: Pelayanan, akun: dict, p: dict, stepup_minutes: int, errors: dict | None = None) -> dict:
    """The check-answers page: every rule of the form (unless ``errors`` are given), the files, and what it
    says about identity: a selfie follows "Ajukan", or the counter checks it."""
    filled = sekali_isi.fill(pel.db, pel.registry, p, store=False)  # what the registry holds, as on the form page
    p = filled.p
    notes = level_notes(akun, p)
    due = step_up_due(akun, p, stepup_minutes)
    counter = "loket" in notes or p["ditahan"] == COUNTER_CHECK
    return {"p": p, "dukcapil": filled.tetap,
            "errors": check_answers(pel, p, counted_only=True) if errors is None else errors,
            "berkas": q.files(pel.db, p["id"]),
            "tingkat": notes, "swafoto": not notes.get("ajukan") and due,
            "loket": counter_visit(pel.db, p) if counter or due else None}


@dataclass
class Submitted:
    """What "Ajukan" led to: a fresh selfie first, the check page again with its messages, or done (neither)."""

    selfie_first: bool = False
    page: dict | None = None  # the check page's context, with the errors; shown with status 400


def submit_from_review(pel: Pelayanan, akun: dict, p: dict, stepup_minutes: int, without_selfie: bool) -> Submitted:
    """"Ajukan" on the check page. A document service for an account whose face check is old asks for a fresh
    selfie first, unless the citizen says they cannot take one ("tanpa_swafoto"): then the counter checks."""
    due = editable(p) and step_up_due(akun, p, stepup_minutes)
    if due and not without_selfie:
        return Submitted(selfie_first=True)
    errors = submit(pel, akun, p, None, without_selfie and due)
    if not errors:
        return Submitted()
    errors = {k: v for k, v in errors.items() if k != "tingkat"}
    return Submitted(page=review_page(pel, akun, p, stepup_minutes, errors))


def status_page(db: Database, p: dict, spool: Spool | None = None) -> dict:
    """The citizen's page of one application: its timeline, who opened it (with the openings still in this
    machine's ``spool``, so the list is never behind the officer), the document, the survey."""
    objek = f"permohonan:{p['id']}"
    rows = jejak.with_waiting(audit.for_object(db, objek), jejak.waiting_for(spool, objek))
    opened = [{**a, "aksi": ACTION_WORDS.get(a["aksi"], a["aksi"])} for a in rows]
    return {"riwayat": q.timeline(db, p["id"]), "dibuka": opened,
            "dokumen": dokumen.of_application(db, p["id"]), "perbaiki": fields_needing_fix(p),
            "skm_selesai": skm.done(db, objek),
            "loket": counter_visit(db, p) if p["ditahan"] == COUNTER_CHECK else None}


def inbox(db: Database, officer: dict, status: str | None, layanan_id: int | None, overdue_only: bool,
          page: int, per_page: int, after: int | None = None, before: int | None = None) -> dict:
    """The officer's inbox: their agency in their region only, oldest first, with days left to each deadline.

    ``page`` (from 1) counts pages from the start; ``after`` / ``before`` (a case id: the last / first case of
    the page the officer was on, as its "Berikutnya" / "Sebelumnya" links say) pages on from that case instead,
    without counting through the cases before it. An id that is not one of the agency's cases is ignored."""
    today = kalender.region_today(db, officer["wilayah_kode"])
    position = q.inbox_position(db, officer["instansi_id"], after or before) if after or before else None
    rows = q.inbox(db, officer["instansi_id"], status if status in STATUS else None, layanan_id,
                   today.isoformat() if overdue_only else None, per_page, (page - 1) * per_page,
                   after=position if after else None, before=position if before and not after else None)
    left = kalender.working_days_until(db, officer["wilayah_kode"], today,
                                       [dt.date.fromisoformat(r["tenggat"]) if r["tenggat"] else None for r in rows])
    for r, days in zip(rows, left, strict=True):
        r["terlambat"] = overdue(r, today)
        r["sisa"] = days
    return {"kasus": rows, "layanan": q.services_of_agency(db, officer["instansi_id"]),
            "ada_berikut": len(rows) == per_page}


def allowed_actions(officer: dict, p: dict) -> list[tuple[str, Action]]:
    """The actions the case page offers this officer on this case (by duty and status; the other rules of
    ``officer_action`` are told when one is pressed)."""
    duties = officer.get("jabatan", "").split(",")
    return [(name, a) for name, a in actions_for(p).items() if a.duty in duties and p["status"] in a.statuses]


def case_page(db: Database, officer: dict, p: dict, spool: Spool | None = None) -> dict:
    """What the officer's case page shows: answers, files, timeline, audit trail (with the openings still in this
    machine's ``spool``), the applicant's identity checks, the document, and the actions this officer may take."""
    known = identitas.assurance(db, p["akun_id"])
    objek = f"permohonan:{p['id']}"
    return {"p": p, "berkas": q.files(db, p["id"]), "riwayat": q.timeline(db, p["id"]),
            "audit": jejak.with_waiting(audit.for_object(db, objek), jejak.waiting_for(spool, objek)),
            "wajah": known["wajah"],
            "jaminan": known["riwayat"], "tingkat": jaminan.NAMES.get(p["pemohon_tingkat"], p["pemohon_tingkat"]),
            "cukup_terbit": jaminan.meets(p["pemohon_tingkat"], issue_level(p)),
            "jabatan": officer["jabatan"].split(","), "dokumen": dokumen.of_application(db, p["id"]),
            "tindakan": allowed_actions(officer, p)}


def open_case(db: Database, spool: Spool, officer: dict, p: dict) -> dict:
    """An officer opens a case: the access is recorded (the citizen sees who opened it), then the page. Opening is
    a GET, which writes nothing to SQLite: the access goes to the ``spool`` (durable before the page is sent) and
    from there, by the primary's background job, into the audit log with its own time (services/jejak.py)."""
    jejak.record_access(spool, officer, "buka", f"permohonan:{p['id']}")
    return case_page(db, officer, p, spool)


def level_notes(akun: dict, p: dict) -> dict[str, str]:
    """What the citizen's assurance level means for this application: may they submit, when is it issued."""
    notes = {}
    if not jaminan.meets(akun.get("tingkat"), p["tingkat_ajukan"]):
        notes["ajukan"] = jaminan.shortfall_message(p["tingkat_ajukan"], f"Mengajukan {p['layanan_nama']}")
    elif p["terbitkan_dokumen"] and not jaminan.meets(akun.get("tingkat"), p["tingkat_terbit"]):
        notes["terbit"] = (f"Anda dapat mengajukan sekarang. Dokumen baru diterbitkan setelah akun Anda "
                           f"\u201c{jaminan.SHORT[p['tingkat_terbit']]}\u201d: "
                           f"{jaminan.HOW_TO_REACH[p['tingkat_terbit']]}.")
    if p["ditahan"] and p["ditahan"] != COUNTER_CHECK:
        notes["ajukan"] = HELD
    elif notes.get("ajukan"):  # below the level: submitted all the same, the counter checks the identity
        notes["loket"] = notes.pop("ajukan")
    return notes


def counter_visit(db: Database, p: dict) -> dict:
    """Where and with what an applicant goes to have their identity checked in person (the MPP of the region)."""
    mpp = wilayah_q.get_mpp(db, p["wilayah_kode"]) or {}
    return {"mpp": mpp.get("nama") or f"MPP {p['wilayah_nama']}", "alamat": mpp.get("alamat", ""),
            "jam": mpp.get("jam_layanan", ""), "kode": p["wilayah_kode"] if mpp else "",
            "sms": bool(p.get("pemohon_telepon"))}


def issue_level(p: dict) -> str:
    """The level the applicant needs before the document is issued: never below the level to submit (an
    application submitted below it, for the counter to check, waits for that level too)."""
    return jaminan.higher(p["tingkat_ajukan"], p["tingkat_terbit"])


def editable(p: dict) -> bool:
    return p["status"] in sekali_isi.EDITABLE  # the statuses in which the citizen's answers may change


def fields_needing_fix(p: dict) -> list[str]:
    return p["perbaikan"].get("kolom", []) if p["status"] == "perlu_perbaikan" else []


def save(pel: Pelayanan, p: dict, answers: dict[str, str], uploads: dict[str, tuple[str, bytes]]) -> dict[str, str]:
    """Keep what the citizen typed (even if not yet valid) and every file that passes its checks.

    Returns messages for the fields that need attention now (bad files, malformed values).
    """
    if not editable(p):
        return {"_": "Permohonan ini sudah diajukan dan tidak dapat diubah."}
    fields = {f["nama"]: f for f in p["formulir"]}
    clean = {k: v.strip()[:2000] for k, v in answers.items() if k in fields and fields[k]["jenis"] != "berkas"}
    clean = sekali_isi.without_registry_fields(pel.db, pel.registry, p, clean)  # the registry's value wins
    if clean:
        q.save_answers(pel.db, p["id"], clean, kalender.stamp())
        _count_other_niks(pel, p, {k: v for k, v in clean.items() if fields[k]["jenis"] == "nik"})
    errors = {}
    for name, (filename, data) in uploads.items():
        if name not in fields or fields[name]["jenis"] != "berkas" or not data:
            continue
        try:
            checked = berkas.check(filename, data)
        except berkas.FileRejected as e:
            errors[name] = e.message
            continue
        # acknowledged only once the object is stored and verified and then its row committed: a failure between
        # the two leaves an object no row names, which the sweep removes (services/penyimpanan.py)
        key = penyimpanan.new_key(penyimpanan.BERKAS, p["id"])
        penyimpanan.put_verified(pel.objects, key, checked.data, checked.content_type, checked.sha256)
        replaced = q.save_file(pel.db, p["id"], name, checked.name, checked.content_type, checked.sha256,
                               len(checked.data), key)
        penyimpanan.forget(pel.objects, replaced)
    return errors


def with_registry_values(pel: Pelayanan, p: dict) -> dict:
    """The draft with what the population registry holds for it, stored (a submit's first step: the form and check
    pages, GETs, only show those values)."""
    return sekali_isi.fill(pel.db, pel.registry, p).p


def _count_other_niks(pel: Pelayanan, p: dict, niks: dict[str, str]) -> None:
    """Another person's NIK saved into a form counts now towards the daily limit of NIKs looked up in the registry
    (a POST), so the check-answers page, a GET, can look it up without writing (``counted_only``)."""
    for value in niks.values():
        checked = nik_rules.check(pel.db, value)
        if not checked.errors and checked.nik != p.get("pemohon_nik"):
            ratelimit.allow_other_nik(pel.db, p["akun_id"], pel.klien, checked.nik)


def check_answers(pel: Pelayanan, p: dict, counted_only: bool = False) -> dict[str, str]:
    """Every rule of the form, as on submit: field → message in Bahasa Indonesia. With ``counted_only`` (the
    check-answers page, a GET: it writes nothing) another person's NIK is looked up in the registry only when it
    was counted today (on its save); one not counted is left to the submit, or named when the limit is reached."""
    errors: dict[str, str] = {}
    files = q.files(pel.db, p["id"])
    data = p["data"]
    from_registry = set(data.get(sekali_isi.MARK) or ())
    for f in p["formulir"]:
        name, label, value = f["nama"], f["label"], str(data.get(f["nama"], "")).strip()
        if f["jenis"] == "berkas":
            if f["wajib"] and name not in files:
                errors[name] = f"Unggah {label.lower()}."
            continue
        if not value:
            if f["wajib"]:
                errors[name] = f"{label} wajib diisi."
            continue
        if name in from_registry:
            continue  # the population registry's own value: nothing the citizen could correct here
        message = _check_value(pel, f, value, p, counted_only)
        if message:
            errors[name] = message
    if "nomor_str" not in errors and _str_number(p):
        today = kalender.region_today(pel.db, p["wilayah_kode"]).isoformat()
        message = _check_str(pel, p, _registry_record(pel, p, today), today)
        if message:
            errors["nomor_str"] = message
    return errors


def _check_value(pel: Pelayanan, f: dict, value: str, p: dict, counted_only: bool = False) -> str | None:
    if f.get("maks") and len(value) > f["maks"]:  # a limit the service's form sets
        return f"{f['label']}: paling banyak {f['maks']} karakter."
    if f["jenis"] == "tanggal":
        return None if kalender.parse_date(value) else f"{f['label']}: tulis tanggal seperti 31-12-2024."
    if f["jenis"] == "angka":
        return None if angka.is_digits(value) and len(value) <= 15 else f"{f['label']} harus berupa angka."
    if f["jenis"] == "pilihan":
        return None if value in f.get("opsi", []) else f"Pilih salah satu pilihan {f['label'].lower()}."
    if f["jenis"] == "nik":
        checked = nik_rules.check(pel.db, value)
        if checked.errors:
            return f"{f['label']}: {checked.errors[0]}"
        if checked.nik != p.get("pemohon_nik") and counted_only and \
                not ratelimit.other_nik_counted(pel.db, p["akun_id"], checked.nik):
            if ratelimit.other_nik_room(pel.db, p["akun_id"], pel.klien):
                return None  # not counted today (saved on another day): looked up, and counted, by the submit
            return f"{f['label']}: {ratelimit.OTHER_NIK_LIMITED}"
        if checked.nik != p.get("pemohon_nik") and not counted_only and \
                not ratelimit.allow_other_nik(pel.db, p["akun_id"], pel.klien, checked.nik):
            return f"{f['label']}: {ratelimit.OTHER_NIK_LIMITED}"  # no registry answer past the limit
        if pel.registry.lookup(checked.nik) is None:
            return f"{f['label']} tidak ditemukan di data kependudukan (Dukcapil)."
    return None


def _str_number(p: dict) -> str:
    """The STR number a health-worker permit application names; '' for any other application."""
    return str(p["data"].get("nomor_str") or "").strip() if p["kelompok"] == "nakes" else ""


def _registry_record(pel: Pelayanan, p: dict, today: str) -> StrRecord | None:
    """The application's STR as SISDMK knows it, with the practice places valid ``today``. Asked before any
    write transaction: a slow registry must never hold SQLite's write lock. Raises ServiceUnavailable."""
    nomor_str = _str_number(p)
    return pel.sisdmk.lookup(nomor_str, today) if nomor_str and pel.sisdmk is not None else None


def _check_str(pel: Pelayanan, p: dict, record: StrRecord | None, today: str) -> str | None:
    """The citizen's STR against the registry's ``record`` and the practice places it holds (no registry call:
    safe under the write lock)."""
    if record is None:
        return "Nomor STR tidak ditemukan di SISDMK (SatuSehat SDMK). Periksa kembali nomor STR Anda."
    if record.nik != p["pemohon_nik"]:
        return "Nomor STR ini terdaftar atas nama orang lain."
    if p["slug"].removeprefix("sip-") != record.profesi and not p["slug"].startswith(f"sip-{record.profesi}"):
        return f"STR Anda untuk profesi {record.profesi}, bukan untuk layanan ini."
    if record.berlaku_sampai and record.berlaku_sampai < today:
        return "STR Anda sudah tidak berlaku."
    full = _no_room_for_one_more(pel, p, record, today, count_waiting=True)
    if full is None:
        return None
    held, waiting = full
    if not waiting:
        return (f"Anda sudah memiliki SIP di {held} tempat praktik, batas maksimal menurut "
                "UU 17/2023. Cabut salah satu SIP sebelum mengajukan tempat baru.")
    have = f"SIP di {held} tempat praktik dan " if held else ""
    return (f"Anda sudah memiliki {have}{waiting} permohonan SIP lain yang masih diproses untuk STR ini; bila "
            f"semuanya terbit, permohonan ini melebihi batas {MAX_PRACTICE_PLACES} tempat praktik menurut "
            "UU 17/2023. Ajukan lagi bila salah satu permohonan itu ditolak atau salah satu SIP Anda dicabut.")


def _no_room_for_one_more(pel: Pelayanan, p: dict, record: StrRecord | None, today: str,
                          count_waiting: bool = False) -> tuple[int, int] | None:
    """The one check of the practice-place limit (UU 17/2023): None when one more place fits on the STR, else
    (places held, other applications waiting). ``count_waiting``: at submit, the STR's other SIP applications
    still in progress count too (if all were issued); an officer's step counts only what is held."""
    nomor_str = _str_number(p)
    held = len(practice_places(pel, nomor_str, record, today))
    waiting = q.sip_in_progress(pel.db, nomor_str, p["id"]) if count_waiting and held < MAX_PRACTICE_PLACES else 0
    return (held, waiting) if held + waiting >= MAX_PRACTICE_PLACES else None


def practice_places(pel: Pelayanan, nomor_str: str, record, today: str) -> set[str]:
    """The SIP numbers that hold a practice place on this STR today: the registry's (less those revoked
    here) and those issued here that are neither revoked nor expired (a registry may learn of them later)."""
    mine = q.sip_documents(pel.db, nomor_str)
    revoked = {d["nomor"] for d in mine if d["dicabut"]}
    live = {d["nomor"] for d in mine if not d["dicabut"] and (d["berlaku_sampai"] or today) >= today}
    registry = {t["nomor_sip"] for t in (record.tempat_praktik if record else [])
                if (t.get("berlaku_sampai") or today) >= today}
    return (registry - revoked) | live


def _room_for_one_more_place(pel: Pelayanan, p: dict, record: StrRecord | None, today: str) -> None:
    """At a step that moves a SIP towards issue (inside its write transaction, with the registry's ``record``
    read before it): the places held on the STR now, plus this one, must stay within the limit; else
    NoPlaceLeft, and the case stays as it is."""
    if not _str_number(p) or pel.sisdmk is None:
        return
    full = _no_room_for_one_more(pel, p, record, today)
    if full is not None:
        held = full[0]
        raise NoPlaceLeft(
            f"Pemohon sudah memiliki SIP di {held} tempat praktik untuk STR ini, batas maksimal menurut UU 17/2023, "
            f"sehingga SIP ini tidak dapat diterbitkan. Permohonan tetap berstatus {STATUS[p['status']].lower()}: "
            "tolak dengan alasan, atau lanjutkan setelah salah satu SIP lamanya dicabut.", held)


def submit(pel: Pelayanan, akun: dict, p: dict, now: dt.datetime | None = None,
           counter_check: bool = False) -> dict[str, str]:
    """Submit (or resubmit after revision); empty dict on success, else the errors to show.

    Below the service's level, or with ``counter_check`` (a face step that could not be done online), the
    application is submitted all the same with ``ditahan = COUNTER_CHECK``: officers work on it, and its
    document waits for the applicant's identity to be checked in person."""
    if not editable(p):
        return {}  # already submitted: a repeated submit changes nothing
    notes = level_notes(akun, p)
    if notes.get("ajukan"):  # held while the identity of the NIK's owner is checked
        return {"tingkat": notes["ajukan"]}
    counter_check = counter_check or "loket" in notes or p["ditahan"] == COUNTER_CHECK
    p = with_registry_values(pel, p)
    errors = check_answers(pel, p)
    if errors:
        return errors
    today = kalender.region_today(pel.db, p["wilayah_kode"], now)
    due = kalender.add_working_days(pel.db, p["wilayah_kode"], today, p["jangka_waktu_hari"])
    stamp = kalender.stamp(now)
    record = _registry_record(pel, p, today.isoformat())  # before the lock, as every registry call
    with write(pel.db):
        if q.current_status(pel.db, p["id"]) != p["status"]:
            return {}  # submitted a moment ago from another tab: once is enough
        if _str_number(p):  # again under the lock: the places and applications of this moment
            message = _check_str(pel, p, record, today.isoformat())
            if message:
                return {"nomor_str": message}
        nomor = p["nomor"] or f"{p['wilayah_kode']}-{today:%y%m%d}-{p['id']:06d}"
        note = "Diajukan kembali setelah perbaikan" if p["status"] == "perlu_perbaikan" else "Permohonan diajukan"
        held = {"ditahan": COUNTER_CHECK} if counter_check else {}
        q.set_status(pel.db, p["id"], "diajukan", akun["id"], f"{note}. {COUNTER_NOTE}." if held else note,
                     diubah=stamp, nomor=nomor, diajukan=stamp, tenggat=due.isoformat(), perbaikan="{}", **held)
        notifikasi.enqueue_for(pel.db, akun, f"MPP Digital: permohonan {p['layanan_nama']} nomor {nomor} diterima. "
                                             f"Batas waktu layanan {kalender.format_date(due)}.")
    return {}


def officer_action(pel: Pelayanan, officer: dict, p: dict, action: str, reason: str = "",
                   fields: list[str] | None = None, base_url: str = "") -> str:
    """Move a case on; the new status. Raises ActionRefused with a message for the officer, and
    integrations.http.ServiceUnavailable when SISDMK does not answer (nothing changed then)."""
    reason, fields = _refuse_unless_allowed(officer, p, action, reason, fields)
    new_status = actions_for(p)[action].new_status
    today = kalender.region_today(pel.db, p["wilayah_kode"]).isoformat()
    record = _registry_record(pel, p, today) if action in ("verifikasi", "setujui", "terbitkan") else None
    stamp = kalender.stamp()
    with write(pel.db):
        # checked again under the write lock: two officers (or the fiktif-positif job) acting on the
        # same case at once must not both move it on
        if q.current_status(pel.db, p["id"]) != p["status"]:
            raise ActionRefused("Permohonan ini baru saja diproses pihak lain. Muat ulang halaman untuk melihat "
                                "statusnya.")
        if action in ("verifikasi", "setujui"):
            _room_for_one_more_place(pel, p, record, today)  # the technical check of the SIP quota, before approval
        if action == "terbitkan" and p["terbitkan_dokumen"]:
            _issue(pel, p, officer, record)  # checks the places again, as every issue does
        elif action == "terbitkan":  # a service without an electronic document: done, handed over at the counter
            q.set_status(pel.db, p["id"], "selesai", officer["id"], "Permohonan selesai; hasil diserahkan di gerai",
                         diubah=stamp, selesai=stamp)
        else:
            extra = {"perbaikan": _json({"alasan": reason, "kolom": fields})} if action == "perbaikan" else {}
            q.set_status(pel.db, p["id"], new_status, officer["id"], reason, diubah=stamp, **extra)
        audit.append(pel.db, officer["id"], action, f"permohonan:{p['id']}",
                     {"status": new_status, "alasan": reason, "kolom": fields}, waktu=stamp)
        notifikasi.enqueue_for(pel.db, {"id": p["akun_id"], "telepon": p["pemohon_telepon"]},
                               f"MPP Digital: permohonan {p['nomor']} kini {STATUS[new_status].lower()}."
                               + (f" Alasan: {reason}" if reason else ""))
    return new_status


def _refuse_unless_allowed(officer: dict, p: dict, action: str, reason: str,
                           fields: list[str] | None) -> tuple[str, list[str]]:
    """Every rule of an officer action that needs no write lock; the cleaned reason and fields to fix."""
    actions = actions_for(p)
    if action not in actions:
        raise ActionRefused("Tindakan tidak dikenal.")
    if actions[action].duty not in officer.get("jabatan", "").split(","):
        raise ActionRefused("Tindakan ini bukan wewenang jabatan Anda.")
    if p["status"] not in actions[action].statuses:
        raise ActionRefused(f"Tindakan ini tidak berlaku untuk permohonan berstatus {STATUS[p['status']].lower()}.")
    if p["ditahan"] == COUNTER_CHECK and action == "terbitkan":
        raise ActionRefused("Identitas pemohon belum dapat dipastikan secara daring untuk permohonan ini: periksa "
                            "KTP-el pemohon di loket (menu Identitas, verifikasi tatap muka) sebelum dokumen ini "
                            "diterbitkan.")
    if p["ditahan"] and p["ditahan"] != COUNTER_CHECK and action != "tolak":
        raise ActionRefused("Permohonan ini ditahan sementara identitas pemohon diperiksa di gerai Disdukcapil.")
    if action == "terbitkan" and not jaminan.meets(p["pemohon_tingkat"], issue_level(p)):
        raise ActionRefused(
            f"Pemohon baru pada tingkat \u201c{jaminan.SHORT.get(p['pemohon_tingkat'], p['pemohon_tingkat'])}\u201d; "
            f"dokumen ini baru dapat diterbitkan pada tingkat \u201c{jaminan.SHORT[issue_level(p)]}\u201d. "
            "Minta pemohon memverifikasi wajah, atau verifikasi tatap muka di meja identitas saat ia datang.")
    reason = reason.strip()[:1000]
    if actions[action].reason_label and not reason:
        raise ActionRefused("Tuliskan alasannya; pemohon akan membacanya.", field="alasan")
    known = {f["nama"] for f in p["formulir"]} - set(p["data"].get(sekali_isi.MARK) or ())  # registry's: not fixable
    fields = [f for f in (fields or []) if f in known]
    if actions[action].pick_fields and not fields:
        raise ActionRefused("Pilih isian yang perlu diperbaiki pemohon.", field="kolom")
    return reason, fields


def _json(value) -> str:
    return json.dumps(value, ensure_ascii=False)


def issue_document(pel: Pelayanan, p: dict, officer: dict | None, deemed: bool = False,
                   now: dt.datetime | None = None) -> dict:
    """Sign and store the output document, and finish the case (its own transaction, or the caller's).

    SISDMK is asked first, outside the transaction; callers that already hold the write lock read the
    registry before taking it and call ``_issue``."""
    today = kalender.region_today(pel.db, p["wilayah_kode"], now).isoformat()
    return _issue(pel, p, officer, _registry_record(pel, p, today), deemed, now)


def _issue(pel: Pelayanan, p: dict, officer: dict | None, record: StrRecord | None, deemed: bool = False,
           now: dt.datetime | None = None) -> dict:
    """Issue with the registry's ``record`` already read (inside the caller's transaction).

    What the document states is fixed here (services/dokumen.content) and its hash signed into the
    QR token; a SIP's validity (5 years, not past the STR) goes on the document and into SISDMK.
    A SIP that would be a fourth practice place raises NoPlaceLeft and nothing is written."""
    today = kalender.region_today(pel.db, p["wilayah_kode"], now)
    with write(pel.db):
        _room_for_one_more_place(pel, p, record, today.isoformat())  # under the lock every issue takes
        code = p["layanan_singkatan"] or p["slug"].upper().replace("-", "")  # whole: a cut number reads as a typo
        nomor = f"474/{code}/{p['wilayah_kode']}/{today.year}/{p['id']:06d}"
        berlaku = dokumen.validity_end(p, today, record)
        isi = dokumen.content(p, officer, nomor, today, berlaku, deemed)
        token = ttd.sign_content(pel.signing_key, nomor, isi["baris"])
        q.store_document(pel.db, p["id"], nomor, isi, token, isi["penandatangan"],
                         berlaku.isoformat() if berlaku else None)
        note = ("Diterbitkan otomatis: tidak diputuskan dalam 5 hari kerja (fiktif positif)" if deemed
                else f"Dokumen {nomor} diterbitkan dan ditandatangani secara elektronik")
        stamp = kalender.stamp(now)
        q.set_status(pel.db, p["id"], "selesai", officer["id"] if officer else None, note,
                     diubah=stamp, selesai=stamp, fiktif_positif=int(deemed))
        if _str_number(p) and pel.sisdmk is not None:
            pel.sisdmk.add_practice_place(_str_number(p), str(p["data"].get("nama_fasyankes", "")), nomor,
                                          berlaku.isoformat())
    return {"v": ttd.VERSION, "no": nomor, "h": ttd.content_hash(isi["baris"])}


def deem_overdue_permits(pel: Pelayanan, now: dt.datetime | None = None) -> list[int]:
    """Issue every health-worker permit whose legal deadline passed undecided (fiktif positif)."""
    issued = []
    # candidates by the easternmost clock (WIT); each is re-checked in its own region's time zone
    for row in q.due_for_deemed_approval(pel.db, kalender.local_now("WIT", now).date().isoformat()):
        today = kalender.region_today(pel.db, row["wilayah_kode"], now).isoformat()
        p = q.get(pel.db, row["id"])
        if p["tenggat"] >= today or p["ditahan"] or not jaminan.meets(p["pemohon_tingkat"], issue_level(p)):
            continue  # not due yet, or the identity behind it is not yet sure enough for a document
        record = _registry_record(pel, p, today)  # before the lock
        try:
            with write(pel.db):
                if q.current_status(pel.db, p["id"]) != p["status"]:
                    continue  # an officer decided it a moment ago
                _issue(pel, p, None, record, deemed=True, now=now)
                audit.append(pel.db, None, "fiktif_positif", f"permohonan:{p['id']}", {"tenggat": p["tenggat"]},
                             waktu=kalender.stamp(now))
                notifikasi.enqueue_for(pel.db, {"id": p["akun_id"], "telepon": p["pemohon_telepon"]},
                                       f"MPP Digital: {p['layanan_nama']} {p['nomor']} terbit otomatis "
                                       "(fiktif positif).")
        except NoPlaceLeft as e:  # a fourth practice place is never issued by default: an officer decides
            _leave_note_once(pel, p, e.held, now)
            continue
        issued.append(p["id"])
    return issued


def _leave_note_once(pel: Pelayanan, p: dict, held: int, now: dt.datetime | None = None) -> None:
    """Why a permit past its deadline was not issued automatically: in the timeline and the audit log, once."""
    objek = f"permohonan:{p['id']}"
    with write(pel.db):
        if any(a["aksi"] == "fiktif_positif_ditunda" for a in audit.for_object(pel.db, objek)):
            return  # said at an earlier round
        q.add_note(pel.db, p["id"], p["status"],
                   f"Tidak diterbitkan otomatis (fiktif positif) walau batas waktu terlewati: pemohon sudah memiliki "
                   f"SIP di {held} tempat praktik, batas maksimal menurut UU 17/2023. Petugas yang memutuskan.")
        audit.append(pel.db, None, "fiktif_positif_ditunda", objek,
                     {"tenggat": p["tenggat"], "tempat_praktik": held, "batas": MAX_PRACTICE_PLACES},
                     waktu=kalender.stamp(now))


def overdue(p: dict, today: dt.date) -> bool:
    return p["status"] in q.OPEN and p["status"] != "perlu_perbaikan" and bool(p["tenggat"]) \
        and p["tenggat"] < today.isoformat()
