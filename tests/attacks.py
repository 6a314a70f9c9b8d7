"""Attack corpus: presentation attacks on the 3-frame liveness check, made from the shared photos.

Each attack answers the page's own challenge (poses and screen colours) as
well as the attacker can, so a test fails only if the defence it targets is
missing:

``warped``
    Today's attack: the victim's frontal photo stretched sideways around the
    nose (one x-only remap for every row, ``faces_support.turned``-style)
    until the 5-point yaw reads each asked pose, tinted with the screen
    colours as if printed and held up to the screen.
``repeated``
    One frame of the victim sent for every pose, re-encoded each time.
``two_people``
    The victim's frontal frame where "depan" is asked, someone else (live,
    turning their own head) for the turns.
``screen``
    A video of the victim turning their head (genuine-looking frames, with
    parallax) played on a screen and filmed: the screen's pixel grid beats
    with the camera's into moire, the glass reflects the phone's colour
    weakly, and the replay is a little soft.
``print``
    A printed photo: the warped frames with a print's flat lighting (the
    dynamic range of paper under room light, a little desaturated and soft).
``bent_print``
    The print bowed towards the camera about a horizontal axis through the
    nose (2-4 cm over the face) and turned 25-50 degrees about a vertical one:
    a real 3-D turn of a surface whose depth depends on the height only.  It
    fools a check that only asks "did the nose row move more than the eye
    row?", which is why the parallax check removes row effects as well.

Every attack must end in refusal or officer review, never an active account.
"""

from __future__ import annotations

import functools
import io
import math

import numpy as np
from faces_support import to_jpeg
from PIL import Image, ImageFilter
from posed import TARGET, _yaw_of, frames_for, genuine, head, render, tint

from biometrics.liveness import pose_of

ATTACKS = ("warped", "repeated", "two_people", "screen", "print", "bent_print")
AMOUNTS = [a / 10 for a in range(-7, 8)]  # stretch of the image-left side, -0.7 .. 0.7


def warp(rgb: np.ndarray, nose_x: float, amount: float) -> np.ndarray:
    """Stretch left of ``nose_x`` by (1 + amount), squeeze right by (1 - amount); every row alike."""
    im = Image.fromarray(rgb)
    w, h = im.size
    nose = int(round(nose_x))
    left = im.crop((0, 0, nose, h)).resize((max(1, round(nose * (1 + amount))), h), Image.Resampling.BICUBIC)
    right = im.crop((nose, 0, w, h)).resize((max(1, round((w - nose) * (1 - amount))), h),
                                            Image.Resampling.BICUBIC)
    out = Image.new("RGB", (left.width + right.width, h))
    out.paste(left, (0, 0))
    out.paste(right, (left.width, 0))
    # the attacker frames it back to the phone's shape
    return np.asarray(out.resize((w, h), Image.Resampling.BICUBIC)) if out.width != w else np.asarray(out)


@functools.cache
def warp_amount(rel: str, pose: str, variant: int = 0) -> float:
    """The stretch whose result the engine reads as ``pose`` (``variant`` n: the n-th closest)."""
    h = head(rel)
    found = []
    for amount in AMOUNTS:
        yaw = _yaw_of(to_jpeg(Image.fromarray(warp(h.rgb, h.points[33, 0], amount)), 90))
        if yaw is not None and pose_of(yaw) == pose:
            found.append((abs(yaw - TARGET[pose]), amount))
    if len(found) <= variant:
        raise LookupError(f"no warp of {rel} reads as {pose} (variant {variant})")
    return sorted(found)[variant][1]


def warped(rel: str, poses, colours=None, strength: float = 0.25) -> list[bytes]:
    """The victim's photo warped into each asked pose, lit by each screen colour."""
    h = head(rel)
    colours = list(colours or [None] * len(poses))
    out = []
    for i, pose in enumerate(poses):
        rgb = warp(h.rgb, h.points[33, 0], warp_amount(rel, pose, poses[:i].count(pose)))
        if colours[i]:
            rgb = tint(rgb, h.points, colours[i], strength)
        out.append(to_jpeg(Image.fromarray(rgb), 70))
    return out


