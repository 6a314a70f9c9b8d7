"""A province in one file (issue 18): the heavy pages read totals the triggers keep and indexes in the order they
need, and say exactly what reading every row said; the inbox pages by a cursor; the volume generator keeps the
schema and the audit chain.
"""

from __future__ import annotations

import datetime as dt
import random
import re
import statistics
from collections import defaultdict

import pytest

from db import audit
from db import permohonan as permohonan_q
from services import kalender, pemantauan, skm
from tests.helpers import login, soup

U = [f"u{i}" for i in range(1, 10)]
ZONES = {"WIB": 7, "WITA": 8, "WIT": 9}


def _utc(stamp: str) -> dt.datetime:
    return dt.datetime.fromisoformat(stamp.replace("Z", "+00:00"))


def reference_performance(db) -> dict[str, dict]:
    """The figures of /pemantauan/kinerja as they were computed before issue 18: every row read into Python."""
    zone = {r[0]: r[1] for r in db.execute(
        "SELECT k.kode, p.zona_waktu FROM kabkota k JOIN provinsi p ON p.kode = k.provinsi_kode")}
    counts, durations, on_time, waits, surveys = (defaultdict(dict), defaultdict(list), defaultdict(list),
                                                  defaultdict(list), defaultdict(list))
    for w, status, n in db.execute("SELECT wilayah_kode, status, count(*) FROM permohonan WHERE status != 'draf' "
                                   "GROUP BY 1, 2"):
        counts[w][status] = n
    for r in db.execute("SELECT wilayah_kode, diajukan, selesai, tenggat FROM permohonan WHERE status = 'selesai' "
                        "AND diajukan IS NOT NULL AND selesai IS NOT NULL"):
        done = _utc(r["selesai"])
        durations[r["wilayah_kode"]].append((done - _utc(r["diajukan"])).total_seconds() / 86400)
        if r["tenggat"]:
            local = done.astimezone(dt.timezone(dt.timedelta(hours=ZONES[zone[r["wilayah_kode"]]])))
            on_time[r["wilayah_kode"]].append(local.date().isoformat() <= r["tenggat"])
    for r in db.execute("SELECT wilayah_kode, tanggal, jam, dipanggil FROM tiket WHERE dipanggil IS NOT NULL"):
        tz = dt.timezone(dt.timedelta(hours=ZONES[zone[r["wilayah_kode"]]]))
        slot = dt.datetime.fromisoformat(f"{r['tanggal']}T{r['jam']}").replace(tzinfo=tz)
        waits[r["wilayah_kode"]].append(max(0.0, (_utc(r["dipanggil"]) - slot).total_seconds() / 60))
    for r in db.execute(f"SELECT wilayah_kode, {', '.join(U)} FROM skm"):
        surveys[r["wilayah_kode"]].append(dict(r))
    out = {}
    for w in set(counts) | set(waits) | set(surveys):
        ikm = skm.compute(surveys.get(w, []))
        out[w] = {"status": counts.get(w, {}),
                  "median_hari": round(statistics.median(durations[w]), 1) if durations.get(w) else None,
                  "sla": round(100 * sum(on_time[w]) / len(on_time[w]), 1) if on_time.get(w) else None,
                  "tunggu": round(statistics.median(waits[w]), 1) if waits.get(w) else None,
                  "ikm": ikm.konversi if ikm else None, "responden": ikm.responden if ikm else 0}
    return out


def _ids(db, kode: str = "2171") -> dict:
    one = lambda sql, *a: db.execute(sql, a).fetchone()[0]  # noqa: E731
    return {"akun": one("SELECT id FROM akun WHERE nik = '2171031508900001'"),
            "disduk": one("SELECT id FROM instansi WHERE wilayah_kode = ? AND jenis_kode = 'disdukcapil'", kode),
            "layanan": one("SELECT id FROM layanan WHERE slug = 'kartu-keluarga'"),
            "gerai": one("SELECT id FROM gerai WHERE wilayah_kode = ? AND nomor = '01'", kode)}


