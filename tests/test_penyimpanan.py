"""Files out of SQLite (issue 18): uploaded documents and sealed PDFs in object storage, the rows naming them.

Every test runs twice: on the local folder (the embedded default) and on a real S3 server (SeaweedFS, started
once per session by tests/s3_support.py). No mock stands in for what users meet.
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
import re
import socket

import pytest
from starlette.testclient import TestClient

from app import create_app
from integrations.penyimpanan import LocalDiskStore, S3Store
from ops import penyimpanan as ops_command
from services import kalender, penyimpanan
from services.passwords import hash_password
from tests.helpers import login, text_of
from tests.s3_support import on_s3
from tests.test_dokumen import issue
from tests.test_permohonan import BUDI, citizen, fill, officer_client, start, submit, upload  # noqa: F401
from web.settings import ConfigError, Settings

METRICS_TOKEN = "metrik-uji-penyimpanan"
LATER = penyimpanan.ORPHAN_AGE_S + 60  # seconds: past the grace that protects an upload in flight


@pytest.fixture(params=["disk", "s3"])
def settings(request, settings):
    """The tests' settings (tests/conftest.py: a database copy and, beside it, the folder of objects), on the
    local folder or on a fresh bucket of the session's S3 server."""
    settings = dataclasses.replace(settings, metrics_token=METRICS_TOKEN, s3_bucket="")
    return on_s3(settings, request.getfixturevalue("s3_server")) if request.param == "s3" else settings


@pytest.fixture
def objects(app):
    return app.state.deps.objects


def _row(db, pid: int, kolom: str = "berkas_surat_lahir") -> dict:
    return dict(db.execute("SELECT id, kunci, ukuran, sha256, jenis, length(isi) AS di_sqlite FROM berkas "
                           "WHERE permohonan_id = ? AND kolom = ?", [pid, kolom]).fetchone())


def _other_citizen(app, db) -> TestClient:
    db.execute("INSERT INTO akun (peran, nik, nama, kata_sandi, wilayah_kode, tingkat) VALUES "
               "('warga', '2171031508900077', 'Warga Lain', ?, '2171', 'terverifikasi_wajah')",
               [hash_password("sandi-warga-lain")])
    db.conn.commit()
    other = TestClient(app, base_url="http://127.0.0.1")
    other.__enter__()
    assert login(other, "2171031508900077", "sandi-warga-lain").status_code == 303
    return other


def _command_env(monkeypatch, settings) -> None:
    """The environment `make check-storage` reads: this test's database and store."""
    monkeypatch.setenv("MPP_DB", settings.db_path)
    monkeypatch.setenv("MPP_FILES_DIR", str(settings.files_folder))
    for name, value in (("MPP_S3_BUCKET", settings.s3_bucket), ("MPP_S3_ENDPOINT", settings.s3_endpoint),
                        ("MPP_S3_REGION", settings.s3_region), ("MPP_S3_ACCESS_KEY_ID", settings.s3_access_key_id),
                        ("MPP_S3_SECRET_ACCESS_KEY", settings.s3_secret_access_key)):
        monkeypatch.setenv(name, value)


def _metrics(client) -> dict[str, int]:
    text = client.get("/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"}).text
    return {k: int(v) for k, v in re.findall(r"^(storage_\w+) (-?\d+)$", text, re.M)}


def test_the_store_is_the_configured_one(app, settings):
    kind = S3Store if settings.s3_bucket else LocalDiskStore
    assert isinstance(app.state.deps.objects, kind) and app.state.deps.pelayanan.objects is app.state.deps.objects


