"""Photo bytes -> one checked face -> 128-d template, as fast as accuracy allows.

Stock ``face_recognition`` decodes the full photo, runs HOG with one 2x
upsampling over all of it, then runs dlib's BLAS-less ResNet.  On a 1-2 MP
phone photo that is ~0.4 s, almost all of it wasted on pixels nobody needs.
Here:

* decoding stops at ``ImageLimits.detection_size`` (JPEG DCT scaling);
* HOG runs without upsampling (a selfie face is far above HOG's 80 px window),
  and retries with one upsampling only if it found nothing;
* landmarks use the 5-point model (9 MB) instead of the 68-point one
  (100 MB resident per process).  On the 15 independent shared photos both
  give the same mean separation between same-person and different-person
  distances (0.448 vs 0.451); the worst-case gap (closest stranger minus
  farthest same person) is 0.156 vs 0.182 - a small loss that the review band
  absorbs, not worth 100 MB in every worker.  Only the liveness check loads
  the 68-point model (:meth:`FaceEngine.landmarks_68`, ~66 MB measured), for
  the presentation-attack checks of :mod:`biometrics.pad`, not for templates;
* the ResNet runs through NumPy's BLAS (:mod:`biometrics.dlib_resnet`), one
  pass (``num_jitters=1``), batched when several frames are encoded at once.

The engine holds no per-request state and the models are shared (detectors
through a pool), so one ``FaceEngine`` may serve all threads of a process.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import dlib
import numpy as np

from .config import ImageLimits, QualityLimits
from .dlib_resnet import CHIP_SIZE
from .images import DecodedImage, decode_image
from .matching import DEFAULT_THRESHOLDS, Thresholds, decide, face_distance
from .models import FaceModels, get_landmarks_68, get_models
from .quality import Box, QualityReport, check_faces

CHIP_PADDING = 0.25  # dlib's default context around the aligned face


@dataclass(frozen=True)
class FaceAnalysis:
    """One accepted face.  Coordinates are in the analysed (shrunk) image."""

    template: np.ndarray | None  # float32 (128,); None until encoded
    box: Box
    landmarks: np.ndarray  # (5, 2) float32: dlib 5-point order, see liveness.estimate_yaw
    quality: QualityReport
    image: DecodedImage = field(repr=False)


@dataclass(frozen=True)
class Verification:
    """Selfie compared with a stored template."""

    distance: float
    decision: str  # "match" | "review" | "no_match"
    analysis: FaceAnalysis = field(repr=False)


class FaceEngine:
    """Decode, detect, quality-check, align and encode faces; models load on first use."""

    def __init__(
        self,
        limits: ImageLimits | None = None,
        quality: QualityLimits | None = None,
        models: FaceModels | None = None,
        landmarks_68: object | None = None,
    ):
        self.limits = limits or ImageLimits()
        self.quality = quality or QualityLimits()
        self._models = models
        self._landmarks_68 = landmarks_68  # a dlib.shape_predictor; None = the process-wide one

    @property
    def models(self) -> FaceModels:
        if self._models is None:
            self._models = get_models()
        return self._models

    def detect(self, rgb: np.ndarray) -> list[Box]:
        """Face boxes in ``rgb``: HOG without upsampling, then with one if none found."""
        with self.models.detectors.borrow() as detector:
            rects = detector(rgb, 0)
            if len(rects) == 0:
                rects = detector(rgb, 1)
        return [(r.left(), r.top(), r.right(), r.bottom()) for r in rects]

    def locate(self, image: DecodedImage) -> FaceAnalysis:
        """Find the one face in a decoded image, check it, and place its landmarks."""
        boxes = self.detect(image.rgb)
        report = check_faces(image.rgb, boxes, image.scale, self.quality)
        box = boxes[0]
        shape = self.models.landmarks(image.rgb, dlib.rectangle(*box))
        points = np.array([(p.x, p.y) for p in shape.parts()], dtype=np.float32)
        return FaceAnalysis(None, box, points, report, image)

    def landmarks_68(self, analysis: FaceAnalysis) -> np.ndarray:
        """(68, 2) float32 iBUG landmarks of an accepted face, in the analysed image.

        Only the liveness check needs them (nose, jaw and mouth outline for the
        presentation-attack checks); the 68-point model loads on first use.
        """
        predictor = self._landmarks_68 or get_landmarks_68()
        shape = predictor(analysis.image.rgb, dlib.rectangle(*analysis.box))
        return np.array([(p.x, p.y) for p in shape.parts()], dtype=np.float32)

    def chip(self, analysis: FaceAnalysis) -> np.ndarray:
        """The 150x150 aligned face crop the ResNet expects (dlib's own alignment)."""
        rect = dlib.rectangle(*analysis.box)
        parts = [dlib.point(int(round(x)), int(round(y))) for x, y in analysis.landmarks]
        shape = dlib.full_object_detection(rect, parts)
        return dlib.get_face_chip(analysis.image.rgb, shape, CHIP_SIZE, CHIP_PADDING)

    def encode_located(self, analyses: list[FaceAnalysis]) -> list[FaceAnalysis]:
        """Add templates to located faces, running the ResNet once for the whole batch."""
        if not analyses:
            return []
        chips = np.stack([self.chip(a) for a in analyses])
        templates = self.models.descriptor.compute(chips)
        return [
            FaceAnalysis(t.copy(), a.box, a.landmarks, a.quality, a.image)
            for a, t in zip(analyses, templates)
        ]

    def analyze(self, data: bytes) -> FaceAnalysis:
        """Bytes -> checked, encoded face.  Raises ``ImageRejected`` / ``QualityRejected``."""
        located = self.locate(decode_image(data, self.limits))
        return self.encode_located([located])[0]

    def encode(self, data: bytes) -> np.ndarray:
        """Bytes -> float32 128-d template of the one face in the photo."""
        return self.analyze(data).template

    def verify(
        self, data: bytes, template: np.ndarray, thresholds: Thresholds = DEFAULT_THRESHOLDS
    ) -> Verification:
        """Compare a selfie with a stored template; decision uses the three-zone bands."""
        analysis = self.analyze(data)
        distance = face_distance(analysis.template, template)
        return Verification(distance, decide(distance, thresholds), analysis)
