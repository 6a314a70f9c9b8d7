"""National monitoring for the ministry (KemenPANRB): the MPP rollout, MPP Digital criteria
and service performance across regions. No HTTP here.

Public (open data): the rollout picture — national figures, by island group and province,
every kab/kota — and its CSV files. Behind the ministry's login: the criteria checklist,
performance across regions and the import of the real rollout list.

Percentages are rounded to the nearest whole percent, halves up (63/179 = 35.2 % → 35 %,
54/179 = 30.2 % → 30 %, 36/179 = 20.1 % → 20 %, 26/179 = 14.5 % → 15 %).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import math
import re
import statistics
from collections import defaultdict
from dataclasses import dataclass, field

from sqlite_utils import Database

from db import audit
from db import pemantauan as q
from db.connection import write
from services import angka, grafik, kalender, skm

STATUS = {"berdiri": "MPP berdiri", "target": "Target", "belum": "Belum ada rencana", "tanpa_data": "Tanpa data"}
KODE = re.compile(r"^\d{4}\Z", re.ASCII)
PAGE = 50

# The split of kab/kota without a plan that the ministry publishes: (label, island groups).
SEBARAN_BELUM = [("Sumatra", ("Sumatra",)), ("Maluku dan Papua", ("Maluku", "Papua")), ("Sulawesi", ("Sulawesi",))]

# The ministry's 11 MPP Digital criteria; "otomatis" ones are derived from what the region uses.
KRITERIA = [
    ("informasi_umum", "Informasi umum", "otomatis", "Profil MPP dengan alamat terisi"),
    ("antrean", "Antrean", "otomatis", "Ada tiket antrean daring/langsung"),
    ("konsultasi_pengaduan", "Konsultasi & pengaduan", "otomatis", "Ada pengaduan yang masuk"),
    ("skm", "Survei kepuasan (SKM)", "otomatis", "Ada survei kepuasan yang terisi"),
    ("pelaporan_kinerja", "Pelaporan kinerja", "atestasi", "Laporan kinerja MPP disampaikan berkala"),
    ("pemrosesan_dokumen", "Pemrosesan & penelusuran dokumen", "otomatis", "Ada permohonan yang diajukan"),
    ("komitmen", "Komitmen", "atestasi", "Komitmen kepala daerah (keputusan/peraturan)"),
    ("platform", "Platform", "otomatis", "MPP Digital aktif di aplikasi"),
    ("keberlanjutan", "Keberlanjutan", "atestasi", "Anggaran dan pengelola tetap tersedia"),
    ("keamanan", "Keamanan", "atestasi", "Kebijakan keamanan informasi diterapkan"),
    ("uji_pengguna", "Uji pengguna", "atestasi", "Uji kegunaan dengan warga sudah dilakukan"),
]
ATTESTED = [k for k, _, src, _ in KRITERIA if src == "atestasi"]

# A region lags when any of these is missed.
SLA_MIN = 80.0          # % of finished applications on or before their due date
IKM_MIN = 76.61         # IKM "B (Baik)" or better
TUNGGU_MAX = 60.0       # median queue wait, minutes


def percent(part: int, whole: int) -> int:
    """Nearest whole percent, halves up."""
    return math.floor(100 * part / whole + 0.5) if whole else 0


# ------------------------------------------------------------------ rollout: figures and pages

def _headline_year(db: Database) -> int | None:
    years = q.targets_by_year(db)
    return years[0]["tahun"] if years else None


def national_figures(db: Database) -> dict:
    """The national picture, as the ministry publishes it."""
    n = q.national(db)
    belum = q.count_by_group(db, "belum")
    split, counted = [], 0
    for label, groups in SEBARAN_BELUM:
        k = sum(belum.get(g, 0) for g in groups)
        counted += k
        split.append({"nama": label, "jumlah": k, "persen": percent(k, n["belum"])})
    rest = n["belum"] - counted
    split.append({"nama": "Lainnya", "jumlah": rest, "persen": percent(rest, n["belum"])})
    digital = q.count_by_group(db, "digital")
    groups = q.island_groups(db)
    years = q.targets_by_year(db)
    return {**n, "target_tahun": years, "belum_sebaran": split,
            "digital_kelompok": [{"nama": g, "jumlah": digital.get(g, 0)} for g in groups if digital.get(g)],
            "lainnya": n["kabkota"] - n["berdiri"] - n["belum"] - (years[0]["jumlah"] if years else 0)
            - n["tanpa_data"],
            "tahun_utama": years[0]["tahun"] if years else None, "sejak": q.SEJAK}


def data_label(db: Database) -> dict:
    """Where the list comes from: the demo seed or the ministry's last import."""
    load = q.latest_load(db)
    return {"demo": bool(load and load["demo"]), "impor": load}


