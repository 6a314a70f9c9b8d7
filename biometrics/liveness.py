"""Liveness that works over 2G: three small still frames answering a random head-pose challenge.

Video is out of reach on a 2G link, so the server issues a random sequence of
three poses (e.g. ``["kiri", "depan", "kanan"]``) and a screen colour for each
(e.g. ``["#ff2020", "#20ff20", "#2020ff"]``); the phone fills its screen with
that colour while it takes one small JPEG (~10 KB, <= 360 px) per pose.  The
checks, cheapest first:

1. the frames answer the poses in order (5-point yaw, below);
2. they are distinct (a photo sent three times is not a head turning);
3. they show one person (templates of all frames close to each other);
4. presentation-attack detection (:mod:`biometrics.pad`): every turn must show
   the parallax of a real head (a flat photo, however warped, cannot), the face
   must take the screen's colours, and the face must not carry a screen's moire
   or a print's flatness.

Outcomes: ``ok`` (live), ``review`` (an officer should look: the doubtful
checks - the colour response missing, texture cues, parallax between the
flat and live bands), or refused with a reason the citizen can act on.  The
template returned (on ``ok`` and on ``review``) is the mean of all the
frames' templates, not the frontal one alone.

Yaw from five landmarks
-----------------------
dlib's 5-point model gives both corners of each eye (points 0-1: the eye on
the image's right, 2-3: the eye on the image's left) and the base of the nose
(point 4).  The nose base stands ~2 cm in front of the eye corners, so when
the head turns it slides sideways relative to them.  We measure

    yaw = <nose - eyes_midpoint, u> / |eye_right - eye_left|

with ``u`` the unit vector from the image-left eye to the image-right eye
(this cancels head roll and face size).  Frontal faces in the shared photos
measure |yaw| <= 0.09; visibly turned ones 0.12-0.16.  This yaw alone is
easily faked by stretching one side of a photo; it only checks the order of
the poses, the parallax check is what tells a head from a picture.

Sign convention: frames are what the camera captured, *not* the mirrored
preview the citizen sees.  When the citizen turns to *their own left*
("kiri"), the nose moves to the image's right, and we report ``yaw > 0``.  In
the mirrored preview that same turn also looks like a turn to the left, so the
instruction "tolehkan kepala ke kiri" is unambiguous.  If the client mirrors
the canvas before encoding, pass ``LivenessLimits(mirrored=True)``.

What this does not stop: a depth-aware re-rendering of a photo of the victim,
tinted with the colours read from the page and fed to a virtual camera (our
tests build genuine-looking frames exactly that way).  See the README.
"""

from __future__ import annotations

import itertools
import math
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
from .pad import FaceFrame, PadLimits, colour_response, contrast, moire, parallax

POSES = ("kiri", "depan", "kanan")
# Screen colours: saturated, far apart in hue, each bright in at least one channel; as
# (R-G, B-G) they are the corners of a hexagon, so no three of them are collinear and any
# three distinct ones pin down the face's colour response in both chroma directions.
PALETTE = ("#ff2020", "#20ff20", "#2020ff", "#ffff20", "#20ffff", "#ff20ff")
POSE_INSTRUCTIONS = {"kiri": "menoleh ke kiri", "depan": "menghadap ke depan", "kanan": "menoleh ke kanan"}
# every 3-pose sequence with at least one "depan" and no pose twice in a row
CHALLENGES = tuple(
    seq
    for seq in itertools.product(POSES, repeat=3)
    if "depan" in seq and all(a != b for a, b in zip(seq, seq[1:]))
)


@dataclass(frozen=True)
class Challenge:
    """A pose sequence (and screen colours) issued to one citizen; the web layer stores and expires it.

    It also reads as the ordered list of its poses (``list(ch)``, ``ch[0]``,
    ``len(ch)``), so code that only needs the poses can treat it as one.
    ``colours`` holds one CSS hex colour per pose; empty for challenges
    issued before colours existed, in which case no colour check is made.
    """

    poses: tuple[str, ...]
    nonce: str
    issued_at: float  # seconds since the epoch (time.time())
    colours: tuple[str, ...] = ()

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


