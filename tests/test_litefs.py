"""Multi-VM mode without LiteFS (issue 18): the `.primary` file simulated in a folder (``MPP_LITEFS_DIR``).

On a replica (the file names the primary) every write is answered at once with ``fly-replay`` — before its body is
read, before session, CSRF or database work — and reads are served; when the file goes (this machine was promoted)
writes are served here again. Background jobs run on the primary only; a replica's loop only ships its spool.
"""

from __future__ import annotations

import asyncio
from dataclasses import replace

import pytest
from starlette.testclient import TestClient

from app import create_app
from tests.helpers import form_fields, login, start_draft
from web import jobs
from web.litefs import Cluster, ReplayWrites
from web.settings import Settings

BUDI = "2171031508900001"
TABLES = ("permohonan", "idempotensi", "sesi", "batas_laju", "audit", "notifikasi")


@pytest.fixture
def mount(tmp_path):
    path = tmp_path / "litefs"
    path.mkdir()
    return path


@pytest.fixture
def replica(settings, mount, tmp_path):
    return create_app(replace(settings, litefs_dir=str(mount), spool_dir=str(tmp_path / "spool")), quiet=True)


def counts(db) -> dict[str, int]:
    return {t: db.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in TABLES}


def test_writes_are_replayed_to_the_primary_reads_are_served_and_nothing_is_half_applied(replica, mount, db):
    with TestClient(replica, base_url="http://127.0.0.1") as c:
        assert login(c, BUDI).status_code == 303  # no .primary yet: this machine is the primary
        fields = form_fields(c, "/permohonan/baru?layanan=akta-kelahiran&wilayah=2171", "/permohonan/baru")
        (mount / ".primary").write_text("e784079b449483\n")  # LiteFS: another machine holds the lease now
        before = counts(db)
        r = c.post("/permohonan/baru", data=fields, follow_redirects=False)
        assert r.headers["fly-replay"] == "instance=e784079b449483" and r.status_code == 409
        r = c.post("/keluar", data=form_fields(c, "/akun", "/keluar"), follow_redirects=False)
        assert r.headers["fly-replay"] == "instance=e784079b449483"
        assert counts(db) == before  # no draft, no stored answer, no session refreshed or ended, no attempt
        assert c.get("/akun", follow_redirects=False).status_code == 200  # still logged in: /keluar did not run
        page = c.get("/layanan/akta-kelahiran")  # reads are served where they arrive
        assert page.status_code == 200 and "fly-replay" not in page.headers
        assert c.head("/layanan").status_code == 200
        big = c.post("/permohonan/1/berkas/x", content=b"x" * (1024 * 1024 + 1),
                     headers={"Content-Type": "application/octet-stream"})
        # Fly cannot replay more than 1 MB: the replica hands it on itself, here to a primary that does not answer
        assert big.status_code == 503 and big.headers["retry-after"] == "30" and "Coba lagi" in big.text

        (mount / ".primary").unlink()  # promoted: writes are served here again
        r = c.post("/permohonan/baru", data=fields, follow_redirects=False)
        assert r.status_code == 303 and "fly-replay" not in r.headers
        assert counts(db)["permohonan"] == before["permohonan"] + 1


def test_the_replay_is_answered_before_a_byte_of_the_body_is_read(mount):
    (mount / ".primary").write_text("primer")
    reached = []

    async def downstream(scope, receive, send):
        reached.append(scope["path"])

    async def receive():
        raise AssertionError("the body was read")

    sent = []

    async def send(message):
        sent.append(message)

    scope = {"type": "http", "method": "POST", "path": "/masuk", "headers": [(b"content-length", b"20")]}
    asyncio.run(ReplayWrites(downstream, Cluster(str(mount)))(scope, receive, send))
    assert reached == [] and sent[0]["status"] == 409
    assert (b"fly-replay", b"instance=primer") in sent[0]["headers"]
    asyncio.run(ReplayWrites(downstream, Cluster(str(mount)))({**scope, "method": "GET"}, receive, send))
    assert reached == ["/masuk"]
    sent.clear()  # over the upload limit: refused before a byte is read, not handed on to the primary
    huge = {**scope, "path": "/permohonan/1/berkas/x", "headers": [(b"content-length", str(13 << 20).encode())]}
    asyncio.run(ReplayWrites(downstream, Cluster(str(mount)), max_body=12 << 20)(huge, receive, send))
    assert reached == ["/masuk"] and sent[0]["status"] == 413


def test_not_clustered_is_always_the_primary(tmp_path):
    assert Cluster("").is_primary() and not Cluster("").clustered
    assert Cluster(str(tmp_path)).is_primary()  # LiteFS writes no .primary on the primary
    (tmp_path / ".primary").write_text("")
    assert Cluster(str(tmp_path)).is_primary()  # an empty file names nobody


