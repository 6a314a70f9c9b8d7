"""`make bench-volume`: a province in one file, measured page by page (issue 18).

``python -m bench.volume [--skala 0.05] [--wilayah 10] [--permohonan 50000] [--hari 730] [--runs 20]``

1. **Builds** (once per set of parameters, cached under ``data/volume/``, ignored by git) a database of
   ``--wilayah`` regions × ``--permohonan`` applications each over ``--hari`` days, by default the province of
   issue 18: 10 regions × 50,000 applications over two years, ≈ 3 M audit rows. ``--skala 0.05`` scales the
   applications (and with them tickets, surveys, complaints, citizens) for a quick run. It goes through the
   real schema: ``ops.seed`` migrates and seeds the reference data and the pilot regions (their MPPs,
   agencies, counters, services), then citizens, officers, applications with their timeline, audit trail
   (chained by ``db.audit.append_many``, the same digest as every ``append``), documents, SMS, queue tickets,
   SKM surveys and complaints are inserted with ``executemany`` (one transaction per batch; build-only
   PRAGMAs: no journal, no fsync). Every CHECK, UNIQUE, foreign key and trigger applies. Distributions:
   growth over the two years, weekday office hours, ~72 % civil-registration services (KTP-el, KK, birth
   certificates first) and ~28 % health-worker permits, 8 % abandoned drafts, 5 % refused, 3 % sent back for
   fixes, held cases, fiktif-positif permits; per region its own speed, queue wait and satisfaction (a few
   regions lag, as the ministry's page should show).
2. **Measures** on a copy (so every run starts from the same state), with "now" pinned to the end of the
   generated period (``MPP_NOW``): each heavy page in-process through every middleware (Starlette's test
   client, logged in as the ministry or the Disdukcapil officer of Kota Batam), and one round of the
   fiktif-positif job, printing ``volume_<page>_p50_ms`` and ``volume_<page>_p95_ms`` lines.
"""

from __future__ import annotations

import argparse
import base64
import bisect
import datetime as dt
import json
import math
import os
import random
import re
import shutil
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass, fields
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "data" / "volume"
GENERATOR = 1  # bump when what is generated changes: the cached files are keyed by it
END = dt.datetime(2026, 12, 1, 3, 0, tzinfo=dt.UTC)  # a Tuesday, 10:00 WIB: the generated "now"
NOW_PIN = END.isoformat()
STAMP = "%Y-%m-%dT%H:%M:%SZ"
ZONES = {"WIB": 7, "WITA": 8, "WIT": 9}
# Kota Batam first (the demo accounts' region, /mpp/2171), two regions on WITA; then the other pilots.
REGION_ORDER = ["2171", "2172", "1171", "1375", "1605", "1872", "3302", "3471", "6472", "7471",
                "3314", "3315", "3329", "3371", "3372", "3510", "3520", "3523", "3576", "6202", "6306"]
# service slug -> relative weight (the rest of the 31 health-worker permits share NAKES_OTHER)
WEIGHTS = {"ktp-el": 20, "kartu-keluarga": 17, "akta-kelahiran": 15, "kia": 7, "akta-kematian": 5,
           "pindah-datang": 4, "perubahan-data-kependudukan": 2.5, "akta-perkawinan": 1.5,
           "sip-perawat": 6, "sip-bidan": 5, "sip-dokter": 3, "sip-apoteker": 2, "sip-ttk": 1.5, "sip-dokter-gigi": 1}
NAKES_OTHER = 0.35
FIRST = ["Budi", "Siti", "Agus", "Dewi", "Rina", "Andi", "Putri", "Joko", "Sri", "Hendra", "Nur", "Rudi", "Ayu",
         "Fajar", "Indah", "Yusuf", "Wahyu", "Maria", "Yohanes", "Fitri", "Rizky", "Lestari", "Bayu", "Ratna"]
LAST = ["Santoso", "Wulandari", "Saputra", "Hidayat", "Siregar", "Nasution", "Lubis", "Harahap", "Pratama",
        "Kurniawan", "Simanjuntak", "Manurung", "Rahman", "Setiawan", "Wijaya", "Tanjung", "Sinaga", "Purba"]
COMPLAINTS = ["Antrean di loket terlalu lama, nomor saya dilewati.", "Dokumen belum terbit melewati batas waktu.",
              "Petugas meminta berkas yang tidak ada di persyaratan.", "Situs tidak dapat dibuka dari ponsel saya.",
              "Nomor SMS tidak pernah masuk padahal sudah diajukan."]


@dataclass(frozen=True)
class Params:
    wilayah: int = 10
    permohonan: int = 50_000  # per region
    hari: int = 730
    seed: int = 18

    def scaled(self, skala: float) -> Params:
        return Params(self.wilayah, max(200, round(self.permohonan * skala)), self.hari, self.seed)

    @property
    def path(self) -> Path:
        return DATA / f"volume-w{self.wilayah}-p{self.permohonan}-h{self.hari}-s{self.seed}-g{GENERATOR}.db"


def out(name: str, value, unit: str) -> None:
    print(f"{name}={value:.4g} {unit}" if isinstance(value, float) else f"{name}={value} {unit}", flush=True)


def stamp(t: dt.datetime) -> str:
    return t.astimezone(dt.UTC).strftime(STAMP)


# ------------------------------------------------------------------ the calendar of the generated period

