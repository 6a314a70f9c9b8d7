"""Liveness challenge: random pose order, yaw from landmarks, and checks on real-photo frames.

Frames are made from the shared photos (tests/faces_support.turned): a frontal
photo, and the same photo stretched on one side of the nose and squeezed on the
other, which moves the eye corners relative to the nose base as a real head
turn does.  The yaw estimator itself is also tested on landmark points of a
simple 3-D head model rotated by known angles.
"""

from __future__ import annotations

import functools
import math
import random

import numpy as np
import pytest
from faces_support import FACES_DIR, needs_faces, templates, to_jpeg, turned
from PIL import Image, ImageOps

from biometrics.liveness import (
    CHALLENGES,
    Challenge,
    LivenessLimits,
    check_liveness,
    estimate_yaw,
    expired,
    issue_challenge,
    new_challenge,
    pose_of,
)
from biometrics.matching import decide, face_distance

# ---- challenge ---------------------------------------------------------------


def test_challenge_is_three_poses_with_depan_and_no_repeat_in_a_row():
    for seq in CHALLENGES:
        assert len(seq) == 3 and "depan" in seq
        assert all(a != b for a, b in zip(seq, seq[1:]))
    assert len(CHALLENGES) == 10


def test_new_challenge_draws_every_sequence_uniformly():
    rng = random.Random(42)
    drawn = [tuple(new_challenge(rng)) for _ in range(2000)]
    assert set(drawn) == set(CHALLENGES)
    counts = [drawn.count(seq) for seq in CHALLENGES]
    assert min(counts) > 140 and max(counts) < 260  # 200 expected each
    default = new_challenge()
    assert isinstance(default, list) and tuple(default) in CHALLENGES


def test_issued_challenges_carry_fresh_nonces_and_time():
    rng = random.Random(1)
    issued = [issue_challenge(rng, now=1000.0) for _ in range(200)]
    assert len({c.nonce for c in issued}) == 200
    assert all(c.issued_at == 1000.0 and c.poses in CHALLENGES for c in issued)
    real = issue_challenge()
    assert len(real.nonce) >= 16 and real.poses in CHALLENGES
    assert list(real) == list(real.poses) and len(real) == 3  # reads as its pose list too


def test_expiry_window():
    c = Challenge(("kiri", "depan", "kanan"), "n", issued_at=1000.0)
    assert not expired(c, 1000.0, 120) and not expired(c, 1120.0, 120)
    assert expired(c, 1120.5, 120)
    assert expired(c, 999.0, 120)  # issued "in the future": clock trouble, refuse


# ---- yaw estimator on a 3-D head model --------------------------------------

# x to the image's right, y down, z towards the camera (mm); dlib 5-point order
HEAD = np.array(
    [(45, 0, -12), (15, 0, -4), (-45, 0, -12), (-15, 0, -4), (0, 42, 12)], dtype=float
)


def _project(turn_left_deg: float, roll_deg: float = 0.0, scale: float = 1.0, shift=(320, 240)):
    """Landmarks of the model head turned to the citizen's own left by the angle."""
    t = math.radians(turn_left_deg)
    x = HEAD[:, 0] * math.cos(t) + HEAD[:, 2] * math.sin(t)  # nose (z>0) moves to image right
    pts = np.stack([x, HEAD[:, 1]], axis=1)
    r = math.radians(roll_deg)
    rot = np.array([[math.cos(r), -math.sin(r)], [math.sin(r), math.cos(r)]])
    return pts @ rot.T * scale + np.array(shift)


def test_yaw_sign_follows_the_citizens_own_left_and_right():
    assert abs(estimate_yaw(_project(0))) < 1e-9
    assert estimate_yaw(_project(30)) > 0.1  # kiri
    assert estimate_yaw(_project(-30)) < -0.1  # kanan
    assert pose_of(estimate_yaw(_project(30))) == "kiri"
    assert pose_of(estimate_yaw(_project(-30))) == "kanan"
    assert pose_of(estimate_yaw(_project(5))) == "depan"


def test_yaw_grows_with_the_turn_and_ignores_roll_size_and_position():
    yaws = [estimate_yaw(_project(a)) for a in (0, 10, 20, 30, 40)]
    assert yaws == sorted(yaws)
    base = estimate_yaw(_project(25))
    assert estimate_yaw(_project(25, roll_deg=20, scale=2.5, shift=(50, 400))) == pytest.approx(base)


def test_mirrored_frames_flip_the_sign():
    pts = _project(30)
    assert estimate_yaw(pts, mirrored=True) == pytest.approx(-estimate_yaw(pts))
    mirrored_pts = pts.copy()
    mirrored_pts[:, 0] = 640 - mirrored_pts[:, 0]
    # a mirrored image also swaps which eye is on the image's right (dlib orders by image side)
    mirrored_pts = mirrored_pts[[2, 3, 0, 1, 4]]
    assert estimate_yaw(mirrored_pts, mirrored=True) == pytest.approx(estimate_yaw(pts))


def test_dead_zone_between_frontal_and_turned_is_neither():
    limits = LivenessLimits()
    between = (limits.frontal_max_yaw + limits.turn_min_yaw) / 2
    assert pose_of(between, limits) is None and pose_of(-between, limits) is None


# ---- frames from real photos ------------------------------------------------