def test_an_upload_is_an_object_and_a_row_and_only_its_owner_and_agency_download_it(app, citizen, db, objects):
    pid = start(citizen, "akta-kelahiran")
    assert upload(citizen, pid, "berkas_surat_lahir").status_code == 303
    first = _row(db, pid)
    stored = objects.get(first["kunci"])
    # the row keeps key, size, type and SHA-256; the bytes are in the store only
    assert first["kunci"].startswith(f"berkas/{pid}/") and first["di_sqlite"] == 0
    assert len(stored) == first["ukuran"] and hashlib.sha256(stored).hexdigest() == first["sha256"]
    got = citizen.get(f"/permohonan/{pid}/berkas/{first['id']}")
    assert got.status_code == 200 and got.content == stored and got.headers["content-type"] == "image/jpeg"
    assert got.headers["content-length"] == str(len(stored)) and "no-store" in got.headers["cache-control"]

    fill(citizen, db, pid, "akta-kelahiran")  # uploads the document again: a new object replaces the first
    _, r = submit(citizen, pid)
    assert r.status_code == 303
    row = _row(db, pid)
    assert row["id"] == first["id"] and row["kunci"] != first["kunci"]
    assert not objects.exists(first["kunci"])  # the replaced object is deleted once the new row is committed
    stored = objects.get(row["kunci"])
    files = db.execute("SELECT sum(ukuran) FROM berkas WHERE permohonan_id = ?", [pid]).fetchone()[0]
    assert penyimpanan.object_bytes_per_application(db) == files  # make bench's object_bytes_per_application

    officer = officer_client(app, "dukcapil.batam")
    foreign = officer_client(app, "dpmptsp.batam")  # another agency of the same region
    other = _other_citizen(app, db)
    try:
        mine = officer.get(f"/petugas/permohonan/{pid}/berkas/{row['id']}")
        assert mine.status_code == 200 and mine.content == stored
        assert foreign.get(f"/petugas/permohonan/{pid}/berkas/{row['id']}").status_code == 404
        assert other.get(f"/permohonan/{pid}/berkas/{row['id']}").status_code == 404
        assert citizen.get(f"/permohonan/{pid}/berkas/{row['id'] + 1000}").status_code == 404
    finally:
        for c in (officer, foreign, other):
            c.__exit__(None, None, None)


def test_an_upload_whose_row_is_not_committed_is_not_acknowledged_and_its_object_is_swept(app, citizen, db,
                                                                                            objects):
    pid = start(citizen, "akta-kelahiran")
    # the process "dies" between storing the object and committing its row: the commit fails
    db.execute("CREATE TRIGGER mati_sebelum_commit BEFORE INSERT ON berkas "
               "BEGIN SELECT RAISE(ABORT, 'proses mati di antara put dan commit'); END")
    db.conn.commit()
    crashing = TestClient(app, base_url="http://127.0.0.1", raise_server_exceptions=False)
    crashing.cookies = citizen.cookies
    r = upload(crashing, pid, "berkas_surat_lahir")
    assert r.status_code == 500 and "location" not in r.headers  # nothing acknowledged
    assert db.execute("SELECT count(*) FROM berkas").fetchone()[0] == 0
    (orphan,) = list(objects.list("berkas/"))  # the object was stored (and verified) before the commit failed

    db.execute("DROP TRIGGER mati_sebelum_commit")
    db.conn.commit()
    assert upload(citizen, pid, "berkas_surat_lahir").status_code == 303  # the citizen tries again
    kept = _row(db, pid)["kunci"]

    # an upload in flight looks just like this: the object younger than the grace is never taken
    now = kalender.seconds()
    report = penyimpanan.check(db, objects, sweep=True, now=now)
    assert (report.orphan_count, report.deleted, report.missing_count) == (0, 0, 0)
    assert objects.exists(orphan.key)
    # an hour later the background job's step sweeps it (in its own thread), and only it
    pool = app.state.deps.storage_threads.pool()
    running = penyimpanan.check_when_due(db, objects, pool, now=now + LATER)
    assert running is not None and penyimpanan.check_when_due(db, objects, pool, now=now + LATER) is None  # hourly
    report = running.result(timeout=60)
    assert (report.orphan_count, report.deleted) == (1, 1)
    assert [o.key for o in objects.list("berkas/")] == [kept]
    assert _metrics(citizen)["storage_orphans_deleted"] == 1


def test_an_upload_while_storage_is_down_is_refused_and_nothing_is_recorded(settings, db):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        closed = s.getsockname()[1]  # nothing listens there once this block ends
    down = dataclasses.replace(settings, s3_bucket="mpp-tidak-ada", s3_endpoint=f"http://127.0.0.1:{closed}",
                               s3_access_key_id="x", s3_secret_access_key="y")
    db.execute("UPDATE akun SET wajah_terakhir = strftime('%Y-%m-%dT%H:%M:%SZ', 'now') WHERE nik = ?", [BUDI])
    db.conn.commit()
    with TestClient(create_app(down, quiet=True), base_url="http://127.0.0.1") as c:
        login(c, BUDI)
        pid = start(c, "akta-kelahiran")
        r = upload(c, pid, "berkas_surat_lahir")
        assert r.status_code == 503 and "location" not in r.headers and r.headers["retry-after"]
    assert db.execute("SELECT count(*) FROM berkas").fetchone()[0] == 0