def repeated(rel: str, poses, colours=None) -> list[bytes]:
    """One frontal frame of the victim for every pose, re-encoded at different qualities."""
    frame = genuine(rel, "depan", (colours or [None])[0])
    im = Image.open(io.BytesIO(frame))
    return [to_jpeg(im, q) for q in (70, 60, 50)[:len(poses)]]


def two_people(victim: str, other: str, poses, colours=None) -> list[bytes]:
    """The victim's frame where "depan" is asked, the other person's head turns elsewhere."""
    mine = frames_for(other, poses, colours)
    theirs = frames_for(victim, poses, colours)
    return [theirs[i] if p == "depan" else mine[i] for i, p in enumerate(poses)]


def moire(rgb: np.ndarray, seed: int, amplitude: float = 0.10) -> np.ndarray:
    """A photographed screen: a beat pattern between two pixel grids, slightly different per channel."""
    rng = np.random.default_rng(seed)
    rows, cols = rgb.shape[:2]
    period = rng.uniform(3.2, 6.0)
    angle = rng.uniform(0.2, 1.3) * (1 if rng.random() < 0.5 else -1)
    yy, xx = np.mgrid[0:rows, 0:cols]
    phase = 2 * math.pi * (xx * math.cos(angle) + yy * math.sin(angle)) / period
    out = rgb.astype(np.float64)
    for ch in range(3):  # RGB sub-pixels sit side by side: the beat shifts a little per channel
        out[..., ch] *= 1.0 + amplitude * np.cos(phase + ch * 2 * math.pi / 3 * 0.3)
    return np.clip(out, 0, 255).astype(np.uint8)


def screen(rel: str, poses, colours=None, seed: int = 0) -> list[bytes]:
    """A genuine-looking video of the victim replayed on a screen: moire, weak colour, soft."""
    colours = list(colours or [None] * len(poses))
    out = []
    for i, pose in enumerate(poses):
        frame = genuine(rel, pose, colours[i], poses[:i].count(pose), strength=0.02)
        im = Image.open(io.BytesIO(frame)).filter(ImageFilter.GaussianBlur(0.6))
        rgb = moire(np.asarray(im), seed + i)
        out.append(to_jpeg(Image.fromarray(rgb), 70))
    return out


def flat_print(rgb: np.ndarray) -> np.ndarray:
    """Paper under room light: luminance squeezed into ~1:4, 25% less saturated, a little soft."""
    im = Image.fromarray(rgb).filter(ImageFilter.GaussianBlur(0.7))
    a = np.asarray(im).astype(np.float64)
    grey = a.mean(axis=2, keepdims=True)
    a = grey + 0.75 * (a - grey)
    a = 60.0 + a * (190.0 - 60.0) / 255.0
    return np.clip(a, 0, 255).astype(np.uint8)


def printed(rel: str, poses, colours=None) -> list[bytes]:
    """A print of the victim's photo, bent into each pose (the warp), reflecting the screen colour."""
    h = head(rel)
    colours = list(colours or [None] * len(poses))
    out = []
    for i, pose in enumerate(poses):
        rgb = flat_print(warp(h.rgb, h.points[33, 0], warp_amount(rel, pose, poses[:i].count(pose))))
        if colours[i]:
            rgb = tint(rgb, h.points, colours[i])
        out.append(to_jpeg(Image.fromarray(rgb), 70))
    return out


def bow(h, bulge_cm: float) -> np.ndarray:
    """Depth (cm) of a print bowed towards the camera about the horizontal line through the nose."""
    rows, cols = h.rgb.shape[:2]
    y = np.arange(rows, dtype=np.float32)[:, None] * np.ones((1, cols), np.float32)
    half = (h.points[8, 1] - h.points[19, 1]) * 0.7
    return (-bulge_cm * ((y - h.points[30, 1]) / half) ** 2).clip(-8.0, 0.0) - 2.0