SEGMENTS = [("Berdiri", "#00703c"), ("Target", "#1d70b8"), ("Target lain", "#5694ca"),
            ("Belum ada rencana", "#b1b4b6"), ("Tanpa data", "#f3f2f1")]


def _bar_values(row: dict) -> list[int]:
    return [row["berdiri"], row["target_utama"], row["target_lain"], row["belum"], row["tanpa_data"]]


def _chart(items: list[tuple[str, list[int]]], title: str, tahun: int | None) -> grafik.Chart:
    legend = [(f"Target {tahun}" if name == "Target" and tahun else name, colour) for name, colour in SEGMENTS]
    return grafik.stacked(items, legend, title)


def overview_page(db: Database) -> dict:
    tahun = _headline_year(db)
    groups = q.breakdown(db, "kelompok", tahun)
    return {"nasional": national_figures(db), "kelompok": groups, "tahun_utama": tahun, **data_label(db),
            "grafik": _chart([(g["nama"], _bar_values(g)) for g in groups], "Status MPP per kelompok pulau", tahun)}


def provinces_page(db: Database) -> dict:
    tahun = _headline_year(db)
    rows = q.breakdown(db, "provinsi", tahun)
    return {"provinsi": rows, "tahun_utama": tahun, **data_label(db),
            "grafik": _chart([(p["nama"], _bar_values(p)) for p in rows], "Status MPP per provinsi", tahun)}


def describe(r: dict) -> str:
    if r["status"] == "berdiri":
        day = kalender.parse_date(r["tanggal_berdiri"] or "")
        return f"MPP berdiri {kalender.format_date(day)}" if day else "MPP berdiri"
    if r["status"] == "target":
        return f"Target {r['target_tahun']}"
    return STATUS[r["status"] or "tanpa_data"]


def list_page(db: Database, params: dict) -> dict:
    """Every kab/kota, filtered and paginated (the whole list is in the CSV)."""
    status = params.get("status") if params.get("status") in STATUS else None
    groups = q.island_groups(db)
    kelompok = params.get("kelompok") if params.get("kelompok") in groups else None
    provinces = q.provinces(db)
    provinsi = params.get("provinsi") if params.get("provinsi") in {p["kode"] for p in provinces} else None
    page = angka.to_int(params.get("hal") or "", 1, 100) or 1
    total = q.count_regions(db, status, kelompok, provinsi)
    rows = q.regions(db, status, kelompok, provinsi, PAGE, (page - 1) * PAGE)
    for r in rows:
        r["keterangan"] = describe(r)
    filt = {"status": status or "", "kelompok": kelompok or "", "provinsi": provinsi or ""}
    query = "&".join(f"{k}={v}" for k, v in filt.items() if v)
    return {"wilayah": rows, "jumlah": total, "hal": page, "ada_berikut": page * PAGE < total,
            "filter": filt, "query": query, "status": STATUS, "kelompok_pulau": groups, "daftar_provinsi": provinces,
            **data_label(db)}


def region_page(db: Database, kode: str, akun: dict | None) -> dict | None:
    """One kab/kota; the ministry also sees its criteria and performance."""
    if not KODE.match(kode):
        return None
    r = q.region(db, kode)
    if r is None:
        return None
    r["keterangan"] = describe(r)
    page = {"w": r, **data_label(db), "kriteria": None, "kinerja": None}
    if akun and akun["peran"] == "kementerian":
        page["kriteria"] = criteria_for(db, kode) if r["mpp_nama"] else None
        page["kinerja"] = next(iter(performance(db, kode)["wilayah"]), None)
    return page


# ------------------------------------------------------------------ CSV (open data and the ministry's tables)