def test_a_row_whose_object_is_gone_is_reported_and_its_download_says_so(app, citizen, db, objects, settings,
                                                                          monkeypatch, capsys):
    pid = start(citizen, "akta-kelahiran")
    upload(citizen, pid, "berkas_surat_lahir")
    row = _row(db, pid)
    assert _metrics(citizen)["storage_check_age_s"] == -1  # never checked yet
    objects.delete(row["kunci"])

    r = citizen.get(f"/permohonan/{pid}/berkas/{row['id']}")
    assert r.status_code == 404 and "tidak ditemukan di penyimpanan berkas" in text_of(r)
    assert "unggah ulang" in text_of(r)

    _command_env(monkeypatch, settings)
    assert ops_command.main(["check"]) == 1  # make check-storage
    out = capsys.readouterr().out
    assert "hilang=1" in out and row["kunci"] in out
    found = _metrics(citizen)
    assert found["storage_objects_missing"] == 1 and 0 <= found["storage_check_age_s"] < 60
    assert found["storage_check_failed"] == 0

    upload(citizen, pid, "berkas_surat_lahir")  # uploaded again: whole again
    assert ops_command.main(["check"]) == 0
    assert _metrics(citizen)["storage_objects_missing"] == 0


def test_the_sweep_keeps_to_its_own_prefixes_and_refuses_to_empty_a_bucket(db, objects):
    """A database that is not the bucket's own must not delete the bucket's files; Litestream's replica may share
    the bucket (mpp/…) and is never looked at."""
    objects.put("mpp/generations/0001/snapshot", b"litestream", "application/octet-stream")
    for i in range(penyimpanan.SWEEP_FREE + 5):
        objects.put(f"berkas/9{i:03d}/lama", b"x" * 10, "image/jpeg")
    later = kalender.seconds() + LATER
    report = penyimpanan.check(db, objects, sweep=True, now=later)
    assert report.orphan_count == penyimpanan.SWEEP_FREE + 5 and report.deleted == 0 and report.refused
    assert any("--paksa" in line for line in report.lines())
    report = penyimpanan.check(db, objects, sweep=True, now=later, force=True)
    assert report.deleted == penyimpanan.SWEEP_FREE + 5
    assert [o.key for o in objects.list("")] == ["mpp/generations/0001/snapshot"]


def test_issued_pdf_is_stored_once_and_served_from_storage(app, citizen, db, objects):
    pid, _ = issue(app, citizen, db, "akta-kelahiran")
    first = citizen.get(f"/permohonan/{pid}/dokumen.pdf")
    assert first.status_code == 200 and first.content.startswith(b"%PDF")
    row = dict(db.execute("SELECT x.kunci, x.ukuran, x.sha256, length(x.isi) AS di_sqlite FROM dokumen_pdf x "
                          "JOIN dokumen d ON d.id = x.dokumen_id WHERE d.permohonan_id = ?", [pid]).fetchone())
    assert row["kunci"].startswith("dokumen/") and row["kunci"].endswith(".pdf") and row["di_sqlite"] == 0
    assert objects.get(row["kunci"]) == first.content and row["ukuran"] == len(first.content)
    assert row["sha256"] == hashlib.sha256(first.content).hexdigest()
    again = citizen.get(f"/permohonan/{pid}/dokumen.pdf")
    assert again.content == first.content and again.headers["content-type"] == "application/pdf"
    assert [o.key for o in objects.list("dokumen/")] == [row["kunci"]]  # one seal, one object

    objects.delete(row["kunci"])
    gone = citizen.get(f"/permohonan/{pid}/dokumen.pdf")
    assert gone.status_code == 404 and "tidak ditemukan di penyimpanan berkas" in text_of(gone)


