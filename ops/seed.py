"""The seeding command: ``python -m ops.seed`` migrates and seeds the database named by ``MPP_DB``,
prints the demo accounts, and enrols reference photos into the embedded registry (``--faces``).

Demo data (pilot regions' MPPs, agencies, counters and demo accounts) is only written into an empty
database and only when demo mode is on (``MPP_DEMO``: on by default on a development machine, off with
``MPP_HTTPS=1`` unless also ``MPP_DEMO_PRODUCTION=1``; see web/settings.py). The SQL is in db/seed.py.
"""

from __future__ import annotations

import argparse
import csv
import os
import sys
from pathlib import Path

from sqlite_utils import Database

from biometrics.engine import FaceEngine
from biometrics.errors import BiometricRejected
from biometrics.templates import parse_key, seal
from db.connection import connect
from db.identitas import set_registry_template
from db.reference import read_toml
from db.seed import DEMO_ACCOUNTS, DEMO_PASSWORD, demo_accounts_present, residents_among, seed
from services import kalender

__all__ = ["DEMO_ACCOUNTS", "DEMO_PASSWORD", "enrol_faces", "main", "print_accounts", "seed", "warn_demo_accounts_left"]
from web.settings import ConfigError, Settings, demo_wanted


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
    engine, key, done = FaceEngine(), parse_key(template_key), 0
    photos = reference_photos(faces_dir, csv_path)
    known = residents_among(db, sorted(photos))
    for nik, photo in sorted(photos.items()):
        if nik not in known:
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
    parser = argparse.ArgumentParser(prog="python -m ops.seed", description=__doc__)
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
    seed(db, demo=demo, waktu=kalender.stamp())
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
