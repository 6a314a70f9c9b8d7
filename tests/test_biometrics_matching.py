"""Three-zone decisions, 1:N search, and the thresholds measured on the shared photos."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from faces_support import (
    HAVE_FACES,
    different_person_pairs,
    engine,
    needs_faces,
    photo_id,
    read,
    same_person_pairs,
    single_face_photos,
    templates,
)

from biometrics.calibration import check_goals, choose_bands
from biometrics.matching import Thresholds, decide, face_distance, search


def _vec(seed: int) -> np.ndarray:
    return np.random.default_rng(seed).normal(size=128).astype(np.float32)


# ---- decision bands -------------------------------------------------------


def test_bands_are_inclusive_upper_bounds():
    t = Thresholds(match_max=0.4, review_max=0.55)
    assert [decide(d, t) for d in (0.0, 0.4, 0.4001, 0.55, 0.5501, 1.5)] == [
        "match", "match", "review", "review", "no_match", "no_match",
    ]
    assert decide(math.nan, t) == "no_match"


def test_defaults_are_stricter_than_stock_tolerance():
    t = Thresholds()
    assert t.match_max < 0.6 and t.review_max <= 0.6
    assert decide(0.55) == "review"  # a stock "match" is only a review here
    assert decide(0.62) == "no_match"


def test_thresholds_from_env_and_bad_values():
    t = Thresholds.from_env({"MPP_FACE_MATCH_MAX": "0.38", "MPP_FACE_REVIEW_MAX": " 0.5 "})
    assert (t.match_max, t.review_max) == (0.38, 0.5)
    assert Thresholds.from_env({}) == Thresholds()
    assert Thresholds.from_env({"MPP_FACE_MATCH_MAX": ""}) == Thresholds()
    with pytest.raises(ValueError, match="MPP_FACE_MATCH_MAX"):
        Thresholds.from_env({"MPP_FACE_MATCH_MAX": "abc"})
    with pytest.raises(ValueError):
        Thresholds.from_env({"MPP_FACE_MATCH_MAX": "0.7", "MPP_FACE_REVIEW_MAX": "0.6"})


def test_distance_rejects_malformed_templates():
    with pytest.raises(ValueError):
        face_distance(np.zeros(127), np.zeros(128))
    with pytest.raises(ValueError):
        face_distance(np.full(128, np.nan), np.zeros(128))


# ---- 1:N search -------------------------------------------------------------


def test_search_sorts_filters_and_limits():
    probe = _vec(0)
    enrolled = [("NIK-far", probe + 1.0), ("NIK-same", probe.copy()), ("NIK-near", probe + 0.01)]
    hits = search(probe, iter(enrolled))
    assert [k for k, _ in hits] == ["NIK-same", "NIK-near", "NIK-far"]
    assert hits[0][1] == 0.0
    assert [k for k, _ in search(probe, enrolled, max_distance=0.5)] == ["NIK-same", "NIK-near"]
    assert [k for k, _ in search(probe, enrolled, limit=1)] == ["NIK-same"]
    assert search(probe, []) == []


def test_search_reads_large_generators_in_chunks():
    probe = _vec(1)
    gen = ((i, _vec(100 + i)) for i in range(300))
    hits = search(probe, gen, chunk=64)
    assert len(hits) == 300
    assert [d for _, d in hits] == sorted(d for _, d in hits)


# ---- real photos ------------------------------------------------------------


@pytest.mark.faces
@needs_faces
@pytest.mark.parametrize("pair", same_person_pairs() if HAVE_FACES else [], ids=" ~ ".join)
def test_same_person_independent_photos_match_or_go_to_review(pair):
    a, b = pair
    assert decide(face_distance(templates()[a], templates()[b])) in ("match", "review")


@pytest.mark.faces
@needs_faces
def test_same_person_set_is_independent_never_refused_and_mostly_reviewed():
    pairs = same_person_pairs()
    assert all(photo_id(a) != photo_id(b) for a, b in pairs)
    assert len(pairs) == 37
    distances = [face_distance(templates()[a], templates()[b]) for a, b in pairs]
    _, refused, review = check_goals(distances, [], Thresholds())
    assert refused.count == 0  # goal <= 3 %: met
    # goal <= 25 % to review: NOT met on these photos at a band safe for East-Asian
    # faces (documented in biometrics.matching): 6 of 37 automatic at 0.35
    assert review.verdict == "FAIL"
    assert [decide(d) for d in distances].count("match") == 6


@pytest.mark.faces
@needs_faces
def test_different_people_never_match():
    pairs = different_person_pairs()
    assert len(pairs) == 179  # every cross-identity pair of the 23 single-face files
    for a, b in pairs:
        d = face_distance(templates()[a], templates()[b])
        assert decide(d) != "match", (a, b, d)


@pytest.mark.faces
@needs_faces
def test_rgba_png_encodes_and_matches_obama_only():
    rgba = engine().encode(read("odd/rgba-32bit.png"))
    for rel, identity in single_face_photos():
        decision = decide(face_distance(rgba, templates()[rel]))
        if identity == "obama":
            assert decision in ("match", "review"), rel
        else:
            assert decision == "no_match", rel
    assert decide(face_distance(rgba, templates()["obama/obama2.jpg"])) == "match"  # same picture


@pytest.mark.faces
@needs_faces
def test_documented_defaults_follow_from_the_calibration_rule():
    # one file per picture, as documented in biometrics.matching
    chosen: dict[str, tuple[str, str]] = {}
    for rel, identity in single_face_photos():
        if "partial" not in rel:
            chosen.setdefault(photo_id(rel), (rel, identity))
    files = list(chosen.values())
    assert len(files) == 15
    genuine, impostor = [], []
    for (a, ia), (b, ib) in itertools.combinations(files, 2):
        (genuine if ia == ib else impostor).append(face_distance(templates()[a], templates()[b]))
    assert (len(genuine), len(impostor)) == (14, 91)
    assert min(impostor) == pytest.approx(0.689, abs=0.001)
    assert (min(genuine), max(genuine)) == pytest.approx((0.323, 0.533), abs=0.001)
    bands = choose_bands(genuine, impostor)
    # 0.689 - 0.17 would be 0.51: the East-Asian cap keeps it at 0.35
    assert bands.thresholds == Thresholds()
    assert "capped at match_cap 0.35" in bands.rule
    assert max(genuine) <= Thresholds().review_max < min(impostor)
    assert sum(d <= Thresholds().match_max for d in genuine) == 1  # obama1-obama3 0.323


@pytest.mark.faces
@needs_faces
def test_one_face_one_nik_search_finds_only_the_same_person():
    identity = dict(single_face_photos())
    probe = templates()["obama/obama3.jpg"]
    enrolled = [(rel, t) for rel, t in templates().items() if rel != "obama/obama3.jpg"]
    hits = search(probe, enrolled, max_distance=Thresholds().review_max)
    assert len(hits) >= 5, "the other obama photos must be found"
    assert {identity[rel] for rel, _ in hits} == {"obama"}
    assert hits[0][1] <= Thresholds().match_max


@pytest.mark.faces
@needs_faces
def test_numpy_resnet_equals_dlibs_own_encoder():
    import dlib

    from biometrics.models import MODEL_FILES, model_dir

    reference = dlib.face_recognition_model_v1(str(model_dir() / MODEL_FILES["resnet"]))
    eng = engine()
    for rel in ("obama/obama1.jpg", "biden/biden2.jpg", "alex_lacamoire/alex1.png", "rose_leslie/rose1.jpg"):
        analysis = eng.analyze(read(rel))
        chip = eng.chip(analysis)
        theirs = np.array(reference.compute_face_descriptor(chip, 1), dtype=np.float32)
        assert np.abs(analysis.template - theirs).max() < 1e-4, rel
