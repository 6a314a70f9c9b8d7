"""`make bench-lighthouse`: Lighthouse on 2G, each public page against an empty page in the same run.

Lighthouse's simulated throttling (800 ms round trip, 280 kbit/s, CPU 4× slower, a 360×640 phone)
runs on every public page and on an empty HTML page served from 127.0.0.1 in the same run; the
figure that counts is the ratio of a page's LCP to the empty page's (goal ≤ 1.15), because absolute
times depend on the machine. Lighthouse comes from npm (pinned in scripts/fetch-vendor, into
.cache/npm) and runs with Debian's chromium. Prints ``name=value unit`` lines only.

    .venv/bin/python -m bench.lighthouse          # LIGHTHOUSE_RUNS=3 for the median of three
"""

from __future__ import annotations

import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from bench.server import ROOT, running_server

PAGES = {"beranda": "/", "layanan": "/layanan", "layanan_detail": "/layanan/akta-kelahiran",
         "mpp_batam": "/mpp/2171", "masuk": "/masuk", "pengaduan": "/pengaduan", "pemantauan": "/pemantauan"}
GOAL = 1.15
LIGHTHOUSE = ROOT / ".cache/npm/node_modules/lighthouse/cli/index.js"
EMPTY_PAGE = (b'<!doctype html><html lang="id"><head><meta charset="utf-8">'
              b'<meta name="viewport" content="width=device-width, initial-scale=1"><title>Kosong</title>'
              b'<link rel="icon" href="data:,">'  # like our pages: no /favicon.ico request in either
              b'</head><body><p>Halaman kosong untuk pembanding.</p></body></html>')
FLAGS = [
    "--only-categories=performance", "--output=json", "--output-path=stdout", "--quiet",
    "--form-factor=mobile", "--screenEmulation.mobile", "--screenEmulation.width=360",
    "--screenEmulation.height=640", "--screenEmulation.deviceScaleFactor=2",
    "--throttling-method=simulate", "--throttling.rttMs=800", "--throttling.throughputKbps=280",
    "--throttling.cpuSlowdownMultiplier=4", "--max-wait-for-load=60000",
    "--chrome-flags=--headless=new --no-sandbox --disable-gpu",
]


class EmptyPage(BaseHTTPRequestHandler):
    def do_GET(self):  # noqa: N802 (http.server's name)
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(EMPTY_PAGE)))
        self.end_headers()
        self.wfile.write(EMPTY_PAGE)

    def log_message(self, *args):
        pass


def out(name: str, value, unit: str) -> None:
    print(f"{name}={value:.3g} {unit}" if isinstance(value, float) else f"{name}={value} {unit}", flush=True)


def lighthouse(url: str, attempts: int = 3) -> dict[str, float]:
    """One Lighthouse run: LCP and FCP in ms. A run Lighthouse itself gives up on (it sometimes records
    no trace: NO_NAVSTART) is tried again, up to ``attempts`` times."""
    env = {**os.environ, "CHROME_PATH": os.environ.get("CHROME_PATH") or shutil.which("chromium") or "chromium"}
    for attempt in range(attempts):
        result = subprocess.run(["node", str(LIGHTHOUSE), url, *FLAGS], capture_output=True, text=True,
                                env=env, timeout=300)
        if result.returncode == 0 and "runtimeError" not in json.loads(result.stdout or "{}"):
            break
        print(f"# lighthouse {url}: attempt {attempt + 1} failed: {result.stderr.strip()[-300:]}", file=sys.stderr)
    else:
        raise RuntimeError(f"lighthouse {url}: {attempts} attempts failed")
    audits = json.loads(result.stdout)["audits"]
    return {"lcp": audits["largest-contentful-paint"]["numericValue"],
            "fcp": audits["first-contentful-paint"]["numericValue"]}


def median_of(url: str, runs: int) -> dict[str, float]:
    results = [lighthouse(url) for _ in range(runs)]
    return {key: statistics.median(r[key] for r in results) for key in results[0]}


def main() -> int:
    if not LIGHTHOUSE.exists():
        print("# lighthouse not installed: run scripts/fetch-vendor (make bench-lighthouse does)", file=sys.stderr)
        return 2
    runs = int(os.environ.get("LIGHTHOUSE_RUNS", "1"))
    empty = ThreadingHTTPServer(("127.0.0.1", 0), EmptyPage)
    threading.Thread(target=empty.serve_forever, daemon=True).start()
    try:
        with tempfile.TemporaryDirectory() as tmp:
            env = {"MPP_SECRET_KEY": "bench-only-key", "MPP_DEMO": "1", "MPP_FACE_WARMUP": "0"}
            with running_server(db_path=str(Path(tmp) / "lighthouse.db"), env=env) as server:
                baseline = median_of(f"http://127.0.0.1:{empty.server_address[1]}/", runs)
                out("lcp_empty_ms", round(baseline["lcp"]), "ms")
                out("fcp_empty_ms", round(baseline["fcp"]), "ms")
                worst = 0.0
                for name, path in PAGES.items():
                    page = median_of(server.url + path, runs)
                    ratio = page["lcp"] / baseline["lcp"]
                    worst = max(worst, ratio)
                    out(f"lcp_{name}_ms", round(page["lcp"]), "ms")
                    out(f"fcp_{name}_ms", round(page["fcp"]), "ms")
                    out(f"lcp_{name}_vs_empty", ratio, "x")
                out("lcp_worst_vs_empty", worst, "x")
                out("lcp_goal_vs_empty", GOAL, "x")
    finally:
        empty.shutdown()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
