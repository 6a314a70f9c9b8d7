"""Presentation-attack detection (PAD) that fits 2G: what three small frames can prove.

The attack this answers: three copies of one public, frontal photo of the
victim, each stretched sideways around the nose until the 5-point yaw reads
the asked pose.  Any such picture - a photo warped per row, a print bent or
tilted about a vertical axis, a photo on a tablet - moves every point of the
face sideways by an amount that depends on the point's *column* only
(``x' = f(x)``).  A real head turning moves each point by its depth as well:
the nose tip swings ~2 cm further than the nasion above it and the lips and
chin below it.  So within one column of the frontal face, a real turn bends
the column and a flat picture cannot.

Parallax (the main check)
-------------------------
Both frames are brought into one canonical frame: rotated so the eyes are
level, scaled to 48 px between the eye centres (the turned frame by the
eye-to-mouth height, which a turn about a vertical axis keeps), so the
citizen's own frontal frame is the baseline and their asymmetry cancels.  For
a grid of 9x13 px patches of the frontal face (brows to chin), the sideways
shift into the turned frame is found by normalised cross-correlation of
high-passed grey (so lighting and screen tint do not matter), around a prior
that is a cubic in x - it cannot express a column bend, so it cannot put one
there.  Then the shift is regressed on a generic depth (:data:`DEPTH_CM`,
interpolated from the 68 landmarks) after removing every column's and every
row's own level (two-way fixed effects): any ``f(x)``, however kinked,
is the same for every patch of a column and cancels exactly; a shear (a
stretched photo tilts the eye line) and a print bowed about a horizontal
axis and turned (depth by height only) are the same along a row and cancel
too.  What is left is the part of a face's depth that is neither: the nose
standing out of its own row and column.  The slope, in inter-ocular distances
of shift per inter-ocular distance of depth, signed by the asked turn, is
``parallax``.

Why pixels and not the 68 landmarks themselves: measured first, the
landmarks' own midline bend (nose tip against nasion, lips and chin) on
warped photos was 0.19-0.60, as large as on genuine turns (0.05-0.57): the
68-point predictor only outputs face shapes it was trained on, so a face
*looking* turned gets a turned face's nose, parallax included.  The
landmarks still place the canonical frame and the generic depth; the bend is
measured on the pixels.  Two earlier pixel versions failed on our own
corpus: column effects alone let a hard warp reach 0.10 (the shear), and
column effects plus a shear let a print bowed 2-4 cm and turned 35-45 degrees
reach 0.10-0.52.

Measured (tests/test_biometrics_pad.py corpus: 8 usable shared photos x 2
challenges, 29 turned frames per kind), as ``parallax``:

==========================  ==============  ==============  ===================
frames                      480 px, q70     360 px, q60     360 px, q60,
                                            (selfie.js)     face 30% flatter
==========================  ==============  ==============  ===================
genuine (3-D re-rendered)   0.149 - 0.327   0.126 - 0.316   0.077 - 0.210
warped photo                -0.056 - 0.037  -0.049 - 0.024
printed photo (warped)      -0.068 - 0.057  -0.064 - 0.049
bent print 2-4 cm, 35-45 d  -0.047 - 0.045 (480 px, 5 photos, 40 frames)
==========================  ==============  ==============  ===================

A flatter face needs a bigger turn to reach the pose band of the 5-point
yaw, and the bigger turn brings most of the parallax back (both grow with
depth); the two lowest flatter-face values (0.077, 0.087) are the smallest,
blurriest face of the set.  Below ``parallax_flat`` (0.05) refuses; up to
``parallax_live`` (0.09) goes to an officer; fewer than ``min_patches``
matched patches also goes to an officer (parallax unknown).

The genuine rows are re-renderings of photos with a generic depth
(tests/posed.py), not real heads: the margins above are what this code can
show, not what phones in the field will give.  Every face check stores these
scores; look at the first real ones before trusting the bands.

Screen colour
-------------
The page fills the screen with a server-chosen colour per frame.  The face,
30 cm away, reflects it; the wall behind barely does.  Per frame we take the
log-chromaticity (log R/G, log B/G) of the face skin minus that of the
background (this cancels the camera's white balance, which shifts both), and
across the frames compare its changes with the changes of the screen colours
(ambient light is common to all frames and cancels).  ``warna`` is the
regression gain, ``warna_r`` the correlation.  Measured at 360 px, q60, with
the screen's light on the face at s times the ambient light (tests/posed.tint):
s = 0.25 gives 0.16-0.24 (r >= 0.98); s = 0.1 gives 0.06-0.14 (r >= 0.90);
s = 0.05 gives 0.02-0.06; no screen light (sunlight, or frames made before the
colours were known) -0.016 - 0.012; a replayed screen -0.008 - 0.017.  The
limits (gain >= 0.03, r >= 0.6) want the screen at roughly a tenth of the
ambient light or more: indoors with the screen bright, yes; outdoors, no.  So
a missing response sends to an officer, never refuses.  It stops frames made
before the colours were known, a screen replayed in front of the camera, and
a camera feed that ignores the page; it does not stop an attacker who reads
the colours from the page and tints the frames.

Texture cues
------------
``moire``: the prominence of the strongest isolated peak in the face's
spectrum (off the axes and off JPEG's 8-px grid), in natural-log units over
the local median.  Genuine frames 1.0-1.35, the shared photos themselves at
most 1.25; a simulated photographed screen (10% luminance beat, period 3-6 px)
2.55-3.3 for the worst frame of a sequence, but per frame only 67% of frames
at 10% beat, 50% at 5%, 12% at 3% pass ``moire_max`` (2.0): it catches a
plainly visible moire, not a faint one.  ``kontras``: the spread of the face's
luminance, (p95 - p5) / mean; genuine frames and the shared photos 0.81-1.17,
the simulated print (paper's range under room light) 0.44-0.60, limit 0.55.
Real selfies in soft light may be flatter than press photos, hence the low
limit.  Both only send to an officer.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from .images import DecodedImage

IOD = 48.0  # canonical distance between the eye centres, px
U0, U1, W0, W1 = -64, 64, -40, 100  # canonical window: x, then y (eye line at y = 0)
PATCH = (4, 6)  # half width, half height of a matched patch
SEARCH = (10, 2)  # sideways and vertical search around the prior, px
IPD_CM = 6.3  # eye centre to eye centre on an average adult face

# Generic depth of the 68 iBUG landmarks, cm behind the nose tip (rough anthropometric values).
_JAW = [-6.0, -5.8, -5.4, -4.9, -4.3, -3.6, -3.0, -2.6, -2.3]
DEPTH_CM = np.array(
    _JAW + _JAW[-2::-1]
    + [-3.8, -3.1, -2.6, -2.3, -2.2, -2.2, -2.3, -2.6, -3.1, -3.8]  # brows
    + [-2.0, -1.4, -0.7, 0.0]  # nasion to nose tip
    + [-1.9, -1.4, -1.5, -1.4, -1.9]  # nostrils, nose base
    + [-4.0, -3.3, -3.1, -2.9, -3.1, -3.3, -2.9, -3.1, -3.3, -4.0, -3.3, -3.1]  # eyes
    + [-2.7, -2.0, -1.6, -1.5, -1.6, -2.0, -2.7, -2.2, -1.8, -1.7, -1.8, -2.2]  # outer lips
    + [-2.6, -1.8, -1.7, -1.8, -2.6, -1.9, -1.8, -1.9]  # inner lips
)
# cheeks have no landmark: anchors half way between the nose wings / mouth corners and the jaw
CHEEKS = ((31, 2, -3.0), (35, 14, -3.0), (48, 4, -3.2), (54, 12, -3.2), (39, 1, -3.6), (42, 15, -3.6))


@dataclass(frozen=True)
class PadLimits:
    """Thresholds of the presentation-attack checks (see the module doc for the measurements)."""

    parallax_live: float = 0.09  # every turned frame at least this: the turn showed depth
    parallax_flat: float = 0.05  # any turned frame below this: a flat picture, refused
    min_patches: int = 40  # fewer well-matched patches: parallax unknown, review
    colour_gain_min: float = 0.03  # face took at least 3% of the screen's colour change
    colour_corr_min: float = 0.6  # and moved the way the screen colours did
    moire_max: float = 2.0  # spectral peak prominence (ln units) above which: review
    contrast_min: float = 0.55  # face luminance spread below which: review (flat, print-like)


@dataclass(frozen=True)
class FaceFrame:
    """One decoded frame with its one face: analysed-image pixels, 68 iBUG landmarks."""

    image: DecodedImage
    points: np.ndarray  # (68, 2)


# ---- canonical frame ---------------------------------------------------------


def _geometry(points: np.ndarray):
    """Eye midpoint, rotation that levels the eyes, eye distance, eye-to-mouth height."""
    left, right = points[36:42].mean(0), points[42:48].mean(0)
    mid = (left + right) / 2
    dx, dy = right - left
    roll = math.atan2(dy, dx)
    rot = np.array([[math.cos(roll), -math.sin(roll)], [math.sin(roll), math.cos(roll)]])
    height = float((rot.T @ (points[48:68].mean(0) - mid))[1])
    return mid, rot, math.hypot(dx, dy), height


def _canonical_points(points: np.ndarray, scale: float) -> np.ndarray:
    mid, rot, _, _ = _geometry(points)
    return (points - mid) @ rot * scale


def _bilinear(img: np.ndarray, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    h, w = img.shape
    x = np.clip(x, 0, w - 1.001)
    y = np.clip(y, 0, h - 1.001)
    x0, y0 = np.floor(x).astype(int), np.floor(y).astype(int)
    fx, fy = x - x0, y - y0
    top = img[y0, x0] * (1 - fx) + img[y0, x0 + 1] * fx
    return top * (1 - fy) + (img[y0 + 1, x0] * (1 - fx) + img[y0 + 1, x0 + 1] * fx) * fy


def _luma(rgb: np.ndarray) -> np.ndarray:
    return rgb.astype(np.float32) @ np.array([0.299, 0.587, 0.114], dtype=np.float32)


def _canonical_grey(frame: FaceFrame, scale: float, column_shift: np.ndarray | None = None,
                    margin: tuple[int, int] = (0, 0)) -> np.ndarray:
    """Grey face in the canonical window (widened by ``margin`` = (x, y) px on every side);
    ``column_shift`` (px per canonical column of the widened window) slides columns sideways."""
    mid, rot, _, _ = _geometry(frame.points)
    mx, my = margin
    uu, ww = np.meshgrid(np.arange(U0 - mx, U1 + mx, dtype=np.float64),
                         np.arange(W0 - my, W1 + my, dtype=np.float64))
    if column_shift is not None:
        uu = uu + column_shift[None, :]
    where = np.stack([uu.ravel(), ww.ravel()], 1) / scale @ rot.T + mid
    return _bilinear(_luma(frame.image.rgb), where[:, 0], where[:, 1]).reshape(uu.shape)


def _box(a: np.ndarray, rx: int, ry: int) -> np.ndarray:
    """Mean over a (2ry+1) x (2rx+1) window, edges replicated (summed-area table)."""
    p = np.pad(a, ((ry, ry), (rx, rx)), mode="edge")
    c = np.pad(np.cumsum(np.cumsum(p, 0), 1), ((1, 0), (1, 0)))
    kx, ky = 2 * rx + 1, 2 * ry + 1
    return (c[ky:, kx:] - c[:-ky, kx:] - c[ky:, :-kx] + c[:-ky, :-kx]) / (kx * ky)


def _highpass(g: np.ndarray) -> np.ndarray:
    return g - _box(_box(g, 3, 3), 3, 3)


# ---- parallax ----------------------------------------------------------------


@dataclass(frozen=True)
class Parallax:
    value: float  # signed by the asked turn: > 0 = the face showed depth the right way
    error: float  # standard error of the slope
    patches: int  # well-matched patches used


def _shifts(a: np.ndarray, b: np.ndarray):
    """Best sideways shift (sub-pixel) of every patch of ``a`` found in ``b``, and its correlation.

    ``b`` is ``a``'s window widened by :data:`SEARCH` on every side, so every
    candidate position is a plain slice of it (box sums of ``b`` are computed once).
    """
    rx, ry = PATCH
    sx, sy = SEARCH
    rows, cols = a.shape
    mean_a = _box(a, rx, ry)
    var_a = _box(a * a, rx, ry) - mean_a ** 2
    mean_b_all, sq_b_all = _box(b, rx, ry), _box(b * b, rx, ry)
    scores = np.empty((2 * sy + 1, 2 * sx + 1) + a.shape)
    for i in range(2 * sy + 1):
        for j in range(2 * sx + 1):
            window = (slice(i, i + rows), slice(j, j + cols))
            mean_b = mean_b_all[window]
            var_b = sq_b_all[window] - mean_b ** 2
            cov = _box(a * b[window], rx, ry) - mean_a * mean_b
            scores[i, j] = cov / np.sqrt(np.maximum(var_a * var_b, 1e-6))
    best = scores.reshape(-1, *a.shape).argmax(0)
    iy, ix = np.divmod(best, 2 * sx + 1)
    r, c = np.indices(a.shape)
    peak = scores[iy, ix, r, c]
    left = scores[iy, np.clip(ix - 1, 0, 2 * sx), r, c]
    right = scores[iy, np.clip(ix + 1, 0, 2 * sx), r, c]
    curve = left - 2 * peak + right
    sub = np.where(curve < 0, 0.5 * (left - right) / np.where(curve < 0, curve, -1.0), 0.0)
    edge = (ix == 0) | (ix == 2 * sx)
    return ix - sx + np.clip(sub, -0.5, 0.5), peak, edge, np.sqrt(np.maximum(var_a, 0))


def _inside(points: np.ndarray, polygon: np.ndarray) -> np.ndarray:
    """Even-odd rule point-in-polygon test."""
    x, y = points[:, 0], points[:, 1]
    inside = np.zeros(len(points), dtype=bool)
    j = len(polygon) - 1
    for i in range(len(polygon)):
        (xi, yi), (xj, yj) = polygon[i], polygon[j]
        crosses = (yi > y) != (yj > y)
        inside ^= crosses & (x < (xj - xi) * (y - yi) / np.where(yj != yi, yj - yi, 1e-12) + xi)
        j = i
    return inside


def generic_depth(canon: np.ndarray, where: np.ndarray) -> np.ndarray:
    """Generic depth (inter-ocular units) at canonical points, from the landmarks and cheek anchors."""
    anchors = [canon] + [((canon[a] + canon[b]) / 2)[None] for a, b, _ in CHEEKS]
    depths = np.concatenate([DEPTH_CM, [d for _, _, d in CHEEKS]]) / IPD_CM
    nodes = np.vstack(anchors)
    sigma = 0.15 * IOD
    w = np.exp(-((where[:, None, :] - nodes[None, :, :]) ** 2).sum(-1) / (2 * sigma * sigma))
    return (w @ depths) / np.maximum(w.sum(1), 1e-12)


def _demean(values: np.ndarray, groups: tuple[np.ndarray, ...], weight: np.ndarray, rounds: int = 8):
    """Remove, by alternating projections, a weighted effect per column and per row of the grid."""
    out = values.copy()
    for _ in range(rounds):
        for labels in groups:
            total = np.bincount(labels, weights=weight)
            mean = np.bincount(labels, weights=weight * out) / np.where(total > 0, total, 1.0)
            out -= mean[labels]
    return out


def _within_columns(grid: np.ndarray, shift: np.ndarray, depth: np.ndarray) -> tuple[float, float]:
    """Slope of shift on depth once every column's and every row's own level is removed; robust (Tukey).

    Column effects take any sideways remap ``f(x)`` of a flat picture.  Row
    effects take what is the same along a row: the shear of a tilted eye line
    (stretching a photo sideways tilts it, so the canonical frames are
    slightly rotated against each other) and a print bowed about a horizontal
    axis and turned (its depth depends on the height only).  A face's depth is
    not a column part plus a row part - the nose stands out of both its row
    and its column - and that is what remains.
    """
    _, columns = np.unique(grid[:, 0], return_inverse=True)
    _, rows = np.unique(grid[:, 1], return_inverse=True)
    groups = (columns, rows)
    weight = np.ones(len(shift))
    slope, error = 0.0, float("inf")
    for _ in range(5):
        ds, dz = _demean(shift, groups, weight), _demean(depth, groups, weight)
        spread = float((weight * dz * dz).sum())
        if spread <= 1e-9:
            return 0.0, float("inf")
        slope = float((weight * dz * ds).sum()) / spread
        residual = ds - slope * dz
        scale = 1.4826 * float(np.median(np.abs(residual[weight > 0]))) + 1e-6
        u = residual / (4.685 * scale)
        weight = np.where(np.abs(u) < 1, (1 - u * u) ** 2, 0.0)
        dof = max(float(weight.sum()) - len(np.unique(columns)) - len(np.unique(rows)), 1.0)
        error = math.sqrt(float((weight * residual ** 2).sum()) / dof / max(float((weight * dz * dz).sum()), 1e-9))
    return slope, error


def parallax(frontal: FaceFrame, turned: FaceFrame, direction: int, min_corr: float = 0.6) -> Parallax:
    """How much the turned frame's columns bent by depth, relative to the frontal frame.

    ``direction`` is +1 when the citizen was asked to turn to their own left
    (nose towards the image's right), -1 for the right.
    """
    _, _, iod_f, height_f = _geometry(frontal.points)
    _, _, _, height_t = _geometry(turned.points)
    scale_f = IOD / iod_f
    scale_t = scale_f * height_f / height_t if height_t > 0 else scale_f
    canon_f = _canonical_points(frontal.points, scale_f)
    canon_t = _canonical_points(turned.points, scale_t)
    prior_fit = np.polyfit(canon_f[:, 0], canon_t[:, 0] - canon_f[:, 0], 3)
    sx, sy = SEARCH
    prior_wide = np.round(np.polyval(prior_fit, np.arange(U0 - sx, U1 + sx, dtype=np.float64)))
    a = _highpass(_canonical_grey(frontal, scale_f))
    b = _highpass(_canonical_grey(turned, scale_t, prior_wide, margin=SEARCH))
    shift, corr, edge, texture = _shifts(a, b)
    gu, gw = np.meshgrid(np.arange(U0 + 8, U1 - 8, 3), np.arange(W0 + 8, W1 - 8, 4))
    grid = np.stack([gu.ravel(), gw.ravel()], 1).astype(np.float64)
    outline = np.vstack([canon_f[0:17], canon_f[26:16:-1]])
    top = canon_f[17:27, 1].min()
    grid = grid[_inside(grid, outline) & (grid[:, 1] >= top) & (np.abs(grid[:, 0]) <= 1.1 * IOD)]
    r, c = (grid[:, 1] - W0).astype(int), (grid[:, 0] - U0).astype(int)
    good = (corr[r, c] >= min_corr) & (texture[r, c] >= 2.0) & ~edge[r, c]
    # the match landed in column c + sx + shift of the widened window, which had been slid by the prior there
    landed = c + sx + shift[r, c]
    moved = shift[r, c] + np.interp(landed, np.arange(len(prior_wide)), prior_wide)
    grid, moved = grid[good], moved[good]
    if len(grid) < 3:
        return Parallax(0.0, float("inf"), len(grid))
    slope, error = _within_columns(grid, moved, generic_depth(canon_f, grid))
    return Parallax(direction * slope / IOD, error / IOD, len(grid))


# ---- screen colour -------------------------------------------------------------


def parse_colour(colour: str) -> np.ndarray:
    """"#ff2020" -> RGB in 0..1."""
    c = colour.strip().lstrip("#")
    if len(c) != 6:
        raise ValueError(f"warna bukan #rrggbb: {colour!r}")
    return np.array([int(c[i:i + 2], 16) for i in (0, 2, 4)], dtype=np.float64) / 255.0


def _face_masks(frame: FaceFrame):
    """Skin of the face (inside the outline, eyes and mouth left out) and the background around it."""
    rgb = frame.image.rgb
    rows, cols = rgb.shape[:2]
    step = max(1, round(max(rows, cols) / 160))  # ~160 px is plenty for a mean colour
    ys, xs = np.mgrid[0:rows:step, 0:cols:step]
    where = np.stack([xs.ravel(), ys.ravel()], 1).astype(np.float64)
    p = frame.points
    face = _inside(where, np.vstack([p[0:17], p[26:16:-1]]))
    for part in (p[36:42], p[42:48], p[48:60]):
        centre = part.mean(0)
        face &= ~_inside(where, centre + (part - centre) * 1.4)
    centre = p.mean(0)
    reach = np.abs(p - centre).max(0) * 1.6
    far = np.hypot((where[:, 0] - centre[0]) / reach[0], (where[:, 1] - centre[1]) / reach[1]) > 1.0
    pixels = rgb[ys.ravel(), xs.ravel()].astype(np.float64)
    return pixels[face], pixels[far]


def _log_chroma(pixels: np.ndarray) -> np.ndarray | None:
    usable = pixels[(pixels.max(1) < 250) & (pixels.min(1) > 5)]
    if len(usable) < 20:
        return None
    r, g, b = usable.mean(0) + 1.0
    return np.array([math.log(r / g), math.log(b / g)])


@dataclass(frozen=True)
class ColourResponse:
    gain: float  # how much of the screen's colour change the face took (0 = none)
    correlation: float  # -1..1, whether it moved the right way


def colour_response(frames: Sequence[FaceFrame], colours: Sequence[str]) -> ColourResponse | None:
    """Face-minus-background chromaticity against the screen colours, across frames; None if unmeasurable."""
    seen, shown = [], []
    for frame, colour in zip(frames, colours):
        face, background = _face_masks(frame)
        f = _log_chroma(face)
        if f is None:
            return None
        bg = _log_chroma(background)
        seen.append(f - (bg if bg is not None else 0.0))
        c = parse_colour(colour)
        shown.append(np.array([c[0] - c[1], c[2] - c[1]]))
    seen_c = np.array(seen) - np.mean(seen, axis=0)
    shown_c = np.array(shown) - np.mean(shown, axis=0)
    power = float((shown_c * shown_c).sum())
    if power < 1e-6:
        return None
    dot = float((seen_c * shown_c).sum())
    norm = math.sqrt(float((seen_c * seen_c).sum()) * power)
    return ColourResponse(dot / power, dot / norm if norm > 0 else 0.0)


# ---- texture --------------------------------------------------------------------


def _face_crop(frame: FaceFrame, margin: float = 0.0) -> np.ndarray:
    """Grey square over the inner face (brows to mouth, outer eye corners), native pixels."""
    p = frame.points
    left, right = p[36, 0], p[45, 0]
    top, bottom = p[17:27, 1].min(), p[48:60, 1].max()
    size = int(max(right - left, bottom - top) * (1 + margin))
    cx, cy = int((left + right) / 2), int((top + bottom) / 2)
    grey = _luma(frame.image.rgb)
    y0, x0 = max(0, cy - size // 2), max(0, cx - size // 2)
    return grey[y0:y0 + size, x0:x0 + size]


def moire(frame: FaceFrame) -> float:
    """Prominence (ln units) of the strongest isolated spectral peak of the face, off-axis and off the 8-px grid."""
    crop = _face_crop(frame)
    n = min(crop.shape)
    if n < 32:
        return 0.0
    crop = crop[:n, :n] - crop[:n, :n].mean()
    window = np.hanning(n)
    spectrum = np.log(np.abs(np.fft.fftshift(np.fft.fft2(crop * np.outer(window, window)))) + 1e-3)
    local = _median5(_median5(spectrum))  # twice: a broad background, untouched by a peak
    prominence = spectrum - local
    f = np.fft.fftshift(np.fft.fftfreq(n))
    fy, fx = np.meshgrid(f, f, indexing="ij")
    radius = np.hypot(fx, fy)
    grid = np.minimum(np.abs(fx * 8 - np.round(fx * 8)), np.abs(fy * 8 - np.round(fy * 8))) * n / 8
    band = (radius > 0.12) & (radius < 0.45) & (np.abs(fx) * n > 2) & (np.abs(fy) * n > 2) & (grid > 1.5)
    return float(prominence[band].max()) if band.any() else 0.0


def _median5(a: np.ndarray) -> np.ndarray:
    """Median over a 5x5 window, edges replicated: the spectrum's smooth background."""
    p = np.pad(a, 2, mode="edge")
    stack = np.stack([p[dy:dy + a.shape[0], dx:dx + a.shape[1]] for dy in range(5) for dx in range(5)])
    return np.median(stack, axis=0)


def contrast(frame: FaceFrame) -> float:
    """Spread of the face's luminance, (p95 - p5) / mean: low for a print lit flat by room light."""
    crop = _face_crop(frame)
    if crop.size == 0:
        return 0.0
    lo, hi = np.percentile(crop, [5, 95])
    return float((hi - lo) / max(float(crop.mean()), 1.0))