def _fill(db, rnd: random.Random, kode: str, n: int, start_id: int) -> None:
    """Applications, tickets and surveys of every kind, written straight into the tables (as any writer could)."""
    ids = _ids(db, kode)
    statuses = ["draf", "diajukan", "diverifikasi", "perlu_perbaikan", "disetujui", "ditolak", "selesai"]
    for i in range(n):
        status = rnd.choice(statuses + ["selesai"] * 4)
        submitted = dt.datetime(2026, 10, 1, tzinfo=dt.UTC) + dt.timedelta(minutes=rnd.randint(0, 60 * 24 * 50))
        done = submitted + dt.timedelta(hours=rnd.uniform(0, 200)) if status == "selesai" else None
        tenggat = rnd.choice([None, "", (submitted + dt.timedelta(days=rnd.randint(0, 6))).date().isoformat()])
        db.execute("INSERT INTO permohonan (id, nomor, akun_id, layanan_id, wilayah_kode, instansi_id, status, "
                   "diajukan, selesai, tenggat, untuk_nik) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                   [start_id + i, None if status == "draf" else f"T-{kode}-{i}", ids["akun"], ids["layanan"], kode,
                    ids["disduk"], status, None if status == "draf" else kalender.stamp(submitted),
                    kalender.stamp(done) if done else None, tenggat, f"{start_id + i:016d}"])
        called = submitted + dt.timedelta(minutes=rnd.uniform(-30, 120))
        db.execute("INSERT INTO tiket (wilayah_kode, gerai_id, tanggal, jam, jenis, nomor, kode, status, dipanggil) "
                   "VALUES (?, ?, ?, '09:00', 'langsung', ?, ?, 'dilayani', ?)",
                   [kode, ids["gerai"], f"2025-{1 + i % 12:02d}-{1 + i % 28:02d}", start_id + i, f"01-{i:03d}",
                    called.strftime("%Y-%m-%dT%H:%M:%S.%fZ") if rnd.random() < 0.8 else None])
        if rnd.random() < 0.5:
            db.execute(f"INSERT INTO skm (transaksi, wilayah_kode, instansi_id, {', '.join(U)}) "
                       f"VALUES (?, ?, ?, {', '.join('?' * 9)})",
                       [f"uji:{kode}:{i}", kode, rnd.choice([ids["disduk"], None]), *[rnd.randint(1, 4) for _ in U]])


def _compare(db) -> None:
    expected = reference_performance(db)
    got = {r["kode"]: r for r in pemantauan.performance(db)["wilayah"]}
    for kode, want in expected.items():
        row = got[kode]
        assert {"status": row["status"], "median_hari": row["median_hari"], "sla": row["sla"],
                "tunggu": row["tunggu"], "ikm": row["ikm"].konversi if row["ikm"] else None,
                "responden": row["ikm"].responden if row["ikm"] else 0} == want, kode
        assert pemantauan.performance(db, kode)["wilayah"] == [row]  # one region alone: the same row
        if want["responden"]:
            assert skm.region_report(db, kode)["wilayah"].konversi == want["ikm"]


def test_performance_from_the_kept_totals_says_what_every_row_says(db):
    rnd = random.Random(18)
    for n, kode in enumerate(["2171", "1171", "6472"]):  # WIB and WITA regions
        _fill(db, rnd, kode, 120 + n, 100_000 + 1000 * n)
    db.conn.commit()
    _compare(db)
    # updates and deletes move the totals as they move the rows
    db.execute("UPDATE permohonan SET status = 'selesai', selesai = '2026-12-01T20:00:00Z' WHERE status = 'disetujui'")
    db.execute("UPDATE permohonan SET wilayah_kode = '1171' WHERE id % 7 = 0 AND wilayah_kode = '2171'")
    db.execute("UPDATE permohonan SET tenggat = '2026-11-15' WHERE id % 5 = 0")
    db.execute("DELETE FROM permohonan WHERE id % 11 = 0")
    db.execute("UPDATE tiket SET dipanggil = NULL WHERE id % 3 = 0")
    db.execute("UPDATE tiket SET dipanggil = '2025-01-01T04:00:00Z' WHERE dipanggil IS NULL AND id % 2 = 0")
    db.execute("DELETE FROM tiket WHERE id % 13 = 0")
    db.execute("UPDATE skm SET u3 = 1, wilayah_kode = '6472' WHERE id % 4 = 0")
    db.execute("DELETE FROM skm WHERE id % 9 = 0")
    db.conn.commit()
    _compare(db)


