"""Reference data is complete and real: regions, the catalogue, the pilot regions."""

from __future__ import annotations

import json

from db.connection import connect
from db.migrations import migrate, migrations
from ops import seed


def test_regions_are_complete(db):
    one = lambda sql: db.execute(sql).fetchone()[0]  # noqa: E731
    assert one("SELECT count(*) FROM provinsi") == 38
    assert one("SELECT count(*) FROM kabkota") == 514
    assert one("SELECT count(*) FROM kecamatan") > 7000
    assert db.execute("SELECT nama FROM kabkota WHERE kode = '2171'").fetchone()[0] == "Kota Batam"
    # the Papua provinces created in 2022 are there, in WIT
    papua = db.execute("SELECT kode, zona_waktu, kelompok_pulau FROM provinsi WHERE kode LIKE '9%'").fetchall()
    assert len(papua) == 6 and {p[1] for p in papua} == {"WIT"} and {p[2] for p in papua} == {"Papua"}
    groups = {r[0] for r in db.execute("SELECT DISTINCT kelompok_pulau FROM provinsi")}
    assert groups == {"Sumatra", "Jawa", "Kalimantan", "Sulawesi", "Bali–Nusa Tenggara", "Maluku", "Papua"}


def test_catalogue_has_8_adminduk_and_31_health_worker_services(db):
    counts = dict(db.execute("SELECT kelompok, count(*) FROM layanan GROUP BY kelompok").fetchall())
    assert counts == {"adminduk": 8, "nakes": 31}
    # adminduk is free by law (UU 24/2013 art. 79A)
    assert db.execute("SELECT count(*) FROM layanan WHERE kelompok = 'adminduk' AND biaya > 0").fetchone()[0] == 0
    for row in db.execute("SELECT slug, persyaratan, prosedur, dasar_hukum, formulir FROM layanan"):
        for col in ("persyaratan", "prosedur", "dasar_hukum", "formulir"):
            assert json.loads(row[col]), f"{row['slug']} has no {col}"


def test_21_pilot_regions_split_6_11_3_1(db):
    rows = db.execute(
        """SELECT p.kelompok_pulau, count(*) FROM mpp m JOIN kabkota k ON k.kode = m.wilayah_kode
           JOIN provinsi p ON p.kode = k.provinsi_kode WHERE m.digital_aktif = 1 GROUP BY 1"""
    ).fetchall()
    assert dict(rows) == {"Sumatra": 6, "Jawa": 11, "Kalimantan": 3, "Sulawesi": 1}
    assert db.execute("SELECT 1 FROM mpp WHERE wilayah_kode = '2171'").fetchone()


def test_fresh_database_migrates_and_seeds_twice_without_change(tmp_path):
    path = tmp_path / "fresh.db"
    first = connect(path)
    created = seed.seed(first, demo=True)
    assert {a["login"] for a in created} == {a[1] for a in seed.DEMO_ACCOUNTS}
    tables = [t for t in first.table_names() if not t.startswith("layanan_fts")]
    before = {t: first.execute(f"SELECT count(*) FROM [{t}]").fetchone()[0] for t in tables}
    first.conn.close()

    second = connect(path)
    assert migrate(second) == []          # nothing pending the second time
    assert seed.seed(second, demo=True) == []   # no second set of demo data
    after = {t: second.execute(f"SELECT count(*) FROM [{t}]").fetchone()[0] for t in tables}
    assert after == before
    applied = [m.name for m in migrations.applied(second)]
    assert applied == sorted(applied) and len(applied) == len(set(applied))
    second.conn.close()


def test_catalogue_file_edits_apply_on_restart_without_new_ids(db):
    before = dict(db.execute("SELECT slug, id FROM layanan").fetchall())
    db.execute("UPDATE layanan SET nama = 'diubah' WHERE slug = 'ktp-el'")
    from db.reference import load_catalogue
    load_catalogue(db)
    after = dict(db.execute("SELECT slug, id FROM layanan").fetchall())
    assert after == before
    assert db.execute("SELECT nama FROM layanan WHERE slug = 'ktp-el'").fetchone()[0] != "diubah"
