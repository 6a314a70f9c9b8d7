"""Real server processes for the tests that kill, restart or multiply them (tests/test_pekerja.py,
tests/test_penyimpanan_mati.py): ``python app.py`` with WEB_CONCURRENCY workers, or one bare ``uvicorn``
process, each in a process group of its own so that a SIGKILL takes all of it, as a crashed machine would."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from bench.server import free_port

ROOT = Path(__file__).resolve().parent.parent
LEASE_LINE = "menjalankan pekerjaan latar"  # web/proses.py: the worker process that runs the background job


class Server:
    """``python app.py`` (WEB_CONCURRENCY workers) or one bare ``uvicorn`` process, in a process group of its own;
    a subclass names another command (``command``), e.g. Litestream around the app (tests/test_litestream.py)."""

    def __init__(self, env: dict[str, str], log: Path, workers: int | None = None):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.workers = workers
        env = {**env, "HOST": "127.0.0.1", "PORT": str(self.port)}
        if workers is not None:
            env["WEB_CONCURRENCY"] = str(workers)
        self.log_path = log
        self._log = open(log, "ab")  # noqa: SIM115 - closed by close()
        self.proc = subprocess.Popen(self.command(), cwd=ROOT, env=env, stdout=self._log, stderr=subprocess.STDOUT,
                                     start_new_session=True)

    def command(self) -> list[str]:
        if self.workers is not None:
            return [sys.executable, "app.py"]
        return [sys.executable, "-m", "uvicorn", "--factory", "app:create_app", "--host", "127.0.0.1",
                "--port", str(self.port), "--no-access-log", "--log-level", "warning"]

    def log(self) -> str:
        self._log.flush()
        return self.log_path.read_text(errors="replace")

    def wait_healthy(self, timeout: float = 90) -> float:
        """Until /healthz answers; how long that took."""
        start = time.monotonic()
        while True:
            with contextlib.suppress(OSError), urllib.request.urlopen(self.url + "/healthz", timeout=2) as r:
                if r.status == 200:
                    return time.monotonic() - start
            if self.proc.poll() is not None or time.monotonic() - start > timeout:
                raise AssertionError(f"not serving (exit {self.proc.poll()}):\n{self.log()[-3000:]}")
            time.sleep(0.1)

    def wait_for(self, text: str, timeout: float = 60) -> None:
        """Until the log says ``text``."""
        deadline = time.monotonic() + timeout
        while text not in self.log():
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(f"no {text!r} in the log:\n{self.log()[-3000:]}")
            time.sleep(0.1)

    def holds_lease(self) -> bool:
        return LEASE_LINE in self.log()

    def kill9(self) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(10)

    def close(self) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGTERM)
        try:
            self.proc.wait(15)
        except subprocess.TimeoutExpired:
            self.kill9()
        self._log.close()


@contextlib.contextmanager
def serving(env: dict[str, str], log: Path, workers: int | None = None):
    server = Server(env, log, workers)
    try:
        server.wait_healthy()
        yield server
    finally:
        server.close()