# Text a spreadsheet would run as a formula when the CSV is opened (OWASP "CSV injection"): a cell starting
# with one of these. The open data carries text from imported files (``sumber``), so every CSV we write
# goes through csv_cell.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_PLAIN_NUMBER = re.compile(r"-?\d+(\.\d+)?")


def csv_cell(value):
    """One cell as written: numbers stay numbers (int/float, and text that is only a decimal number such as
    "-3", which a spreadsheet can only read as that number); any other text starting like a formula gets
    a leading apostrophe, so spreadsheets show it as text and never evaluate it."""
    if isinstance(value, str) and value.startswith(FORMULA_START) and not _PLAIN_NUMBER.fullmatch(value):
        return "'" + value
    return value


def from_csv_cell(text: str) -> str:
    """The reverse, for files we exported coming back through the import."""
    return text[1:] if text.startswith("'") and text[1:].startswith(FORMULA_START) else text


def to_csv(header: list[str], rows: list[list]) -> str:
    """Every CSV file of the app (open data and the ministry's tables)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([csv_cell(h) for h in header])
    writer.writerows([csv_cell(c) for c in row] for row in rows)
    return out.getvalue()


def csv_summary(db: Database) -> str:
    n = national_figures(db)
    rows = [["kabkota", n["kabkota"]], ["mpp_berdiri", n["berdiri"]],
            [f"mpp_berdiri_sejak_{n['sejak']}", n["berdiri_sejak"]]]
    rows += [[f"target_{t['tahun']}", t["jumlah"]] for t in n["target_tahun"]]
    rows += [["belum_ada_rencana", n["belum"]]]
    keys = [f"belum_ada_rencana_{s['nama'].lower().replace(' ', '_')}" for s in n["belum_sebaran"]]
    rows += [[k, s["jumlah"]] for k, s in zip(keys, n["belum_sebaran"])]
    rows += [[f"{k}_persen", s["persen"]] for k, s in zip(keys, n["belum_sebaran"])]
    rows += [["tanpa_data", n["tanpa_data"]], ["mpp_digital", n["digital"]]]
    rows += [[f"mpp_digital_{g['nama'].lower()}", g["jumlah"]] for g in n["digital_kelompok"]]
    rows += [["data_demo", int(data_label(db)["demo"])]]
    return to_csv(["indikator", "nilai"], rows)


def csv_breakdown(db: Database, by: str) -> str:
    tahun = _headline_year(db)
    rows = q.breakdown(db, by, tahun)
    first = ["kelompok_pulau"] if by == "kelompok" else ["provinsi_kode", "provinsi", "kelompok_pulau"]
    header = first + ["kabkota", "mpp_berdiri", f"berdiri_sejak_{q.SEJAK}", f"target_{tahun or 'terdekat'}",
                      "target_lain", "belum_ada_rencana", "tanpa_data", "mpp_digital"]
    out = []
    for r in rows:
        lead = [r["nama"]] if by == "kelompok" else [r["kunci"], r["nama"], r["kelompok_pulau"]]
        out.append(lead + [r["kabkota"], r["berdiri"], r["berdiri_sejak"], r["target_utama"], r["target_lain"],
                           r["belum"], r["tanpa_data"], r["digital"]])
    return to_csv(header, out)


IMPORT_COLUMNS = ["kode", "status", "tanggal_berdiri", "target_tahun", "sumber"]


def csv_regions(db: Database) -> str:
    """Every kab/kota; the same shape the import accepts (extra columns are ignored there)."""
    rows = [[r["kode"], r["nama"], r["provinsi_nama"], r["kelompok_pulau"], r["status"] or "",
             r["tanggal_berdiri"] or "", r["target_tahun"] or "", int(r["digital"]), r["sumber"] or ""]
            for r in q.regions(db)]
    return to_csv(["kode", "nama", "provinsi", "kelompok_pulau", "status", "tanggal_berdiri", "target_tahun",
                   "mpp_digital", "sumber"], rows)


def csv_criteria(db: Database) -> str:
    table = criteria_table(db)
    rows = [[r["kode"], r["nama"], *[int(c["terpenuhi"]) for c in r["kriteria"]], r["skor"]]
            for r in table["wilayah"]]
    return to_csv(["kode", "nama"] + [k for k, *_ in KRITERIA] + ["terpenuhi"], rows)


def csv_performance(db: Database) -> str:
    perf = performance(db)
    statuses = perf["status_kolom"]
    rows = []
    for r in perf["wilayah"]:
        rows.append([r["kode"], r["nama"], *[r["status"].get(s, 0) for s in statuses], r["median_hari"] or "",
                     "" if r["sla"] is None else r["sla"], r["ikm"].konversi if r["ikm"] else "",
                     r["ikm"].responden if r["ikm"] else 0, "" if r["tunggu"] is None else r["tunggu"],
                     int(r["tertinggal"]), "; ".join(r["alasan"])])
    return to_csv(["kode", "nama", *[f"permohonan_{s}" for s in statuses], "median_hari_selesai", "sla_persen",
                   "ikm", "responden_skm", "median_tunggu_menit", "tertinggal", "alasan"], rows)


# ------------------------------------------------------------------ import of the real list

MAX_IMPORT_BYTES = 2 * 1024 * 1024


@dataclass
class ImportResult:
    errors: list[tuple[int | None, str]] = field(default_factory=list)
    rows: int = 0
    missing: int = 0

    @property
    def ok(self) -> bool:
        return not self.errors


def parse_rollout_csv(db: Database, data: bytes, today: dt.date | None = None) -> tuple[list[dict], ImportResult]:
    """Check every line of an uploaded list; errors carry the file's line numbers (header = line 1)."""
    result = ImportResult()
    if not data.strip():
        result.errors.append((None, "Berkas kosong."))
        return [], result
    if len(data) > MAX_IMPORT_BYTES:
        result.errors.append((None, "Berkas lebih dari 2 MB."))
        return [], result
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        result.errors.append((None, "Berkas bukan teks CSV UTF-8. Simpan ulang sebagai “CSV UTF-8”."))
        return [], result
    first = text.split("\n", 1)[0]
    delimiter = ";" if first.count(";") > first.count(",") else ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        header = [h.strip().lower() for h in next(reader)]
    except (StopIteration, csv.Error):
        result.errors.append((1, "Baris judul kolom tidak terbaca."))
        return [], result
    missing_cols = [c for c in ("kode", "status") if c not in header]
    if missing_cols:
        result.errors.append((1, "Kolom wajib tidak ada: " + ", ".join(missing_cols)
                              + f". Kolom yang dibaca: {', '.join(IMPORT_COLUMNS)}."))
        return [], result
    col = {c: header.index(c) for c in IMPORT_COLUMNS if c in header}
    known, digital = q.region_codes(db), q.digital_codes(db)
    today = today or kalender.local_now("WIB").date()
    seen: dict[str, int] = {}
    rows: list[dict] = []
    line = 1
    while True:
        try:
            cells = next(reader)
        except StopIteration:
            break
        except csv.Error as e:
            result.errors.append((reader.line_num, f"baris CSV rusak ({e})."))
            break
        line = reader.line_num
        if not any(c.strip() for c in cells):
            continue
        def get(name: str, cells: list[str] = cells) -> str:
            return cells[col[name]].strip() if name in col and col[name] < len(cells) else ""
        errs: list[str] = []
        kode = get("kode").replace(".", "")
        if not KODE.match(kode) or kode not in known:
            errs.append(f"kode wilayah “{get('kode')}” tidak dikenal (4 digit Kemendagri, mis. 2171 atau 21.71)")
        elif kode in seen:
            errs.append(f"kode {kode} sudah ada di baris {seen[kode]} (baris ganda)")
        else:
            seen[kode] = line
        status = get("status").lower()
        tanggal, tahun = None, None
        if status not in ("berdiri", "target", "belum"):
            errs.append(f"status “{get('status')}” tidak dikenal (isi: berdiri, target, atau belum)")
        elif status == "berdiri":
            raw = get("tanggal_berdiri")
            try:
                d = dt.date.fromisoformat(raw) if re.fullmatch(r"\d{4}-\d{2}-\d{2}", raw) else None
            except ValueError:
                d = None
            if d is None:
                errs.append(f"tanggal_berdiri “{raw}” bukan tanggal yang sah (format TTTT-BB-HH, mis. 2023-02-20)")
            elif d > today:
                errs.append(f"tanggal_berdiri {raw} belum terjadi")
            elif d.year < 2010:
                errs.append(f"tanggal_berdiri {raw} terlalu awal (MPP ada sejak 2017)")
            else:
                tanggal = d.isoformat()
        elif status == "target":
            raw = get("target_tahun")
            tahun = angka.to_int(raw, 2017, 2100)
            if tahun is None:
                errs.append(f"target_tahun “{raw}” bukan tahun yang sah (mis. 2025)")
        if status in ("target", "belum") and kode in digital:
            errs.append(f"MPP Digital sudah aktif di {kode}: statusnya harus “berdiri”")
        if errs:
            result.errors.extend((line, e) for e in errs)
        else:
            rows.append({"wilayah_kode": kode, "status": status, "tanggal_berdiri": tanggal, "target_tahun": tahun,
                         "sumber": from_csv_cell(get("sumber"))[:200]})
    if not rows and not result.errors:
        result.errors.append((None, "Berkas tidak berisi baris data."))
    result.rows = len(rows)
    result.missing = len(known) - len(seen)
    return rows, result


