"""``python -m biometrics`` as an operator runs it: subprocesses on small CSVs in tmp_path."""

from __future__ import annotations

import csv
import io
import math
import os
import re
import subprocess
import sys

import pytest
from faces_support import FACES_DIR, REPO, needs_faces, templates

from biometrics.matching import decide, face_distance


def run(*args: str, env_extra: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MPP_FACE_")}
    env.update({"PYTHONPATH": str(REPO), **(env_extra or {})})
    return subprocess.run(
        [sys.executable, "-W", "error::UserWarning", "-m", "biometrics", *args],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=120,
    )


def write_csv(path, header, rows):
    with open(path, "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(header)
        w.writerows(rows)


@pytest.mark.faces
@needs_faces
def test_verify_pairs_prints_distance_and_decision_per_pair(tmp_path):
    pairs = [
        ("obama/obama1.jpg", "obama/obama4.jpg"),
        ("obama/obama2.jpg", "odd/rgba-32bit.png"),
        ("obama/obama1.jpg", "biden/biden2.jpg"),
        ("kit_harington/kit1.jpg", "groups/kit_with_rose.jpg"),
        ("obama/partial1.jpg", "obama/obama1.jpg"),
        ("obama/obama1.jpg", "tidak/ada.jpg"),
    ]
    fake = tmp_path / "selfie.jpg"  # text with a photo's name
    fake.write_text("bukan foto")
    pairs.append(("obama/obama1.jpg", str(fake)))
    src = tmp_path / "pairs.csv"
    write_csv(src, ["a", "b"], [(str(FACES_DIR / a), str(FACES_DIR / b)) for a, b in pairs])
    proc = run("verify-pairs", str(src))
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert lines[0] == "a,b,distance,decision"
    rows = list(csv.DictReader(io.StringIO(proc.stdout)))
    assert len(rows) == len(pairs)
    expected_decisions = []
    for a, b in pairs[:3]:
        expected_decisions.append(decide(face_distance(templates()[a], templates()[b])))
    assert [r["decision"] for r in rows] == expected_decisions + ["no_face"] * 4
    assert expected_decisions == ["match", "match", "no_match"]
    for row, (a, b) in zip(rows[:3], pairs):
        assert float(row["distance"]) == pytest.approx(face_distance(templates()[a], templates()[b]), abs=1e-4)
    assert all(r["distance"] == "" for r in rows[3:])
    for reason in ("multiple_faces", "face_cut_off", "bad_type", "tidak dapat dibaca"):
        assert reason in proc.stderr


@pytest.mark.faces
@needs_faces
def test_verify_pairs_honours_threshold_env_and_relative_paths(tmp_path):
    src = tmp_path / "pairs.csv"
    write_csv(src, ["a", "b"], [("obama1.jpg", "obama4.jpg")])
    (tmp_path / "obama1.jpg").symlink_to(FACES_DIR / "obama/obama1.jpg")
    (tmp_path / "obama4.jpg").symlink_to(FACES_DIR / "obama/obama4.jpg")
    default = run("verify-pairs", str(src))
    assert default.stdout.splitlines()[1].endswith(",match")
    strict = run("verify-pairs", str(src), env_extra={"MPP_FACE_MATCH_MAX": "0.1", "MPP_FACE_REVIEW_MAX": "0.2"})
    assert strict.returncode == 0, strict.stderr
    assert strict.stdout.splitlines()[1].endswith(",no_match")


@pytest.mark.faces
@needs_faces
def test_calibrate_prints_rates_table_and_proposed_bands(tmp_path):
    labelled = [
        ("obama/obama1.jpg", "obama/obama4.jpg", "1"),
        ("alex_lacamoire/alex2.jpg", "alex_lacamoire/alex3.jpg", "true"),
        ("obama/obama1.jpg", "biden/biden2.jpg", "0"),
        ("rose_leslie/rose1.jpg", "kit_harington/kit3.jpg", "False"),
        ("alex_lacamoire/alex3.jpg", "obama/obama2.jpg", "0"),
    ]
    src = tmp_path / "labelled.csv"
    write_csv(src, ["a", "b", "same"], [(str(FACES_DIR / a), str(FACES_DIR / b), s) for a, b, s in labelled])
    proc = run("calibrate", str(src))
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert lines[0] == "threshold,fmr,fnmr"
    table = lines[1:22]
    assert [row.split(",")[0] for row in table] == [f"{0.30 + 0.02 * i:.2f}" for i in range(21)]
    assert table[-1] == "0.70,0.3333,0.0000"  # alex3-obama2 (0.689) is the one impostor under 0.70
    impostor = min(
        face_distance(templates()[a], templates()[b]) for a, b, s in labelled if s in ("0", "False")
    )
    expected = math.floor((impostor - 0.25) * 100 + 1e-9) / 100
    assert lines[-1] == f"match_max={expected:.2f} review_max=0.60"
    assert "genuine_pairs=2 impostor_pairs=3" in proc.stdout
    # a lower margin gives looser bands; the option is honoured
    loose = run("calibrate", str(src), "--margin", "0.1", "--target-fmr", "0.01")
    m = re.search(r"match_max=(\d\.\d\d)", loose.stdout)
    assert m and float(m.group(1)) > expected


def test_calibrate_explains_a_bad_csv(tmp_path):
    src = tmp_path / "bad.csv"
    write_csv(src, ["left", "right"], [("x", "y")])
    proc = run("calibrate", str(src))
    assert proc.returncode == 2
    assert "a, b, same" in proc.stderr


def test_genkey_prints_a_usable_key():
    from biometrics.templates import parse_key

    proc = run("genkey")
    assert proc.returncode == 0
    assert len(parse_key(proc.stdout)) == 32

