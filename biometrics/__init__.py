"""Face biometrics for MPP Digital: pure functions over bytes, arrays and config.

Nothing here knows about HTTP or the database, and nothing is written to
disk: photo bytes go in, templates and decisions come out.  The face models
load once per process, on first use (:mod:`biometrics.models`).

Typical web-layer use::

    engine = FaceEngine()                      # one per process
    template = engine.encode(selfie_bytes)     # enrolment; raises BiometricRejected
    blob = seal(template, key, account_id)     # store only this
    result = engine.verify(selfie_bytes, open_sealed(blob, key, account_id), thresholds)
    result.decision                            # "match" | "review" | "no_match"
"""

from .config import ImageLimits, QualityLimits
from .engine import FaceAnalysis, FaceEngine, Verification
from .errors import BiometricRejected, ImageRejected, QualityRejected
from .images import DecodedImage, decode_image
from .liveness import (
    Challenge,
    LivenessLimits,
    LivenessResult,
    check_liveness,
    estimate_yaw,
    expired,
    issue_challenge,
    new_challenge,
)
from .matching import DEFAULT_THRESHOLDS, Thresholds, decide, face_distance, search
from .templates import SealError, generate_key, open_sealed, parse_key, seal

__all__ = [
    "DEFAULT_THRESHOLDS",
    "BiometricRejected",
    "Challenge",
    "DecodedImage",
    "FaceAnalysis",
    "FaceEngine",
    "ImageLimits",
    "ImageRejected",
    "LivenessLimits",
    "LivenessResult",
    "QualityLimits",
    "QualityRejected",
    "SealError",
    "Thresholds",
    "Verification",
    "check_liveness",
    "decide",
    "decode_image",
    "estimate_yaw",
    "expired",
    "face_distance",
    "generate_key",
    "issue_challenge",
    "new_challenge",
    "open_sealed",
    "parse_key",
    "search",
    "seal",
]