def import_rollout(db: Database, akun: dict, data: bytes, nama_file: str) -> ImportResult:
    """All or nothing: any error leaves the list as it was; a valid file replaces it in one transaction."""
    rows, result = parse_rollout_csv(db, data)
    if not result.ok:
        return result
    nama_file = (nama_file or "unggahan.csv")[:120]
    with write(db):
        q.replace_rollout(db, rows, akun["id"], nama_file)
        audit.append(db, akun["id"], "impor_mpp_nasional", "mpp_nasional",
                     {"berkas": nama_file, "baris": len(rows), "tanpa_data": result.missing}, waktu=kalender.stamp())
    return result


def import_page(db: Database) -> dict:
    return {**data_label(db), "kolom": IMPORT_COLUMNS}


# ------------------------------------------------------------------ MPP Digital criteria

def criteria_for(db: Database, kode: str) -> list[dict]:
    """The 11 criteria of one region: derived from use, or attested by its admin (who, when)."""
    facts = q.usage_facts(db, kode).get(kode, {})
    attested = {a["kriteria"]: a for a in q.attestations(db, kode)}
    out = []
    for key, name, source, hint in KRITERIA:
        a = attested.get(key) if source == "atestasi" else None
        out.append({"kunci": key, "nama": name, "sumber": source, "keterangan": hint,
                    "terpenuhi": bool(facts.get(key)) if source == "otomatis" else bool(a and a["terpenuhi"]),
                    "oleh": a["akun_nama"] if a else None, "waktu": a["waktu"] if a else None})
    return out


