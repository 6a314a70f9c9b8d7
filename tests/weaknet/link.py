"""A slow, far-away mobile link between two network namespaces made for one run.

::

    namespace <prefix>-cli                                   namespace <prefix>-srv
    Chromium ── kernel TCP ── wnc0 (TUN) ══ relay.py ══ wns0 (TUN) ── kernel TCP ── uvicorn
              10.231.0.1/30   tc tbf: up     RTT/2 each    tc tbf: down   10.231.0.2/30
                                             direction

* rate: the kernel's ``tc tbf`` on the egress of each TUN device (client side = upload,
  server side = download); this kernel has no ``netem``;
* delay: ``relay.py`` holds every packet RTT/2 before handing it to the other side;
* both ends run the kernel's own TCP (cubic, IPv4 only), nothing is proxied.

The namespaces and devices exist only inside :class:`Link`; ``close()`` runs even when
a test fails, and each new link first removes what a killed earlier run left behind
(namespaces named ``mppwn<pid>-…`` whose pid is gone). Addresses live only inside these
namespaces; nothing is routed to or from the host's own network.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PREFIX = "mppwn"
CLI_ADDR, SRV_ADDR = "10.231.0.1", "10.231.0.2"
PORT = 8000


@dataclass(frozen=True)
class Profile:
    name: str
    down_kbit: int
    up_kbit: int
    rtt_ms: int


PROFILES = {
    "edge": Profile("edge", 240, 200, 840),
    "2g": Profile("2g", 280, 256, 800),
    "slow3g": Profile("slow3g", 400, 400, 400),
}


def run(*cmd: str, check: bool = True, timeout: float = 20) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, check=check, capture_output=True, text=True, timeout=timeout)


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def our_namespaces() -> list[str]:
    if not shutil.which("ip"):
        return []
    out = run("ip", "netns", "list", check=False).stdout
    return [line.split()[0] for line in out.splitlines() if line.startswith(PREFIX)]


def remove_namespace(name: str) -> None:
    """Stop what still runs inside ``name`` (processes this harness started there), then delete it."""
    for pid in run("ip", "netns", "pids", name, check=False).stdout.split():
        with contextlib.suppress(ProcessLookupError, ValueError):
            os.kill(int(pid), signal.SIGKILL)
    run("ip", "netns", "del", name, check=False)


def remove_leftovers() -> list[str]:
    """Namespaces of earlier runs whose process is gone (a killed test, a crash)."""
    removed = []
    for name in our_namespaces():
        digits = name[len(PREFIX):].split("-", 1)[0].split("x", 1)[0]
        if digits.isdigit() and _pid_alive(int(digits)) and int(digits) != os.getpid():
            continue  # another run, still alive: not ours to touch
        if digits.isdigit() and int(digits) == os.getpid() and name in Link.open_names:
            continue
        remove_namespace(name)
        removed.append(name)
    return removed


def unavailable() -> str | None:
    """Why this machine cannot build the link (None when it can)."""
    if sys.platform != "linux":
        return "weak-network harness needs Linux network namespaces"
    if os.geteuid() != 0:
        return "weak-network harness needs root (ip netns add, TUN devices, tc)"
    for tool in ("ip", "tc"):
        if not shutil.which(tool):
            return f"`{tool}` not found: install iproute2 (scripts/ensure-netns)"
    if not os.path.exists("/dev/net/tun"):
        return "/dev/net/tun missing: no TUN devices here"
    probe = f"{PREFIX}{os.getpid()}x{time.monotonic_ns() % 10**6}-probe"
    made = run("ip", "netns", "add", probe, check=False)
    if made.returncode != 0:
        return f"network namespaces not permitted here: ip netns add: {made.stderr.strip()}"
    try:
        tbf = run("ip", "netns", "exec", probe, "tc", "qdisc", "add", "dev", "lo", "root", "tbf",
                  "rate", "256kbit", "burst", "4kb", "limit", "32kb", check=False)
        if tbf.returncode != 0:
            return f"tc tbf not available: {tbf.stderr.strip()}"
    finally:
        run("ip", "netns", "del", probe, check=False)
    return None


class Link:
    """Both namespaces, the TUN relay and the shapers; a context manager."""

    open_names: set[str] = set()
    _serial = 0

    def __init__(self, profile: Profile):
        Link._serial += 1
        base = f"{PREFIX}{os.getpid()}x{Link._serial}"
        self.cli, self.srv = f"{base}-cli", f"{base}-srv"
        self.profile = profile
        self.relay: subprocess.Popen | None = None
        self.tmp = Path(tempfile.mkdtemp(prefix="weaknet-"))
        self.procs: list[subprocess.Popen] = []

    # set-up and tear-down
    def __enter__(self) -> Link:
        remove_leftovers()
        try:
            self._build()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def _build(self) -> None:
        for ns in (self.cli, self.srv):
            Link.open_names.add(ns)
            run("ip", "netns", "add", ns)
            run("ip", "-n", ns, "link", "set", "lo", "up")
            for key, value in (("net.ipv6.conf.all.disable_ipv6", "1"), ("net.ipv6.conf.default.disable_ipv6", "1"),
                               ("net.ipv4.tcp_congestion_control", "cubic")):
                run("ip", "netns", "exec", ns, "sysctl", "-q", "-w", f"{key}={value}", check=False)
        half = self.profile.rtt_ms / 2000
        self.relay = subprocess.Popen(
            [sys.executable, str(Path(__file__).with_name("relay.py")), "--cli-ns", self.cli, "--cli-dev", "wnc0",
             "--srv-ns", self.srv, "--srv-dev", "wns0", "--delay-up", str(half), "--delay-down", str(half)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, bufsize=1, preexec_fn=_die_with_parent)
        ready = self.relay.stdout.readline()
        if not ready or not json.loads(ready).get("ready"):
            raise RuntimeError(f"relay did not start (exit {self.relay.poll()})")
        for ns, dev, addr, kbit in ((self.cli, "wnc0", CLI_ADDR, self.profile.up_kbit),
                                    (self.srv, "wns0", SRV_ADDR, self.profile.down_kbit)):
            run("ip", "-n", ns, "addr", "add", f"{addr}/30", "dev", dev)
            run("ip", "-n", ns, "link", "set", dev, "up")
            run("ip", "netns", "exec", ns, "tc", "qdisc", "replace", "dev", dev, "root", "tbf", *self.tbf(kbit))

    @staticmethod
    def tbf(kbit: int) -> list[str]:
        """Token bucket of about two packets; a queue of one second of traffic (at least 32 KB)."""
        limit = max(32 * 1024, kbit * 1000 // 8)
        return ["rate", f"{kbit}kbit", "burst", "3200", "limit", str(limit)]

    def close(self) -> None:
        for proc in reversed(self.procs):
            _stop(proc)
        self.procs.clear()
        if self.relay is not None:
            with contextlib.suppress(OSError):
                self.relay.stdin.close()
            _stop(self.relay)
            self.relay.stdout.close()
            self.relay = None
        for ns in (self.cli, self.srv):
            remove_namespace(ns)
            Link.open_names.discard(ns)
        shutil.rmtree(self.tmp, ignore_errors=True)

    # the relay's controls
    def call(self, **msg) -> dict:
        assert self.relay is not None and self.relay.poll() is None, "relay not running"
        self.relay.stdin.write(json.dumps(msg) + "\n")
        self.relay.stdin.flush()
        return json.loads(self.relay.stdout.readline())

    def reset(self) -> None:
        self.call(cmd="reset")

    def stats(self) -> dict:
        return self.call(cmd="stats")

    def arm(self, path: str, method: str = "POST", cuts: int = 1, outage: float = 3.0) -> None:
        """Drop the link for ``outage`` s when the server starts answering the next ``cuts`` matching requests."""
        self.call(cmd="arm", path=path, method=method, cuts=cuts, outage=outage)

    def disarm(self) -> int:
        return self.call(cmd="disarm")["cuts_left"]

    # what runs at each end
    @contextlib.contextmanager
    def server(self, db_path: str, env: dict | None = None, timeout: float = 120.0,
               ready: str = "/healthz") -> Iterator[str]:
        """``uvicorn --factory app:create_app`` inside the server namespace; yields its base URL
        once ``ready`` answers 200 (``/healthz?siap=wajah``: face models loaded too)."""
        full_env = {**os.environ, "MPP_BASE_URL": f"http://{SRV_ADDR}:{PORT}", **(env or {}), "MPP_DB": db_path}
        cmd = ["ip", "netns", "exec", self.srv, sys.executable, "-m", "uvicorn", "--factory", "app:create_app",
               "--host", SRV_ADDR, "--port", str(PORT), "--no-access-log", "--log-level", "warning"]
        proc = subprocess.Popen(cmd, cwd=ROOT, env=full_env, preexec_fn=_die_with_parent)
        self.procs.append(proc)
        base = f"http://{SRV_ADDR}:{PORT}"
        probe = ("import sys, time, urllib.request\n"
                 f"end = time.monotonic() + {timeout}\n"
                 "while time.monotonic() < end:\n"
                 "    try:\n"
                 f"        urllib.request.urlopen('{base}{ready}', timeout=60).read(); sys.exit(0)\n"
                 "    except OSError:\n"
                 "        time.sleep(0.1)\n"
                 "sys.exit(1)\n")
        try:
            ready = subprocess.Popen(["ip", "netns", "exec", self.srv, sys.executable, "-c", probe])
            while ready.poll() is None:
                if proc.poll() is not None:
                    ready.kill()
                    raise RuntimeError(f"server exited with {proc.returncode}")
                time.sleep(0.1)
            if ready.returncode != 0:
                raise TimeoutError("server did not start in the server namespace")
            yield base
        finally:
            _stop(proc)
            with contextlib.suppress(ValueError):
                self.procs.remove(proc)

    def chromium(self, chromium: str) -> str:
        """A launcher that starts ``chromium`` inside the client namespace (give it to Playwright)."""
        path = self.tmp / "chromium-in-cli"
        path.write_text(f'#!/bin/sh\nexec ip netns exec {self.cli} {chromium} "$@"\n')
        path.chmod(0o755)
        return str(path)


def _die_with_parent() -> None:
    """In the child before exec: SIGTERM when the harness dies, even by SIGKILL (prctl PR_SET_PDEATHSIG)."""
    import ctypes

    ctypes.CDLL(None).prctl(1, signal.SIGTERM, 0, 0, 0)


def _stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)
