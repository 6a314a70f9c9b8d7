"""`make bench`: page weights, throughput against a bare baseline, face verification.

Prints `name=value unit` lines only.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import urllib.request
from pathlib import Path

from bench import load
from bench.server import ROOT, running_server

PAGES = {"beranda": "/", "layanan": "/layanan", "layanan_cari": "/layanan?q=akta",
         "layanan_detail": "/layanan/akta-kelahiran", "mpp_batam": "/mpp/2171", "masuk": "/masuk"}


def fetch_size(url: str, encoding: str) -> tuple[int, str]:
    req = urllib.request.Request(url, headers={"Accept-Encoding": encoding})
    with urllib.request.urlopen(req) as r:
        return len(r.read()), r.headers.get("content-encoding", "identity")


def css_url(base: str) -> str:
    """The stylesheet's URL, as a later visit links it (a first visit, like these, has it inline)."""
    with urllib.request.urlopen(base + "/") as r:
        r.read()
        cookie = next(c.split(";")[0] for c in r.headers.get_all("Set-Cookie") if c.startswith("css="))
    req = urllib.request.Request(base + "/", headers={"Cookie": cookie})
    with urllib.request.urlopen(req) as r:
        html = r.read().decode()
    start = html.index('rel="stylesheet" href="') + len('rel="stylesheet" href="')
    return html[start:html.index('"', start)]


def out(name: str, value: float, unit: str) -> None:
    print(f"{name}={value:.4g} {unit}" if isinstance(value, float) else f"{name}={value} {unit}", flush=True)


def pages(base: str) -> None:
    """A first visit's page with its stylesheet inline (no cookie here), compressed."""
    css = css_url(base)
    css_br, _ = fetch_size(base + css, "br")
    out("css_br_bytes", css_br, "bytes")
    for name, path in PAGES.items():
        for enc in ("br", "gzip"):
            size, got = fetch_size(base + path, enc)
            assert got == enc, (path, got)
            out(f"page_{name}_{enc}_bytes", size, "bytes")


def throughput(base: str, bare: str, seconds: float) -> None:
    headers = {"Accept-Encoding": "br"}
    ours = load.measure(base + "/layanan", seconds, headers=headers)
    baseline = load.measure(bare + "/ok", seconds, headers=headers)
    out("layanan_rps", ours["rps"], "req/s")
    out("layanan_p50", ours["p50_ms"], "ms")
    out("layanan_p99", ours["p99_ms"], "ms")
    out("layanan_errors", ours["errors"], "count")
    out("bare_ok_rps", baseline["rps"], "req/s")
    out("layanan_vs_bare_ratio", ours["rps"] / baseline["rps"], "x")


def users(seconds: float) -> None:
    """200 concurrent simulated users (180 citizens, 20 officers) against a fresh server."""
    from bench import users as load_users
    from db import seed
    from db.connection import connect

    with tempfile.TemporaryDirectory() as tmp:
        db_path = str(Path(tmp) / "users.db")
        db = connect(db_path)
        seed.seed(db)
        db.conn.close()
        load_users.prepare(db_path, citizens=180, officers=20)
        env = {"MPP_SECRET_KEY": "bench-only-key", "MPP_FACE_WARMUP": "0"}
        with running_server(db_path=db_path, env=env) as server:
            result = load_users.run(server.url, seconds, citizens=180, officers=20, submitters=30)
    out("users_concurrent", 200, "users")
    out("users_requests", result["requests"], "requests")
    out("users_rps", result["rps"], "req/s")
    out("users_p50", result["p50_ms"], "ms")
    out("users_p99", result["p99_ms"], "ms")
    out("users_errors", result["errors"], "count")
    out("users_submitted", result["submitted"], "applications")
    out("users_verified", result["verified"], "cases")
    for sample in result["error_samples"]:
        print(f"# error sample: {sample}", flush=True)


def wait_for_models(server) -> float:
    """Resident memory of the serving process once its face models are loaded (warm-up at start)."""
    with urllib.request.urlopen(server.url + "/healthz?siap=wajah", timeout=60) as r:
        r.read()
    return server.rss_mb()


def faces() -> None:
    if not (ROOT / "biometrics" / "__main__.py").exists():
        return
    subprocess.run([sys.executable, "-m", "biometrics", "bench"], cwd=ROOT, check=False)


PAD_CODE = (
    "import sys; sys.path.insert(0, 'tests')\n"
    "from faces_support import HAVE_FACES, FACES_DIR\n"
    "if not HAVE_FACES: sys.exit(f'# pad: no shared face photos at {FACES_DIR}')\n"
    "from biometrics.bench import run_pad_bench\n"
    "def corpus():\n"
    "    from attacks import corpus\n"
    "    from posed import usable_photos\n"
    "    return corpus(usable_photos(), hard=True)\n"
    "print(*run_pad_bench(corpus).lines(), sep='\\n', flush=True)\n"
)


def pad() -> None:
    """Presentation-attack figures (APCER per attack, BPCER) on the corpus of tests/attacks.py, in a
    fresh process so the 68-point model's memory is measured from a clean start."""
    if (ROOT / "tests" / "attacks.py").exists():
        subprocess.run([sys.executable, "-c", PAD_CODE], cwd=ROOT, check=False)


def main() -> int:
    seconds = float(os.environ.get("BENCH_SECONDS", "5"))
    with tempfile.TemporaryDirectory() as tmp:
        db_path = str(Path(tmp) / "bench.db")
        env = {"MPP_SECRET_KEY": "bench-only-key", "MPP_DEMO": "1", "MPP_FACE_WARMUP": "1"}
        with running_server(db_path=db_path, env=env) as server, \
                running_server(app="bench.bare_app:create_app") as bare:
            pages(server.url)
            throughput(server.url, bare.url, seconds)
            out("server_rss_mb", wait_for_models(server), "MB")
    users(float(os.environ.get("BENCH_USERS_SECONDS", "20")))
    from bench import bomb, dokumen, litestream_lag, stalled
    print(*dokumen.measure(), sep="\n", flush=True)
    print(*litestream_lag.measure(), sep="\n", flush=True)
    print(*bomb.measure(), sep="\n", flush=True)
    print(*stalled.measure(), sep="\n", flush=True)
    faces()
    pad()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
