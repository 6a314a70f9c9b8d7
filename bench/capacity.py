"""Capacity figures for the README's "Scaling" section (issue 18): ``python -m bench capacity``.

- ``applications_per_s``: applications submitted end to end through the whole app, in-process (Starlette's test
  client, every middleware): a logged-in citizen starts a draft of Kartu Keluarga in Kota Batam, fills in the
  form, uploads each required scan (re-encoded by the server, stored as a file), checks the answers and submits;
  one after the other from one client, so the figure is what one process (one core of Python) does. Logging in
  (one scrypt hash per session, not per application) is left out and printed on its own line.
- ``face_verifications_per_s_per_core``: the biometrics benchmark's verification (decode a selfie, detect,
  encode, compare with a stored template; the models loaded once), repeated for a few seconds in a process pinned
  to one CPU.
- ``db_bytes_per_application``: the largest database ``make bench-volume`` built (a ``--skala 0.05`` one is built
  here if there is none): file size / applications, without uploaded files (they are in object storage).
"""

from __future__ import annotations

import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SLUG, REGION = "kartu-keluarga", "2171"


def _fields(html: str, action: str) -> dict[str, str]:
    """Hidden inputs (CSRF token, idempotency key) of the form that posts to ``action``."""
    from bench.users import hidden

    start = html.index(f'action="{action}"')
    return hidden(html[start:html.index("</form>", start)])


def _start_draft(client) -> str:
    """The draft's form path, started as the service's page does (a GET that may offer a button to POST)."""
    from bench.users import hidden

    r = client.get(f"/permohonan/baru?layanan={SLUG}&wilayah={REGION}")
    if "/isi" not in str(r.url):
        r = client.post("/permohonan/baru", data={**hidden(r.text), "layanan": SLUG, "wilayah": REGION})
    assert r.status_code == 200 and "/isi" in str(r.url), (r.status_code, r.url)
    return r.url.path


def one_application(client, scan: bytes) -> str:
    """Draft → answers → each required scan → check → submit; the application's id."""
    from bench.users import _answers, hidden

    path = _start_draft(client)
    pid = re.search(r"/permohonan/(\d+)/isi", path).group(1)
    page = client.get(path)
    r = client.post(f"/permohonan/{pid}/simpan", data={**hidden(page.text), "aksi": "simpan", **_answers(page.text)})
    assert r.status_code == 200, ("simpan", r.status_code, r.text[-1500:])
    for kolom in dict.fromkeys(re.findall(r'action="/permohonan/\d+/berkas/([a-z_]+)"', page.text)):
        form = client.get(path)
        r = client.post(f"/permohonan/{pid}/berkas/{kolom}", data=hidden(form.text),
                        files={"berkas": ("scan.jpg", scan, "image/jpeg")})
        assert r.status_code == 200, (kolom, r.status_code)
    review = client.get(f"/permohonan/{pid}/periksa")
    assert "/ajukan" in review.text, "the check-answers page offers no submit: " + re.sub(
        r"\s+", " ", re.sub(r"<[^>]+>", " ", review.text.split("<main", 1)[-1]))[:1200]
    r = client.post(f"/permohonan/{pid}/ajukan", data=hidden(review.text.split("/ajukan")[1]))
    assert r.status_code == 200 and "diajukan" in r.text.lower(), r.status_code
    return pid


def process(client, pid: str) -> None:
    """An officer's part: the inbox, then open the case and act, for each step (verify, approve, sign and issue)."""
    from bench.users import hidden

    client.get("/petugas?status=diajukan")
    for action in ("verifikasi", "setujui", "terbitkan"):
        case = client.get(f"/petugas/permohonan/{pid}")
        form = case.text.split(f'value="{action}"')[0].rsplit("<form", 1)[1]
        url = re.search(r'action="([^"]+)"', form).group(1)
        r = client.post(url, data={**hidden(form), "aksi": action})
        assert r.status_code == 200 and "/petugas" in str(r.url), (action, r.status_code)


def applications(count: int = 24) -> list[str]:
    from starlette.testclient import TestClient

    from app import create_app
    from bench import users
    from bench.volume import _settings

    sent = []
    with tempfile.TemporaryDirectory() as tmp:
        db_path = str(Path(tmp) / "capacity.db")
        users.seeded(db_path, citizens=count + 2, officers=0)
        scan = users._scan()
        app = create_app(_settings(db_path), quiet=True)
        with TestClient(app, base_url="http://127.0.0.1") as client, \
                TestClient(app, base_url="http://127.0.0.1") as desk:
            client.event_hooks = {"request": [sent.append], "response": []}  # every request, redirects too
            _log_in(desk, "dukcapil.batam")
            logins, took, processed, requests = [], [], [], 0
            for i in range(count + 2):
                client.cookies.clear()
                start = time.perf_counter()
                _log_in(client, users.citizen_login(i), users.PASSWORD)
                logins.append(time.perf_counter() - start)
                sent.clear()
                start = time.perf_counter()
                pid = one_application(client, scan)
                submitted = time.perf_counter() - start
                start = time.perf_counter()
                process(desk, pid)
                if i >= 2:  # two warm-up applications: templates compiled, caches filled
                    took.append(submitted)
                    processed.append(time.perf_counter() - start)
                    requests += len(sent)
    return [f"applications_per_s={count / sum(took):.2f} applications/s",
            f"application_ms={statistics.median(took) * 1000:.0f} ms",
            f"application_requests={requests / count:.1f} requests",
            f"application_processed_ms={statistics.median(processed) * 1000:.0f} ms",  # the officer's 3 steps
            f"login_ms={statistics.median(logins) * 1000:.0f} ms"]