def test_old_blobs_move_out_of_sqlite_resumably_and_vacuum_gives_the_space_back(app, citizen, db, objects,
                                                                                  settings, monkeypatch, capsys):
    pid, _ = issue(app, citizen, db, "akta-kelahiran")
    pdf = citizen.get(f"/permohonan/{pid}/dokumen.pdf").content
    # rows as they were before this change: the bytes in isi, no key
    dokumen_id = db.execute("SELECT id FROM dokumen WHERE permohonan_id = ?", [pid]).fetchone()[0]
    db.execute("DELETE FROM dokumen_pdf")
    db.execute("INSERT INTO dokumen_pdf (dokumen_id, isi) VALUES (?, ?)", [dokumen_id, pdf])
    blobs = [os.urandom(300_000) for _ in range(12)]
    for i, blob in enumerate(blobs):
        db.execute("INSERT INTO berkas (permohonan_id, kolom, nama_file, jenis, ukuran, sha256, isi) "
                   "VALUES (?, ?, ?, 'image/jpeg', ?, ?, ?)",
                   [pid, f"lama_{i}", f"lama{i}.jpg", len(blob), hashlib.sha256(blob).hexdigest(), blob])
    db.conn.commit()
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    size_before = os.path.getsize(settings.db_path)
    ids = [r[0] for r in db.execute("SELECT id FROM berkas WHERE kolom LIKE 'lama_%' ORDER BY id")]
    assert citizen.get(f"/permohonan/{pid}/berkas/{ids[0]}").content == blobs[0]  # served from isi until moved
    assert _metrics(citizen)["storage_blobs_in_sqlite"] == 13

    # interrupted after one batch: those rows point at their objects, the others are untouched
    done = penyimpanan.move_blobs(db, objects, batch=5, max_batches=1)
    assert (done.rows, done.batches, done.vacuumed) == (5, 1, False)
    assert done.left == {"berkas": 7, "dokumen_pdf": 1}
    assert db.execute("SELECT count(*) FROM berkas WHERE kunci IS NOT NULL AND length(isi) = 0 "
                      "AND kolom LIKE 'lama_%'").fetchone()[0] == 5
    for i in (0, 4, 5, 11):  # moved or not, every file is served, byte for byte
        assert citizen.get(f"/permohonan/{pid}/berkas/{ids[i]}").content == blobs[i]

    _command_env(monkeypatch, settings)
    assert ops_command.main(["pindahkan", "--batch", "5"]) == 0  # run again: it continues
    out = capsys.readouterr().out
    assert "sisa_di_sqlite=0 baris" in out and "VACUUM selesai" in out
    assert db.execute("SELECT count(*) FROM berkas WHERE kunci IS NULL OR length(isi) > 0").fetchone()[0] == 0
    assert db.execute("SELECT count(*) FROM dokumen_pdf WHERE kunci IS NULL").fetchone()[0] == 0
    for i in range(12):
        assert citizen.get(f"/permohonan/{pid}/berkas/{ids[i]}").content == blobs[i]
    assert citizen.get(f"/permohonan/{pid}/dokumen.pdf").content == pdf
    assert os.path.getsize(settings.db_path) < size_before - 3_000_000  # VACUUM gave the blobs' space back
    assert len(list(objects.list("berkas/"))) == 13  # 12 moved + the birth letter uploaded by the citizen
    assert _metrics(citizen)["storage_blobs_in_sqlite"] == 0
    assert ops_command.main(["check"]) == 0


def test_s3_is_chosen_by_mpp_s3_bucket_with_the_standard_aws_variables(tmp_path):
    base = {"MPP_DB": str(tmp_path / "mpp.db"), "MPP_SECRET_KEY": "x"}
    local = Settings.from_env(base)
    assert not local.s3_bucket and local.files_folder == tmp_path / "objek"
    tigris = Settings.from_env({**base, "MPP_S3_BUCKET": "mpp-berkas", "AWS_ENDPOINT_URL_S3": "https://t3.example",
                                "AWS_REGION": "auto", "AWS_ACCESS_KEY_ID": "a", "AWS_SECRET_ACCESS_KEY": "b"})
    assert (tigris.s3_bucket, tigris.s3_endpoint, tigris.s3_region, tigris.s3_access_key_id) == (
        "mpp-berkas", "https://t3.example", "auto", "a")
    own = Settings.from_env({**base, "MPP_S3_BUCKET": "b", "MPP_S3_ENDPOINT": "http://127.0.0.1:1",
                             "AWS_ENDPOINT_URL_S3": "https://t3.example", "MPP_S3_ACCESS_KEY_ID": "k",
                             "MPP_S3_SECRET_ACCESS_KEY": "s", "AWS_ACCESS_KEY_ID": "a", "AWS_SECRET_ACCESS_KEY": "b"})
    assert (own.s3_endpoint, own.s3_access_key_id, own.s3_secret_access_key) == ("http://127.0.0.1:1", "k", "s")
    with pytest.raises(ConfigError, match="MPP_S3_ENDPOINT"):
        Settings.from_env({**base, "MPP_S3_BUCKET": "b", "MPP_S3_ENDPOINT": "t3.example"})
    with pytest.raises(ConfigError, match="berdua"):
        Settings.from_env({**base, "MPP_S3_BUCKET": "b", "MPP_S3_ACCESS_KEY_ID": "k"})