class Calendar:
    """Working days (weekends and the national holidays the database holds) over the generated period."""

    def __init__(self, holidays: set[str], start: dt.date, end: dt.date):
        self.days = []
        day = start
        while day <= end + dt.timedelta(days=400):
            if day.weekday() < 5 and day.isoformat() not in holidays:
                self.days.append(day)
            day += dt.timedelta(days=1)

    def add(self, day: dt.date, n: int) -> dt.date:
        """The date ``n`` working days after ``day`` (services.kalender.add_working_days)."""
        return self.days[bisect.bisect_right(self.days, day) + n - 1]

    def office(self, t: dt.datetime, zone: int) -> dt.datetime:
        """``t``, or the next moment an office of that zone is open (working day, 08:00-16:00 local)."""
        local = t + dt.timedelta(hours=zone)
        day, minutes = local.date(), local.hour * 60 + local.minute
        i = bisect.bisect_left(self.days, day)
        if self.days[i] == day and 8 * 60 <= minutes < 16 * 60:
            return t
        if self.days[i] == day and minutes < 8 * 60:
            nxt = day
        else:
            nxt = self.days[i + 1] if self.days[i] == day else self.days[i]
        opened = dt.datetime.combine(nxt, dt.time(8), tzinfo=dt.UTC) - dt.timedelta(hours=zone)
        return opened + dt.timedelta(minutes=(minutes * 7919) % 90)


# ------------------------------------------------------------------ building

