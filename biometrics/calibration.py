"""From labelled distances to match/review bands, by a rule that can be re-run per deployment.

``python -m biometrics calibrate`` measures the distance of every labelled
pair and prints the false-match rate (FMR: share of different-person pairs at
or below a threshold) and false-non-match rate (FNMR: share of same-person
pairs above it) over a grid, then proposes bands:

* ``match_max``: if there are enough different-person pairs to observe the
  target FMR (n_impostor * target >= 1), the highest threshold whose measured
  FMR stays within the target.  Otherwise the data cannot show such a low
  rate, so we keep a safety margin instead: smallest impostor distance minus
  ``margin`` (default 0.17).  Never above ``match_cap`` (default 0.35): a
  held-out set of East-Asian impostor pairs reaches ~0.40 with this model, so
  no photo set that lacks such faces may talk the band above that (see
  :mod:`biometrics.matching` for both figures).  An operator with enough
  local impostor pairs to show otherwise passes ``--match-cap``.
* ``review_max``: ``review_cap`` (default 0.60, dlib's own tolerance), the
  loosest distance an officer should be asked to look at; raised to
  ``match_max`` if that is higher.

Both are rounded down to 0.01, i.e. towards the stricter side.

Then, for the bands *in force* (defaults, ``MPP_FACE_MATCH_MAX`` /
``MPP_FACE_REVIEW_MAX``, or the command's ``--match-max`` / ``--review-max``),
it checks the three goals on the labelled set (:data:`GOALS`): impostor pairs
auto-accepted (goal 0), genuine pairs refused outright (goal <= 3 %), genuine
pairs sent to review (goal <= 25 %), each with PASS, FAIL, or NO DATA when
the set has no pair of that kind.
"""

from __future__ import annotations

import csv
import math
from dataclasses import dataclass
from pathlib import Path

from .matching import MATCH, NO_MATCH, REVIEW, Thresholds, decide

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


MARGIN = 0.17
MATCH_CAP = 0.35
REVIEW_CAP = 0.60


def choose_bands(
    genuine: list[float],
    impostor: list[float],
    target_fmr: float = 0.001,
    margin: float = MARGIN,
    review_cap: float = REVIEW_CAP,
    match_cap: float = MATCH_CAP,
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
    if match_max > match_cap:
        match_max = _floor2(match_cap)
        rule += f", capped at match_cap {match_cap:g}"
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


# ---- the three goals, for the bands in force ---------------------------------


@dataclass(frozen=True)
class Goal:
    label: str
    limit: float  # a count when ``count_goal``, else a share (0.03 = 3 %)
    count_goal: bool = False

    def text(self) -> str:
        return f"{self.limit:g}" if self.count_goal else f"<= {self.limit * 100:g}%"


IMPOSTOR_AUTO = Goal("impostor pairs auto-accepted", 0, count_goal=True)
GENUINE_REJECTED = Goal("genuine pairs rejected outright", 0.03)
GENUINE_REVIEW = Goal("genuine pairs sent to review", 0.25)
GOALS = (IMPOSTOR_AUTO, GENUINE_REJECTED, GENUINE_REVIEW)

PASS, FAIL, NO_DATA = "PASS", "FAIL", "NO DATA"


@dataclass(frozen=True)
class GoalResult:
    goal: Goal
    count: int
    total: int

    @property
    def share(self) -> float:
        return self.count / self.total if self.total else math.nan

    @property
    def verdict(self) -> str:
        if not self.total:
            return NO_DATA
        if self.goal.count_goal:
            return PASS if self.count <= self.goal.limit else FAIL
        return PASS if self.share <= self.goal.limit + 1e-12 else FAIL


def check_goals(genuine: list[float], impostor: list[float], thresholds: Thresholds) -> list[GoalResult]:
    """The three goals on measured distances, with the zones of :func:`biometrics.matching.decide`."""
    decisions = [decide(d, thresholds) for d in genuine]
    return [
        GoalResult(IMPOSTOR_AUTO, sum(decide(d, thresholds) == MATCH for d in impostor), len(impostor)),
        GoalResult(GENUINE_REJECTED, decisions.count(NO_MATCH), len(genuine)),
        GoalResult(GENUINE_REVIEW, decisions.count(REVIEW), len(genuine)),
    ]


def format_goals(results: list[GoalResult], thresholds: Thresholds, source: str) -> str:
    """Bands in force, then one line per goal: measured, goal, PASS/FAIL/NO DATA."""
    lines = [
        f"bands in force: match_max={thresholds.match_max:.2f} review_max={thresholds.review_max:.2f} ({source})",
        f"{'goal':<34}{'measured':<22}{'goal':<9}result",
    ]
    for r in results:
        measured = f"{r.count} of {r.total} ({r.share * 100:.1f}%)" if r.total else "no pairs"
        lines.append(f"{r.goal.label:<34}{measured:<22}{r.goal.text():<9}{r.verdict}")
    return "\n".join(lines)
