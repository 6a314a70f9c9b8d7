"""The three face models, loaded once per process on first use.

Loading takes ~0.3 s and ~100 MB, so it must not happen per request, nor at
import time (importing ``biometrics`` in a web worker or a CLI ``--help`` should
stay cheap).  :func:`get_models` is a lazy singleton guarded by a lock, so
concurrent first requests load the files once.

We load only what the fast path needs: dlib's HOG detector, the 5-point
landmark model (the one dlib's face ResNet was trained to align with) and the
ResNet weights, run by :mod:`biometrics.dlib_resnet`.  The CNN detector that
``import face_recognition`` loads is never touched.  The 68-point landmark
model (~66 MB more resident memory, measured) is loaded only by the liveness
check, which needs the whole face outline and nose (see :mod:`biometrics.pad`),
through its own lazy singleton :func:`get_landmarks_68`, so a process that only
verifies single photos never pays for it.

Of the three, only the detector may not be shared between threads; see
:class:`DetectorPool`.

The model files ship in the ``face_recognition_models`` package, whose
``__init__`` imports the deprecated ``pkg_resources`` and warns.  We locate the
package directory with ``importlib.util.find_spec`` (which does not execute
the package), and only fall back to importing it, with exactly that warning
suppressed, if the spec gives no directory.
"""

from __future__ import annotations

import importlib.util
import threading
import warnings
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import dlib

from .dlib_resnet import DescriptorNet

MODEL_FILES = {
    "landmarks_5": "shape_predictor_5_face_landmarks.dat",
    "resnet": "dlib_face_recognition_resnet_model_v1.dat",
    "landmarks_68": "shape_predictor_68_face_landmarks.dat",
}


def _import_models_package_quietly():
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="pkg_resources is deprecated", category=UserWarning)
        warnings.filterwarnings("ignore", category=DeprecationWarning, module="pkg_resources")
        import face_recognition_models  # noqa: PLC0415

    return face_recognition_models


def model_dir() -> Path:
    """Directory holding the ``.dat`` model files of ``face_recognition_models``."""
    spec = importlib.util.find_spec("face_recognition_models")
    if spec is None:
        raise RuntimeError("Paket face_recognition_models tidak terpasang.")
    locations = list(spec.submodule_search_locations or [])
    if locations:
        return Path(locations[0]) / "models"
    package = _import_models_package_quietly()
    return Path(package.face_recognition_model_location()).parent


class DetectorPool:
    """HOG detectors lent out one per concurrent caller.

    dlib's ``object_detector`` must not be used by two threads at once (it
    keeps scratch buffers; sharing one crashed with "double free" in our
    tests), while detection releases the GIL and is worth running in
    parallel.  Building a detector takes ~0.3 s, so they are kept and reused:
    the pool grows to the highest number of simultaneous detections and no
    further.
    """

    def __init__(self, factory=dlib.get_frontal_face_detector):
        self._factory = factory
        self._free = [factory()]
        self._lock = threading.Lock()

    @contextmanager
    def borrow(self):
        with self._lock:
            detector = self._free.pop() if self._free else None
        if detector is None:
            detector = self._factory()
        try:
            yield detector
        finally:
            with self._lock:
                self._free.append(detector)

    def __len__(self) -> int:
        with self._lock:
            return len(self._free)


@dataclass(frozen=True)
class FaceModels:
    """Loaded models.  The landmark model and the ResNet are safe to share between
    threads; the HOG detector is not, so it is borrowed from a pool."""

    detectors: DetectorPool
    landmarks: object  # dlib.shape_predictor, 5 points
    descriptor: DescriptorNet


_lock = threading.Lock()
_models: FaceModels | None = None


def get_models() -> FaceModels:
    """Return the process-wide models, loading them on the first call."""
    global _models
    models = _models
    if models is not None:
        return models
    with _lock:
        if _models is None:
            folder = model_dir()
            _models = FaceModels(
                detectors=DetectorPool(),
                landmarks=dlib.shape_predictor(str(folder / MODEL_FILES["landmarks_5"])),
                descriptor=DescriptorNet(folder / MODEL_FILES["resnet"]),
            )
        return _models


def models_loaded() -> bool:
    """True once :func:`get_models` has loaded the models in this process."""
    return _models is not None


_lock_68 = threading.Lock()
_landmarks_68 = None


def get_landmarks_68():
    """The process-wide 68-point ``dlib.shape_predictor``, loaded on the first liveness check.

    Like the 5-point model it holds no per-call state, so threads share it.
    """
    global _landmarks_68
    predictor = _landmarks_68
    if predictor is not None:
        return predictor
    with _lock_68:
        if _landmarks_68 is None:
            _landmarks_68 = dlib.shape_predictor(str(model_dir() / MODEL_FILES["landmarks_68"]))
        return _landmarks_68


def landmarks_68_loaded() -> bool:
    """True once :func:`get_landmarks_68` has loaded the 68-point model in this process."""
    return _landmarks_68 is not None