def criteria_table(db: Database) -> dict:
    facts = q.usage_facts(db)
    attested = defaultdict(dict)
    for a in q.attestations(db):
        attested[a["wilayah_kode"]][a["kriteria"]] = bool(a["terpenuhi"])
    rows = []
    for r in q.app_regions(db):
        cells = [{"kunci": k, "terpenuhi": facts.get(r["kode"], {}).get(k, False) if src == "otomatis"
                  else attested[r["kode"]].get(k, False)} for k, _, src, _ in KRITERIA]
        rows.append({**r, "kriteria": cells, "skor": sum(c["terpenuhi"] for c in cells)})
    return {"wilayah": rows, "kriteria": KRITERIA}


def attest(db: Database, admin: dict, kode: str, kriteria: str, terpenuhi: bool) -> None:
    """The region admin attests one criterion (audited); derived criteria cannot be attested."""
    if kriteria not in ATTESTED:
        raise ValueError(kriteria)
    with write(db):
        q.set_attestation(db, kode, kriteria, terpenuhi, admin["id"], kalender.stamp())
        audit.append(db, admin["id"], "atestasi_kriteria", f"wilayah:{kode}",
                     {"kriteria": kriteria, "terpenuhi": terpenuhi}, waktu=kalender.stamp())


# ------------------------------------------------------------------ service performance

STATUS_PERMOHONAN = ["diajukan", "diverifikasi", "perlu_perbaikan", "disetujui", "ditolak", "selesai"]
ZONES = kalender.ZONES