def served(workers: int, clients: int = 6, each: int = 8) -> float:
    """Applications per second through a real server (``python app.py`` with WEB_CONCURRENCY=``workers``): ``clients``
    threads at once, each submitting ``each`` applications of citizens logged in before the clock starts, after a
    first round of one application per thread (every worker's templates compiled, its connections open). The
    clients run on the same 2 cores as the server, so the figure is a floor; its ratio between 1 and 2 workers in
    the same run is what one more core buys here."""
    import threading

    import httpx2 as httpx

    from bench import users
    from bench.server import running_server
    from bench.volume import _settings

    with tempfile.TemporaryDirectory() as tmp:
        db_path = str(Path(tmp) / "served.db")
        users.seeded(db_path, citizens=clients * (each + 1), officers=0)
        settings = _settings(db_path)
        env = {"MPP_SECRET_KEY": settings.secret_key, "MPP_DEMO": "1",
               "MPP_TEMPLATE_KEY": settings.template_key, "MPP_SIGNING_KEY": settings.signing_key,
               "MPP_FACE_WARMUP": "0", "MPP_SPOOL_DIR": f"{tmp}/spool", "MPP_FILES_DIR": f"{tmp}/objek",
               "MPP_TTE_DIR": f"{tmp}/tte", "MPP_CLIENT_IP_HEADER": "x-uji-alamat"}  # each citizen an address:
        scan = users._scan()                          # the registry look-ups of other NIKs are limited per address
        with running_server(env=env, db_path=db_path, workers=workers) as server:
            sessions = []
            for i in range(clients * (each + 1)):
                c = httpx.Client(base_url=server.url, timeout=120, follow_redirects=True,
                                 headers={"x-uji-alamat": f"10.0.{i // 250}.{i % 250 + 1}"})
                _log_in(c, users.citizen_login(i), users.PASSWORD)
                sessions.append(c)
            failures: list[BaseException] = []

            def submit(mine: list) -> None:
                try:
                    for c in mine:
                        one_application(c, scan)
                except BaseException as e:  # reported below: a figure from a failed run would mislead
                    failures.append(e)

            def round_of(groups: list[list]) -> float:
                threads = [threading.Thread(target=submit, args=(g,)) for g in groups]
                start = time.perf_counter()
                for t in threads:
                    t.start()
                for t in threads:
                    t.join()
                if failures:
                    raise failures[0]
                return time.perf_counter() - start

            round_of([[c] for c in sessions[:clients]])  # warm-up
            rest = sessions[clients:]
            took = round_of([rest[k * each:(k + 1) * each] for k in range(clients)])
            for c in sessions:
                c.close()
    return clients * each / took


def served_lines() -> list[str]:
    one, two = served(1), served(2)
    return [f"served_applications_per_s_1_worker={one:.2f} applications/s",
            f"served_applications_per_s_2_workers={two:.2f} applications/s",
            f"served_2_workers_vs_1={two / one:.2f} ratio"]


def _log_in(client, login_id: str, password: str | None = None) -> None:
    from ops.seed import DEMO_PASSWORD

    page = client.get("/masuk")
    r = client.post("/masuk", data={**_fields(page.text, "/masuk"), "login": login_id,
                                    "kata_sandi": password or DEMO_PASSWORD}, follow_redirects=False)
    assert r.status_code == 303, (login_id, r.status_code)


FACES_CODE = """
import os, statistics, sys, time
from pathlib import Path
os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
from biometrics.bench import bench_photos
from biometrics.config import default_faces_dir
from biometrics.engine import FaceEngine
from biometrics.errors import BiometricRejected
from biometrics.models import get_models
faces = default_faces_dir()
if not faces.is_dir():
    sys.exit(f"# capacity: no face photos at {faces}")
get_models()
engine, photos = FaceEngine(), []
for rel, _ in bench_photos(faces):
    data = (faces / rel).read_bytes()
    try:
        photos.append((data, engine.encode(data)))
    except BiometricRejected:
        pass
seconds, done, times = float(sys.argv[1]), 0, []
start = time.perf_counter()
while time.perf_counter() - start < seconds:
    data, stored = photos[done % len(photos)]
    t = time.perf_counter()
    engine.verify(data, stored)
    times.append(time.perf_counter() - t)
    done += 1
rate = done / (time.perf_counter() - start)
print(f"face_verifications_per_s_per_core={rate:.2f} verifications/s")
print(f"face_verification_one_core_ms={statistics.median(times) * 1000:.0f} ms")
"""


def faces(seconds: float = 8.0) -> list[str]:
    """Verifications in a process of its own, pinned to one CPU (the models load once, before the clock starts)."""
    done = subprocess.run([sys.executable, "-c", FACES_CODE, str(seconds)], cwd=ROOT, capture_output=True, text=True,
                          check=False)
    lines = [line for line in done.stdout.splitlines() if "=" in line]
    return lines or [f"# capacity: face verification did not run: {(done.stderr or done.stdout).strip()[-300:]}"]


def database() -> list[str]:
    from bench import volume

    path = volume.largest_cached()
    if path is None:
        path = volume.cached_or_built(volume.Params().scaled(0.05))
    lines = [line for line in volume.database_figures(path) if line.startswith("db_bytes_per_application")]
    return lines + [f"# db_bytes_per_application from {path.name}"]


def measure() -> list[str]:
    return [*applications(int(os.environ.get("BENCH_APPLICATIONS", "24"))), *served_lines(), *faces(), *database()]


if __name__ == "__main__":
    print(*measure(), sep="\n")
