"""Seed the database: reference data always, demo data on request.

``python -m db.seed`` migrates and seeds the database named by ``MPP_DB``.
Demo data (pilot regions' MPPs, agencies, counters and demo accounts) is only
written into an empty database and only when demo mode is on (``MPP_DEMO``: on by
default on a development machine, off with ``MPP_HTTPS=1`` unless also
``MPP_DEMO_PRODUCTION=1``; see web/settings.py).
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import sys
from pathlib import Path

from sqlite_utils import Database

from db.connection import connect, write
from db.kalender import load_national_holidays
from db.migrations import migrate
from db.pemantauan import seed_demo_rollout
from db.reference import load_catalogue, load_regions, read_toml
from services.passwords import hash_password
from web.settings import ConfigError, Settings, demo_wanted

DEMO_REGION = "2171"  # Kota Batam
DEMO_PASSWORD = "mpp-demo-2026"

# (role, login, name, agency type or None); warga log in with NIK.
DEMO_ACCOUNTS = [
    ("warga", "2171031508900001", "Budi Santoso", None),
    ("petugas", "dukcapil.batam", "Rina Wulandari (Disdukcapil Kota Batam)", "disdukcapil"),
    ("petugas", "dpmptsp.batam", "Andi Saputra (DPMPTSP Kota Batam)", "dpmptsp"),
    ("admin_wilayah", "admin.batam", "Pengelola MPP Kota Batam", None),
    ("kementerian", "kemenpanrb", "Analis KemenPANRB", None),
]


def seed(db: Database, demo: bool = True) -> list[dict]:
    """Migrate, load reference data, and (first time, demo mode) demo data.

    Returns the demo accounts created by this call (empty when they existed).
    """
    migrate(db)
    load_regions(db)
    load_catalogue(db)
    load_national_holidays(db)
    seed_demo_rollout(db, demo)  # national MPP rollout (demo list), once
    if not demo or db.execute("SELECT count(*) FROM mpp").fetchone()[0]:
        return []
    with write(db):
        seed_pilot_regions(db)
        seed_residents(db)
        seed_health_workers(db)
        return seed_demo_accounts(db)


def seed_pilot_regions(db: Database) -> None:
    data = read_toml("wilayah.toml")
    agencies = read_toml("instansi.toml")["instansi"]
    services = db.execute("SELECT id, instansi FROM layanan").fetchall()
    for pilot in data["pilot"]:
        kode = pilot["kode"].replace(".", "")
        db.execute(
            "INSERT INTO mpp (wilayah_kode, nama, alamat, jam_layanan, peta_url, digital_aktif, sumber) "
            "VALUES (?, ?, ?, ?, ?, 1, ?)",
            [kode, pilot["nama_mpp"], pilot["alamat"], pilot["jam_layanan"],
             pilot.get("peta_url", ""), pilot.get("sumber", "")],
        )
        region_name = db.execute("SELECT nama FROM kabkota WHERE kode = ?", [kode]).fetchone()[0]
        agency_ids = {}
        for number, a in enumerate(agencies, start=1):
            cur = db.execute(
                "INSERT INTO instansi (wilayah_kode, jenis_kode, nama) VALUES (?, ?, ?)",
                [kode, a["kode"], f'{a["singkatan"]} {region_name}'],
            )
            agency_ids[a["kode"]] = cur.lastrowid
            db.execute(
                "INSERT INTO gerai (wilayah_kode, instansi_id, nomor, nama) VALUES (?, ?, ?, ?)",
                [kode, cur.lastrowid, f"{number:02d}", f'Gerai {a["singkatan"]}'],
            )
        for s in services:
            db.execute(
                "INSERT INTO layanan_wilayah (wilayah_kode, layanan_id, instansi_id) VALUES (?, ?, ?)",
                [kode, s["id"], agency_ids[s["instansi"]]],
            )


def seed_residents(db: Database) -> None:
    """Demo residents of the embedded Dukcapil registry, without photos."""
    for p in read_toml("penduduk_demo.toml")["penduduk"]:
        db.execute(
            """INSERT INTO penduduk (nik, nama, tanggal_lahir, jenis_kelamin, alamat, kecamatan_kode, no_kk, kontak)
               VALUES (?, ?, ?, ?, ?, ?, ?, ?)""",
            [p["nik"], p["nama"], p["tanggal_lahir"], p["jenis_kelamin"], p["alamat"], p["nik"][:6], p["no_kk"],
             json.dumps(p.get("kontak", []))],
        )


def seed_health_workers(db: Database) -> None:
    """Demo STR records and practice places of the embedded SISDMK."""
    for s in read_toml("nakes_demo.toml")["str"]:
        db.execute("INSERT INTO str_nakes (nomor_str, nik, nama, profesi, berlaku_sampai) VALUES (?, ?, ?, ?, NULL)",
                   [s["nomor_str"], s["nik"], s["nama"], s["profesi"]])
        for t in s["tempat"]:
            db.execute("INSERT INTO tempat_praktik (nomor_str, nama_fasyankes, nomor_sip, berlaku_sampai) "
                       "VALUES (?, ?, ?, ?)", [s["nomor_str"], t["nama_fasyankes"], t["nomor_sip"], t["berlaku_sampai"]])


def seed_demo_accounts(db: Database) -> list[dict]:
    created = []
    for role, login, name, agency in DEMO_ACCOUNTS:
        agency_id = None
        if agency:
            agency_id = db.execute(
                "SELECT id FROM instansi WHERE wilayah_kode = ? AND jenis_kode = ?", [DEMO_REGION, agency]
            ).fetchone()[0]
        region = DEMO_REGION if role in ("petugas", "admin_wilayah", "warga") else None
        db.execute(
            "INSERT INTO akun (peran, nik, username, nama, kata_sandi, wilayah_kode, instansi_id, jabatan, tingkat) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [role, login if role == "warga" else None, None if role == "warga" else login,
             name, hash_password(DEMO_PASSWORD), region, agency_id,
             "verifikator,validator,penandatangan" if role == "petugas" else "",
             "terverifikasi_petugas" if role == "warga" else "dasar"],
        )
        created.append({"peran": role, "login": login, "nama": name, "kata_sandi": DEMO_PASSWORD})
    return created


def demo_accounts_present(db: Database) -> list[dict]:
    """The demo accounts that exist in this database, for printing at start-up."""
    present = []
    for role, login, name, _ in DEMO_ACCOUNTS:
        if db.execute("SELECT 1 FROM akun WHERE nik = :l OR username = :l", {"l": login}).fetchone():
            present.append({"peran": role, "login": login, "nama": name, "kata_sandi": DEMO_PASSWORD})
    return present


def warn_demo_accounts_left(db: Database, out=sys.stderr) -> None:
    """On a production start: demo accounts seeded earlier (when MPP_DEMO defaulted to 1) are still there."""
    left = [a["login"] for a in demo_accounts_present(db)]
    if left:
        print(f"PERINGATAN: basis data ini memuat akun demo ({', '.join(left)}) yang kata sandinya diumumkan "
              "di README. Ganti kata sandinya atau hapus akun itu.", file=out)


def print_accounts(accounts: list[dict], out=sys.stdout) -> None:
    if not accounts:
        return
    print(f"Akun demo (kata sandi sama untuk semua: {DEMO_PASSWORD}):", file=out)
    for a in accounts:
        print(f"  {a['peran']:<14} {a['login']:<20} {a['nama']}", file=out)


IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".webp")


def reference_photos(faces_dir: Path, csv_path: Path | None = None) -> dict[str, Path]:
    """NIK → photo: files named ``<NIK>.jpg`` in the folder, rows ``nik,file`` of a CSV,
    and for demo residents with ``wajah = "<person>"`` the first photo of that person's folder."""
    found: dict[str, Path] = {}
    for p in read_toml("penduduk_demo.toml")["penduduk"]:
        folder = faces_dir / p.get("wajah", "-")
        photos = sorted(f for f in folder.glob("*") if f.suffix.lower() in IMAGE_SUFFIXES) if folder.is_dir() else []
        if photos:
            found[p["nik"]] = photos[0]
    for f in faces_dir.glob("*"):
        if f.stem.isdigit() and len(f.stem) == 16 and f.suffix.lower() in IMAGE_SUFFIXES:
            found[f.stem] = f
    if csv_path:
        with open(csv_path, newline="") as fh:
            for row in csv.DictReader(fh):
                found[row["nik"].strip()] = (csv_path.parent / row["file"].strip())
    return found


