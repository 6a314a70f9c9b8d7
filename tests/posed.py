"""Genuine liveness frames, simulated: one real photo re-rendered as a rigid 3-D head turn.

We have no videos of real people turning their heads, so a genuine sequence is
simulated from one frontal-ish photo:

1. the photo is cropped to a selfie framing (the face about half the frame
   width) - a phone held at arm's length, not a press photo;
2. every one of the 68 landmarks gets a generic depth (:data:`HEAD_CM`, my own
   rough anthropometric guesses in cm behind the nose tip: nose tip 0, nose
   base and lips about -1.6, the nasion -2.1, eyes -3 to -4, the jaw outline
   down to -6.5 at the ears), corrected for the pose the photo was taken in,
   and interpolated into a depth map over the head (a thin-plate spline
   through them, a few cheek and forehead points, and a ring at -7 cm around
   the head);
3. the head is rotated about a vertical axis 4 cm behind the nose tip and
   re-projected with a camera 35 cm away (perspective: the nose tip is
   magnified more than the ears), each output pixel taking the nearest
   surface (a z-buffer, so the nose hides the far cheek); the background
   stays where it was;
4. the screen colour the page showed is added as light reflected by the face
   (a multiplicative tint fading out beyond the face, then a grey-world white
   balance over the whole frame, as a phone camera would apply).

The turn angle is searched, like a person watching the preview, until the
engine's own 5-point yaw reads the asked pose.

This is exactly what a determined attacker could do with a public photo of
the victim (a depth-aware re-rendering, plus the colours read from the page);
that is the residual risk the README states.  These frames stand in for a real
citizen because they have the one property a flat photo lacks - parallax -
not because they prove real phones behave this way.
"""

from __future__ import annotations

import functools
import io
import math

import numpy as np
from faces_support import FACES_DIR, engine, to_jpeg
from PIL import Image, ImageOps

from biometrics.images import decode_image
from biometrics.liveness import estimate_yaw, pose_of

TARGET = {"kiri": 0.15, "depan": 0.0, "kanan": -0.15}
IPD_CM = 6.3  # distance between the eye centres
YAW_PER_TAN = 0.30  # 5-point yaw ~ 0.30 * tan(turn) on these renders, first guess of the search

_JAW = [-6.5, -6.2, -5.8, -5.2, -4.5, -3.8, -3.2, -2.7, -2.4]
HEAD_CM = np.array(
    _JAW + _JAW[-2::-1]  # 0-16 jaw outline, ear to chin to ear
    + [-4.0, -3.2, -2.7, -2.4, -2.3, -2.3, -2.4, -2.7, -3.2, -4.0]  # 17-26 brows
    + [-2.1, -1.5, -0.8, 0.0]  # 27-30 nasion to nose tip
    + [-2.0, -1.5, -1.6, -1.5, -2.0]  # 31-35 nostrils, nose base
    + [-4.2, -3.4, -3.2, -3.0, -3.2, -3.4, -3.0, -3.2, -3.4, -4.2, -3.4, -3.2]  # 36-47 eyes
    + [-2.8, -2.1, -1.7, -1.6, -1.7, -2.1, -2.8, -2.3, -1.9, -1.8, -1.9, -2.3]  # 48-59 outer lips
    + [-2.7, -1.9, -1.8, -1.9, -2.7, -2.0, -1.9, -2.0]  # 60-67 inner lips
)
BACK_CM = -7.0  # around the face: hair, ears, the side of the head


def hex_rgb(colour: str) -> np.ndarray:
    """"#ff2020" -> array([1.0, 0.125, 0.125])."""
    c = colour.lstrip("#")
    return np.array([int(c[i:i + 2], 16) for i in (0, 2, 4)], dtype=np.float64) / 255.0


# ---- the head ---------------------------------------------------------------


class Head:
    """A photo cropped to a selfie framing, with its 68 landmarks and the pose it was taken in."""

    def __init__(self, rgb: np.ndarray, points: np.ndarray, own_yaw: float):
        self.rgb = rgb
        self.points = points.astype(np.float64)
        self.own_yaw = own_yaw
        self.px_per_cm = float(np.linalg.norm(points[36:42].mean(0) - points[42:48].mean(0))) / IPD_CM