def new_colours(count: int, rng=secrets) -> list[str]:
    """``count`` colours of :data:`PALETTE`, all different (so also no two in a row alike)."""
    left = list(PALETTE)
    out = []
    for _ in range(count):
        if not left:
            left = [c for c in PALETTE if c != out[-1]]
        pick = rng.choice(left)
        left.remove(pick)
        out.append(pick)
    return out


def issue_challenge(rng=secrets, now: float | None = None) -> Challenge:
    """A :class:`Challenge`: poses from :func:`new_challenge`, a colour per pose, a random nonce, the time."""
    if hasattr(rng, "token_urlsafe"):
        nonce = rng.token_urlsafe(16)
    else:  # e.g. random.Random in tests
        nonce = f"{rng.getrandbits(128):032x}"
    poses = tuple(new_challenge(rng))
    colours = tuple(new_colours(len(poses), rng))
    return Challenge(poses, nonce, time.time() if now is None else now, colours)


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
    pad: PadLimits = field(default_factory=PadLimits)  # presentation-attack thresholds
    check_pad: bool = True  # False: the pose/identity checks only (as before PAD existed)


@dataclass(frozen=True)
class LivenessResult:
    """Outcome of :func:`check_liveness`.

    Three outcomes: live (``ok``), officer review (``review``: not ok, not
    refused either - an officer should compare the person with the KTP-el),
    or refused (neither).  ``template`` (the mean of all frames' templates) is
    set when live and on review, so the caller can still match it.  ``pad``
    holds the per-check scores (plain floats or None, JSON-ready) to store
    with the face check record; ``templates`` those of every frame.
    """

    ok: bool
    reason: str | None = None  # a code from biometrics.errors.MESSAGES
    message: str | None = None  # for the citizen, Bahasa Indonesia
    template: np.ndarray | None = field(default=None, repr=False)
    yaws: tuple[float, ...] = ()
    frame: int | None = None  # 1-based frame the reason refers to, if any
    review: bool = False
    pad: dict = field(default_factory=dict)
    templates: tuple[np.ndarray, ...] = field(default=(), repr=False)


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


def _fail(code: str, frame: int | None = None, yaws=(), scores=None, **details) -> LivenessResult:
    message = MESSAGES[code].format(frame=frame, **details)
    return LivenessResult(False, code, message, None, tuple(yaws), frame, pad=dict(scores or {}))


def _frame_failure(exc: BiometricRejected, frame: int, yaws=()) -> LivenessResult:
    return LivenessResult(False, exc.code, f"Foto ke-{frame}: {exc.message}", None, tuple(yaws), frame)


def mean_template(templates) -> np.ndarray:
    """The plain mean of the frames' templates (float32).

    Measured on the simulated genuine sequences of the usable shared photos
    (16 sequences) against every other picture of the same person (26
    comparisons): mean distance 0.405 with the frontal frame alone, 0.395
    with the plain mean, 0.396 with the mean of L2-normalised templates; the
    plain mean was at or below the frontal frame in 19 of 26.  dlib's
    templates are not unit vectors (norms 1.39-1.54 here) and the registry's
    are not normalised either, so the plain mean it is.
    """
    return np.mean(np.stack([np.asarray(t, dtype=np.float32) for t in templates]), axis=0).astype(np.float32)


def _decode_all(frames: list[bytes], engine: FaceEngine):
    decoded = []
    for i, data in enumerate(frames, start=1):
        try:
            decoded.append(decode_image(data, engine.limits))
        except BiometricRejected as exc:
            return None, _frame_failure(exc, i)
    return decoded, None


def _repeated(frames: list[bytes], decoded, limits: LivenessLimits) -> int | None:
    """1-based index of a frame that repeats an earlier one, if any."""
    thumbs = [_thumbnail(d) for d in decoded]
    for (i, a), (j, b) in itertools.combinations(enumerate(thumbs, start=1), 2):
        if frames[i - 1] == frames[j - 1] or float(np.abs(a - b).mean()) < limits.min_frame_difference:
            return j
    return None


