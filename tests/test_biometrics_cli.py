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
        ("obama/obama1.jpg", "obama/obama3.jpg"),
        ("obama/obama2.jpg", "odd/rgba-32bit.png"),
        ("obama/obama1.jpg", "biden/biden2.jpg"),
        ("obama/obama1.jpg", "obama/obama4.jpg"),
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
    for a, b in pairs[:4]:
        expected_decisions.append(decide(face_distance(templates()[a], templates()[b])))
    assert [r["decision"] for r in rows] == expected_decisions + ["no_face"] * 4
    # obama1-obama4 (0.356) is the same man just above match_max 0.35: an officer looks
    assert expected_decisions == ["match", "match", "no_match", "review"]
    for row, (a, b) in zip(rows[:4], pairs):
        assert float(row["distance"]) == pytest.approx(face_distance(templates()[a], templates()[b]), abs=1e-4)
    assert all(r["distance"] == "" for r in rows[4:])
    for reason in ("multiple_faces", "face_cut_off", "bad_type", "tidak dapat dibaca"):
        assert reason in proc.stderr


@pytest.mark.faces
@needs_faces
def test_verify_pairs_honours_threshold_env_and_relative_paths(tmp_path):
    src = tmp_path / "pairs.csv"
    write_csv(src, ["a", "b"], [("obama1.jpg", "obama3.jpg")])
    (tmp_path / "obama1.jpg").symlink_to(FACES_DIR / "obama/obama1.jpg")
    (tmp_path / "obama3.jpg").symlink_to(FACES_DIR / "obama/obama3.jpg")
    default = run("verify-pairs", str(src))
    assert default.stdout.splitlines()[1].endswith(",match")
    strict = run("verify-pairs", str(src), env_extra={"MPP_FACE_MATCH_MAX": "0.1", "MPP_FACE_REVIEW_MAX": "0.2"})
    assert strict.returncode == 0, strict.stderr
    assert strict.stdout.splitlines()[1].endswith(",no_match")
    # a flag beats the environment
    flagged = run("verify-pairs", str(src), "--match-max", "0.2", env_extra={"MPP_FACE_MATCH_MAX": "0.1"})
    assert flagged.stdout.splitlines()[1].endswith(",review")


LABELLED = [
    ("obama/obama1.jpg", "obama/obama4.jpg", "1"),  # 0.356: review at 0.35
    ("alex_lacamoire/alex2.jpg", "alex_lacamoire/alex3.jpg", "true"),  # 0.377: review
    ("obama/obama1.jpg", "obama/obama3.jpg", "1"),  # 0.323: match
    ("obama/obama1.jpg", "biden/biden2.jpg", "0"),
    ("rose_leslie/rose1.jpg", "kit_harington/kit3.jpg", "False"),
    ("alex_lacamoire/alex3.jpg", "obama/obama2.jpg", "0"),
]


def _labelled_csv(tmp_path):
    src = tmp_path / "labelled.csv"
    write_csv(src, ["a", "b", "same"], [(str(FACES_DIR / a), str(FACES_DIR / b), s) for a, b, s in LABELLED])
    return src


def _goal_rows(stdout: str) -> dict[str, list[str]]:
    lines = stdout.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("bands in force:"))
    assert lines[start + 1].split() == ["goal", "measured", "goal", "result"]
    return {line[:34].strip(): line[34:].split() for line in lines[start + 2:start + 5]}


@pytest.mark.faces
@needs_faces
def test_calibrate_prints_rates_table_and_proposed_bands(tmp_path):
    src = _labelled_csv(tmp_path)
    proc = run("calibrate", str(src))
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert lines[0] == "threshold,fmr,fnmr"
    table = lines[1:22]
    assert [row.split(",")[0] for row in table] == [f"{0.30 + 0.02 * i:.2f}" for i in range(21)]
    assert table[-1] == "0.70,0.3333,0.0000"  # alex3-obama2 (0.689) is the one impostor under 0.70
    impostor = min(
        face_distance(templates()[a], templates()[b]) for a, b, s in LABELLED if s in ("0", "False")
    )
    assert "genuine_pairs=3 impostor_pairs=3" in proc.stdout
    assert f"min_impostor={impostor:.3f}" in proc.stdout
    # 0.689 - 0.17 = 0.51, but no set without East-Asian faces may lift the band above 0.35
    rule = next(line for line in lines if line.startswith("rule: "))
    assert "margin 0.17" in rule and "capped at match_cap 0.35" in rule
    assert "match_max=0.35 review_max=0.60" in lines
    # the operator may lift the cap and shrink the margin on purpose
    loose = run("calibrate", str(src), "--margin", "0.1", "--match-cap", "0.6")
    m = re.search(r"^match_max=(\d\.\d\d)", loose.stdout, re.M)
    expected = math.floor((impostor - 0.1) * 100 + 1e-9) / 100
    assert m and float(m.group(1)) == expected > 0.35


