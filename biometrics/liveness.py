"""Liveness that works over 2G: three small still frames answering a random head-pose challenge.

Video is out of reach on a 2G link, so the server issues a random sequence of
three poses (e.g. ``["kiri", "depan", "kanan"]``) and the phone sends one small
JPEG (~10 KB, <= 480 px) per pose.  A replayed or printed photo cannot turn
its head, so it fails the pose order; the same frame sent three times fails
as identical; frames from two people fail as different persons.  The frontal
frame's template is returned, for the verification that follows.

Yaw from five landmarks
-----------------------
dlib's 5-point model gives both corners of each eye (points 0-1: the eye on
the image's right, 2-3: the eye on the image's left) and the base of the nose
(point 4).  The nose base stands ~2 cm in front of the eye corners, so when
the head turns it slides sideways relative to them, while a flat photo tilted
towards the camera moves all five points together.  We measure

    yaw = <nose - eyes_midpoint, u> / |eye_right - eye_left|

with ``u`` the unit vector from the image-left eye to the image-right eye
(this cancels head roll and face size).  Frontal faces in the shared photos
measure |yaw| <= 0.09; visibly turned ones 0.12-0.16.

Sign convention: frames are what the camera captured, *not* the mirrored
preview the citizen sees.  When the citizen turns to *their own left*
("kiri"), the nose moves to the image's right, and we report ``yaw > 0``.  In
the mirrored preview that same turn also looks like a turn to the left, so the
instruction "tolehkan kepala ke kiri" is unambiguous.  If the client mirrors
the canvas before encoding, pass ``LivenessLimits(mirrored=True)``.

What this does not stop: someone who synthesises turned frames from a
photo of the victim (our tests do exactly that to exercise the code path).
It raises the bar over a single photo; the nonce/expiry (web layer), the
officer review band and audit logs remain the other defences.
"""

from __future__ import annotations

import itertools
import secrets
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from PIL import Image

from .engine import FaceEngine
from .errors import MESSAGES, BiometricRejected
from .images import DecodedImage, decode_image
from .matching import face_distance

POSES = ("kiri", "depan", "kanan")
POSE_INSTRUCTIONS = {"kiri": "menoleh ke kiri", "depan": "menghadap ke depan", "kanan": "menoleh ke kanan"}
# every 3-pose sequence with at least one "depan" and no pose twice in a row
CHALLENGES = tuple(
    seq
    for seq in itertools.product(POSES, repeat=3)
    if "depan" in seq and all(a != b for a, b in zip(seq, seq[1:]))
)


@dataclass(frozen=True)
class Challenge:
    """A pose sequence issued to one citizen; the web layer stores and expires it.

    It also reads as the ordered list of its poses (``list(ch)``, ``ch[0]``,
    ``len(ch)``), so code that only needs the poses can treat it as one.
    """

    poses: tuple[str, ...]
    nonce: str
    issued_at: float  # seconds since the epoch (time.time())

    def __iter__(self):
        return iter(self.poses)

    def __len__(self) -> int:
        return len(self.poses)

    def __getitem__(self, index):
        return self.poses[index]


def new_challenge(rng=secrets) -> list[str]:
    """Three poses, e.g. ``["kiri", "depan", "kanan"]``: one of :data:`CHALLENGES`, uniformly.

    ``rng`` needs a ``choice`` method: ``secrets`` (default) in production, a
    seeded ``random.Random`` in tests.
    """
    return list(rng.choice(CHALLENGES))


def issue_challenge(rng=secrets, now: float | None = None) -> Challenge:
    """A :class:`Challenge`: poses from :func:`new_challenge`, a random nonce, the issue time."""
    if hasattr(rng, "token_urlsafe"):
        nonce = rng.token_urlsafe(16)
    else:  # e.g. random.Random in tests
        nonce = f"{rng.getrandbits(128):032x}"
    return Challenge(tuple(new_challenge(rng)), nonce, time.time() if now is None else now)


def expired(challenge: Challenge, now: float, ttl: float) -> bool:
    """True when ``now`` is outside ``[issued_at, issued_at + ttl]``."""
    return not (challenge.issued_at <= now <= challenge.issued_at + ttl)


@dataclass(frozen=True)
class LivenessLimits:
    """Pose bands and frame checks; defaults from the shared photos (see module doc)."""

    frontal_max_yaw: float = 0.08  # |yaw| at most this counts as "depan"
    turn_min_yaw: float = 0.10  # |yaw| at least this counts as a turn
    min_frame_difference: float = 2.0  # mean |difference| of 32x32 grey thumbnails, 0..255
    same_person_max: float = 0.60  # largest template distance between any two frames
    mirrored: bool = False  # frames were mirrored by the client before encoding


