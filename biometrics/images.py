"""Turn uploaded bytes into a small RGB array, refusing anything unsafe or unusable.

A citizen's phone may send anything: a 20 MB HEIC renamed ``.jpg``, a PNG
that declares 30000x30000 pixels to exhaust memory, a JPEG cut off by a weak
2G connection.  Each gets a clear :class:`ImageRejected` code *before* the
expensive step that would suffer from it:

1. ``empty`` / ``too_large`` from the byte count alone;
2. ``bad_type`` from the leading magic bytes (JPEG, PNG, WebP; the file name
   and declared content type are never trusted);
3. ``truncated`` from walking the file's structure (JPEG markers up to EOI,
   PNG chunks up to IEND, the RIFF length of WebP).  We cannot rely on Pillow
   here: ``import face_recognition`` sets ``ImageFile.LOAD_TRUNCATED_IMAGES =
   True`` for the whole process, after which Pillow silently pads a cut-off
   JPEG with grey, and flipping that global per call is not thread-safe;
4. ``too_many_pixels`` from the header Pillow reads in ``Image.open``, before
   any pixel is decoded.  Our limit (12 MP) is far below Pillow's global
   ``Image.MAX_IMAGE_PIXELS`` (89 MP), which we leave alone for the rest of
   the process; if Pillow's own ``DecompressionBombError`` (or its warning,
   where warnings are errors) fires first, it maps to the same code.

Decoding then applies EXIF orientation (phones store portrait selfies as
rotated landscape), flattens transparency onto white, converts CMYK/L/P to RGB
and shrinks the longest side to ``limits.detection_size``.  For JPEG the
shrinking starts inside the decoder (``Image.draft`` DCT scaling), which is
what makes decoding a 12 MP photo cost a few milliseconds.  Nothing is written
to disk: bytes in, array out.
"""

from __future__ import annotations

import io
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from .config import ImageLimits
from .errors import ImageRejected

__all__ = ["DecodedImage", "ImageRejected", "decode_image", "sniff_format", "is_complete"]

_MAGIC = (
    (b"\xff\xd8\xff", "JPEG"),
    (b"\x89PNG\r\n\x1a\n", "PNG"),
)
_PILLOW_FORMATS = {"JPEG": ["JPEG"], "PNG": ["PNG"], "WEBP": ["WEBP"]}


@dataclass(frozen=True)
class DecodedImage:
    """An upload ready for detection; ``scale`` = analysed px per original px (<= 1)."""

    rgb: np.ndarray  # (height, width, 3) uint8, C-contiguous
    scale: float
    original_size: tuple[int, int]  # (width, height) after EXIF orientation
    format: str


def sniff_format(data: bytes) -> str | None:
    """The image format by content: "JPEG", "PNG", "WEBP" or None."""
    for magic, fmt in _MAGIC:
        if data.startswith(magic):
            return fmt
    if len(data) >= 12 and data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "WEBP"
    return None


def _jpeg_complete(data: bytes) -> bool:
    """Walk JPEG segments and entropy-coded scans; True only if EOI is reached."""
    n = len(data)
    pos = 2  # after SOI
    while pos < n:
        if data[pos] != 0xFF:
            return False
        while pos < n and data[pos] == 0xFF:  # fill bytes
            pos += 1
        if pos >= n:
            return False
        marker = data[pos]
        pos += 1
        if marker == 0xD9:  # EOI
            return True
        if marker == 0x01 or 0xD0 <= marker <= 0xD7:  # TEM, RSTn: no length
            continue
        if pos + 2 > n:
            return False
        pos += int.from_bytes(data[pos:pos + 2], "big")
        if pos > n:
            return False
        if marker == 0xDA:  # SOS: scan data runs until a marker other than RSTn
            while True:
                pos = data.find(b"\xff", pos)
                if pos < 0 or pos + 1 >= n:
                    return False
                nxt = data[pos + 1]
                if nxt == 0x00 or 0xD0 <= nxt <= 0xD7:
                    pos += 2
                elif nxt == 0xFF:
                    pos += 1
                else:
                    break
    return False


def _png_complete(data: bytes) -> bool:
    """Walk PNG chunks; True only if IEND is reached with its CRC present."""
    n = len(data)
    pos = 8
    while pos + 8 <= n:
        length = int.from_bytes(data[pos:pos + 4], "big")
        ctype = data[pos + 4:pos + 8]
        pos += 12 + length
        if pos > n:
            return False
        if ctype == b"IEND":
            return True
    return False


