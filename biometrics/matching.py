"""Comparing templates: distance, a three-zone decision, and 1:N search.

Why three zones and not ``compare_faces(tolerance=0.6)``
--------------------------------------------------------
dlib's 0.6 was tuned on LFW, a mostly Caucasian data set, and its maintainers
say the model does worse on other faces.  Measured elsewhere on East-Asian
faces, 40 of 45 *different-person* pairs fell under 0.6 - at 0.6 most
strangers would "match".  For a public service a false match hands one
citizen's account to another, while a false non-match costs a visit to an
officer.  So a distance is mapped to:

* ``match``    (distance <= match_max): accepted automatically;
* ``review``   (match_max < distance <= review_max): an officer compares the
  photos (or, for the one-face-one-NIK check, looks at the other NIK);
* ``no_match`` (distance > review_max): refused.

How the defaults were chosen (``python -m biometrics calibrate``)
-----------------------------------------------------------------
Shared photo set, this pipeline (640 px, HOG, 5-point alignment, 1 jitter).
Files that are one picture at several sizes or crops count once (obama5-*,
obama6-small, partial1/2 are the obama1 portrait; odd/rgba-32bit.png is
obama2), leaving 15 independent photos of 6 people: 14 same-person pairs and
91 different-person pairs.

* same person:      0.323 - 0.533, median 0.41 (largest: alex1-alex3 0.533,
  alex1-alex2 0.514, obama2-obama3 0.449, kit2-kit3 0.436);
* different people: smallest 0.689 (alex3-obama2); over all 179
  cross-identity pairs of the 23 single-face files, 0.669 (lin1-partial2).

91 impostor pairs cannot show a false-match rate of 1 in 1000, so instead of a
rate we keep a margin below the closest stranger:
``match_max = 0.689 - 0.25 = 0.439 -> 0.43`` (rounded towards strict).  The
margin is the population shift the East-Asian figures imply: there most
strangers fall below 0.6, here none falls below 0.689, so impostor distances
for our citizens may well run 0.25-0.3 lower than measured here.
0.43 still auto-matches 10 of the 14 same-person pairs; the other four land
in ``review``.  ``review_max = 0.60`` (dlib's own tolerance): every measured
same-person pair (max 0.533) is at worst ``review``, never refused outright,
and the closest stranger on this set (0.669) stays 0.07 above it.  Expect
more strangers inside the review band with local faces: for the
one-face-one-NIK search that means more candidates for an officer, which
is the intended failure mode.

Deployments should re-run ``calibrate`` on consented local photos and set
``MPP_FACE_MATCH_MAX`` / ``MPP_FACE_REVIEW_MAX``.
"""

from __future__ import annotations

import math
import os
from collections.abc import Hashable, Iterable, Mapping
from dataclasses import dataclass

import numpy as np

Decision = str  # "match" | "review" | "no_match"
MATCH, REVIEW, NO_MATCH = "match", "review", "no_match"


@dataclass(frozen=True)
class Thresholds:
    """Distance bands of :func:`decide`; ``0 < match_max <= review_max``."""

    match_max: float = 0.43
    review_max: float = 0.60

    def __post_init__(self):
        if not (0.0 < self.match_max <= self.review_max < 2.0):
            raise ValueError(
                f"Ambang tidak valid: match_max={self.match_max}, review_max={self.review_max} "
                "(harus 0 < match_max <= review_max < 2)"
            )

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Thresholds:
        """Read ``MPP_FACE_MATCH_MAX`` / ``MPP_FACE_REVIEW_MAX``; unset ones keep defaults."""
        env = os.environ if environ is None else environ
        base = cls()
        return cls(
            match_max=_env_float(env, "MPP_FACE_MATCH_MAX", base.match_max),
            review_max=_env_float(env, "MPP_FACE_REVIEW_MAX", base.review_max),
        )


def _env_float(env: Mapping[str, str], name: str, default: float) -> float:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        return float(raw)
    except ValueError:
        raise ValueError(f"{name} harus berupa angka, bukan {raw!r}") from None


DEFAULT_THRESHOLDS = Thresholds()


def as_template(template: np.ndarray) -> np.ndarray:
    """Validate and normalise a template to a float32 (128,) array."""
    arr = np.asarray(template, dtype=np.float32).reshape(-1)
    if arr.shape != (128,) or not np.all(np.isfinite(arr)):
        raise ValueError("Templat wajah harus berupa 128 angka berhingga.")
    return arr


def face_distance(a: np.ndarray, b: np.ndarray) -> float:
    """Euclidean distance between two templates (same measure as face_recognition)."""
    return float(np.linalg.norm(as_template(a) - as_template(b)))


def decide(distance: float, thresholds: Thresholds = DEFAULT_THRESHOLDS) -> Decision:
    """Map a distance to ``"match"``, ``"review"`` or ``"no_match"``."""
    if math.isnan(distance):
        return NO_MATCH
    if distance <= thresholds.match_max:
        return MATCH
    if distance <= thresholds.review_max:
        return REVIEW
    return NO_MATCH


def search(
    template: np.ndarray,
    enrolled: Iterable[tuple[Hashable, np.ndarray]],
    *,
    max_distance: float | None = None,
    limit: int | None = None,
    chunk: int = 4096,
) -> list[tuple[Hashable, float]]:
    """1:N: ``(key, distance)`` for every enrolled template, nearest first.

    For the one-face-one-NIK check, pass ``max_distance=thresholds.review_max``
    and send any hit under a different NIK to an officer.  ``enrolled`` is read
    in chunks, so a generator over the database need not fit in memory.
    """
    probe = as_template(template)
    results: list[tuple[Hashable, float]] = []
    keys: list[Hashable] = []
    rows: list[np.ndarray] = []

    def flush():
        if not rows:
            return
        dists = np.linalg.norm(np.stack(rows) - probe, axis=1)
        for key, dist in zip(keys, dists.tolist()):
            if max_distance is None or dist <= max_distance:
                results.append((key, dist))
        keys.clear()
        rows.clear()

    for key, other in enrolled:
        keys.append(key)
        rows.append(as_template(other))
        if len(rows) >= chunk:
            flush()
    flush()
    results.sort(key=lambda kd: kd[1])
    return results if limit is None else results[:limit]
