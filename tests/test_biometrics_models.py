"""Models load once per process, lazily, quietly, and are safe to share between threads."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
from faces_support import REPO, needs_faces, read

from biometrics import models


def test_import_is_cheap_and_quiet_and_loads_models_on_first_use():
    code = (
        "import biometrics, biometrics.models as m; assert not m.models_loaded(); "
        "m.get_models(); assert m.models_loaded(); print('ok')"
    )
    proc = subprocess.run(
        [sys.executable, "-W", "error", "-c", code],
        cwd=REPO, env={**os.environ, "PYTHONPATH": str(REPO)}, capture_output=True, text=True, timeout=120,
    )
    assert proc.returncode == 0, proc.stderr  # -W error: no pkg_resources warning either
    assert proc.stdout.strip() == "ok"


def test_concurrent_first_calls_load_the_models_once(monkeypatch):
    monkeypatch.setattr(models, "_models", None)
    loads = []
    real = models.DescriptorNet

    def counting(path):
        loads.append(path)
        return real(path)

    monkeypatch.setattr(models, "DescriptorNet", counting)
    barrier = threading.Barrier(8)

    def first_call():
        barrier.wait()
        return models.get_models()

    with ThreadPoolExecutor(8) as pool:
        got = list(pool.map(lambda _: first_call(), range(8)))
    assert len(loads) == 1
    assert all(g is got[0] for g in got)


@pytest.mark.faces
@needs_faces
def test_one_engine_serves_parallel_requests_with_identical_results():
    from faces_support import engine

    files = ["obama/obama1.jpg", "biden/biden2.jpg", "rose_leslie/rose2.jpg", "kit_harington/kit3.jpg"] * 3
    serial = [engine().encode(read(f)) for f in files]
    with ThreadPoolExecutor(4) as pool:
        parallel = list(pool.map(lambda f: engine().encode(read(f)), files))
    for a, b in zip(serial, parallel):
        assert np.array_equal(a, b)
