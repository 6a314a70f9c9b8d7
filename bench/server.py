"""Start a real server process on 127.0.0.1 for benchmarks and browser tests."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from web.settings import SERVER_LIMITS

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def uvicorn_limits() -> list[str]:
    """SERVER_LIMITS as uvicorn command-line options (``--limit-concurrency 256`` ...)."""
    return [arg for name, value in SERVER_LIMITS.items() for arg in ("--" + name.replace("_", "-"), str(value))]


@dataclass(frozen=True)
class Server:
    url: str
    pid: int

    def rss_mb(self) -> float:
        """Resident memory of the server process (Linux /proc), in MiB."""
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
        return float("nan")


@contextlib.contextmanager
def running_server(app: str = "app:create_app", env: dict | None = None, db_path: str | None = None,
                   timeout: float = 60.0, workers: int = 0) -> Iterator[Server]:
    """Run ``uvicorn --factory app`` on a free loopback port until the block ends, with the
    production limits (web/settings.py SERVER_LIMITS). The request log stays quiet unless
    ``MPP_LOG_LEVEL`` is set (``make bench`` prints ``name=value`` lines only). ``workers``: run ``python app.py``
    instead, as the image does, with WEB_CONCURRENCY worker processes."""
    port = free_port()
    full_env = {"MPP_LOG_LEVEL": "warning", **os.environ,
                "MPP_BASE_URL": f"http://127.0.0.1:{port}", **(env or {})}  # QR codes, links
    if db_path:
        full_env["MPP_DB"] = db_path
    cmd = [sys.executable, "-m", "uvicorn", "--factory", app, "--host", "127.0.0.1", "--port", str(port),
           "--no-access-log", "--log-level", "warning",
           "--no-proxy-headers", *uvicorn_limits()]
    if workers:
        cmd = [sys.executable, "app.py"]
        full_env.update(HOST="127.0.0.1", PORT=str(port), WEB_CONCURRENCY=str(workers))
    proc = subprocess.Popen(cmd, cwd=ROOT, env=full_env)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + timeout
        while True:
            try:
                with urllib.request.urlopen(base + "/healthz", timeout=2) as r:
                    if r.status == 200:
                        break
            except OSError:
                if proc.poll() is not None:
                    raise RuntimeError(f"server exited with {proc.returncode}") from None
                if time.monotonic() > deadline:
                    raise TimeoutError("server did not start") from None
                time.sleep(0.1)
        yield Server(base, proc.pid)
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
