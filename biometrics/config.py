"""Limits for decoding and face quality, kept in one place so a deployment can tune them.

Defaults were checked against the shared photo set (``shared/faces``): every
single-face photo there passes, group photos fail as ``multiple_faces``.  Match
thresholds live in :mod:`biometrics.matching` (``Thresholds``) because their
choice is argued from distance measurements documented there.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class ImageLimits:
    """What an uploaded photo may be, checked before and while decoding.

    ``detection_size`` is the longest side the image is shrunk to before face
    detection: a selfie face is still 150+ px there, and HOG detection cost
    grows with the pixel count, so this is the main speed lever.

    ``decode_budget`` caps the bytes the decoder of one photo may hold (see
    :mod:`biometrics.images`).  Liveness frames are <= 360 px (0.13 MP) and a
    webcam frame is 1-2 MP; the largest full-size decode we still want is a
    photo saved from the web as progressive JPEG (the shared set's 2000x1428
    group photo: ~20 MB).  24 MB then takes a phone's baseline JPEG up to
    ``max_pixels`` (decoded at 1/2..1/8 scale), a PNG up to 6 MP (grey or
    palette up to ``max_pixels``), a progressive JPEG up to ~3.5 MP, a WebP up
    to 1.5 MP.
    """

    max_bytes: int = 2 * 1024 * 1024
    max_pixels: int = 12_000_000
    detection_size: int = 640
    decode_budget: int = 24_000_000
    formats: frozenset[str] = frozenset({"JPEG", "PNG", "WEBP"})


@dataclass(frozen=True)
class QualityLimits:
    """Thresholds of the quality gate (see :mod:`biometrics.quality` for the measures).

    On the 23 single-face shared photos: face width 72-484 px, brightness
    95-152, overexposed share <= 0.003, sharpness 27-760, nothing outside the
    frame except the two crops partial1/2 (23% of the face box cut off).
    Degrading those photos (Gaussian blur, darkening, brightening) showed where
    the template itself starts to drift (distance to the clean photo > ~0.25,
    half of a typical same-person distance): sharpness below ~10, more than
    ~25-30% of the face blown out.  Darkening hurt the template far less
    (mean luma 23 still drifted only ~0.25), so the dark limit is kept low:
    rejecting darker skin in ordinary indoor light would be the worse error.
    """

    min_face_px: float = 60.0  # face box width in the uploaded photo's own pixels
    max_outside: float = 0.15  # share of the face box that may fall outside the photo
    min_brightness: float = 35.0  # mean luma of the face box, 0..255
    max_brightness: float = 225.0
    max_overexposed: float = 0.25  # share of face pixels with luma >= 250
    min_sharpness: float = 10.0  # variance of the 4-neighbour Laplacian at 128x128


def default_faces_dir() -> Path:
    """Shared test photos: ``$MPP_FACES_DIR`` or ``shared/faces`` beside the repository."""
    env = os.environ.get("MPP_FACES_DIR")
    if env:
        return Path(env)
    return (REPO_ROOT / ".." / "shared" / "faces").resolve()
