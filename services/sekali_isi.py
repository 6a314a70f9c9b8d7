"""Once-only: what the population registry already holds is not typed again (issue 17).

A form field that declares ``dukcapil = "<attribute>"`` (db/reference.DUKCAPIL_ATTRIBUTES) is filled from the
registry's record of the person the application is for: the applicant, or the member of their Kartu Keluarga
(or their ward) the draft was started for (``permohonan.untuk_nik``). With ``dukcapil_anggota_saja`` only the
latter: on an application for oneself the field is typed (a newborn is not on the KK yet).

The citizen sees such a field as text marked "dari data Dukcapil", never as an input. Its value is stored in
the answers, so the check page, the officer and the issued document read it like any other answer, and the
names of the fields filled so are kept in the answers under ``_dukcapil`` (not a field name: a form cannot post
it). A posted value for them is ignored: the registry wins. When the registry does not answer, the fields it has
not filled yet are ordinary inputs and the page says why (never a dead end); those it filled earlier keep the
registry's value. The registry is asked outside any write transaction, and only for forms that have such fields.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlite_utils import Database

from db import permohonan as q
from db.reference import SEX_OPTIONS
from integrations.dukcapil import Dukcapil, Resident
from integrations.http import ServiceUnavailable
from services import kalender

MARK = "_dukcapil"  # in the answers: the fields whose value came from the registry
EDITABLE = ("draf", "perlu_perbaikan")  # the statuses in which answers change (permohonan.editable reads this too)


@dataclass
class Filled:
    """An application's form as the registry fills it for this view."""

    p: dict                                           # the application, the registry's values in its answers
    tetap: dict[str, str] = field(default_factory=dict)  # field → the registry's value as the page shows it
    catatan: str = ""                                 # why registry fields are inputs now; '' when none is


def registry_fields(p: dict) -> dict[str, dict]:
    """The fields of this application's form that the registry fills, by name."""
    for_member = bool(p.get("untuk_nik")) and p["untuk_nik"] != p.get("pemohon_nik")
    return {f["nama"]: f for f in p["formulir"]
            if f.get("dukcapil") and f["jenis"] != "berkas" and (for_member or not f.get("dukcapil_anggota_saja"))}


def subject_nik(p: dict) -> str:
    """The NIK of the person the application is for."""
    return p.get("untuk_nik") or p["pemohon_nik"]


def value_for(f: dict, resident: Resident) -> str:
    """The registry's attribute as the field stores it (a date as citizens type one, a sex as the option);
    '' when the registry has nothing usable for it."""
    raw = str(getattr(resident, f["dukcapil"], "") or "").strip()
    if f["dukcapil"] == "tanggal_lahir":
        day = kalender.parse_date(raw)
        return f"{day:%d-%m-%Y}" if day else ""
    if f["dukcapil"] == "jenis_kelamin":
        option = SEX_OPTIONS.get(raw.upper(), "")
        return option if option in f.get("opsi", []) else ""
    return raw[:2000]


def shown(f: dict, value: str) -> str:
    """A stored value as the page shows it: a date in words ("2 Maret 2019")."""
    day = kalender.parse_date(value) if f["jenis"] == "tanggal" else None
    return kalender.format_date(day) if day else value


def fill(db: Database, registry: Dukcapil, p: dict, store: bool = True) -> Filled:
    """Fill the registry fields of a draft from the registry (stored when they changed, with ``store``) and say what
    the page shows: the registry's values read-only, and a note for the fields that are inputs because it did not
    answer. A page (a GET, which only reads) passes ``store=False``: the values are shown, and stored by the POSTs
    that start, save (a registry field posted) and submit the draft."""
    fields = registry_fields(p)
    if not fields:
        return Filled(p)
    data = dict(p["data"])
    try:
        nik = subject_nik(p)
        resident = registry.lookup(nik) if nik else None
    except ServiceUnavailable:
        resident, note = None, ("Data Dukcapil belum dapat diambil saat ini, jadi isian berikut belum terisi otomatis: "
                                "{}. Isi sendiri sesuai Kartu Keluarga; petugas mencocokkannya dengan data Dukcapil.")
    else:
        note = "" if resident else ("Data Dukcapil untuk {} tidak ditemukan, jadi isi sendiri: {{}}. Petugas "
                                    "mencocokkannya di gerai.").format(p.get("untuk_nama") or "NIK ini")
    if resident is not None:
        values = {name: v for name, f in fields.items() if (v := value_for(f, resident))}
        if p["status"] in EDITABLE and (any(data.get(k) != v for k, v in values.items())
                                        or data.get(MARK) != sorted(values)):
            update = {**values, MARK: sorted(values)}
            if store:
                q.save_answers(db, p["id"], update, kalender.stamp())
            data.update(update)
    else:  # what an earlier answer of the registry filled stays the registry's
        values = {k: str(data[k]) for k in data.get(MARK, []) if k in fields and data.get(k)}
    missing = [f["label"] for name, f in fields.items() if name not in values]
    return Filled({**p, "data": data}, {k: shown(fields[k], v) for k, v in values.items()},
                  note.format(", ".join(missing)) if note and missing else "")


def without_registry_fields(db: Database, registry: Dukcapil, p: dict, answers: dict[str, str]) -> dict[str, str]:
    """The posted answers less those the registry fills (a tampered or stale post cannot change them). The
    registry is asked only when such a field was posted: the page never shows an input for one it answered."""
    if not any(name in answers for name in registry_fields(p)):
        return answers
    held = fill(db, registry, p).tetap
    return {k: v for k, v in answers.items() if k not in held}
