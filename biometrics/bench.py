"""Wall time of one verification, ours against stock ``face_recognition``, on the same photos.

A verification = decode a selfie's bytes, detect, encode, compare with a
stored template.  Stock means the library's documented defaults:
``load_image_file`` (full image), ``face_locations`` (HOG, upsample 1),
``face_encodings`` (its default landmark model, ``num_jitters=1``) and
``compare_faces`` (tolerance 0.6).  Both read the same bytes from memory, so
disk speed does not count.  Photos our quality gate refuses (the partial
crops) are left out for both, as they would not reach encoding.

Resident memory is read from ``/proc/self/status`` right after our models
load, before ``face_recognition`` (which loads four models, including the
100 MB 68-point one) is imported for the comparison.
"""

from __future__ import annotations

import csv
import io
import statistics
import time
import warnings
from dataclasses import dataclass
from pathlib import Path

from .engine import FaceEngine
from .errors import BiometricRejected
from .models import get_models

OURS_RUNS = 3
STOCK_RUNS = 2


def rss_mb() -> float:
    """Resident set size of this process in MiB (Linux), NaN elsewhere."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return float("nan")


def bench_photos(faces_dir: Path) -> list[tuple[str, str]]:
    """(relative path, identity) of single-face photos, from manifest.csv if present."""
    manifest = faces_dir / "manifest.csv"
    if manifest.exists():
        with manifest.open(newline="") as fh:
            return [
                (row["file"], row["identity"])
                for row in csv.DictReader(fh)
                if not row["identity"].startswith("(")
            ]
    files = sorted(p for p in faces_dir.rglob("*") if p.suffix.lower() in {".jpg", ".jpeg", ".png", ".webp"})
    return [(str(p.relative_to(faces_dir)), p.parent.name) for p in files]


def _import_stock():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import face_recognition  # noqa: PLC0415

    return face_recognition


@dataclass(frozen=True)
class BenchResult:
    ours_ms: float
    stock_ms: float
    rss_mb: float
    images: int

    @property
    def ratio(self) -> float:
        return self.ours_ms / self.stock_ms

    def lines(self) -> list[str]:
        return [
            f"face_verify_ms={self.ours_ms:.1f} ms",
            f"face_verify_stock_ms={self.stock_ms:.1f} ms",
            f"face_verify_ratio={self.ratio:.3f} x",
            f"face_models_rss_mb={self.rss_mb:.1f} MB",
            f"face_verify_images={self.images} images",
        ]


def run_bench(faces_dir: Path) -> BenchResult:
    get_models()
    rss = rss_mb()
    engine = FaceEngine()
    photos = {}
    templates: dict[str, list] = {}
    for rel, identity in bench_photos(faces_dir):
        data = (faces_dir / rel).read_bytes()
        try:
            template = engine.encode(data)
        except BiometricRejected:
            continue
        photos[rel] = (identity, data)
        templates.setdefault(identity, []).append((rel, template))
    if not photos:
        raise SystemExit(f"Tidak ada foto wajah yang dapat dipakai di {faces_dir}")

    def stored_template(rel: str, identity: str):
        others = [t for r, t in templates[identity] if r != rel]
        return others[0] if others else templates[identity][0][1]

    ours = []
    for rel, (identity, data) in photos.items():
        stored = stored_template(rel, identity)
        runs = []
        for _ in range(OURS_RUNS):
            start = time.perf_counter()
            engine.verify(data, stored)
            runs.append(time.perf_counter() - start)
        ours.append(statistics.median(runs))

    fr = _import_stock()
    stock = []
    for rel, (identity, data) in photos.items():
        stored = stored_template(rel, identity).astype("float64")
        runs = []
        for _ in range(STOCK_RUNS):
            start = time.perf_counter()
            image = fr.load_image_file(io.BytesIO(data))
            locations = fr.face_locations(image)
            encodings = fr.face_encodings(image, locations)
            if encodings:
                fr.compare_faces([stored], encodings[0], tolerance=0.6)
            runs.append(time.perf_counter() - start)
        stock.append(statistics.median(runs))
    return BenchResult(
        ours_ms=statistics.median(ours) * 1000,
        stock_ms=statistics.median(stock) * 1000,
        rss_mb=rss,
        images=len(photos),
    )