ORDER = ("kiri", "depan", "kanan")
AMOUNT = {"kiri": 0.4, "depan": 0.0, "kanan": -0.4}


@functools.lru_cache(maxsize=None)
def frame(rel: str, pose: str) -> bytes:
    return turned(rel, AMOUNT[pose])


def frames(rel: str, poses=ORDER) -> list[bytes]:
    return [frame(rel, p) for p in poses]


def challenge(poses=ORDER) -> Challenge:
    return Challenge(tuple(poses), "nonce", 0.0)


PEOPLE = {
    "obama/obama1.jpg": "obama/obama4.jpg",
    "alex_lacamoire/alex3.jpg": "alex_lacamoire/alex2.jpg",
    "rose_leslie/rose1.jpg": "rose_leslie/rose2.jpg",
}


@pytest.mark.faces
@needs_faces
@pytest.mark.parametrize("rel", sorted(PEOPLE))
def test_frames_in_the_asked_order_pass_and_give_the_frontal_template(rel):
    result = check_liveness(frames(rel), challenge())
    assert result.ok, result.message
    assert result.reason is None
    kiri, depan, kanan = result.yaws
    assert kiri >= 0.10 and abs(depan) <= 0.08 and kanan <= -0.10
    assert all(len(f) < 40_000 for f in frames(rel))  # 2G-sized frames
    # the returned template is usable for verification against another photo
    other = templates()[PEOPLE[rel]]
    assert decide(face_distance(result.template, other)) in ("match", "review")
    stranger = templates()["biden/biden2.jpg"]
    assert decide(face_distance(result.template, stranger)) == "no_match"


@pytest.mark.faces
@needs_faces
def test_other_orders_pass_too_including_two_frontal_frames():
    rel = "obama/obama1.jpg"
    # a plain pose list is accepted as the challenge too
    assert check_liveness(frames(rel, ("kanan", "depan", "kiri")), ["kanan", "depan", "kiri"]).ok
    im = ImageOps.exif_transpose(Image.open(FACES_DIR / rel))
    w, h = im.size
    second_frontal = to_jpeg(im.crop((w // 12, h // 14, w, h)))  # the citizen moved a little
    result = check_liveness(
        [frame(rel, "depan"), frame(rel, "kiri"), second_frontal], challenge(("depan", "kiri", "depan"))
    )
    assert result.ok, result.message


@pytest.mark.faces
@needs_faces
def test_a_static_photo_sent_three_times_is_rejected_as_identical():
    still = frame("obama/obama1.jpg", "depan")
    result = check_liveness([still, still, still], challenge())
    assert not result.ok and result.reason == "identical_frames"
    assert "sama persis" in result.message
    assert result.template is None


@pytest.mark.faces
@needs_faces
def test_the_same_photo_re_encoded_is_still_identical():
    rel = "obama/obama1.jpg"
    im = ImageOps.exif_transpose(Image.open(FACES_DIR / rel))
    again = to_jpeg(im, quality=40)
    sent = [frame(rel, "depan"), frame(rel, "kiri"), again]
    result = check_liveness(sent, challenge(("depan", "kiri", "depan")))
    assert not result.ok and result.reason == "identical_frames"


@pytest.mark.faces
@needs_faces
def test_answer_out_of_order_is_rejected_with_the_expected_pose():
    rel = "obama/obama1.jpg"
    result = check_liveness(frames(rel, ("kanan", "depan", "kiri")), challenge(ORDER))
    assert not result.ok and result.reason == "wrong_pose"
    assert result.frame == 1
    assert "Foto ke-1" in result.message and "menoleh ke kiri" in result.message
    assert result.yaws[0] < 0  # it was a turn to the right


@pytest.mark.faces
@needs_faces
def test_frontal_frame_where_a_turn_was_asked_is_rejected():
    rel = "rose_leslie/rose1.jpg"
    result = check_liveness(frames(rel, ("kiri", "depan", "depan")), challenge(ORDER))
    assert not result.ok and result.reason in ("identical_frames", "wrong_pose")


@pytest.mark.faces
@needs_faces
def test_frames_of_two_different_people_are_rejected():
    obama, rose = "obama/obama1.jpg", "rose_leslie/rose1.jpg"
    mixed = [frame(obama, "kiri"), frame(obama, "depan"), frame(rose, "kanan")]
    result = check_liveness(mixed, challenge())
    assert not result.ok and result.reason == "different_person"
    assert "tidak sama" in result.message
    assert result.template is None


@pytest.mark.faces
@needs_faces
def test_wrong_number_of_frames_and_bad_frame_are_explained():
    rel = "obama/obama1.jpg"
    result = check_liveness(frames(rel)[:2], challenge())
    assert not result.ok and result.reason == "wrong_frame_count"
    broken = frames(rel)
    broken[1] = broken[1][: len(broken[1]) // 2]
    result = check_liveness(broken, challenge())
    assert not result.ok and result.reason == "truncated" and result.frame == 2
    assert result.message.startswith("Foto ke-2:")
    group = to_jpeg(Image.open(FACES_DIR / "groups/two_people.jpg"))
    result = check_liveness([frames(rel)[0], frames(rel)[1], group], challenge())
    assert not result.ok and result.reason == "multiple_faces" and result.frame == 3

