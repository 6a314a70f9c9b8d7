"""Command line: check pairs, calibrate thresholds, benchmark, make a key.

    python -m biometrics verify-pairs PAIRS.csv        # header a,b
    python -m biometrics calibrate LABELLED.csv        # header a,b,same [--check]
    python -m biometrics bench [--faces DIR]
    python -m biometrics genkey

Image paths in a CSV are taken as given, or relative to the CSV's folder if
they do not exist relative to the working directory.  Each image is encoded
once per run and the models load once.  Reasons for ``no_face`` go to stderr
so stdout stays clean CSV.

Bands in force for ``verify-pairs`` and for the goal lines of ``calibrate``:
``--match-max`` / ``--review-max`` if given, else ``MPP_FACE_MATCH_MAX`` /
``MPP_FACE_REVIEW_MAX``, else the defaults of :mod:`biometrics.matching`.
``calibrate --check`` exits 1 when a goal FAILs (NO DATA does not fail).
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from .calibration import (
    FAIL,
    MARGIN,
    MATCH_CAP,
    REVIEW_CAP,
    check_goals,
    choose_bands,
    format_goals,
    format_report,
    parse_same,
    read_rows,
)
from .config import default_faces_dir
from .engine import FaceEngine
from .errors import BiometricRejected
from .matching import Thresholds, decide, face_distance


class _Encoder:
    """Encodes each distinct path once; remembers why a path had no usable face."""

    def __init__(self, base: Path):
        self.base = base
        self.engine = FaceEngine()
        self.cache: dict[str, object] = {}

    def resolve(self, name: str) -> Path:
        path = Path(name)
        if path.is_absolute() or path.exists():
            return path
        return self.base / path

    def template(self, name: str):
        if name not in self.cache:
            try:
                self.cache[name] = self.engine.encode(self.resolve(name).read_bytes())
            except BiometricRejected as exc:
                self.cache[name] = None
                print(f"{name}: {exc.code} - {exc.message}", file=sys.stderr)
            except OSError as exc:
                self.cache[name] = None
                print(f"{name}: tidak dapat dibaca ({exc.strerror or exc})", file=sys.stderr)
        return self.cache[name]


def _thresholds_in_force(args, environ=None) -> tuple[Thresholds, str]:
    """Flags over ``MPP_FACE_*`` over defaults, and a word on where each band came from."""
    env = os.environ if environ is None else environ
    from_env = Thresholds.from_env(env)
    sources = []
    values = []
    for name, flag, var in (
        ("match_max", args.match_max, "MPP_FACE_MATCH_MAX"),
        ("review_max", args.review_max, "MPP_FACE_REVIEW_MAX"),
    ):
        if flag is not None:
            values.append(flag)
            sources.append(f"--{name.replace('_', '-')}")
        else:
            values.append(getattr(from_env, name))
            sources.append(var if env.get(var, "").strip() else "default")
    source = "defaults" if sources == ["default", "default"] else " / ".join(sources)
    return Thresholds(*values), source


def _verify_pairs(args) -> int:
    thresholds, _ = _thresholds_in_force(args)
    rows = read_rows(args.pairs, ("a", "b"))
    enc = _Encoder(Path(args.pairs).resolve().parent)
    print("a,b,distance,decision")
    for row in rows:
        ta, tb = enc.template(row["a"]), enc.template(row["b"])
        if ta is None or tb is None:
            print(f"{_csv(row['a'])},{_csv(row['b'])},,no_face")
            continue
        dist = face_distance(ta, tb)
        print(f"{_csv(row['a'])},{_csv(row['b'])},{dist:.4f},{decide(dist, thresholds)}")
    return 0


def _calibrate(args) -> int:
    thresholds, source = _thresholds_in_force(args)
    rows = read_rows(args.labelled, ("a", "b", "same"))
    enc = _Encoder(Path(args.labelled).resolve().parent)
    genuine, impostor, skipped = [], [], 0
    for row in rows:
        same = parse_same(row["same"])
        ta, tb = enc.template(row["a"]), enc.template(row["b"])
        if ta is None or tb is None:
            skipped += 1
            continue
        (genuine if same else impostor).append(face_distance(ta, tb))
    if skipped:
        print(f"{skipped} pasangan dilewati (wajah tidak dapat dipakai)", file=sys.stderr)
    try:
        bands = choose_bands(genuine, impostor, args.target_fmr, args.margin, args.review_cap, args.match_cap)
    except ValueError as exc:
        print(str(exc), file=sys.stderr)
        return 2
    print(format_report(genuine, impostor, bands))
    results = check_goals(genuine, impostor, thresholds)
    print(format_goals(results, thresholds, source))
    if args.check and any(r.verdict == FAIL for r in results):
        return 1
    return 0


def _bench(args) -> int:
    from .bench import run_bench  # noqa: PLC0415  (imports face_recognition only when asked)

    faces = Path(args.faces) if args.faces else default_faces_dir()
    if not faces.is_dir():
        print(f"Folder foto tidak ditemukan: {faces} (atur MPP_FACES_DIR atau --faces)", file=sys.stderr)
        return 2
    for line in run_bench(faces).lines():
        print(line)
    return 0


def _genkey(args) -> int:
    from .templates import generate_key  # noqa: PLC0415

    print(generate_key())
    return 0


def _csv(value: str) -> str:
    if any(c in value for c in ',"\n'):
        return '"' + value.replace('"', '""') + '"'
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m biometrics", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("verify-pairs", help="jarak dan keputusan untuk setiap pasangan a,b")
    p.add_argument("pairs")
    p.add_argument("--match-max", type=float)
    p.add_argument("--review-max", type=float)
    p.set_defaults(func=_verify_pairs)

    p = sub.add_parser(
        "calibrate", help="tabel FMR/FNMR, usulan ambang, dan tiga sasaran untuk ambang yang berlaku"
    )
    p.add_argument("labelled")
    p.add_argument("--target-fmr", type=float, default=0.001)
    p.add_argument("--margin", type=float, default=MARGIN)
    p.add_argument("--review-cap", type=float, default=REVIEW_CAP)
    p.add_argument("--match-cap", type=float, default=MATCH_CAP)
    p.add_argument("--match-max", type=float, help="ambang match yang diperiksa (default: MPP_FACE_MATCH_MAX)")
    p.add_argument("--review-max", type=float, help="ambang review yang diperiksa (default: MPP_FACE_REVIEW_MAX)")
    p.add_argument("--check", action="store_true", help="keluar dengan kode 1 bila satu sasaran GAGAL (FAIL)")
    p.set_defaults(func=_calibrate)

    p = sub.add_parser("bench", help="waktu verifikasi kami vs face_recognition bawaan")
    p.add_argument("--faces", help="folder foto (default: MPP_FACES_DIR atau ../shared/faces)")
    p.set_defaults(func=_bench)

    p = sub.add_parser("genkey", help="buat kunci enkripsi templat baru")
    p.set_defaults(func=_genkey)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except (OSError, ValueError) as exc:
        print(f"Galat: {exc}", file=sys.stderr)
        return 2