def _landmarks(rgb: np.ndarray):
    """(68 points, 5-point yaw) of the one face in an RGB array, via a lossless round trip."""
    buf = io.BytesIO()
    Image.fromarray(rgb).save(buf, "PNG")
    image = decode_image(buf.getvalue())
    found = engine().locate(image)
    points = engine().landmarks_68(found).astype(np.float64) / image.scale
    return points, estimate_yaw(found.landmarks)


@functools.cache
def head(rel: str, size: int = 480) -> Head:
    """The photo ``rel`` as a selfie: face ~45% of the frame width, portrait 3:4, longest side ``size``."""
    im = ImageOps.exif_transpose(Image.open(FACES_DIR / rel)).convert("RGB")
    im.thumbnail((1600, 1600))
    rgb = np.asarray(im)
    points, _ = _landmarks(rgb)
    left, top = points.min(0)
    right, bottom = points.max(0)
    width = (right - left) / 0.45
    height = width * 4 / 3
    cx, cy = (left + right) / 2, (top + bottom) / 2 + 0.05 * height
    rows, cols = rgb.shape[:2]  # keep the crop inside the photo where it fits, pad only if it cannot
    left = min(max(0.0, cx - width / 2), max(0.0, cols - width)) if width <= cols else cx - width / 2
    top = min(max(0.0, cy - height / 2), max(0.0, rows - height)) if height <= rows else cy - height / 2
    box = [round(left), round(top), round(left + width), round(top + height)]
    pad = max(0, -box[0], -box[1], box[2] - cols, box[3] - rows)
    padded = np.pad(rgb, ((pad, pad), (pad, pad), (0, 0)), mode="reflect")
    crop = Image.fromarray(padded[box[1] + pad:box[3] + pad, box[0] + pad:box[2] + pad])
    crop = crop.resize((round(size * 3 / 4), size), Image.Resampling.LANCZOS)
    out = np.ascontiguousarray(np.asarray(crop))
    points, yaw = _landmarks(out)
    return Head(out, points, yaw)


def _camera_depths(h: Head, points: np.ndarray, depths: np.ndarray, axis_cm: float) -> np.ndarray:
    """Depths (cm) of ``points`` as seen by the camera that took the photo.

    A photo taken with the head already turned by ``phi`` shows the near cheek
    closer than the far one; the generic depths are for a frontal head, so
    they are rotated by the photo's own turn (estimated from its 5-point yaw).
    """
    z = depths - axis_cm
    phi = math.atan(h.own_yaw / YAW_PER_TAN)
    x = (points[:, 0] - h.points[30, 0]) / h.px_per_cm
    lateral = (x - z * math.sin(phi)) / math.cos(phi)
    return -lateral * math.sin(phi) + z * math.cos(phi) + axis_cm


# places without a landmark, half way between two, and their depths: cheeks, forehead
EXTRA_CM = ((31, 2, -3.0), (35, 14, -3.0), (48, 4, -3.3), (54, 12, -3.3), (39, 1, -3.7), (42, 15, -3.7))


def _tps(nodes: np.ndarray, values: np.ndarray, where: np.ndarray) -> np.ndarray:
    """Thin-plate spline through ``values`` at ``nodes``: the smoothest surface through them."""
    def kernel(a, b):
        r2 = ((a[:, None, :] - b[None, :, :]) ** 2).sum(-1)
        return np.where(r2 > 0, 0.5 * r2 * np.log(np.maximum(r2, 1e-12)), 0.0)

    n = len(nodes)
    affine = np.hstack([np.ones((n, 1)), nodes])
    system = np.zeros((n + 3, n + 3))
    system[:n, :n] = kernel(nodes, nodes) + 1e-6 * np.eye(n)
    system[:n, n:] = affine
    system[n:, :n] = affine.T
    coef = np.linalg.solve(system, np.concatenate([values, np.zeros(3)]))
    return kernel(where, nodes) @ coef[:n] + np.hstack([np.ones((len(where), 1)), where]) @ coef[n:]