def _round(value) -> float | None:
    return None if value is None or not math.isfinite(value) else round(float(value), 4)


def _pad_verdict(faces, poses, yaws, colours, limits: LivenessLimits):
    """(scores, refusal code or None, review code or None) of the presentation-attack checks."""
    pl = limits.pad
    scores: dict = {}
    frontal = min((k for k, p in enumerate(poses) if p == "depan"), key=lambda k: abs(yaws[k]))
    values = []
    for k, pose in enumerate(poses):
        if pose == "depan":
            continue
        direction = (1 if pose == "kiri" else -1) * (-1 if limits.mirrored else 1)
        result = parallax(faces[frontal], faces[k], direction)
        value = result.value if result.patches >= pl.min_patches else None
        scores[f"parallax_{k + 1}"] = _round(value)
        values.append(value)
    known = [v for v in values if v is not None]
    scores["parallax"] = _round(min(known)) if known else None
    scores["warna"] = scores["warna_r"] = None
    if colours and len(colours) == len(faces):
        response = colour_response(faces, colours)
        if response is not None:
            scores["warna"], scores["warna_r"] = _round(response.gain), _round(response.correlation)
    scores["moire"] = _round(max(moire(f) for f in faces))
    scores["kontras"] = _round(min(contrast(f) for f in faces))
    if known and min(known) < pl.parallax_flat:
        return scores, "flat_face", None
    if not values or len(known) < len(values) or min(known) < pl.parallax_live:  # no turn, or too few patches
        return scores, None, "pad_parallax"
    if scores["moire"] is not None and scores["moire"] > pl.moire_max:
        return scores, None, "pad_screen"
    if colours and (scores["warna"] is None or scores["warna"] < pl.colour_gain_min
                    or scores["warna_r"] < pl.colour_corr_min):
        return scores, None, "pad_colour"
    if scores["kontras"] is not None and scores["kontras"] < pl.contrast_min:
        return scores, None, "pad_print"
    return scores, None, None


def check_liveness(
    frames: list[bytes],
    challenge: Challenge | Sequence[str],
    *,
    engine: FaceEngine | None = None,
    limits: LivenessLimits | None = None,
) -> LivenessResult:
    """Check frames answer the challenge's poses in order, are distinct, show one person, and a live one.

    ``challenge`` is a :class:`Challenge` or just its poses (then no colour
    check).  Checking the nonce and expiry is the caller's job (see
    :func:`expired`).
    """
    engine = engine or FaceEngine()
    limits = limits or LivenessLimits()
    poses = tuple(challenge.poses if isinstance(challenge, Challenge) else challenge)
    colours = tuple(challenge.colours) if isinstance(challenge, Challenge) else ()
    if any(p not in POSES for p in poses):
        raise ValueError(f"Pose tidak dikenal dalam tantangan: {poses}")
    if len(frames) != len(poses):
        return _fail("wrong_frame_count")
    decoded, failure = _decode_all(frames, engine)
    if failure is not None:
        return failure
    repeat = _repeated(frames, decoded, limits)
    if repeat is not None:
        return _fail("identical_frames", frame=repeat)
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
    templates = tuple(a.template for a in encoded)
    spread = max((face_distance(a, b) for a, b in itertools.combinations(templates, 2)), default=0.0)
    if spread > limits.same_person_max:
        return _fail("different_person", None, yaws, {"jarak_antar": _round(spread)})
    template = mean_template(templates)
    if not limits.check_pad:
        return LivenessResult(True, None, None, template, tuple(yaws), None, pad={"jarak_antar": _round(spread)},
                              templates=templates)
    faces = [FaceFrame(a.image, engine.landmarks_68(a).astype(np.float64)) for a in located]
    scores, refusal, doubt = _pad_verdict(faces, poses, yaws, colours, limits)
    scores["jarak_antar"] = _round(spread)
    if refusal is not None:
        return _fail(refusal, None, yaws, scores)
    if doubt is not None:
        return LivenessResult(False, doubt, MESSAGES[doubt], template, tuple(yaws), None, True, scores, templates)
    return LivenessResult(True, None, None, template, tuple(yaws), None, False, scores, templates)