@functools.cache
def bent_turn(rel: str, pose: str, variant: int = 0) -> tuple[float, float]:
    """(bulge cm, turn degrees) of the bent print that the engine reads as ``pose``."""
    if pose == "depan":
        return 0.0, 0.0
    h = head(rel)
    sign = 1 if pose == "kiri" else -1
    found = []
    for bulge in (2.0, 3.0, 4.0):
        for deg in (25, 30, 35, 40, 45, 50):
            rgb = flat_print(render(h, sign * deg, depth=bow(h, bulge)))
            yaw = _yaw_of(to_jpeg(Image.fromarray(rgb), 70))
            if yaw is not None and pose_of(yaw) == pose:
                found.append((abs(yaw - TARGET[pose]), bulge, sign * deg))
    if len(found) <= variant:
        raise LookupError(f"no bent print of {rel} reads as {pose}")
    _, bulge, deg = sorted(found)[variant]
    return bulge, float(deg)


def bent_print(rel: str, poses, colours=None) -> list[bytes]:
    """A print of the victim bowed about a horizontal axis and turned into each pose, flat-lit, tinted."""
    h = head(rel)
    colours = list(colours or [None] * len(poses))
    out = []
    for i, pose in enumerate(poses):
        variant = poses[:i].count(pose)
        bulge, deg = bent_turn(rel, pose, variant)
        rgb = h.rgb if pose == "depan" and not variant else render(h, deg + 2.0 * variant, depth=bow(h, bulge or 2.0))
        rgb = flat_print(rgb)
        if colours[i]:
            rgb = tint(rgb, h.points, colours[i])
        out.append(to_jpeg(Image.fromarray(rgb), 70))
    return out


def attack_frames(kind: str, rel: str, poses, colours=None, other: str | None = None) -> list[bytes]:
    """Frames of one attack of ``kind`` on the victim ``rel``."""
    if kind == "warped":
        return warped(rel, poses, colours)
    if kind == "repeated":
        return repeated(rel, poses, colours)
    if kind == "two_people":
        return two_people(rel, other, poses, colours)
    if kind == "screen":
        return screen(rel, poses, colours)
    if kind == "print":
        return printed(rel, poses, colours)
    if kind == "bent_print":
        return bent_print(rel, poses, colours)
    raise ValueError(kind)


# ---- the corpus ---------------------------------------------------------------------


def challenges(rel: str, count: int = 2):
    """``count`` challenges for ``rel``, the same on every run (seeded by the photo's name)."""
    import random
    import zlib

    from biometrics.liveness import issue_challenge

    rng = random.Random(zlib.crc32(rel.encode()))
    return [issue_challenge(rng, now=0.0) for _ in range(count)]


def other_person(rel: str, photos) -> str:
    """Someone else among ``photos`` (for the two-people attack)."""
    from faces_support import manifest

    identity = dict(manifest())
    return next(p for p in photos if identity[p] != identity[rel])


def corpus(photos, per_photo: int = 2, hard: bool = False):
    """(kind, victim, frames, challenge) for the genuine sequences and every attack that can be mounted.

    An attack that cannot answer a challenge for a photo (no warp of it reads
    as the pose) is left out, not counted as stopped.  ``hard`` adds
    ``genuine_hard`` sequences: as selfie.js sends them (360 px, q60), a face
    30% flatter than the generic one, and the screen's light at a tenth of the
    ambient light instead of a quarter.
    """
    for rel in photos:
        for ch in challenges(rel, per_photo):
            yield "genuine", rel, frames_for(rel, ch.poses, ch.colours), ch
            if hard:
                frames = frames_for(rel, ch.poses, ch.colours, depth_scale=0.7, strength=0.1, size=360, quality=60)
                yield "genuine_hard", rel, frames, ch
            for kind in ATTACKS:
                try:
                    frames = attack_frames(kind, rel, ch.poses, ch.colours, other=other_person(rel, photos))
                except LookupError:
                    continue
                yield kind, rel, frames, ch