@pytest.mark.faces
@needs_faces
def test_calibrate_prints_the_three_goals_for_the_default_bands(tmp_path):
    proc = run("calibrate", str(_labelled_csv(tmp_path)))
    assert proc.returncode == 0, proc.stderr
    assert "bands in force: match_max=0.35 review_max=0.60 (defaults)" in proc.stdout
    goals = _goal_rows(proc.stdout)
    assert goals["impostor pairs auto-accepted"] == ["0", "of", "3", "(0.0%)", "0", "PASS"]
    assert goals["genuine pairs rejected outright"] == ["0", "of", "3", "(0.0%)", "<=", "3%", "PASS"]
    assert goals["genuine pairs sent to review"] == ["2", "of", "3", "(66.7%)", "<=", "25%", "FAIL"]
    # the proposal is printed first, unchanged, then the goals
    assert proc.stdout.index("rule: ") < proc.stdout.index("bands in force:")
    # --check turns a failed goal into exit code 1, with the same report
    checked = run("calibrate", str(_labelled_csv(tmp_path)), "--check")
    assert checked.returncode == 1
    assert checked.stdout == proc.stdout


@pytest.mark.faces
@needs_faces
def test_calibrate_goals_follow_env_and_flags(tmp_path):
    src = _labelled_csv(tmp_path)
    loose = {"MPP_FACE_MATCH_MAX": "0.70", "MPP_FACE_REVIEW_MAX": "0.70"}
    proc = run("calibrate", str(src), env_extra=loose)
    assert proc.returncode == 0, proc.stderr
    assert "bands in force: match_max=0.70 review_max=0.70 (MPP_FACE_MATCH_MAX / MPP_FACE_REVIEW_MAX)" in proc.stdout
    goals = _goal_rows(proc.stdout)
    assert goals["impostor pairs auto-accepted"] == ["1", "of", "3", "(33.3%)", "0", "FAIL"]  # alex3-obama2 0.689
    assert goals["genuine pairs sent to review"][-1] == "PASS"
    # flags beat the environment; all three goals met -> --check exits 0
    proc = run("calibrate", str(src), "--match-max", "0.40", "--check", env_extra=loose)
    assert proc.returncode == 0, proc.stdout
    assert "bands in force: match_max=0.40 review_max=0.70 (--match-max / MPP_FACE_REVIEW_MAX)" in proc.stdout
    assert [row[-1] for row in _goal_rows(proc.stdout).values()] == ["PASS", "PASS", "PASS"]
    # bad bands are refused like any bad input
    bad = run("calibrate", str(src), "--match-max", "0.9")
    assert bad.returncode == 2 and "Ambang tidak valid" in bad.stderr


@pytest.mark.faces
@needs_faces
def test_calibrate_without_same_person_pairs_says_no_data(tmp_path):
    src = tmp_path / "impostors.csv"
    write_csv(src, ["a", "b", "same"], [
        (str(FACES_DIR / "obama/obama1.jpg"), str(FACES_DIR / "biden/biden2.jpg"), "0"),
        (str(FACES_DIR / "rose_leslie/rose1.jpg"), str(FACES_DIR / "kit_harington/kit3.jpg"), "0"),
    ])
    proc = run("calibrate", str(src), "--check")
    assert proc.returncode == 0, proc.stderr
    goals = _goal_rows(proc.stdout)
    assert goals["impostor pairs auto-accepted"][-1] == "PASS"
    assert goals["genuine pairs rejected outright"] == ["no", "pairs", "<=", "3%", "NO", "DATA"]
    assert goals["genuine pairs sent to review"] == ["no", "pairs", "<=", "25%", "NO", "DATA"]


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

