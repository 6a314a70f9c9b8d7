"""Issue 18 for real: the server process is killed (SIGKILL) between storing an upload and committing its row.

tests/test_penyimpanan.py simulates this in-process (a trigger makes the commit fail). Here a real uvicorn process
serves the citizen, and the test stops it at exactly that point, with no fault-injection hook in the product:

- An upload is stored and read back (``services.penyimpanan.put_verified``) *before* its row is written, in a
  ``BEGIN IMMEDIATE`` transaction (``db.connection.write``) that waits up to busy_timeout (10 s) for SQLite's write
  lock. So the test opens its own connection to the app's database and holds that lock; the upload then stores its
  object and stalls at the lock. As soon as the object appears under ``berkas/``, the server's whole process group
  is SIGKILLed, and only then is the lock released (ROLLBACK): the row can never have been committed.

What a user and an operator notice, on the local folder and on a real S3 server (SeaweedFS):

1. The killed upload got no answer (the connection drops): nothing was acknowledged.
2. The database has no row for it; storage has exactly one object, the orphan. A sweep right away leaves it (an
   object younger than ``ORPHAN_AGE_S`` may be an upload in flight).
3. After a restart on the same database and storage, the citizen's session still works and the form shows the
   document as not uploaded. The browser re-sends the very same form (same bytes, same ``_idem``), as it does after
   a dropped line: it is answered 303 and the document is listed; its row names a new object, not the orphan.
4. The sweep, an hour on, deletes exactly the orphan and keeps the committed file (which the citizen downloads);
   a check afterwards finds nothing missing and no orphan.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import re
import sqlite3
import threading
import time
from pathlib import Path

import httpx2 as httpx
import pytest
from bs4 import BeautifulSoup

from db.connection import connect
from integrations.penyimpanan import TEMP_PREFIX
from services import kalender, penyimpanan
from tests.conftest import SIGNING_KEY, TEMPLATE_KEY
from tests.helpers import jpeg
from tests.proses_support import serving
from tests.s3_support import on_s3
from tests.test_litestream import citizen_client, hidden
from web.wiring import objects_for

ROOT = Path(__file__).resolve().parent.parent
CITIZEN = "2171031508900001"          # Budi, the demo citizen
KOLOM = "berkas_surat_lahir"          # the birth letter of akta-kelahiran
START_TIMEOUT_S = 60                  # a loaded 2-core machine
OBJECT_TIMEOUT_S = 20                 # for the upload's object to appear (the app gives up the lock after 10 s)
POLL_S = 0.02
LATER = penyimpanan.ORPHAN_AGE_S + 60  # seconds: past the grace that protects an upload in flight
_HIDDEN = re.compile(r'name="(csrf_token|_idem)" value="([^"]*)"')


@pytest.fixture(params=["disk", "s3"])
def settings(request, settings):
    """The test's database copy with its files in the folder beside it, or in a fresh bucket of the S3 server."""
    settings = dataclasses.replace(settings, s3_bucket="")
    return on_s3(settings, request.getfixturevalue("s3_server")) if request.param == "s3" else settings


# --- the server process ----------------------------------------------------------------------------------------

