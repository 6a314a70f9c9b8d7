"""Backup and restore have no fixed time limit, only a progress check (issue 18: a large file hit the old 120 s).

``ops.replica.run`` is driven here with a stand-in for the Litestream binary (``$LITESTREAM`` = /bin/sh), so
the rule is tested without a database: a command that keeps working runs past the stall limit; one that stops
making progress is stopped, with its log in the error.
"""

from __future__ import annotations

import subprocess
import time

import pytest

from ops import replica


@pytest.fixture
def shell(monkeypatch):
    monkeypatch.setenv("LITESTREAM", "/bin/sh")


def test_a_command_that_keeps_working_runs_past_the_stall_limit(shell, tmp_path):
    out = tmp_path / "growing"
    script = f"for i in 1 2 3 4 5 6 7 8; do head -c 4096 /dev/zero >> {out}; sleep 0.4; done; echo selesai"
    start = time.monotonic()
    done = replica.run(["-c", script], {}, stall=1.5, watch=(out,))
    assert time.monotonic() - start > 3 and "selesai" in done.stdout  # 3.2 s of work, 1.5 s stall limit


def test_a_command_without_progress_is_stopped(shell):
    start = time.monotonic()
    with pytest.raises(replica.Stalled, match="no progress"):
        replica.run(["-c", "exec sleep 30"], {}, stall=1.5)
    assert time.monotonic() - start < 10


def test_there_is_no_overall_limit_unless_asked(shell):
    assert replica.run(["-c", "sleep 1.5; echo ok"], {}, stall=5).stdout.strip() == "ok"
    with pytest.raises(subprocess.TimeoutExpired):
        replica.run(["-c", "while true; do echo .; sleep 0.1; done"], {}, timeout=1.5, stall=5)


def test_a_failure_carries_the_log(shell):
    with pytest.raises(RuntimeError, match="gagal di sini"):
        replica.run(["-c", "echo gagal di sini >&2; exit 3"], {})


def test_the_stall_limit_is_configurable(monkeypatch):
    monkeypatch.setenv("MPP_LITESTREAM_STALL_SECONDS", "600")
    assert replica.stall_seconds() == 600
    monkeypatch.delenv("MPP_LITESTREAM_STALL_SECONDS")
    assert replica.stall_seconds() == replica.STALL_SECONDS
