"""Seed the database: reference data always, demo data on request (the SQL of it; the command that runs
it, prints the demo accounts and enrols reference faces is ``python -m ops.seed``).
Demo data (pilot regions' MPPs, agencies, counters and demo accounts) is only
written into an empty database and only when demo mode is on (``MPP_DEMO``: on by
default on a development machine, off with ``MPP_HTTPS=1`` unless also
``MPP_DEMO_PRODUCTION=1``; see web/settings.py).
"""

from __future__ import annotations

import json

from sqlite_utils import Database

from db.connection import write
from db.kalender import load_national_holidays
from db.migrations import migrate
from db.pemantauan import seed_demo_rollout
from db.reference import load_catalogue, load_regions, read_toml

DEMO_REGION = "2171"  # Kota Batam
DEMO_PASSWORD = "mpp-demo-2026"
# scrypt (services/passwords.py's format and parameters) of the published demo password, made once: the
# database layer does not hash; every demo account may share it, the password is printed anyway.
DEMO_PASSWORD_HASH = "scrypt$16384$8$1$DwMfHMncjcXCUQP-Dl4oJQ$hCglK2GG0cVkglxPpCkft3Kstb1d0AgVlYa7n7lbUt4"

# (role, login, name, agency type or None); warga log in with NIK.
DEMO_ACCOUNTS = [
    ("warga", "2171031508900001", "Budi Santoso", None),
    ("petugas", "dukcapil.batam", "Rina Wulandari (Disdukcapil Kota Batam)", "disdukcapil"),
    ("petugas", "dpmptsp.batam", "Andi Saputra (DPMPTSP Kota Batam)", "dpmptsp"),
    ("admin_wilayah", "admin.batam", "Pengelola MPP Kota Batam", None),
    ("kementerian", "kemenpanrb", "Analis KemenPANRB", None),
]


def seed(db: Database, demo: bool = True, waktu: str = "") -> list[dict]:
    """Migrate, load reference data, and (first time, demo mode) demo data.

    ``waktu``: the UTC stamp a changed catalogue template is published with.
    Returns the demo accounts created by this call (empty when they existed).
    """
    migrate(db)
    load_regions(db)
    load_catalogue(db, waktu)
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
            """INSERT INTO penduduk (nik, nama, tanggal_lahir, jenis_kelamin, alamat, kecamatan_kode, no_kk, kontak,
                                     tempat_lahir)
               VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)""",
            [p["nik"], p["nama"], p["tanggal_lahir"], p["jenis_kelamin"], p["alamat"], p["nik"][:6], p["no_kk"],
             json.dumps(p.get("kontak", [])), p.get("tempat_lahir", "")],
        )


def seed_health_workers(db: Database) -> None:
    """Demo STR records and practice places of the embedded SISDMK."""
    for s in read_toml("nakes_demo.toml")["str"]:
        db.execute("INSERT INTO str_nakes (nomor_str, nik, nama, profesi, berlaku_sampai) VALUES (?, ?, ?, ?, NULL)",
                   [s["nomor_str"], s["nik"], s["nama"], s["profesi"]])
        for t in s["tempat"]:
            db.execute("INSERT INTO tempat_praktik (nomor_str, nama_fasyankes, nomor_sip, berlaku_sampai) "
                       "VALUES (?, ?, ?, ?)",
                       [s["nomor_str"], t["nama_fasyankes"], t["nomor_sip"], t["berlaku_sampai"]])


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
             name, DEMO_PASSWORD_HASH, region, agency_id,
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


def residents_among(db: Database, niks: list[str]) -> set[str]:
    """Which of ``niks`` the embedded registry holds (reference photos are enrolled for those only)."""
    if not niks:
        return set()
    marks = ",".join("?" * len(niks))
    return {r[0] for r in db.execute(f"SELECT nik FROM penduduk WHERE nik IN ({marks})", niks).fetchall()}


def __getattr__(name: str):
    """The command's names (``main``, ``enrol_faces``, ``print_accounts``…) moved to ops/seed.py; kept
    reachable here for scripts that still say ``db.seed``. The one upward import of db/, allowed by name
    in tests/test_lapisan.py."""
    if name in _MOVED:
        from ops import seed as command
        return getattr(command, name)
    raise AttributeError(name)


_MOVED = {"main", "enrol_faces", "reference_photos", "print_accounts", "warn_demo_accounts_left", "IMAGE_SUFFIXES"}


if __name__ == "__main__":  # the old command line: the command itself is ops/seed.py
    from ops.seed import main as _command

    raise SystemExit(_command())