def enrol_faces(db: Database, template_key: str, faces_dir: Path, csv_path: Path | None = None,
                out=sys.stdout) -> int:
    """Put reference templates of the photos found into the embedded registry; return how many."""
    from biometrics.engine import FaceEngine
    from biometrics.errors import BiometricRejected
    from biometrics.templates import parse_key, seal
    from db.identitas import set_registry_template

    engine, key, done = FaceEngine(), parse_key(template_key), 0
    for nik, photo in sorted(reference_photos(faces_dir, csv_path).items()):
        if not db.execute("SELECT 1 FROM penduduk WHERE nik = ?", [nik]).fetchone():
            print(f"  {nik}: tidak ada di data penduduk, dilewati", file=out)
            continue
        try:
            template = engine.encode(photo.read_bytes())
        except BiometricRejected as e:
            print(f"  {nik}: {photo.name} ditolak ({e.code})", file=out)
            continue
        set_registry_template(db, nik, seal(template, key, f"penduduk:{nik}"))
        print(f"  {nik}: foto rujukan {photo.name} didaftarkan", file=out)
        done += 1
    return done


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m db.seed", description=__doc__)
    parser.add_argument("--db", default=os.environ.get("MPP_DB", "data/mpp.db"))
    parser.add_argument("--no-demo", action="store_true", help="reference data only")
    parser.add_argument("--faces", type=Path, help="enrol reference photos from this folder")
    parser.add_argument("--faces-csv", type=Path, help="CSV with columns nik,file (paths relative to the CSV)")
    args = parser.parse_args(argv)
    try:  # the app's own rule: no demo accounts on a production start (MPP_HTTPS=1) unless asked by name
        demo = not args.no_demo and demo_wanted(dict(os.environ))
    except ConfigError as e:
        print(e, file=sys.stderr)
        return 2
    db = connect(args.db)
    seed(db, demo=demo)
    if args.faces or args.faces_csv:
        settings = Settings.from_env({**os.environ, "MPP_DB": args.db})
        n = enrol_faces(db, settings.template_key, args.faces or args.faces_csv.parent, args.faces_csv)
        print(f"{n} foto rujukan didaftarkan.")
    if demo:
        print_accounts(demo_accounts_present(db))
    db.conn.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