@functools.lru_cache(maxsize=64)
def depth_map(h: Head, depth_scale: float = 1.0, axis_cm: float = -4.0, step: int = 4) -> np.ndarray:
    """Depth in cm behind the nose tip for every pixel: a thin-plate spline through the landmarks,
    a few cheek and forehead points between them, and a ring at the back of the head around them."""
    rows, cols = h.rgb.shape[:2]
    pts = h.points
    iod = h.px_per_cm * IPD_CM
    centre = pts.mean(0)
    radius = np.abs(pts - centre).max(0) * np.array([1.3, 1.45])
    angles = np.linspace(0, 2 * np.pi, 24, endpoint=False)
    ring = centre + np.stack([np.cos(angles) * radius[0], np.sin(angles) * radius[1]], 1)
    up = np.array([0.0, -0.7 * iod])
    extra = [(pts[a] + pts[b]) / 2 for a, b, _ in EXTRA_CM] + [pts[19] + up, pts[24] + up, pts[27] + up]
    extra_z = [z for _, _, z in EXTRA_CM] + [-3.4, -3.4, -2.9]
    nodes = np.vstack([pts, np.array(extra), ring])
    face = np.concatenate([HEAD_CM, extra_z]) * depth_scale
    head_pts = np.vstack([pts, np.array(extra)])
    z_face = _camera_depths(h, head_pts, face, axis_cm)
    values = np.concatenate([z_face, np.full(len(ring), BACK_CM)])
    gy, gx = np.mgrid[0:rows:step, 0:cols:step]
    grid = np.stack([gx.ravel(), gy.ravel()], 1).astype(np.float64)
    scale = float(iod)  # the spline is solved in inter-ocular units: better conditioned
    coarse = _tps(nodes / scale, values, grid / scale).reshape(gy.shape)
    coarse = np.clip(coarse, BACK_CM, 0.3).astype(np.float32)
    return np.asarray(Image.fromarray(coarse, "F").resize((cols, rows), Image.Resampling.BILINEAR))


