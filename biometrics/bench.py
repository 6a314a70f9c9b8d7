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

:func:`run_pad_bench` reports the presentation-attack figures in ISO/IEC
30107-3 terms over a corpus it is given (``make bench`` passes the one of
``tests/attacks.py``): APCER per attack type - the share of attack
presentations *accepted* as live (``ok``); an attack sent to an officer is
not accepted - and BPCER, the share of genuine presentations not accepted
(refused or sent to an officer), both overall and refused only, for each
kind of genuine sequence in the corpus (every kind whose name starts with
"genuine").  Also the
resident memory the 68-point landmark model adds, and the wall time of one
liveness check.
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
from .models import get_landmarks_68, get_models

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


@dataclass(frozen=True)
class PadBenchResult:
    outcomes: dict  # kind -> list of "ok" | "review" | "refused"
    check_ms: list  # wall time of each check_liveness call
    landmarks_68_mb: float

    def lines(self) -> list[str]:
        out = []
        for kind, seen in sorted(self.outcomes.items()):
            if kind.startswith("genuine") or not seen:
                continue
            out.append(f"pad_apcer_{kind}={seen.count('ok') / len(seen):.2f} ratio")
            out.append(f"pad_review_{kind}={seen.count('review') / len(seen):.2f} ratio")
            out.append(f"pad_attacks_{kind}={len(seen)} presentations")
        for kind, seen in sorted(self.outcomes.items()):
            if not kind.startswith("genuine") or not seen:
                continue
            out.append(f"pad_bpcer_{kind}={1 - seen.count('ok') / len(seen):.2f} ratio")
            out.append(f"pad_bpcer_{kind}_refused={seen.count('refused') / len(seen):.2f} ratio")
            out.append(f"pad_{kind}={len(seen)} presentations")
        out.append(f"face_landmarks68_rss_mb={self.landmarks_68_mb:.1f} MB")
        if self.check_ms:
            ordered = sorted(self.check_ms)
            out.append(f"liveness_check_ms={statistics.median(ordered):.0f} ms")
            out.append(f"liveness_check_p90_ms={ordered[int(0.9 * (len(ordered) - 1))]:.0f} ms")
        return out


def run_pad_bench(make_corpus) -> PadBenchResult:
    """Run :func:`biometrics.liveness.check_liveness` over ``make_corpus()``: (kind, victim, frames, challenge).

    ``make_corpus`` is called only after the 68-point model's memory is
    measured (building a corpus may load it).
    """
    from .liveness import check_liveness  # noqa: PLC0415

    get_models()
    before = rss_mb()
    get_landmarks_68()
    added = rss_mb() - before
    engine = FaceEngine()
    outcomes: dict[str, list[str]] = {}
    times = []
    for kind, _victim, frames, challenge in make_corpus():
        start = time.perf_counter()
        result = check_liveness(frames, challenge, engine=engine)
        elapsed = (time.perf_counter() - start) * 1000
        if kind == "genuine":
            times.append(elapsed)
        outcomes.setdefault(kind, []).append("ok" if result.ok else "review" if result.review else "refused")
    return PadBenchResult(outcomes, times, added)