def _utc(stamp: str) -> dt.datetime:
    return dt.datetime.fromisoformat(stamp.replace("Z", "+00:00"))


def performance(db: Database, kode: str | None = None) -> dict:
    """Per region: applications by status, median completion, SLA %, IKM, queue wait; laggards flagged.

    ``kode``: that region alone (the ministry's page of one region; the national totals are then its own).
    Counts and sums are read from the totals the database keeps current; a median from the middle row(s) of an
    index kept in that order, and computed here from their stamps exactly as from every row."""
    counts: dict[str, dict[str, int]] = defaultdict(dict)
    national: dict[str, int] = defaultdict(int)
    for r in q.application_counts(db, kode):
        counts[r["wilayah_kode"]][r["status"]] = r["jumlah"]
        national[r["status"]] += r["jumlah"]
    finished, called, surveys = q.finished_counts(db, kode), q.called_counts(db, kode), q.survey_totals(db, kode)
    codes = {r["kode"] for r in q.app_regions(db) if kode is None or r["kode"] == kode} | set(counts) | set(called) \
        | set(surveys)
    names = q.region_names(db, codes)
    rows = []
    for w in sorted(codes):
        done = finished.get(w)
        ikm = skm.from_totals(surveys[w]["responden"], surveys[w]) if w in surveys else None
        sla = round(100 * done["tepat"] / done["berbatas"], 1) if done and done["berbatas"] else None
        tunggu = _median_wait(db, w, called[w], names[w]["zona_waktu"]) if w in called else None
        alasan = []
        if sla is not None and sla < SLA_MIN:
            alasan.append(f"SLA {sla:.1f}% < {SLA_MIN:.0f}%")
        if ikm and ikm.konversi < IKM_MIN:
            alasan.append(f"IKM {ikm.konversi:.2f} ({ikm.mutu})")
        if tunggu is not None and tunggu > TUNGGU_MAX:
            alasan.append(f"tunggu {tunggu:.0f} menit")
        status = counts.get(w, {})
        rows.append({"kode": w, "nama": names[w]["nama"], "kelompok_pulau": names[w]["kelompok_pulau"],
                     "status": status, "jumlah": sum(status.values()),
                     "proses": sum(v for s, v in status.items() if s not in ("selesai", "ditolak")),
                     "median_hari": _median_days(db, w, done["selesai"]) if done else None,
                     "sla": sla, "ikm": ikm, "tunggu": tunggu, "alasan": alasan, "tertinggal": bool(alasan)})
    rows.sort(key=lambda r: (not r["tertinggal"], r["kode"]))
    return {"wilayah": rows, "status_nasional": dict(national), "status_kolom": STATUS_PERMOHONAN,
            "ambang": {"sla": SLA_MIN, "ikm": IKM_MIN, "tunggu": TUNGGU_MAX},
            "tertinggal": sum(r["tertinggal"] for r in rows)}


def _median_days(db: Database, kode: str, count: int) -> float | None:
    """Median days from submission to completion of the region's ``count`` finished applications."""
    days = [(_utc(r["selesai"]) - _utc(r["diajukan"])).total_seconds() / 86400
            for r in q.middle_finished(db, kode, count)]
    return round(statistics.median(days), 1) if days else None


def _median_wait(db: Database, kode: str, count: int, zona: str) -> float | None:
    """Median minutes a called ticket waited after its slot began (never below 0), of the region's ``count``."""
    zone = dt.timezone(dt.timedelta(hours=ZONES[zona]))
    waits = [max(0.0, (_utc(r["dipanggil"]) - dt.datetime.fromisoformat(f"{r['tanggal']}T{r['jam']}")
                       .replace(tzinfo=zone)).total_seconds() / 60) for r in q.middle_called(db, kode, count)]
    return round(statistics.median(waits), 1) if waits else None


def console_overview(db: Database) -> dict:
    """The ministry's /admin: headline figures and where to look."""
    perf = performance(db)
    return {"nasional": national_figures(db), **data_label(db), "tertinggal": perf["tertinggal"],
            "wilayah_aplikasi": len(perf["wilayah"]),
            "kriteria_lengkap": sum(r["skor"] == len(KRITERIA) for r in criteria_table(db)["wilayah"])}