def _webp_complete(data: bytes) -> bool:
    return len(data) >= 8 + int.from_bytes(data[4:8], "little")


def is_complete(data: bytes, fmt: str) -> bool:
    """Whether the file's own structure says all of it arrived."""
    check = {"JPEG": _jpeg_complete, "PNG": _png_complete, "WEBP": _webp_complete}[fmt]
    return check(data)


def _to_rgb(im: Image.Image) -> Image.Image:
    if im.mode == "RGB":
        return im
    if im.mode in ("I;16", "I;16B", "I;16L", "I", "F"):
        arr = np.asarray(im, dtype=np.float64)
        peak = 65535.0 if im.mode.startswith("I;16") or arr.max() > 255 else 255.0
        im = Image.fromarray(np.clip(arr * (255.0 / peak), 0, 255).astype(np.uint8), "L")
    if im.mode == "P":
        im = im.convert("RGBA" if "transparency" in im.info else "RGB")
    if im.mode in ("RGBA", "LA", "PA", "RGBa", "La"):
        rgba = im.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(background, rgba).convert("RGB")
    return im.convert("RGB")


def decode_image(data: bytes, limits: ImageLimits | None = None) -> DecodedImage:
    """Decode ``data`` under ``limits``; raise :class:`ImageRejected` if it must be refused."""
    limits = limits or ImageLimits()
    if not data:
        raise ImageRejected("empty")
    if len(data) > limits.max_bytes:
        raise ImageRejected("too_large", max_mb=_fmt_mb(limits.max_bytes))
    fmt = sniff_format(data)
    if fmt is None or fmt not in limits.formats:
        raise ImageRejected("bad_type")
    if not is_complete(data, fmt):
        raise ImageRejected("truncated")
    max_mp = f"{limits.max_pixels / 1e6:g}"
    try:
        im = Image.open(io.BytesIO(data), formats=_PILLOW_FORMATS[fmt])
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        # the warning is raised, not just logged, where warnings are errors
        raise ImageRejected("too_many_pixels", max_mp=max_mp) from None
    except UnidentifiedImageError:
        raise ImageRejected("bad_type") from None
    except (OSError, SyntaxError, ValueError, EOFError):
        raise ImageRejected("corrupt") from None
    with im:
        width, height = im.size
        if width <= 0 or height <= 0:
            raise ImageRejected("corrupt")
        if width * height > limits.max_pixels:
            raise ImageRejected("too_many_pixels", max_mp=max_mp)
        target = limits.detection_size
        longest = max(width, height)
        if im.format in ("JPEG", "MPO") and longest > target:
            # DCT scaling by 1/2, 1/4 or 1/8, never below the size we need
            im.draft("RGB", (-(-width * target // longest), -(-height * target // longest)))
        try:
            im.load()
        except (Image.DecompressionBombError, Image.DecompressionBombWarning):
            raise ImageRejected("too_many_pixels", max_mp=max_mp) from None
        except OSError as exc:
            code = "truncated" if "truncated" in str(exc) else "corrupt"
            raise ImageRejected(code) from None
        except (SyntaxError, ValueError, EOFError):
            raise ImageRejected("corrupt") from None
        decoded_size = im.size
        try:
            oriented = ImageOps.exif_transpose(im)
        except Exception:  # malformed EXIF must not make a usable photo unusable
            oriented = im.copy()
        rgb = _to_rgb(oriented)  # never ``im`` itself, which closes with this block
    # original size after orientation; draft may have decoded at 1/2..1/8 already
    swapped = rgb.size != decoded_size
    original = (height, width) if swapped else (width, height)
    longest_now = max(rgb.size)
    if longest_now > target:
        ratio = target / longest_now
        new_size = (max(1, round(rgb.width * ratio)), max(1, round(rgb.height * ratio)))
        rgb = rgb.resize(new_size, Image.Resampling.BILINEAR, reducing_gap=2.0)
    scale = rgb.width / original[0]
    return DecodedImage(np.ascontiguousarray(np.asarray(rgb)), scale, original, fmt)


def _fmt_mb(n: int) -> str:
    return f"{n / (1024 * 1024):g}"
