"""`make bench`: page weights, throughput against a bare baseline, simulated users, event-loop lag,
face verification.

Prints `name=value unit` lines only. ``python -m bench users loop_lag`` runs only the parts named
(``SECTIONS``; all of them by default).
"""

from __future__ import annotations

import os
import statistics
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


def throughput(base: str, bare: str, seconds: float, rounds: int = 3) -> None:
    """`/layanan` (brotli) against the bare app, in alternating rounds so that a neighbour's load on this
    shared machine falls on both alike; the medians of the rounds."""
    headers = {"Accept-Encoding": "br"}
    ours, baseline = [], []
    for _ in range(rounds):
        ours.append(load.measure(base + "/layanan", seconds / rounds, headers=headers))
        baseline.append(load.measure(bare + "/ok", seconds / rounds, headers=headers))
    med = lambda runs, key: statistics.median(r[key] for r in runs)  # noqa: E731
    out("layanan_rps", med(ours, "rps"), "req/s")
    out("layanan_p50", med(ours, "p50_ms"), "ms")
    out("layanan_p99", med(ours, "p99_ms"), "ms")
    out("layanan_errors", sum(r["errors"] for r in ours), "count")
    out("bare_ok_rps", med(baseline, "rps"), "req/s")
    ratio = statistics.median(o["rps"] / b["rps"] for o, b in zip(ours, baseline, strict=True))
    out("layanan_br_vs_bare", ratio, "ratio")  # goal >= 0.3, brotli on


def users(seconds: float) -> None:
    """200 simulated users (180 citizens, 20 officers) against a fresh server: a login burst, then
    ``seconds`` of steady use (bench/users.py)."""
    from bench import users as load_users

    with tempfile.TemporaryDirectory() as tmp:
        db_path = str(Path(tmp) / "users.db")
        load_users.seeded(db_path, citizens=180, officers=20)
        env = {"MPP_SECRET_KEY": "bench-only-key", "MPP_FACE_WARMUP": "0"}
        with running_server(db_path=db_path, env=env) as server:
            result = load_users.run(server.url, seconds, citizens=180, officers=20, submitters=30)
        objects_per_application = object_bytes_per_application(db_path)
    login, steady = result["login"], result["steady"]
    out("users_concurrent", 200, "users")
    out("users_login_requests", login["requests"], "requests")
    out("users_login_seconds", login["seconds"], "s")
    out("users_login_p50_ms", login["p50_ms"], "ms")  # from the first GET /masuk to logged in
    out("users_login_p99_ms", login["p99_ms"], "ms")
    out("users_login_errors", login["errors"], "count")  # refused tries (tried again, up to 3 in all)
    out("users_login_failed", login["failed"], "users")
    out("users_steady_requests", steady["requests"], "requests")
    out("users_steady_rps", steady["rps"], "req/s")
    out("users_steady_p50_ms", steady["p50_ms"], "ms")
    out("users_steady_p99_ms", steady["p99_ms"], "ms")  # goal < 500
    out("users_steady_errors", steady["errors"], "count")
    out("users_submitted", steady["submitted"], "applications")
    out("users_verified", steady["verified"], "cases")
    for sample in result["error_samples"]:
        print(f"# error sample: {sample}", flush=True)
    out("object_bytes_per_application", objects_per_application, "bytes")  # object storage, not SQLite


def object_bytes_per_application(db_path: str) -> float:
    """Average bytes of uploaded documents and sealed PDFs (object storage) per submitted application."""
    from db.connection import connect
    from services import penyimpanan

    db = connect(db_path)
    try:
        return penyimpanan.object_bytes_per_application(db)
    finally:
        db.conn.close()


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


def served(seconds: float) -> None:
    """Page weights, `/layanan` against the bare app, and resident memory, on one demo server."""
    with tempfile.TemporaryDirectory() as tmp:
        db_path = str(Path(tmp) / "bench.db")
        env = {"MPP_SECRET_KEY": "bench-only-key", "MPP_DEMO": "1", "MPP_FACE_WARMUP": "1"}
        with running_server(db_path=db_path, env=env) as server, \
                running_server(app="bench.bare_app:create_app") as bare:
            pages(server.url)
            out("server_rss_mb", wait_for_models(server), "MB")  # first: the models load in the background
            throughput(server.url, bare.url, seconds)


def printed(module: str):
    def run() -> None:
        from importlib import import_module
        print(*import_module(f"bench.{module}").measure(), sep="\n", flush=True)
    return run


SECTIONS = {
    "served": lambda: served(float(os.environ.get("BENCH_SECONDS", "5"))),
    "users": lambda: users(float(os.environ.get("BENCH_USERS_SECONDS", "20"))),
    "loop_lag": printed("loop_lag"),
    "dokumen": printed("dokumen"),
    "formulir": printed("formulir"),
    "litestream_lag": printed("litestream_lag"),
    "bomb": printed("bomb"),
    "stalled": printed("stalled"),
    "faces": faces,
    "pad": pad,
    # applications per second, face verifications per second per core, database bytes per application (issue 18)
    "capacity": printed("capacity"),
}


def main(argv: list[str]) -> int:
    unknown = [name for name in argv if name not in SECTIONS]
    if unknown:
        print(f"# unknown part(s) {unknown}; known: {' '.join(SECTIONS)}", file=sys.stderr)
        return 2
    for name in argv or SECTIONS:
        SECTIONS[name]()
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