def test_the_inbox_pages_by_cursor_through_the_same_cases_as_by_page_number(client, db):
    ids = _ids(db)
    base = dt.datetime(2026, 11, 2, 1, tzinfo=dt.UTC)
    for i in range(130):  # several cases share a submission second: the id breaks the tie
        db.execute("INSERT INTO permohonan (nomor, akun_id, layanan_id, wilayah_kode, instansi_id, status, diajukan, "
                   "tenggat) VALUES (?, ?, ?, '2171', ?, ?, ?, '2026-11-20')",
                   [f"K-{i}", ids["akun"], ids["layanan"], ids["disduk"], "diajukan" if i % 3 else "diverifikasi",
                    kalender.stamp(base + dt.timedelta(seconds=i // 4))])
    db.conn.commit()
    login(client, "dukcapil.batam")

    def cases(page) -> list[str]:
        return [a.text for a in page.select("tbody a[href^='/petugas/permohonan/']")]

    by_number = [cases(soup(client.get(f"/petugas?hal={n}"))) for n in (1, 2, 3)]
    assert [len(p) for p in by_number] == [50, 50, 30]
    walked, page = [], soup(client.get("/petugas"))
    while True:
        walked.append(cases(page))
        link = page.find("a", string="Berikutnya")
        if link is None:
            break
        assert "setelah=" in link["href"]
        page = soup(client.get("/petugas" + link["href"]))
    assert walked == by_number
    back = page.find("a", string="Sebelumnya")["href"]
    assert "sebelum=" in back and cases(soup(client.get("/petugas" + back))) == by_number[1]
    # filters stay on the links; a cursor naming another agency's case is ignored (the page by number is shown)
    filtered = soup(client.get("/petugas?status=diajukan"))
    assert "status=diajukan" in filtered.find("a", string="Berikutnya")["href"]
    elsewhere = db.execute("SELECT id FROM instansi WHERE wilayah_kode = '2171' AND jenis_kode = 'dpmptsp'"
                           ).fetchone()[0]
    other = db.execute("INSERT INTO permohonan (nomor, akun_id, layanan_id, wilayah_kode, instansi_id, status, "
                       "diajukan) VALUES ('L-1', ?, ?, '2171', ?, 'diajukan', '2026-11-02T01:00:30Z')",
                       [ids["akun"], ids["layanan"], elsewhere]).lastrowid
    db.conn.commit()
    assert cases(soup(client.get(f"/petugas?hal=2&setelah={other}"))) == by_number[1]


def test_days_left_in_the_inbox_are_counted_as_before(db):
    today = dt.date(2026, 12, 1)
    ends = [None, today, today - dt.timedelta(days=3)] + [today + dt.timedelta(days=d) for d in range(1, 40, 3)]
    assert kalender.working_days_until(db, "2171", today, ends) == [
        None if end is None else kalender.working_days_between(db, "2171", today, end) for end in ends]


def test_the_heavy_queries_read_indexes_not_whole_tables(db):
    plans = {
        "audit trail": ("SELECT a.waktu FROM audit a LEFT JOIN akun k ON k.id = a.akun_id WHERE a.objek = ? "
                        "ORDER BY a.id", ["permohonan:1"]),
        "hall screen": ("SELECT count(*), max(dipanggil) FROM tiket WHERE wilayah_kode = ? AND tanggal = ?",
                        ["2171", "2026-12-01"]),
        "fiktif positif": ("SELECT p.id FROM permohonan p JOIN layanan l ON l.id = p.layanan_id WHERE "
                           "l.kelompok = 'nakes' AND p.status IN ('diajukan', 'diverifikasi', 'disetujui') "
                           "AND p.ditahan = '' AND p.tenggat < ?", ["2026-12-01"]),
    }
    for name, (sql, params) in plans.items():
        plan = " | ".join(r[-1] for r in db.execute("EXPLAIN QUERY PLAN " + sql, params))
        assert "SCAN" not in plan, (name, plan)
    # the inbox: in index order (no sort), whatever page
    captured = []
    db.conn.set_trace_callback(captured.append)
    permohonan_q.inbox(db, 1, None, None, None, 50, 100)
    permohonan_q.inbox(db, 1, None, None, None, 50, 0, after=("2026-01-01T00:00:00Z", 5))
    db.conn.set_trace_callback(None)
    for sql in [s for s in captured if "FROM (SELECT p.id" in s]:
        inner = re.search(r"\(SELECT p\.id FROM permohonan p .*?\) page", sql, re.S).group(0)[1:-6]
        plan = " | ".join(r[-1] for r in db.execute("EXPLAIN QUERY PLAN " + inner))
        assert "permohonan_kotak_masuk" in plan and "TEMP B-TREE" not in plan, plan
    # criteria: every fact one look-up, whichever region has none
    plan = " | ".join(r[-1] for r in db.execute(
        "EXPLAIN QUERY PLAN SELECT EXISTS (SELECT 1 FROM tiket t WHERE t.wilayah_kode = '1171'), "
        "EXISTS (SELECT 1 FROM permohonan p WHERE p.wilayah_kode = '1171' AND p.diajukan IS NOT NULL)"))
    assert "SCAN t" not in plan and "SCAN p" not in plan, plan


def test_a_held_permit_is_not_read_by_every_round_of_fiktif_positif(db):
    ids = _ids(db)
    sip = db.execute("SELECT id FROM layanan WHERE kelompok = 'nakes' LIMIT 1").fetchone()[0]
    for held in ("", "tatap_muka"):
        db.execute("INSERT INTO permohonan (nomor, akun_id, layanan_id, wilayah_kode, instansi_id, status, diajukan, "
                   "tenggat, ditahan) VALUES (?, ?, ?, '2171', ?, 'diajukan', '2026-11-01T01:00:00Z', '2026-11-07', ?)",
                   [f"F-{held}", ids["akun"], sip, ids["disduk"], held])
    db.conn.commit()
    due = permohonan_q.due_for_deemed_approval(db, "2026-12-01")
    numbers = {db.execute("SELECT nomor FROM permohonan WHERE id = ?", [r["id"]]).fetchone()[0] for r in due}
    assert "F-" in numbers and "F-tatap_muka" not in numbers


def test_bulk_audit_rows_chain_exactly_as_single_ones(db):
    audit.append(db, None, "satu", "uji:1", {"a": 1}, waktu="2026-12-01T00:00:00Z")
    assert audit.append_many(db, [("2026-12-01T00:00:01Z", None, "banyak", f"uji:{i}", {"i": i}) for i in range(7)],
                             batch=3) == 7
    audit.append(db, 1, "satu", "uji:2", {}, waktu="2026-12-01T00:00:02Z")
    assert audit.verify_chain(db) is None
    db.execute("DROP TRIGGER audit_tanpa_ubah")
    db.execute("UPDATE audit SET detail = '{\"i\": 99}' WHERE aksi = 'banyak' AND objek = 'uji:3'")
    assert audit.verify_chain(db) is not None


@pytest.mark.parametrize("kode", ["2171"])
def test_the_volume_generator_keeps_the_schema_and_the_audit_chain(tmp_path, monkeypatch, kode):
    from bench import volume
    from db.connection import connect

    monkeypatch.setattr(volume, "DATA", tmp_path)
    path = volume.build(volume.Params(wilayah=2, permohonan=300, hari=60), log=lambda m: None)
    db = connect(path)
    assert db.execute("PRAGMA foreign_key_check").fetchall() == []
    assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    assert audit.verify_chain(db) is None
    assert db.execute("SELECT count(*) FROM permohonan WHERE wilayah_kode = ?", [kode]).fetchone()[0] == 300
    assert db.execute("SELECT count(*) FROM audit").fetchone()[0] > 300
    assert {r[0] for r in db.execute("SELECT DISTINCT status FROM permohonan")} >= {"draf", "selesai", "ditolak"}
    got = {r["kode"]: r for r in pemantauan.performance(db)["wilayah"]}
    for w, want in reference_performance(db).items():
        assert got[w]["median_hari"] == want["median_hari"] and got[w]["sla"] == want["sla"]
    db.conn.close()