def test_background_jobs_run_on_the_primary_only_and_a_replica_only_ships(replica, mount, monkeypatch):
    done: list[str] = []
    monkeypatch.setattr(jobs.permohonan, "deem_overdue_permits", lambda pel: done.append("izin"))
    monkeypatch.setattr(jobs.pengaduan, "close_unanswered", lambda db: done.append("pengaduan"))
    monkeypatch.setattr(jobs.idempotensi, "forget_older_than", lambda db, hours: done.append("idempotensi"))
    monkeypatch.setattr(jobs.notifikasi, "deliver_due", lambda db, sender: done.append("sms"))
    monkeypatch.setattr(jobs.jejak, "drain", lambda db, spool: done.append("jejak"))
    monkeypatch.setattr(jobs.dokumen, "seal_waiting", lambda *a, **k: done.append("segel"))
    monkeypatch.setattr(jobs.penyimpanan, "check_when_due", lambda *a, **k: done.append("penyimpanan"))
    shipped: list[str] = []
    monkeypatch.setattr(jobs.jejak, "ship", lambda spool, send: shipped.append("kirim"))

    (mount / ".primary").write_text("mesin-primer")
    with TestClient(replica, base_url="http://127.0.0.1"):
        jobs.one_round(replica)
        jobs.between_rounds(replica)
        assert done == [] and shipped == ["kirim", "kirim"]  # a replica: no SMS, no fiktif positif, no purge

        (mount / ".primary").unlink()  # promoted
        jobs.one_round(replica)
        assert set(done) == {"jejak", "sms", "izin", "pengaduan", "segel", "idempotensi", "penyimpanan"}
        assert done[0] == "jejak" and shipped == ["kirim", "kirim"]


def test_the_setting_and_its_spool(tmp_path):
    from web.settings import ConfigError

    env = {"MPP_DB": str(tmp_path / "mpp.db"), "MPP_SECRET_KEY": "k", "MPP_TEMPLATE_KEY": "x" * 43,
           "MPP_SIGNING_KEY": "y" * 43}
    assert Settings.from_env(env).litefs_dir == "" and Settings.from_env(env).spool_folder == tmp_path / "spool"
    with pytest.raises(ConfigError, match="MPP_SPOOL_DIR"):  # the LiteFS mount takes databases only
        Settings.from_env({**env, "MPP_LITEFS_DIR": "/litefs"})
    s = Settings.from_env({**env, "MPP_LITEFS_DIR": "/litefs", "MPP_SPOOL_DIR": "/data/spool", "PORT": "8081"})
    assert s.spool_folder.as_posix() == "/data/spool" and s.primary_url == "http://{primary}:8081"
    assert s.internal_bearer and s.internal_bearer != "k"


def test_start_draft_helper_still_works_on_the_primary(client):
    assert login(client, BUDI).status_code == 303
    assert start_draft(client, "akta-kelahiran").status_code == 303


def _photo_over_1_mb() -> bytes:
    """A scan-sized JPEG of noise (it does not compress), over the 1 MB Fly's proxy replays."""
    import io
    import os

    from PIL import Image

    out = io.BytesIO()
    Image.frombytes("RGB", (1000, 1000), os.urandom(1000 * 1000 * 3)).save(out, "JPEG", quality=95)
    assert out.tell() > 1024 * 1024
    return out.getvalue()


def test_a_no_script_upload_over_1_mb_on_a_replica_is_handed_to_the_primary_and_kept(settings, mount, tmp_path,
                                                                                      db):
    """Without the page's script a phone sends its photo as it is; a replica cannot let Fly replay it, so it hands the
    request to the primary's app itself and answers the primary's answer: the citizen sees the file kept."""
    from tests.test_hostile_bodies import live

    db.execute("UPDATE akun SET wajah_terakhir = strftime('%Y-%m-%dT%H:%M:%SZ', 'now') WHERE nik = ?", [BUDI])
    db.conn.commit()
    with live(settings) as port:  # the primary's app (LiteFS gives both machines the same database)
        replica = create_app(replace(settings, litefs_dir=str(mount), spool_dir=str(tmp_path / "spool-replika"),
                                     primary_url=f"http://{{primary}}:{port}"), quiet=True)
        with TestClient(replica, base_url="http://127.0.0.1") as c:
            assert login(c, BUDI).status_code == 303
            pid = int(start_draft(c, "akta-kelahiran").headers["location"].split("/")[2])
            (mount / ".primary").write_text("127.0.0.1\n")  # now a replica; the primary's host is 127.0.0.1
            fields = form_fields(c, f"/permohonan/{pid}/isi", f"/permohonan/{pid}/simpan")
            before = counts(db)
            photo = _photo_over_1_mb()
            r = c.post(f"/permohonan/{pid}/berkas/berkas_surat_lahir", data=fields,
                       files={"berkas": ("foto-surat.jpg", photo, "image/jpeg")}, follow_redirects=False)
            assert r.status_code == 303 and "fly-replay" not in r.headers, (r.status_code, r.text[:300])
            assert r.headers["location"].startswith(f"/permohonan/{pid}/isi")
            assert db.execute("SELECT count(*) FROM berkas WHERE permohonan_id = ?", [pid]).fetchone()[0] == 1
            assert counts(db)["idempotensi"] == before["idempotensi"] + 1  # kept once, by the primary
            assert "Terunggah: foto-surat.jpg" in c.get(f"/permohonan/{pid}/isi").text  # read on the replica
            again = c.post(f"/permohonan/{pid}/berkas/berkas_surat_lahir", data=fields,  # the browser resends it
                           files={"berkas": ("foto-surat.jpg", photo, "image/jpeg")}, follow_redirects=False)
            assert again.status_code == 303 and again.headers["location"] == r.headers["location"]
            assert counts(db)["idempotensi"] == before["idempotensi"] + 1  # the first answer, not a second upload
