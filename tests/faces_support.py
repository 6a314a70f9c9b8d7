"""Shared helpers for the biometrics tests: where the photos are, which pairs are independent.

The shared photo set (``MPP_FACES_DIR``, default ``../shared/faces`` beside the
repository) is read-only and never copied into the repo; tests that need it
use :data:`needs_faces`, which skips them with the reason when it is absent.

Several files are one picture at different sizes or crops; counting them as
separate same-person pairs would flatter the matcher, so :func:`photo_id`
folds them together (established by distance < 0.15 and by eye).
"""

from __future__ import annotations

import csv
import functools
import io
import itertools
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:  # pytest may be run without the repo on sys.path
    sys.path.insert(0, str(REPO))

from biometrics.config import QualityLimits, default_faces_dir  # noqa: E402
from biometrics.engine import FaceEngine  # noqa: E402

FACES_DIR = default_faces_dir()
HAVE_FACES = (FACES_DIR / "manifest.csv").is_file()
needs_faces = pytest.mark.skipif(
    not HAVE_FACES, reason=f"shared face photos not found at {FACES_DIR} (set MPP_FACES_DIR)"
)

# one picture, several files
_SAME_PICTURE = {
    "obama/obama1.jpg": "obama-portrait",
    "obama/obama5-1080p.jpg": "obama-portrait",
    "obama/obama5-720p.jpg": "obama-portrait",
    "obama/obama5-480p.jpg": "obama-portrait",
    "obama/obama5-240p.jpg": "obama-portrait",
    "obama/obama6-small.jpg": "obama-portrait",
    "obama/partial1.jpg": "obama-portrait",
    "obama/partial2.jpg": "obama-portrait",
    "obama/obama2.jpg": "obama-speech",
    "odd/rgba-32bit.png": "obama-speech",
}
PARTIALS = ("obama/partial1.jpg", "obama/partial2.jpg")
GROUPS = ("groups/kit_with_rose.jpg", "groups/obama_and_biden.jpg", "groups/two_people.jpg")


def photo_id(rel: str) -> str:
    return _SAME_PICTURE.get(rel, rel)


def read(rel: str) -> bytes:
    return (FACES_DIR / rel).read_bytes()


@functools.lru_cache(maxsize=1)
def manifest() -> tuple[tuple[str, str], ...]:
    with (FACES_DIR / "manifest.csv").open(newline="") as fh:
        return tuple((r["file"], r["identity"]) for r in csv.DictReader(fh))


def single_face_photos() -> list[tuple[str, str]]:
    return [(f, i) for f, i in manifest() if not i.startswith("(")]


@functools.lru_cache(maxsize=1)
def engine() -> FaceEngine:
    """Default engine; models are a process singleton, so this is cheap after the first call."""
    return FaceEngine()


@functools.lru_cache(maxsize=1)
def templates() -> dict[str, object]:
    """Template of every single-face photo.  The two partial crops are refused by the
    default quality gate (face_cut_off), so they are encoded with the cut-off check
    relaxed - they still belong in the different-person comparisons."""
    relaxed = FaceEngine(quality=QualityLimits(max_outside=1.0))
    out = {}
    for rel, _ in single_face_photos():
        eng = relaxed if rel in PARTIALS else engine()
        out[rel] = eng.encode(read(rel))
    return out


def same_person_pairs() -> list[tuple[str, str]]:
    """Same identity, different pictures, both passing the default quality gate."""
    photos = [(f, i) for f, i in single_face_photos() if f not in PARTIALS]
    return [
        (a, b)
        for (a, ia), (b, ib) in itertools.combinations(photos, 2)
        if ia == ib and photo_id(a) != photo_id(b)
    ]


def different_person_pairs() -> list[tuple[str, str]]:
    photos = single_face_photos()
    return [(a, b) for (a, ia), (b, ib) in itertools.combinations(photos, 2) if ia != ib]


def to_jpeg(im, quality: int = 70, max_side: int = 480) -> bytes:
    """A phone-like liveness frame: <= max_side px, small JPEG."""
    im = im.convert("RGB")
    im.thumbnail((max_side, max_side))
    buf = io.BytesIO()
    im.save(buf, "JPEG", quality=quality)
    return buf.getvalue()


def turned(rel: str, amount: float, quality: int = 70):
    """A 480 px frame of ``rel`` with a simulated head turn.

    Stretching the image on one side of the nose and squeezing it on the other
    moves the eye corners relative to the nose base the way a real turn
    foreshortens the far side of the face.  ``amount > 0`` squeezes the image's
    right side: nose towards the image right = citizen turned to their own left
    ("kiri").  Measured yaw on the shared photos: about +-0.13..0.19 at 0.4.
    """
    from PIL import Image, ImageOps

    from biometrics.images import decode_image

    im = ImageOps.exif_transpose(Image.open(FACES_DIR / rel)).convert("RGB")
    if amount == 0:
        return to_jpeg(im, quality)
    image = decode_image(read(rel))
    nose_x = int(round(engine().locate(image).landmarks[4][0] / image.scale))
    w, h = im.size
    left = im.crop((0, 0, nose_x, h)).resize((round(nose_x * (1 + amount)), h), Image.Resampling.BICUBIC)
    right = im.crop((nose_x, 0, w, h)).resize((round((w - nose_x) * (1 - amount)), h), Image.Resampling.BICUBIC)
    out = Image.new("RGB", (left.width + right.width, h))
    out.paste(left, (0, 0))
    out.paste(right, (left.width, 0))
    return to_jpeg(out, quality)