class Builder:
    def __init__(self, db, params: Params):
        self.db, self.conn, self.p = db, db.conn, params
        self.rnd = random.Random(params.seed)
        self.start = END - dt.timedelta(days=params.hari)
        holidays = {r[0] for r in db.execute("SELECT tanggal FROM libur WHERE wilayah_kode = ''")}
        self.cal = Calendar(holidays, self.start.date() - dt.timedelta(days=5), END.date())
        self.next_akun = db.execute("SELECT coalesce(max(id), 0) + 1 FROM akun").fetchone()[0]
        self.next_permohonan = db.execute("SELECT coalesce(max(id), 0) + 1 FROM permohonan").fetchone()[0]
        self.next_tiket = db.execute("SELECT coalesce(max(id), 0) + 1 FROM tiket").fetchone()[0]
        self.password = db.execute("SELECT kata_sandi FROM akun WHERE username = 'kemenpanrb'").fetchone()[0]
        self.services = {r["slug"]: dict(r) for r in db.execute(
            "SELECT id, slug, nama, singkatan, kelompok, instansi, jangka_waktu_hari, terbitkan_dokumen, formulir, "
            "tingkat_ajukan, tingkat_terbit, versi, produk FROM layanan WHERE wilayah_pemilik IS NULL")}
        for s in self.services.values():
            s["formulir"] = json.loads(s["formulir"])
        self.audit: list[tuple] = []
        self.counts: dict[str, int] = {}

    # -------------------------------------------------------------- helpers

    def insert(self, table: str, columns: list[str], rows: list[tuple], batch: int = 50_000) -> None:
        sql = f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})"
        for i in range(0, len(rows), batch):
            self.conn.execute("BEGIN")
            self.conn.executemany(sql, rows[i:i + batch])
            self.conn.execute("COMMIT")
        self.counts[table] = self.counts.get(table, 0) + len(rows)

    def name(self) -> str:
        return f"{self.rnd.choice(FIRST)} {self.rnd.choice(FIRST)} {self.rnd.choice(LAST)}"

    def day_picker(self):
        """Days of the period weighted by growth (x0.4 at the start, x1.6 at the end) and weekday."""
        days = [self.start.date() + dt.timedelta(days=i) for i in range(self.p.hari + 1)]
        cum, total = [], 0.0
        for i, day in enumerate(days):
            total += (0.4 + 1.2 * i / self.p.hari) * (1.0 if day.weekday() < 5 else 0.15)
            cum.append(total)
        return days, cum

    # -------------------------------------------------------------- regions, people

    def regions(self) -> list[dict]:
        pilots = {r[0] for r in self.db.execute("SELECT wilayah_kode FROM mpp")}
        codes = [k for k in REGION_ORDER if k in pilots][:self.p.wilayah]
        if len(codes) < self.p.wilayah:
            raise SystemExit(f"only {len(codes)} pilot regions to fill (asked {self.p.wilayah})")
        out_ = []
        for i, kode in enumerate(codes):
            row = self.db.execute("SELECT k.nama, p.zona_waktu FROM kabkota k JOIN provinsi p ON p.kode = "
                                  "k.provinsi_kode WHERE k.kode = ?", [kode]).fetchone()
            agencies = {r[0]: r[1] for r in self.db.execute(
                "SELECT jenis_kode, id FROM instansi WHERE wilayah_kode = ?", [kode])}
            offered = {r[0]: r[1] for r in self.db.execute(
                "SELECT layanan_id, instansi_id FROM layanan_wilayah WHERE wilayah_kode = ? AND aktif = 1", [kode])}
            counters = [dict(r) for r in self.db.execute(
                "SELECT g.id, g.nomor, g.instansi_id, i.jenis_kode FROM gerai g JOIN instansi i ON i.id = g.instansi_id"
                " WHERE g.wilayah_kode = ? ORDER BY g.nomor", [kode])]
            out_.append({
                "kode": kode, "nama": row[0], "zone": ZONES[row[1]], "agencies": agencies, "offered": offered,
                "counters": counters,
                # the region's own pace: a slow one (SLA), a long queue, a poorly rated one; the rest vary a little
                "speed": 4.0 if i == 3 else self.rnd.uniform(0.6, 1.1),
                "wait": 75.0 if i == 6 else self.rnd.uniform(12, 35),
                "ikm": 2.55 if i == 8 else self.rnd.uniform(3.2, 3.6),
            })
        return out_

    def people(self, region: dict, citizens: int) -> None:
        kode = region["kode"]
        days, cum = self.day_picker()
        rows, assurance = [], []
        region["citizens"] = []
        for _ in range(citizens):
            i = self.next_akun
            self.next_akun += 1
            level = self.rnd.choices(["terverifikasi_wajah", "terverifikasi_petugas", "terdaftar"], [72, 16, 12])[0]
            made = dt.datetime.combine(self.rnd.choices(days, cum_weights=cum)[0], dt.time(2), tzinfo=dt.UTC)
            made -= dt.timedelta(days=self.rnd.randint(0, 20))
            telepon = f"08{kode}{i:07d}"
            rows.append((i, "warga", f"{kode}01{i:010d}", telepon, self.name(), self.password, kode, level,
                         stamp(made), "aktif", stamp(made) if level == "terverifikasi_wajah" else None))
            kanal = {"terverifikasi_wajah": "selfie", "terverifikasi_petugas": "gerai", "terdaftar": "sms"}[level]
            assurance.append((i, "terdaftar", "sms", stamp(made)))
            if level != "terdaftar":
                assurance.append((i, level, kanal, stamp(made + dt.timedelta(minutes=3))))
            region["citizens"].append((i, level, telepon))
        self.insert("akun", ["id", "peran", "nik", "telepon", "nama", "kata_sandi", "wilayah_kode", "tingkat", "dibuat",
                             "status", "wajah_terakhir"], rows)
        self.insert("jaminan", ["akun_id", "tingkat", "kanal", "waktu"], assurance)
        # officers: Disdukcapil and DPMPTSP, each duty held by several people (the demo ones of Batam stay)
        region["officers"] = {}
        staff = []
        for jenis, count in (("disdukcapil", 9), ("dpmptsp", 6)):
            duty_of = {}
            for n in range(count):
                duty = ["verifikator", "validator", "penandatangan"][n % 3]
                i = self.next_akun
                self.next_akun += 1
                staff.append((i, "petugas", f"petugas.{kode}.{jenis}.{n}", f"{self.name()} ({jenis})", self.password,
                              kode, region["agencies"][jenis], duty, "dasar", stamp(self.start)))
                duty_of.setdefault(duty, []).append(i)
            region["officers"][region["agencies"][jenis]] = duty_of
        self.insert("akun", ["id", "peran", "username", "nama", "kata_sandi", "wilayah_kode", "instansi_id", "jabatan",
                             "tingkat", "dibuat"], staff)

    # -------------------------------------------------------------- applications

    def answers(self, service: dict, who: str) -> dict:
        data = {}
        for f in service["formulir"]:
            kind = f["jenis"]
            if kind == "berkas":
                continue
            if kind == "pilihan" and f.get("opsi"):
                data[f["nama"]] = self.rnd.choice(f["opsi"])
            elif kind == "tanggal":
                day, month, year = self.rnd.randint(1, 28), self.rnd.randint(1, 12), self.rnd.randint(1950, 2025)
                data[f["nama"]] = f"{day:02d}-{month:02d}-{year}"
            elif kind == "nik":
                region, district = self.rnd.randint(1101, 9471), self.rnd.randint(10, 99)
                data[f["nama"]] = f"{region}{district}{self.rnd.randint(10**9, 10**10 - 1)}"
            elif kind == "angka":
                data[f["nama"]] = str(self.rnd.randint(1, 99999))
            elif kind == "teks_panjang":
                street, number, rt = self.rnd.choice(LAST), self.rnd.randint(1, 200), self.rnd.randint(1, 9)
                data[f["nama"]] = f"Jl. {street} No. {number}, RT 0{rt}" \
                                  f"/RW 0{self.rnd.randint(1, 9)}, Kel. {self.rnd.choice(LAST)}"
            elif f["nama"] == "nomor_str":
                data[f["nama"]] = f"STR-{self.rnd.randint(10**9, 10**10 - 1)}"
            else:
                data[f["nama"]] = who if "nama" in f["nama"] else f"{self.rnd.choice(LAST)} {self.rnd.randint(1, 99)}"
        return data

    def applications(self, region: dict, count: int, due_now: int) -> dict:
        """``count`` applications of one region (``due_now`` of them health-worker permits due for fiktif
        positif right now); returns the rows of every table, the audit trail kept for the one chain."""
        rnd, cal, zone, kode = self.rnd, self.cal, region["zone"], region["kode"]
        days, cum = self.day_picker()
        offered = {slug: s for slug, s in self.services.items() if s["id"] in region["offered"]}
        slugs = list(offered)
        weights = [WEIGHTS.get(s, NAKES_OTHER if offered[s]["kelompok"] == "nakes" else 1) for s in slugs]
        rows = {k: [] for k in ("permohonan", "riwayat", "dokumen", "notifikasi", "skm", "pengaduan", "str_nakes",
                                "tempat_praktik")}
        drafts: set = set()
        end_local = (END + dt.timedelta(hours=zone)).date()
        for n in range(count):
            pid = self.next_permohonan
            self.next_permohonan += 1
            s = offered[rnd.choices(slugs, weights)[0]]
            akun_id, level, telepon = rnd.choice(region["citizens"])
            instansi = region["offered"][s["id"]]
            officers = region["officers"].get(instansi) or next(iter(region["officers"].values()))
            child = s["kelompok"] == "adminduk" and rnd.random() < 0.3
            untuk_nik = f"{kode}01{rnd.randint(10**9, 10**10 - 1)}" if child else None
            untuk_nama = self.name() if child else None
            who = untuk_nama or self.name()
            answers = self.answers(s, who)
            day = rnd.choices(days, cum_weights=cum)[0]
            local_minutes = int(min(22 * 60, max(6 * 60, rnd.gauss(11 * 60, 150))))
            t0 = dt.datetime.combine(day, dt.time(), tzinfo=dt.UTC) + dt.timedelta(minutes=local_minutes - zone * 60)
            if t0 >= END:
                t0 = END - dt.timedelta(minutes=rnd.randint(5, 600))
            created = t0 - dt.timedelta(minutes=rnd.randint(3, 60 * 24))
            key = (akun_id, s["id"], untuk_nik or "")
            if rnd.random() < 0.08 and key not in drafts and n >= due_now:  # started, never submitted
                drafts.add(key)
                partial = dict(list(answers.items())[:max(1, len(answers) // 2)])
                rows["permohonan"].append((pid, None, akun_id, s["id"], kode, instansi, "draf",
                                           json.dumps(partial, ensure_ascii=False), "{}", None, None,
                                           None, 0, stamp(created), stamp(t0), untuk_nik, untuk_nama, s["versi"], ""))
                continue
            if n < due_now:  # undecided past its 5 working days, applicant's level met: the job's work right now
                while not _meets(level, _higher(s["tingkat_ajukan"], s["tingkat_terbit"])) or s["kelompok"] != "nakes":
                    akun_id, level, telepon = rnd.choice(region["citizens"])
                    s = offered[rnd.choice([k for k in slugs if offered[k]["kelompok"] == "nakes"])]
                instansi = region["offered"][s["id"]]
                officers = region["officers"].get(instansi) or next(iter(region["officers"].values()))
                answers = self.answers(s, who)
                t0 = dt.datetime.combine(end_local - dt.timedelta(days=12), dt.time(2), tzinfo=dt.UTC)
            submitted_local = (t0 + dt.timedelta(hours=zone)).date()
            nomor = f"{kode}-{submitted_local:%y%m%d}-{pid:06d}"
            tenggat = cal.add(submitted_local, s["jangka_waktu_hari"])
            objek = f"permohonan:{pid}"
            # (time, status, note, actor, audit action, reason)
            events = [(t0, "diajukan", "Permohonan diajukan", akun_id, None, "")]
            held = "" if _meets(level, _higher(s["tingkat_ajukan"], s["tingkat_terbit"])) else "tatap_muka"
            nakes = s["kelompok"] == "nakes"
            if nakes:  # the applicant's STR in the embedded SISDMK (one per application: a new practice place)
                answers["nomor_str"] = f"STR-{kode}-{pid:08d}"
                rows["str_nakes"].append((answers["nomor_str"], f"{kode}01{akun_id:010d}", who,
                                          s["slug"].removeprefix("sip-").split("-")[0], None))
            data = json.dumps(answers, ensure_ascii=False)
            # fiktif positif: a permit nobody decided within its 5 working days is issued by the job that night
            deemed_at = dt.datetime.combine(tenggat + dt.timedelta(days=1), dt.time(1), tzinfo=dt.UTC) \
                - dt.timedelta(hours=zone)
            hours = rnd.lognormvariate(math.log((40 if nakes else 7) * region["speed"]), 0.7)
            fate, status, selesai, fiktif = rnd.random(), "diajukan", None, 0
            if n < due_now:
                steps = [(0.1, "diverifikasi", "verifikator", "verifikasi", "")]
                hours, deemed_at = 3.0, END + dt.timedelta(days=1)
            else:
                steps = self.plan(fate)
            # forgotten in the inbox (a permit is not: fiktif positif issues it, unless it is held)
            stuck = (held or not nakes) and rnd.random() < 0.003
            for share, new, duty, action, note in steps:
                when = t0 + dt.timedelta(hours=hours * share)
                when = cal.office(when, zone) if duty else when
                deemed = nakes and not held and when > deemed_at and new != "perlu_perbaikan" and status != \
                    "perlu_perbaikan"
                if deemed:
                    new, when, note = "selesai", deemed_at, ("Diterbitkan otomatis: tidak diputuskan dalam 5 hari "
                                                             "kerja (fiktif positif)")
                if when >= END or (stuck and new in ("disetujui", "selesai")):
                    break
                if new == "selesai" and held:
                    if rnd.random() < 0.15:
                        break  # still waits for the counter's identity check
                    held = ""
                actor = None if deemed else (rnd.choice(officers[duty]) if duty else akun_id)
                if duty and not deemed:
                    for _ in range(rnd.choice((1, 1, 2))):  # each decision follows an opening of the case
                        self.audit.append((stamp(when - dt.timedelta(minutes=rnd.randint(1, 30))), actor, "buka",
                                           objek, "{}"))
                if new == "selesai":
                    if not deemed:
                        note = (f"Dokumen 474/{s['singkatan'] or s['slug'].upper()}/{kode}/{when.year}/{pid:06d} "
                                "diterbitkan dan ditandatangani secara elektronik")
                    selesai, fiktif = when, int(deemed)
                events.append((when, new, note, actor, "fiktif_positif" if deemed else action,
                               note if action in ("perbaikan", "tolak") else ""))
                status = new
                if deemed:
                    break
            self.record(rows, events, objek, nomor, tenggat, s, akun_id, telepon)
            last = events[-1][0]
            if status == "selesai" and s["terbitkan_dokumen"]:
                self.document(rows, region, s, pid, nomor, answers, who, selesai, bool(fiktif))
            rows["permohonan"].append((pid, nomor, akun_id, s["id"], kode, instansi, status, data,
                                       json.dumps({"alasan": "Foto KTP-el buram, unggah ulang.", "kolom": ["foto_ktp"]})
                                       if status == "perlu_perbaikan" else "{}",
                                       stamp(t0), tenggat.isoformat(), stamp(selesai) if selesai else None, fiktif,
                                       stamp(created), stamp(last), untuk_nik, untuk_nama, s["versi"], held))
            if status == "selesai" and rnd.random() < 0.25:
                rows["skm"].append((f"permohonan:{pid}", kode, instansi, s["id"], *self.ratings(region),
                                    stamp(selesai + dt.timedelta(hours=rnd.randint(1, 72)))))
            if rnd.random() < 0.01:
                rows["pengaduan"].append(self.complaint(region, instansi, s["id"], pid, akun_id, telepon, t0))
        return rows

    def plan(self, fate: float) -> list[tuple]:
        """The steps an application goes through, each (share of its processing time, status, duty, audited
        action, note): 3 % sent back for fixes (most resubmit), 5 % refused, the rest verified, approved, issued."""
        steps, offset = [], 0.0
        if fate < 0.03:
            steps.append((0.3, "perlu_perbaikan", "verifikator", "perbaikan", "Foto KTP-el buram, unggah ulang."))
            if self.rnd.random() >= 0.7:
                return steps  # never fixed
            offset = 2.5
            steps.append((offset, "diajukan", None, None, "Diajukan kembali setelah perbaikan"))
        if 0.03 <= fate < 0.08:
            return steps + [(offset + 0.35, "ditolak", "validator", "tolak", "Persyaratan tidak terpenuhi.")]
        return steps + [(offset + 0.35, "diverifikasi", "verifikator", "verifikasi", ""),
                        (offset + 0.65, "disetujui", "validator", "setujui", ""),
                        (offset + 1.0, "selesai", "penandatangan", "terbitkan", "")]

    def record(self, rows: dict, events: list[tuple], objek: str, nomor: str, tenggat: dt.date, service: dict,
               akun_id: int, telepon: str) -> None:
        """Each event's timeline row, audit row (officers' actions, fiktif positif) and SMS to the applicant."""
        for when, new, note, actor, action, reason in events:
            rows["riwayat"].append((int(objek.split(":")[1]), new, note, actor, stamp(when)))
            if action:
                detail = ({"tenggat": tenggat.isoformat()} if action == "fiktif_positif" else
                          {"status": new, "alasan": reason, "kolom": ["foto_ktp"] if action == "perbaikan" else []})
                self.audit.append((stamp(when), actor if action != "fiktif_positif" else None, action, objek,
                                   json.dumps(detail, ensure_ascii=False, sort_keys=True)))
            text = (f"MPP Digital: permohonan {service['nama']} nomor {nomor} diterima. Batas waktu layanan "
                    f"{tenggat.day} {tenggat.month} {tenggat.year}." if new == "diajukan"
                    else f"MPP Digital: permohonan {nomor} kini {new.replace('_', ' ')}.")
            rows["notifikasi"].append((akun_id, "sms", telepon, text, "terkirim", 1, when.timestamp(), "",
                                       stamp(when)))

    def document(self, rows: dict, region: dict, service: dict, pid: int, nomor: str, answers: dict, who: str,
                 selesai: dt.datetime, deemed: bool) -> None:
        """The issued document (its stated lines and signed token's size), and a permit's practice place."""
        kode, nakes = region["kode"], service["kelompok"] == "nakes"
        doc_no = f"474/{service['singkatan'] or service['slug'].upper()}/{kode}/{selesai.year}/{pid:06d}"
        lines = [["Nomor dokumen", doc_no], ["Jenis dokumen", service["produk"][:60]], ["Daerah", region["nama"]],
                 ["Nama pemohon", who], ["NIK pemohon", f"{kode}01******{pid % 10000:04d}"]]
        lines += [[k.replace("_", " ").capitalize(), str(v)] for k, v in list(answers.items())[:8]]
        lines += [["Nomor registrasi permohonan", nomor], ["Tanggal terbit", selesai.date().isoformat()]]
        isi = {"format": 2, "judul": service["produk"][:60], "wilayah": region["nama"], "baris": lines,
               "tanggal": selesai.date().isoformat(), "penandatangan": "Sistem MPP Digital" if deemed else who}
        token = base64.urlsafe_b64encode(self.rnd.randbytes(150)).decode().rstrip("=")
        berlaku = (selesai.date() + dt.timedelta(days=5 * 365)).isoformat() if nakes else None
        rows["dokumen"].append((pid, doc_no, json.dumps(isi, ensure_ascii=False), token, isi["penandatangan"],
                                stamp(selesai), berlaku))
        if nakes:
            rows["tempat_praktik"].append((answers["nomor_str"], str(answers.get("nama_fasyankes", "")), doc_no,
                                           berlaku))

    def ratings(self, region: dict) -> list[int]:
        return [min(4, max(1, round(self.rnd.gauss(region["ikm"], 0.6)))) for _ in range(9)]

    def complaint(self, region, instansi, layanan_id, pid, akun_id, telepon, t0) -> tuple:
        rnd, cal, zone = self.rnd, self.cal, region["zone"]
        filed = t0 + dt.timedelta(days=rnd.uniform(1, 20))
        if filed >= END:
            filed = END - dt.timedelta(hours=1)
        day = (filed + dt.timedelta(hours=zone)).date()
        teruskan = cal.add(day, 3)
        age = (END - filed).days
        status = ("selesai" if rnd.random() < 0.8 else "ditutup_otomatis") if age > 30 else \
            rnd.choice(["diterima", "diteruskan", "ditindaklanjuti", "selesai"])
        tindak = cal.add(teruskan, 5).isoformat() if status != "diterima" else None
        tutup = cal.add(cal.add(teruskan, 5), 10).isoformat() if status in ("ditindaklanjuti", "selesai",
                                                                            "ditutup_otomatis") else None
        answer = "Terima kasih, sudah kami tindak lanjuti bersama instansi terkait." if tutup else ""
        return (f"ADU-{region['kode']}-{pid:06d}", rnd.randbytes(8).hex(), region["kode"], instansi, layanan_id, pid,
                akun_id, telepon, rnd.choice(COMPLAINTS), status, teruskan.isoformat(), tindak, tutup, answer,
                stamp(filed))

    # -------------------------------------------------------------- the queue

    def tickets(self, region: dict, count: int) -> tuple[list, list]:
        rnd, zone, kode = self.rnd, region["zone"], region["kode"]
        working = [d for d in self.cal.days if self.start.date() <= d <= (END + dt.timedelta(hours=zone)).date()]
        weights = [0.4 + 1.2 * i / max(1, len(working) - 1) for i in range(len(working))]
        per_day = count / sum(weights)
        counters = region["counters"]
        counter_weights = [8 if c["jenis_kode"] == "disdukcapil" else 3 if c["jenis_kode"] in ("dpmptsp", "samsat")
                           else 1 for c in counters]
        slots = [f"{8 + m // 60:02d}:{m % 60:02d}" for m in range(0, 7 * 60, 30)]
        today = (END + dt.timedelta(hours=zone)).date()
        now_local = END + dt.timedelta(hours=zone)
        rows, surveys = [], []
        citizens = region["citizens"]
        for day, w in zip(working, weights, strict=True):
            n = max(0, round(rnd.gauss(per_day * w, math.sqrt(per_day * w))))
            picked = sorted((rnd.choices(range(len(counters)), counter_weights)[0], rnd.choice(slots))
                            for _ in range(n))
            seq: dict[int, int] = {}
            used_today = set()
            for ci, jam in picked:
                g = counters[ci]
                seq[ci] = seq.get(ci, 0) + 1
                tid = self.next_tiket
                self.next_tiket += 1
                jenis = "daring" if rnd.random() < 0.4 else "langsung"
                akun = None
                if jenis == "daring":
                    akun = rnd.choice(citizens)[0]
                    if day == today:
                        if (akun, g["id"]) in used_today:
                            akun, jenis = None, "langsung"
                        used_today.add((akun, g["id"]))
                slot = dt.datetime.combine(day, dt.time(int(jam[:2]), int(jam[3:])), tzinfo=dt.UTC)
                wait = rnd.lognormvariate(math.log(region["wait"]), 0.7)
                called = slot + dt.timedelta(minutes=wait)
                status = rnd.choices(["dilayani", "tidak_hadir", "batal"], [85, 8, 7])[0]
                dipanggil = selesai = None
                if day == today and called >= now_local:
                    status = "menunggu"
                elif day == today and called + dt.timedelta(minutes=12) >= now_local and status != "batal":
                    status = "dipanggil"
                if status in ("dilayani", "tidak_hadir", "dipanggil"):
                    dipanggil = (called - dt.timedelta(hours=zone)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
                if status in ("dilayani", "tidak_hadir"):
                    selesai = (called + dt.timedelta(minutes=rnd.uniform(3, 20)) - dt.timedelta(hours=zone)) \
                        .strftime("%Y-%m-%dT%H:%M:%S.%fZ")
                made = slot - dt.timedelta(hours=zone) - dt.timedelta(minutes=rnd.randint(10, 60 * 48 if akun else 30))
                rows.append((tid, kode, g["id"], None, day.isoformat(), jam, jenis, seq[ci],
                             f"{g['nomor']}-{seq[ci]:03d}", akun, status, g["nomor"], dipanggil, selesai, stamp(made)))
                if status == "dilayani" and rnd.random() < 0.15:
                    surveys.append((f"tiket:{tid}", kode, g["instansi_id"], None, *self.ratings(region),
                                    selesai[:19] + "Z"))
        return rows, surveys

    # -------------------------------------------------------------- the whole build

    def build(self, log=print) -> None:
        regions = self.regions()
        apps = self.p.permohonan
        for region in regions:
            t = time.perf_counter()
            self.people(region, max(50, int(apps * 0.55)))
            rows = self.applications(region, apps, due_now=2 if region["kode"] in ("2171", "2172", "1171") else 0)
            self.insert("permohonan", ["id", "nomor", "akun_id", "layanan_id", "wilayah_kode", "instansi_id",
                                       "status", "data", "perbaikan", "diajukan", "tenggat", "selesai",
                                       "fiktif_positif", "dibuat", "diubah", "untuk_nik", "untuk_nama",
                                       "layanan_versi", "ditahan"],
                        rows["permohonan"])
            self.insert("str_nakes", ["nomor_str", "nik", "nama", "profesi", "berlaku_sampai"], rows["str_nakes"])
            self.insert("tempat_praktik", ["nomor_str", "nama_fasyankes", "nomor_sip", "berlaku_sampai"],
                        rows["tempat_praktik"])
            self.insert("riwayat", ["permohonan_id", "status", "catatan", "akun_id", "waktu"], rows["riwayat"])
            self.insert("dokumen", ["permohonan_id", "nomor", "isi", "token", "penandatangan", "diterbitkan",
                                    "berlaku_sampai"], rows["dokumen"])
            self.insert("notifikasi", ["akun_id", "kanal", "tujuan", "isi", "status", "percobaan", "berikut", "galat",
                                       "dibuat"], rows["notifikasi"])
            tickets, surveys = self.tickets(region, int(apps * 1.1))
            self.insert("tiket", ["id", "wilayah_kode", "gerai_id", "layanan_id", "tanggal", "jam", "jenis", "nomor",
                                  "kode", "akun_id", "status", "loket", "dipanggil", "selesai", "dibuat"], tickets)
            columns = ["transaksi", "wilayah_kode", "instansi_id", "layanan_id", *[f"u{i}" for i in range(1, 10)],
                       "dibuat"]
            self.insert("skm", columns, rows["skm"] + surveys)
            self.insert("pengaduan", ["nomor", "kode_lacak", "wilayah_kode", "instansi_id", "layanan_id",
                                      "permohonan_id", "akun_id", "kontak", "isi", "status", "batas_teruskan",
                                      "batas_tindak", "batas_tutup", "jawaban", "dibuat"], rows["pengaduan"])
            log(f"# volume: {region['kode']} {region['nama']}: {apps} applications, {len(tickets)} tickets "
                f"({time.perf_counter() - t:.0f} s)")
        from db import audit

        t = time.perf_counter()
        self.audit.sort(key=lambda r: r[0])  # one chain, in the order things happened
        self.counts["audit"] = audit.append_many(self.db, self.audit, batch=100_000)
        self.audit = []
        log(f"# volume: audit chain of {self.counts['audit']} rows ({time.perf_counter() - t:.0f} s)")


_ORDER = ["dasar", "terdaftar", "terverifikasi_wajah", "terverifikasi_petugas"]


def _meets(level: str, needed: str) -> bool:
    return _ORDER.index(level) >= _ORDER.index(needed)


def _higher(a: str, b: str) -> str:
    return max(a, b, key=_ORDER.index)


def build(params: Params, log=print) -> Path:
    """Build the database of ``params`` (into a temporary file, renamed when complete); its path."""
    from db.connection import connect
    from ops.seed import seed

    DATA.mkdir(parents=True, exist_ok=True)
    final = params.path
    tmp = final.with_suffix(".db.tmp")
    for leftover in (tmp, Path(f"{tmp}-wal"), Path(f"{tmp}-shm")):
        leftover.unlink(missing_ok=True)
    t = time.perf_counter()
    db = connect(tmp)
    seed(db, demo=True, waktu=stamp(END - dt.timedelta(days=params.hari)))
    conn = db.conn
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.isolation_level = None
    for pragma in ("journal_mode=OFF", "synchronous=OFF", "cache_size=-1000000", "temp_store=MEMORY",
                   "locking_mode=EXCLUSIVE"):  # for the build only: a failed build is thrown away whole
        conn.execute(f"PRAGMA {pragma}")
    builder = Builder(db, params)
    builder.build(log)
    conn.execute("PRAGMA locking_mode=NORMAL")
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("SELECT 1 FROM audit LIMIT 1").fetchone()  # releases the exclusive lock
    conn.close()
    tmp.rename(final)
    log(f"# volume: built {final.name} in {time.perf_counter() - t:.0f} s: " +
        ", ".join(f"{k} {v}" for k, v in sorted(builder.counts.items())))
    return final


# ------------------------------------------------------------------ measuring

@dataclass
class Page:
    name: str
    path: str
    who: str  # "kementerian", "petugas" or "" (anonymous)
    status: int = 200


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q * len(ordered)) - 1)]


def _settings(db_path: str, beside: str | None = None):
    """In-process settings for a benchmark's app; ``beside``: a folder for the run's spool, files and seal (else
    beside the database)."""
    from web.settings import Settings

    key = lambda: base64.urlsafe_b64encode(os.urandom(32)).decode().rstrip("=")  # noqa: E731
    wanted = {"db_path": db_path, "secret_key": "bench-only-key", "demo": True, "template_key": key(),
              "signing_key": key(), "loop_guard": "off", "log_level": "warning", "get_writes": "off",
              "background_jobs": False}
    if beside:
        wanted |= {"spool_dir": f"{beside}/spool", "files_dir": f"{beside}/objek", "tte_dir": f"{beside}/tte"}
    known = {f.name for f in fields(Settings)}
    return Settings(**{k: v for k, v in wanted.items() if k in known})


def _log_in(client, login_id: str) -> None:
    from bench.formulir import hidden_fields
    from ops.seed import DEMO_PASSWORD

    page = client.get("/masuk").text
    r = client.post("/masuk", data={**hidden_fields(page, "/masuk"), "login": login_id, "kata_sandi": DEMO_PASSWORD},
                    follow_redirects=False)
    assert r.status_code == 303, (login_id, r.status_code)


def prepare(base: Path) -> Path:
    """Bring the cached file to the current schema (once per migration), then a copy to measure on."""
    from db.connection import connect
    from ops.seed import seed

    t = time.perf_counter()
    db = connect(base)
    seed(db, demo=True, waktu=stamp(END))
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    db.conn.close()
    took = time.perf_counter() - t
    if took > 5:
        print(f"# volume: migrated the cached file in {took:.0f} s", flush=True)
    run = base.with_name("run.db")
    for old in (run, Path(f"{run}-wal"), Path(f"{run}-shm")):
        old.unlink(missing_ok=True)
    shutil.copyfile(base, run)
    return run


def measure(run_path: Path, runs: int, names: set[str] | None = None) -> list[str]:
    import sqlite3

    from starlette.testclient import TestClient

    os.environ["MPP_NOW"] = NOW_PIN
    from app import create_app

    conn = sqlite3.connect(run_path)
    officer = conn.execute("SELECT id, instansi_id FROM akun WHERE username = 'dukcapil.batam'").fetchone()
    cases = [r[0] for r in conn.execute(
        "SELECT id FROM permohonan WHERE instansi_id = ? AND status != 'draf' ORDER BY random() LIMIT ?",
        [officer[1], runs + 3])]
    inbox_total = conn.execute("SELECT count(*) FROM permohonan WHERE instansi_id = ? AND status != 'draf'",
                               [officer[1]]).fetchone()[0]
    applications = conn.execute("SELECT count(*) FROM permohonan").fetchone()[0]
    audit_rows = conn.execute("SELECT max(id) FROM audit").fetchone()[0]
    conn.close()
    last_page = max(1, math.ceil(inbox_total / 50))
    pages = [
        Page("kinerja", "/pemantauan/kinerja", "kementerian"),
        Page("kinerja_csv", "/pemantauan/kinerja.csv", "kementerian"),
        Page("wilayah_kementerian", "/pemantauan/wilayah/2171", "kementerian"),
        Page("admin_nasional", "/admin", "kementerian"),
        Page("admin_daerah", "/admin", "admin_wilayah"),  # the region manager's dashboard at the same address
        Page("kriteria", "/pemantauan/kriteria", "kementerian"),
        Page("kasus", "/petugas/permohonan/{case}", "petugas"),
        Page("kotak_masuk_awal", "/petugas", "petugas"),
        Page("kotak_masuk_akhir", f"/petugas?hal={last_page}", "petugas"),
        Page("layar_fragmen", "/fragmen/layar/2171", ""),
        Page("mpp_2171", "/mpp/2171", ""),
    ]
    lines = [f"volume_applications={applications} applications", f"volume_audit_rows={audit_rows} rows",
             f"volume_inbox_cases={inbox_total} cases"]
    beside = tempfile.TemporaryDirectory()  # the run's spool (case openings), files and seal: gone with the copy
    app = create_app(_settings(str(run_path), beside.name), quiet=True)
    with beside, TestClient(app, base_url="http://127.0.0.1") as anon, \
            TestClient(app, base_url="http://127.0.0.1") as ministry, \
            TestClient(app, base_url="http://127.0.0.1") as desk, \
            TestClient(app, base_url="http://127.0.0.1") as manager:
        _log_in(ministry, "kemenpanrb")
        _log_in(desk, "dukcapil.batam")
        _log_in(manager, "admin.batam")
        clients = {"": anon, "kementerian": ministry, "petugas": desk, "admin_wilayah": manager}
        # the inbox's last page reached by its "Berikutnya" links (a cursor), where the page offers one
        cursor = _cursor_of_last_page(desk, last_page)
        if cursor:
            pages.append(Page("kotak_masuk_akhir_kursor", cursor, "petugas"))
        for page in pages:
            if names and page.name not in names:
                continue
            client, times = clients[page.who], []
            for i in range(runs + 2):
                path = page.path.format(case=cases[i % len(cases)])
                start = time.perf_counter()
                r = client.get(path, headers={"Accept-Encoding": "br"})
                took = (time.perf_counter() - start) * 1000
                assert r.status_code == page.status, (path, r.status_code)
                if i >= 2:  # two warm-up requests: templates compiled, pages in the OS cache
                    times.append(took)
            lines += [f"volume_{page.name}_p50_ms={statistics.median(times):.1f} ms",
                      f"volume_{page.name}_p95_ms={percentile(times, 0.95):.1f} ms"]
            print(lines[-2], lines[-1], sep="\n", flush=True)
        if not names or "fiktif_positif" in names:
            from services import permohonan

            times, issued = [], 0
            for _ in range(runs):
                start = time.perf_counter()
                issued += len(permohonan.deem_overdue_permits(app.state.deps.pelayanan))
                times.append((time.perf_counter() - start) * 1000)
            # the first round issues the permits the generator left due; the rest find nothing new, as most do
            lines += [f"volume_fiktif_positif_round_p50_ms={statistics.median(times):.1f} ms",
                      f"volume_fiktif_positif_round_p95_ms={percentile(times, 0.95):.1f} ms",
                      f"volume_fiktif_positif_first_round_ms={times[0]:.1f} ms",
                      f"volume_fiktif_positif_issued={issued} permits"]
            print(*lines[-4:], sep="\n", flush=True)
    return lines


def _cursor_of_last_page(client, last_page: int) -> str | None:
    """The address the last page's "Berikutnya" link on the page before it names (None: no cursor links)."""
    if last_page < 2:
        return None
    html = client.get(f"/petugas?hal={last_page - 1}").text
    found = re.search(r'href="(\?[^"]*setelah=[^"]+)"', html)
    return "/petugas" + found.group(1).replace("&amp;", "&") if found else None


def database_figures(path: Path) -> list[str]:
    """File size per application (no uploaded files in the generated database)."""
    import sqlite3

    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    applications = conn.execute("SELECT count(*) FROM permohonan").fetchone()[0]
    files = conn.execute("SELECT count(*) FROM berkas").fetchone()[0] if "berkas" in {
        r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")} else 0
    conn.close()
    size = path.stat().st_size
    return [f"volume_db_bytes={size} bytes", f"volume_db_files={files} rows",
            f"db_bytes_per_application={size / applications:.0f} bytes"]


def cached_or_built(params: Params) -> Path:
    if params.path.exists():
        return params.path
    t = time.perf_counter()
    path = build(params, log=lambda m: print(m, flush=True))
    out("volume_build_s", time.perf_counter() - t, "s")
    return path


def largest_cached() -> Path | None:
    """The largest volume database already built (``make bench`` reads its bytes per application)."""
    found = sorted(DATA.glob(f"volume-*-g{GENERATOR}.db"), key=lambda p: p.stat().st_size) if DATA.exists() else []
    return found[-1] if found else None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.volume", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    defaults = Params()
    parser.add_argument("--skala", type=float, default=1.0, help="scale of the applications (0.05: a quick run)")
    parser.add_argument("--wilayah", type=int, default=defaults.wilayah, help="regions (at most the 21 pilots)")
    parser.add_argument("--permohonan", type=int, default=defaults.permohonan, help="applications per region")
    parser.add_argument("--hari", type=int, default=defaults.hari, help="days of history")
    parser.add_argument("--seed", type=int, default=defaults.seed)
    parser.add_argument("--runs", type=int, default=20, help="requests per page (after two warm-up ones)")
    parser.add_argument("--halaman", default="", help="comma-separated page names to measure (default: all)")
    parser.add_argument("--bangun-ulang", action="store_true", help="rebuild even if the cached file exists")
    parser.add_argument("--bangun-saja", action="store_true", help="build (or find) the file, measure nothing")
    args = parser.parse_args(argv)
    params = Params(args.wilayah, args.permohonan, args.hari, args.seed).scaled(args.skala)
    if args.bangun_ulang:
        params.path.unlink(missing_ok=True)
    base = cached_or_built(params)
    out("volume_regions", params.wilayah, "regions")
    out("volume_applications_per_region", params.permohonan, "applications")
    print(*database_figures(base), sep="\n", flush=True)
    if args.bangun_saja:
        return 0
    run = prepare(base)
    try:
        measure(run, args.runs, set(filter(None, args.halaman.split(","))) or None)
    finally:
        for leftover in (run, Path(f"{run}-wal"), Path(f"{run}-shm")):
            leftover.unlink(missing_ok=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