def _bilinear(img: np.ndarray, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    h, w = img.shape[:2]
    x = np.clip(x, 0, w - 1.001)
    y = np.clip(y, 0, h - 1.001)
    x0, y0 = np.floor(x).astype(int), np.floor(y).astype(int)
    fx, fy = x - x0, y - y0
    if img.ndim == 3:
        fx, fy = fx[..., None], fy[..., None]
    top = img[y0, x0] * (1 - fx) + img[y0, x0 + 1] * fx
    bottom = img[y0 + 1, x0] * (1 - fx) + img[y0 + 1, x0 + 1] * fx
    return top * (1 - fy) + bottom * fy


def _fill_holes(a: np.ndarray, rounds: int = 25) -> np.ndarray:
    """NaN pixels take the mean of their known neighbours, growing inwards."""
    a = a.copy()
    for _ in range(rounds):
        holes = np.isnan(a)
        if not holes.any():
            break
        known = np.pad(np.where(holes, 0, a), 1)
        count = np.pad((~holes).astype(np.float32), 1)
        total = sum(known[1 + dy:known.shape[0] - 1 + dy, 1 + dx:known.shape[1] - 1 + dx]
                    for dy in (-1, 0, 1) for dx in (-1, 0, 1))
        n = sum(count[1 + dy:count.shape[0] - 1 + dy, 1 + dx:count.shape[1] - 1 + dx]
                for dy in (-1, 0, 1) for dx in (-1, 0, 1))
        a = np.where(holes & (n > 0), total / np.maximum(n, 1), a)
    return a


def render(h: Head, turn_deg: float, depth_scale: float = 1.0, camera_cm: float = 35.0,
           axis_cm: float = -4.0, depth: np.ndarray | None = None) -> np.ndarray:
    """The head turned by ``turn_deg`` (> 0: to the citizen's own left, nose to the image right).

    ``depth`` (cm per pixel) replaces the head's depth map: e.g. a bent print.
    """
    rows, cols = h.rgb.shape[:2]
    if depth is None:
        depth = depth_map(h, depth_scale, axis_cm)
    ppc, (cx, cy) = h.px_per_cm, h.points[30]
    centre = h.points.mean(0)
    reach = np.abs(h.points - centre).max(0) * np.array([1.25, 1.6])
    x0, x1 = int(max(0, centre[0] - 1.5 * reach[0])), int(min(cols, centre[0] + 1.5 * reach[0]))
    y0, y1 = int(max(0, centre[1] - 1.5 * reach[1])), int(min(rows, centre[1] + 1.5 * reach[1]))
    sy, sx = np.mgrid[y0:y1:0.5, x0:x1:0.5].astype(np.float32)
    sx, sy = sx.ravel(), sy.ravel()
    z = _bilinear(depth, sx, sy)
    t = math.radians(turn_deg)
    shrink = (camera_cm - z) / camera_cm  # undo the photo's own perspective
    x, y, zr = (sx - cx) * shrink / ppc, (sy - cy) * shrink / ppc, z - axis_cm
    x2 = x * math.cos(t) + zr * math.sin(t)
    z2 = -x * math.sin(t) + zr * math.cos(t) + axis_cm
    grow = camera_cm / (camera_cm - z2)
    u, v = cx + x2 * grow * ppc, cy + y * grow * ppc
    below = np.where(sy > centre[1], 0.7, 1.0)  # the head turns, the neck and shoulders stay
    weight = np.clip((1.5 - np.hypot((sx - centre[0]) / reach[0], (sy - centre[1]) / (reach[1] * below))) / 0.5, 0, 1)
    u, v = sx + weight * (u - sx), sy + weight * (v - sy)
    nearness = weight * z2 - (1 - weight) * 100  # the background is behind everything
    iu, iv = np.round(u).astype(int), np.round(v).astype(int)
    inside = (iu >= x0) & (iu < x1) & (iv >= y0) & (iv < y1)
    target = (iv * cols + iu)[inside]
    order = np.lexsort((nearness[inside], target))
    target = target[order]
    front = np.r_[target[1:] != target[:-1], True]  # last of each target = nearest surface
    source_x = np.full(rows * cols, np.nan, np.float32)
    source_y = np.full(rows * cols, np.nan, np.float32)
    source_x[target[front]] = sx[inside][order][front]
    source_y[target[front]] = sy[inside][order][front]
    gy, gx = np.mgrid[0:rows, 0:cols].astype(np.float32)
    box = np.zeros((rows, cols), bool)
    box[y0:y1, x0:x1] = True
    source_x = np.where(box, source_x.reshape(rows, cols), gx)
    source_y = np.where(box, source_y.reshape(rows, cols), gy)
    source_x = np.where(np.isnan(sx_ := _fill_holes(source_x)), gx, sx_)
    source_y = np.where(np.isnan(sy_ := _fill_holes(source_y)), gy, sy_)
    out = _bilinear(h.rgb.astype(np.float32), source_x, source_y)
    return np.clip(out, 0, 255).astype(np.uint8)


def tint(rgb: np.ndarray, points: np.ndarray, colour: str, strength: float = 0.25) -> np.ndarray:
    """Screen light reflected by the face: more on the face, fading with distance, then white balance.

    ``strength`` is screen illuminance over ambient on the face: ~0.2-0.5
    indoors with the screen at full brightness 30 cm away, ~0 in sunlight.
    """
    rows, cols = rgb.shape[:2]
    centre = points.mean(0)
    reach = np.abs(points - centre).max(0) * np.array([1.1, 1.3])
    gy, gx = np.mgrid[0:rows, 0:cols]
    r = np.hypot((gx - centre[0]) / reach[0], (gy - centre[1]) / reach[1])
    falloff = np.clip(1.6 - r, 0.15, 1.0)[..., None]  # near the screen: the face; the wall gets a little
    lit = rgb.astype(np.float64) * (1.0 + strength * falloff * hex_rgb(colour)[None, None, :])
    balance = rgb.reshape(-1, 3).mean(0) / np.maximum(lit.reshape(-1, 3).mean(0), 1e-6)
    return np.clip(lit * balance, 0, 255).astype(np.uint8)


# ---- frames answering a challenge --------------------------------------------


def _frame(rgb: np.ndarray, size: int, quality: int) -> bytes:
    return to_jpeg(Image.fromarray(rgb), quality, size)


def _yaw_of(data: bytes) -> float | None:
    try:
        return estimate_yaw(engine().locate(decode_image(data)).landmarks)
    except ValueError:
        return None


@functools.cache
def turn_for(rel: str, pose: str, depth_scale: float = 1.0) -> float:
    """The turn (degrees) whose rendering the engine reads as ``pose``, nearest to its target yaw.

    Searched like a person watching the preview: start straight, then
    correct by the yaw still missing (secant steps), at most 40 degrees.
    """
    h = head(rel)
    want = TARGET[pose]
    tried: dict[float, float | None] = {}

    def measure(deg: float) -> float | None:
        tried[deg] = _yaw_of(_frame(render(h, deg, depth_scale), 480, 70))
        return tried[deg]

    last, last_yaw = 0.0, measure(0.0)
    deg = math.degrees(math.atan(want / YAW_PER_TAN)) - math.degrees(math.atan((last_yaw or 0.0) / YAW_PER_TAN))
    for _ in range(5):
        deg = max(-40.0, min(40.0, round(deg, 1)))
        if last_yaw is not None and pose_of(last_yaw) == pose and abs(last_yaw - want) < 0.02:
            break
        if deg in tried:
            break
        yaw = measure(deg)
        if yaw is None:  # turned too far to find the face: come back half way
            deg = (deg + last) / 2
            continue
        slope = (yaw - last_yaw) / (deg - last) if last_yaw is not None and deg != last else 0.0
        if slope < 0.002:
            slope = YAW_PER_TAN * math.pi / 180
        last, last_yaw = deg, yaw
        deg = deg + max(-20.0, min(20.0, (want - yaw) / slope))
    fitting = [(abs(y - want), d) for d, y in tried.items() if y is not None and pose_of(y) == pose]
    if not fitting:
        raise LookupError(f"no simulated turn of {rel} reads as {pose}")
    return min(fitting)[1]


@functools.cache
def rendered(rel: str, pose: str, variant: int = 0, depth_scale: float = 1.0, nudge: int = 0) -> np.ndarray:
    """The head in ``pose``; a repeated pose (``variant`` 1) is turned 3 degrees further and moved;
    ``nudge`` n turns 2n degrees further towards the pose (a frame that read as the dead zone)."""
    deg = turn_for(rel, pose, depth_scale)
    h = head(rel)
    towards = -1.0 if pose == "kanan" else 1.0
    deg += towards * (3.0 * variant + 2.0 * nudge)
    out = render(h, deg, depth_scale)
    if variant:  # the phone moved a little between the two frontal frames
        im = Image.fromarray(out)
        w, hh = im.size
        out = np.asarray(im.crop((w // 30, hh // 40, w, hh)).resize((w, hh), Image.Resampling.BICUBIC))
    return out


def genuine(rel: str, pose: str, colour: str | None = None, variant: int = 0, depth_scale: float = 1.0,
            strength: float = 0.25, size: int = 480, quality: int = 70) -> bytes:
    """One genuine-looking JPEG frame: the head turned into ``pose``, lit by the screen ``colour``.

    Like a person glancing at the preview, a frame whose encoding reads as
    the dead zone between poses is taken again a little further turned.
    """
    for nudge in range(4):
        rgb = rendered(rel, pose, variant, depth_scale, 0 if pose == "depan" else nudge)
        if colour:
            rgb = tint(rgb, head(rel).points, colour, strength)
        frame = _frame(rgb, size, quality)
        yaw = _yaw_of(frame)
        if pose == "depan" or (yaw is not None and pose_of(yaw) == pose):
            return frame
    return frame


def frames_for(rel: str, poses, colours=None, *, depth_scale: float = 1.0, strength: float = 0.25,
               size: int = 480, quality: int = 70) -> list[bytes]:
    """One distinct frame per asked pose, in order, each lit by its screen colour (if given).

    ``colours`` are the page's ``data-warna`` values; without them the
    frames carry no screen reflection (a challenge without colours).
    """
    colours = list(colours or [None] * len(poses))
    return [
        genuine(rel, p, colours[i], poses[:i].count(p), depth_scale, strength, size, quality)
        for i, p in enumerate(poses)
    ]


@functools.lru_cache(maxsize=1)
def usable_photos() -> tuple[str, ...]:
    """One file per independent picture that can stand for a live citizen.

    Frontal enough (|5-point yaw| <= 0.10: a genuine sequence is re-rendered
    from it, and turning a 3/4 view 40 degrees the other way invents half a
    face) and turnable into all three poses within 35 degrees.
    """
    from faces_support import PARTIALS, photo_id, single_face_photos

    seen, out = set(), []
    for rel, _ in single_face_photos():
        if rel in PARTIALS or photo_id(rel) in seen:
            continue
        seen.add(photo_id(rel))
        try:
            if abs(head(rel).own_yaw) > 0.10:
                continue
            if all(abs(turn_for(rel, p)) <= 35 for p in ("kiri", "depan", "kanan")):
                out.append(rel)
        except (LookupError, ValueError):
            continue
    return tuple(out)