def server_env(settings) -> dict[str, str]:
    """What the container sets, for this test's database and storage (nothing inherited from MPP_*/AWS_*)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MPP_", "AWS_"))}
    env.update(MPP_DB=str(Path(settings.db_path).resolve()), MPP_SECRET_KEY=settings.secret_key,
               MPP_TEMPLATE_KEY=TEMPLATE_KEY, MPP_SIGNING_KEY=SIGNING_KEY, MPP_FACE_WARMUP="0", MPP_DEMO="1",
               MPP_LOOP_GUARD="raise", MPP_GET_WRITES="raise", MPP_FILES_DIR=str(settings.files_folder),
               MPP_S3_BUCKET=settings.s3_bucket)
    if settings.s3_bucket:
        env.update(MPP_S3_ENDPOINT=settings.s3_endpoint, MPP_S3_REGION=settings.s3_region,
                   MPP_S3_ACCESS_KEY_ID=settings.s3_access_key_id,
                   MPP_S3_SECRET_ACCESS_KEY=settings.s3_secret_access_key)
    return env


# --- the citizen's browser -------------------------------------------------------------------------------------

def logged_in(base: str) -> httpx.Client:
    c = citizen_client(base)
    c.timeout = httpx.Timeout(30)  # the upload waits for the test's lock until it is killed
    return c


def open_draft(c: httpx.Client) -> int:
    page = c.get("/permohonan/baru?layanan=akta-kelahiran&wilayah=2171")  # one button that starts the draft
    assert page.status_code == 200, (page.status_code, page.text[:300])
    r = c.post("/permohonan/baru", data={**hidden(page.text), "layanan": "akta-kelahiran", "wilayah": "2171"},
               follow_redirects=True)
    found = re.search(r"/permohonan/(\d+)/isi", str(r.url))
    assert r.status_code == 200 and found, (r.status_code, str(r.url))
    return int(found.group(1))


def upload_form(c: httpx.Client, pid: int) -> tuple[str, bytes, dict[str, str]]:
    """The upload of the birth letter as the form page sends it: the page's CSRF token and one-time ``_idem`` key
    with the file (as tests/test_permohonan.py's ``upload``). Built once, so a re-send is byte for byte the same."""
    page = c.get(f"/permohonan/{pid}/isi")
    assert page.status_code == 200, (page.status_code, page.text[:300])
    fields = hidden(page.text)
    assert set(fields) == {"csrf_token", "_idem"}, fields
    url = f"/permohonan/{pid}/berkas/{KOLOM}"
    request = c.build_request("POST", url, data=fields, files={"berkas": ("scan.jpg", jpeg(), "image/jpeg")})
    return url, request.read(), {"content-type": request.headers["content-type"]}


def upload_shown(c: httpx.Client, pid: int) -> str:
    """What the form page says under the birth letter (``Terunggah: <file> (<n> KB)`` once it is uploaded)."""
    page = c.get(f"/permohonan/{pid}/isi", follow_redirects=False)
    assert page.status_code == 200, (page.status_code, page.headers.get("location"), page.text[:300])
    field = BeautifulSoup(page.text, "html.parser").find(id=f"berkas-{KOLOM}")
    assert field is not None, page.text[:500]
    return re.sub(r"\s+", " ", field.get_text(" "))


def stored_keys(objects) -> list[str]:
    """The uploads' objects, whole ones only (a local write goes to a ``.tmp-`` file first, then is renamed)."""
    return [o.key for o in objects.list(penyimpanan.BERKAS) if not o.key.rpartition("/")[2].startswith(TEMP_PREFIX)]


def rows(db, pid: int) -> list[dict]:
    return [dict(r) for r in db.execute("SELECT id, kunci FROM berkas WHERE permohonan_id = ?", [pid])]


# --- the test --------------------------------------------------------------------------------------------------

def test_an_upload_killed_before_its_commit_is_not_acknowledged_can_be_sent_again_and_its_object_is_swept(
        settings, tmp_path):
    log = tmp_path / "server.log"
    db_path = settings.db_path
    objects = objects_for(settings)
    env = server_env(settings)
    first = sqlite3.connect(db_path)  # a recent face check, as the other upload tests have (step-up has its own)
    first.execute("UPDATE akun SET wajah_terakhir = strftime('%Y-%m-%dT%H:%M:%SZ', 'now') WHERE nik = ?", [CITIZEN])
    first.commit()
    first.close()
    db = connect(db_path)
    browser = None
    try:
        # --- 1. killed between the object and the row: nothing acknowledged --------------------------------------
        with serving(env, log) as server:
            browser = logged_in(server.url)
            pid = open_draft(browser)
            url, body, headers = upload_form(browser, pid)
            assert stored_keys(objects) == []

            lock = sqlite3.connect(db_path, timeout=30, isolation_level=None)
            try:
                lock.execute("BEGIN IMMEDIATE")  # the app's row write (BEGIN IMMEDIATE) now waits for this lock
                outcome: dict = {}

                def send() -> None:
                    try:
                        outcome["response"] = browser.post(url, content=body, headers=headers)
                    except httpx.HTTPError as e:
                        outcome["error"] = e

                sending = threading.Thread(target=send, name="upload", daemon=True)
                sending.start()
                deadline = time.monotonic() + OBJECT_TIMEOUT_S
                while not (orphans := stored_keys(objects)):
                    if not sending.is_alive():
                        got = outcome.get("response")
                        raise AssertionError("the upload was answered before its object was stored: "
                                             + (f"{got.status_code} {got.text[:300]}" if got else repr(outcome)))
                    if time.monotonic() > deadline:
                        raise AssertionError(f"no object under berkas/ {OBJECT_TIMEOUT_S} s after the upload")
                    time.sleep(POLL_S)
                stalled = sending.is_alive()  # before the kill: still waiting (for the lock), not answered
                server.kill9()
                sending.join(30)
            finally:
                with contextlib.suppress(sqlite3.Error):
                    lock.execute("ROLLBACK")
                lock.close()

        assert stalled and not sending.is_alive(), outcome
        assert "response" not in outcome, (outcome["response"].status_code, outcome["response"].headers)
        assert isinstance(outcome.get("error"), httpx.TransportError), outcome  # the line dropped, no answer

        # --- 2. the orphan: an object no row names, left alone while it may still be an upload in flight ----------
        (orphan,) = orphans
        assert orphan.startswith(f"berkas/{pid}/"), orphan
        assert rows(db, pid) == []
        assert stored_keys(objects) == [orphan]
        report = penyimpanan.check(db, objects, sweep=True)  # the real now: the object is seconds old
        assert (report.orphan_count, report.deleted, report.missing_count) == (0, 0, 0), report.lines()
        assert objects.exists(orphan)

        # --- 3. restarted: the form says not uploaded; the browser re-sends the same form and it is kept ----------
        with serving(env, log) as server:
            again = httpx.Client(base_url=server.url, timeout=30, cookies=browser.cookies)  # the same browser
            browser.close()
            browser = again
            shown = upload_shown(browser, pid)  # the session survived the restart (no redirect to /masuk)
            assert "Terunggah" not in shown, shown

            r = browser.post(url, content=body, headers=headers)  # same bytes: same CSRF token, same _idem
            assert r.status_code == 303, (r.status_code, r.text[:500])
            assert f"/permohonan/{pid}/isi" in r.headers["location"]
            assert "x-idempotent-replay" not in r.headers  # the first attempt left no answer to replay: run anew
            shown = upload_shown(browser, pid)
            assert "Terunggah: scan.jpg" in shown, shown

            (row,) = rows(db, pid)
            kept = row["kunci"]
            assert kept != orphan and kept.startswith(f"berkas/{pid}/")
            assert stored_keys(objects) == sorted([orphan, kept])

            # --- 4. an hour on, the sweep deletes the orphan and only it ------------------------------------------
            later = kalender.seconds() + LATER
            report = penyimpanan.check(db, objects, sweep=True, now=later)
            assert (report.orphan_count, report.deleted, report.missing_count) == (1, 1, 0), report.lines()
            assert [o.key for o in report.orphans] == [orphan]
            assert stored_keys(objects) == [kept] and not objects.exists(orphan)
            report = penyimpanan.check(db, objects, sweep=False, now=later)
            assert (report.objects, report.missing_count, report.orphan_count) == (1, 0, 0), report.lines()

            got = browser.get(f"/permohonan/{pid}/berkas/{row['id']}")
            assert got.status_code == 200 and got.content == objects.get(kept)
    finally:
        if browser is not None:
            browser.close()
        db.conn.close()
        if log.exists():  # shown by pytest only when the test fails
            print(f"--- server log (tail) ---\n{log.read_text(errors='replace')[-4000:]}")
