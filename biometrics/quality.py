"""Quality gate: refuse a face the citizen can retake better, with a reason they understand.

A bad selfie should fail here, with "too dark" or "blurry", rather than reach
matching and fail as "not the same person", which a citizen can do nothing
about.  The measures are deliberately simple and explainable:

* face count: exactly one (a second face makes "whose face is this?" ambiguous
  for a one-face-one-NIK register);
* face size: width of the detected face box in the *uploaded* photo's pixels
  (an image we shrank for speed does not count against the citizen);
* cut off: share of the face box lying outside the photo;
* brightness: mean luma (ITU-R 601) of the face box, 0..255 - measured on the
  face, not the whole photo, so a bright window behind a dark face is caught;
* overexposure: share of face-box pixels whose luma is blown out (>= 250);
  the mean alone misses a face half burnt by sunlight or flash, and on the
  shared photos this share tracked the damage to the template far better;
* sharpness: variance of the 4-neighbour Laplacian of the face box rescaled to
  128x128 grey; focus and motion blur remove exactly the fine edges this
  measures, and the fixed size makes it comparable across photo resolutions.

Thresholds are in :class:`biometrics.config.QualityLimits`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PIL import Image

from .config import QualityLimits
from .errors import QualityRejected

Box = tuple[int, int, int, int]  # left, top, right, bottom in analysed-image pixels
SHARPNESS_SIZE = 128


@dataclass(frozen=True)
class QualityReport:
    """Measurements of the one face found; all are plain floats for logging."""

    face_px: float
    outside: float
    brightness: float
    overexposed: float
    sharpness: float


def _clip(box: Box, width: int, height: int) -> Box:
    left, top, right, bottom = box
    return max(0, left), max(0, top), min(width, right), min(height, bottom)


def measure_face(rgb: np.ndarray, box: Box, scale: float) -> QualityReport:
    """Measure one face box of ``rgb`` (analysed image shrunk by ``scale``)."""
    height, width = rgb.shape[:2]
    left, top, right, bottom = box
    area = max(1, (right - left) * (bottom - top))
    cl, ct, cr, cb = _clip(box, width, height)
    inside = max(0, cr - cl) * max(0, cb - ct)
    crop = rgb[ct:cb, cl:cr]
    if crop.size == 0:
        return QualityReport((right - left) / scale, 1.0, 0.0, 0.0, 0.0)
    luma = crop.astype(np.float32) @ np.array([0.299, 0.587, 0.114], dtype=np.float32)
    grey = Image.fromarray(np.clip(luma, 0, 255).astype(np.uint8), "L")
    grey = grey.resize((SHARPNESS_SIZE, SHARPNESS_SIZE), Image.Resampling.BILINEAR)
    g = np.asarray(grey, dtype=np.float32)
    lap = g[1:-1, 2:] + g[1:-1, :-2] + g[2:, 1:-1] + g[:-2, 1:-1] - 4.0 * g[1:-1, 1:-1]
    return QualityReport(
        face_px=(right - left) / scale,
        outside=1.0 - inside / area,
        brightness=float(luma.mean()),
        overexposed=float((luma >= 250.0).mean()),
        sharpness=float(lap.var()),
    )


def check_faces(
    rgb: np.ndarray, boxes: list[Box], scale: float, limits: QualityLimits | None = None
) -> QualityReport:
    """Return the report of the single face in ``boxes`` or raise :class:`QualityRejected`."""
    limits = limits or QualityLimits()
    if not boxes:
        raise QualityRejected("no_face")
    if len(boxes) > 1:
        raise QualityRejected("multiple_faces", count=len(boxes))
    report = measure_face(rgb, boxes[0], scale)
    if report.face_px < limits.min_face_px:
        raise QualityRejected("face_too_small", report=report)
    if report.outside > limits.max_outside:
        raise QualityRejected("face_cut_off", report=report)
    if report.brightness < limits.min_brightness:
        raise QualityRejected("too_dark", report=report)
    if report.brightness > limits.max_brightness or report.overexposed > limits.max_overexposed:
        raise QualityRejected("too_bright", report=report)
    if report.sharpness < limits.min_sharpness:
        raise QualityRejected("too_blurry", report=report)
    return report
