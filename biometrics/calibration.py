"""From labelled distances to match/review bands, by a rule that can be re-run per deployment.

``python -m biometrics calibrate`` measures the distance of every labelled
pair and prints the false-match rate (FMR: share of different-person pairs at
or below a threshold) and false-non-match rate (FNMR: share of same-person
pairs above it) over a grid, then proposes bands:

* ``match_max``: if there are enough different-person pairs to observe the
  target FMR (n_impostor * target >= 1), the highest threshold whose measured
  FMR stays within the target.  Otherwise the data cannot show such a low
  rate, so we keep a safety margin instead: smallest impostor distance minus
  ``margin`` (default 0.25 - see :mod:`biometrics.matching` for why that
  size).  Never above ``review_cap``.
* ``review_max``: ``review_cap`` (default 0.60, dlib's own tolerance), the
  loosest distance an officer should be asked to look at; raised to
  ``match_max`` if that is higher.

Both are rounded down to 0.01, i.e. towards the stricter side.
"""

from __future__ import annotations

import csv
import math
from dataclasses import dataclass
from pathlib import Path

from .matching import Thresholds

_TRUE = {"1", "true", "yes", "ya", "y", "t"}
_FALSE = {"0", "false", "no", "tidak", "n", "f"}


def parse_same(value: str) -> bool:
    """CSV ``same`` column: 1/0, true/false (case-insensitive)."""
    text = str(value).strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise ValueError(f"Nilai kolom 'same' tidak dikenal: {value!r} (gunakan 1/0 atau true/false)")


def read_rows(path: str | Path, columns: tuple[str, ...]) -> list[dict[str, str]]:
    """Rows of a CSV that must have ``columns`` in its header."""
    with open(path, newline="", encoding="utf-8-sig") as fh:
        reader = csv.DictReader(fh)
        header = [h.strip() for h in (reader.fieldnames or [])]
        missing = [c for c in columns if c not in header]
        if missing:
            raise ValueError(f"{path}: kolom header wajib {', '.join(columns)}; tidak ada: {', '.join(missing)}")
        return [{(k or "").strip(): (v or "").strip() for k, v in row.items()} for row in reader]


def grid(start: float = 0.30, stop: float = 0.70, step: float = 0.02) -> list[float]:
    count = int(round((stop - start) / step)) + 1
    return [round(start + i * step, 4) for i in range(count)]


def rates(genuine: list[float], impostor: list[float], threshold: float) -> tuple[float, float]:
    """(FMR, FNMR) at ``threshold``; NaN where a list is empty."""
    fmr = sum(d <= threshold for d in impostor) / len(impostor) if impostor else math.nan
    fnmr = sum(d > threshold for d in genuine) / len(genuine) if genuine else math.nan
    return fmr, fnmr


@dataclass(frozen=True)
class Bands:
    thresholds: Thresholds
    rule: str  # one line saying which rule produced match_max


def _floor2(x: float) -> float:
    return math.floor(x * 100 + 1e-9) / 100


def choose_bands(
    genuine: list[float],
    impostor: list[float],
    target_fmr: float = 0.001,
    margin: float = 0.25,
    review_cap: float = 0.60,
) -> Bands:
    """Propose ``Thresholds`` from measured distances (rule in the module docstring)."""
    if not impostor:
        raise ValueError("Perlu setidaknya satu pasangan orang berbeda (same=0) untuk kalibrasi.")
    ranked = sorted(impostor)
    allowed = math.floor(target_fmr * len(ranked) + 1e-9)
    if allowed >= 1:
        # stay below the (allowed+1)-th smallest impostor distance
        match_max = _floor2(ranked[allowed] - 1e-6) if allowed < len(ranked) else _floor2(ranked[-1])
        rule = f"FMR <= {target_fmr:g} measured on {len(ranked)} impostor pairs"
    else:
        match_max = _floor2(ranked[0] - margin)
        rule = (
            f"{len(ranked)} impostor pairs cannot show FMR {target_fmr:g}: "
            f"min impostor {ranked[0]:.3f} - margin {margin:g}"
        )
    match_max = max(0.01, min(match_max, review_cap))
    review_max = max(match_max, _floor2(review_cap))
    return Bands(Thresholds(match_max, review_max), rule)


def format_report(genuine: list[float], impostor: list[float], bands: Bands, thresholds=None) -> str:
    """The table and summary printed by the ``calibrate`` command."""
    lines = ["threshold,fmr,fnmr"]
    for t in thresholds or grid():
        fmr, fnmr = rates(genuine, impostor, t)
        lines.append(f"{t:.2f},{fmr:.4f},{fnmr:.4f}")
    lines.append(f"genuine_pairs={len(genuine)} impostor_pairs={len(impostor)}")
    if genuine:
        lines.append(f"max_genuine={max(genuine):.3f}")
    lines.append(f"min_impostor={min(impostor):.3f}")
    lines.append(f"rule: {bands.rule}")
    lines.append(f"match_max={bands.thresholds.match_max:.2f} review_max={bands.thresholds.review_max:.2f}")
    return "\n".join(lines)