@dataclass(frozen=True)
class LivenessResult:
    """Outcome; on success ``template`` is the frontal frame's float32 (128,) template."""

    ok: bool
    reason: str | None = None  # a code from biometrics.errors.MESSAGES
    message: str | None = None  # for the citizen, Bahasa Indonesia
    template: np.ndarray | None = field(default=None, repr=False)
    yaws: tuple[float, ...] = ()
    frame: int | None = None  # 1-based frame the reason refers to, if any


def estimate_yaw(landmarks: np.ndarray, mirrored: bool = False) -> float:
    """Yaw proxy from dlib 5-point landmarks; > 0 = citizen turned to their own left."""
    p = np.asarray(landmarks, dtype=np.float64).reshape(5, 2)
    right_eye, left_eye = p[0:2].mean(axis=0), p[2:4].mean(axis=0)
    axis = right_eye - left_eye
    span = float(np.hypot(*axis))
    if span == 0.0:
        return 0.0
    yaw = float(np.dot(p[4] - (right_eye + left_eye) / 2, axis / span) / span)
    return -yaw if mirrored else yaw


def pose_of(yaw: float, limits: LivenessLimits | None = None) -> str | None:
    """"kiri", "kanan", "depan", or None in the dead zone between frontal and turned."""
    limits = limits or LivenessLimits()
    if abs(yaw) <= limits.frontal_max_yaw:
        return "depan"
    if yaw >= limits.turn_min_yaw:
        return "kiri"
    if yaw <= -limits.turn_min_yaw:
        return "kanan"
    return None


def _thumbnail(image: DecodedImage) -> np.ndarray:
    grey = Image.fromarray(image.rgb).convert("L").resize((32, 32), Image.Resampling.BOX)
    return np.asarray(grey, dtype=np.float32)


def _fail(code: str, frame: int | None = None, yaws=(), **details) -> LivenessResult:
    message = MESSAGES[code].format(frame=frame, **details)
    return LivenessResult(False, code, message, None, tuple(yaws), frame)


def _frame_failure(exc: BiometricRejected, frame: int, yaws=()) -> LivenessResult:
    return LivenessResult(False, exc.code, f"Foto ke-{frame}: {exc.message}", None, tuple(yaws), frame)


def check_liveness(
    frames: list[bytes],
    challenge: Challenge | Sequence[str],
    *,
    engine: FaceEngine | None = None,
    limits: LivenessLimits | None = None,
) -> LivenessResult:
    """Check frames answer the challenge's poses in order, are distinct, and show one person.

    ``challenge`` is a :class:`Challenge` or just its poses.  Checking the
    nonce and expiry is the caller's job (see :func:`expired`).
    """
    engine = engine or FaceEngine()
    limits = limits or LivenessLimits()
    poses = tuple(challenge.poses if isinstance(challenge, Challenge) else challenge)
    if any(p not in POSES for p in poses):
        raise ValueError(f"Pose tidak dikenal dalam tantangan: {poses}")
    if len(frames) != len(poses):
        return _fail("wrong_frame_count")
    decoded = []
    for i, data in enumerate(frames, start=1):
        try:
            decoded.append(decode_image(data, engine.limits))
        except BiometricRejected as exc:
            return _frame_failure(exc, i)
    thumbs = [_thumbnail(d) for d in decoded]
    for (i, a), (j, b) in itertools.combinations(enumerate(thumbs, start=1), 2):
        if frames[i - 1] == frames[j - 1] or float(np.abs(a - b).mean()) < limits.min_frame_difference:
            return _fail("identical_frames", frame=j)
    located, yaws = [], []
    for i, image in enumerate(decoded, start=1):
        try:
            analysis = engine.locate(image)
        except BiometricRejected as exc:
            return _frame_failure(exc, i, yaws)
        located.append(analysis)
        yaws.append(estimate_yaw(analysis.landmarks, limits.mirrored))
    sequence = ", ".join(poses)
    for i, (want, yaw) in enumerate(zip(poses, yaws), start=1):
        if pose_of(yaw, limits) != want:
            return _fail("wrong_pose", i, yaws, expected=POSE_INSTRUCTIONS[want], sequence=sequence)
    encoded = engine.encode_located(located)
    for a, b in itertools.combinations(encoded, 2):
        if face_distance(a.template, b.template) > limits.same_person_max:
            return _fail("different_person", None, yaws)
    frontal = min((k for k, p in enumerate(poses) if p == "depan"), key=lambda k: abs(yaws[k]))
    return LivenessResult(True, None, None, encoded[frontal].template, tuple(yaws), None)
