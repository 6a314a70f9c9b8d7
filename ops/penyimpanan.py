"""Object storage commands: compare it with the database, sweep orphans, move old blobs out of SQLite.

    python -m ops.penyimpanan check             (make check-storage) rows whose object is missing; exit 1 if any
    python -m ops.penyimpanan sapu [--paksa]    delete objects no row names, older than an hour
    python -m ops.penyimpanan pindahkan [--batch 50] [--batches N]
                                                move the bytes still in SQLite to storage, resumable; then VACUUM

The database and the store are the app's (MPP_DB, MPP_S3_* or MPP_FILES_DIR: web/settings.py); pending migrations
are applied first. Each prints ``name=value`` lines; what it found is kept for /metrics.
"""

from __future__ import annotations

import argparse
import sys

from db.connection import connect
from db.migrations import migrate
from services import penyimpanan
from web.settings import ConfigError, Settings
from web.wiring import objects_for


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ops.penyimpanan", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="perintah", required=True)
    commands.add_parser("check", help="laporkan baris yang objeknya hilang (keluar 1 bila ada)")
    sweep = commands.add_parser("sapu", help="hapus objek yang tidak dinamai baris mana pun, lebih tua dari 1 jam")
    sweep.add_argument("--paksa", action="store_true", help="hapus juga bila yatimnya sangat banyak")
    move = commands.add_parser("pindahkan", help="pindahkan isi berkas dan PDF dari SQLite ke penyimpanan")
    move.add_argument("--batch", type=int, default=50, help="baris per transaksi (bawaan 50)")
    move.add_argument("--batches", type=int, default=None, help="berhenti setelah sekian batch (lanjutkan nanti)")
    args = parser.parse_args(argv)
    try:
        settings = Settings.from_env()
    except ConfigError as e:
        print(e, file=sys.stderr)
        return 2
    db = connect(settings.db_path)
    try:
        migrate(db)
        objects = objects_for(settings)
        print(f"# penyimpanan: {objects.name}, basis data: {settings.db_path}", flush=True)
        if args.perintah == "pindahkan":
            def progress(done: penyimpanan.Moved) -> None:
                print(f"# batch {done.batches}: {done.rows} baris, {done.bytes} byte", flush=True)
            moved = penyimpanan.move_blobs(db, objects, batch=max(1, args.batch), max_batches=args.batches,
                                           progress=progress)
            print(*moved.lines(), sep="\n")
            return 0
        report = penyimpanan.check(db, objects, sweep=args.perintah == "sapu", force=getattr(args, "paksa", False))
        print(*report.lines(), sep="\n")
        return 1 if report.missing_count else 0
    finally:
        db.conn.close()


if __name__ == "__main__":
    raise SystemExit(main())
