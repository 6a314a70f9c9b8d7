"""Turn uploaded bytes into a small RGB image, refusing anything unsafe or unusable.

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
4. ``too_many_pixels`` from the header, before any pixel is decoded, twice:
   the pixel count against ``max_pixels`` (faces 12 MP, documents 13 MP), then the memory the
   decoder of *this* file would hold against ``decode_budget``.  Pillow's own
   ``Image.MAX_IMAGE_PIXELS`` (89 MP) is far too high for a 512 MB machine
   and we leave that global alone; if its ``DecompressionBombError`` (or its
   warning, where warnings are errors) fires first, it maps to the same code.

What a decoder holds is what an attacker aims at, not the bytes sent: a 5 KB
1-bit PNG of 6300x6300 (39.7 MP, under Pillow's limit) used to take 240 MB
to decode, convert and shrink, and four at once took a server past 1 GB.
Measured per pixel of the header (``_decode_cost``): PNG holds its decoded
image (1 byte a pixel for 1-bit, grey and palette, 2 for 16-bit grey, 4 for
the rest); WebP about 16 (libwebp's two canvases, the frame bytes handed to
Pillow, the image); a baseline JPEG only its output, because ``Image.draft``
decodes it at 1/2, 1/4 or 1/8 scale (DCT scaling, also what makes a 12 MP
photo cost a few milliseconds); a progressive JPEG also every DCT coefficient
of the full image (2 bytes per sample).

A PNG's text and colour-profile chunks (``tEXt``, ``zTXt``, ``iTXt``, ``iCCP``)
are dropped before Pillow reads them: compressed ones inflate to 1 MB each and
Pillow keeps up to 64 MB of them.

Decoding then never copies the full-size image: it is converted to RGB
(transparency flattened onto white, CMYK/L/P/16-bit mapped) and shrunk in
horizontal strips straight into the final size, and only the small result is
turned by its EXIF orientation.  At most ``DECODE_SLOTS`` decodes run at
once per process (faces and documents share them), so a burst of uploads
queues instead of multiplying the peak.  Nothing is written to disk: bytes
in, image out.
"""

from __future__ import annotations

import io
import math
import threading
from dataclasses import dataclass

import numpy as np
from PIL import Image, UnidentifiedImageError

from .config import ImageLimits
from .errors import ImageRejected

__all__ = ["DecodedImage", "ImageRejected", "Reduced", "decode_image", "decode_reduced", "sniff_format",
           "is_complete"]

_MAGIC = (
    (b"\xff\xd8\xff", "JPEG"),
    (b"\x89PNG\r\n\x1a\n", "PNG"),
)
_PILLOW_FORMATS = {"JPEG": ["JPEG"], "PNG": ["PNG"], "WEBP": ["WEBP"]}
_NAMES = {"JPEG": "JPEG", "PNG": "PNG", "WEBP": "WebP"}  # as a citizen knows them


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
    return _jpeg_walk(data)[0]


def _jpeg_scans(data: bytes) -> int:
    """How many scans (SOS segments) the JPEG has: 1 for baseline, several for progressive."""
    return _jpeg_walk(data)[1]


def _jpeg_walk(data: bytes) -> tuple[bool, int]:
    """(EOI reached, number of scans seen)."""
    n = len(data)
    pos = 2  # after SOI
    scans = 0
    while pos < n:
        if data[pos] != 0xFF:
            return False, scans
        while pos < n and data[pos] == 0xFF:  # fill bytes
            pos += 1
        if pos >= n:
            return False, scans
        marker = data[pos]
        pos += 1
        if marker == 0xD9:  # EOI
            return True, scans
        if marker == 0x01 or 0xD0 <= marker <= 0xD7:  # TEM, RSTn: no length
            continue
        if pos + 2 > n:
            return False, scans
        pos += int.from_bytes(data[pos:pos + 2], "big")
        if pos > n:
            return False, scans
        if marker == 0xDA:  # SOS: scan data runs until a marker other than RSTn
            scans += 1
            while True:
                pos = data.find(b"\xff", pos)
                if pos < 0 or pos + 1 >= n:
                    return False, scans
                nxt = data[pos + 1]
                if nxt == 0x00 or 0xD0 <= nxt <= 0xD7:
                    pos += 2
                elif nxt == 0xFF:
                    pos += 1
                else:
                    break
    return False, scans


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


# At most this many images are decoded at once in one process, faces and documents together.  The
# machine has 2 cores and decoding is CPU work, so a third decode would not finish sooner; and the
# memory an upload burst can take is bounded to DECODE_SLOTS x the largest decode budget (documents,
# 48 MB) instead of growing with every connection.  A decode waits at most DECODE_WAIT_S for a slot,
# then the citizen is asked to send again (``busy``), keeping what was already saved.
DECODE_SLOTS = 2
DECODE_WAIT_S = 30.0
_decode_slots = threading.BoundedSemaphore(DECODE_SLOTS)

STRIP_PIXELS = 1 << 19  # source pixels converted at a time while shrinking (~2 MB as RGB)
_PLAIN_PIXELS = 2_000_000  # an RGB image this small is shrunk whole, as before strips existed
_WEBP_BYTES_PER_PIXEL = 16  # measured: 9 MP took 145 MB to decode (libwebp's canvases + frame bytes + image)
_STORAGE_BYTES = {"1": 1, "L": 1, "P": 1, "I;16": 2, "I;16B": 2, "I;16L": 2, "I;16N": 2}  # else 4 (Pillow pads RGB)
_ORIENTATION = {  # EXIF orientation -> the transpose that shows the photo as taken (as ImageOps.exif_transpose)
    2: Image.Transpose.FLIP_LEFT_RIGHT, 3: Image.Transpose.ROTATE_180, 4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE, 6: Image.Transpose.ROTATE_270, 7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}


@dataclass(frozen=True)
class Reduced:
    """An upload decoded economically: RGB, as the camera saw it, longest side at most the target."""

    image: Image.Image
    original_size: tuple[int, int]  # (width, height) after EXIF orientation
    format: str


def _declared_size(data: bytes, fmt: str) -> tuple[int, int] | None:
    """The size a PNG (IHDR) or WebP (VP8, VP8L or VP8X, first 30 bytes) declares, read before Pillow
    opens it: libwebp allocates its canvases as soon as the file is opened."""
    if fmt == "PNG":
        if data[12:16] != b"IHDR":
            return None
        return int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
    if fmt != "WEBP":
        return None
    chunk = data[12:16]
    if chunk == b"VP8 " and len(data) >= 30 and data[23:26] == b"\x9d\x01\x2a":
        return (int.from_bytes(data[26:28], "little") & 0x3FFF, int.from_bytes(data[28:30], "little") & 0x3FFF)
    if chunk == b"VP8L" and len(data) >= 25 and data[20] == 0x2F:
        bits = int.from_bytes(data[21:25], "little")
        return (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1
    if chunk == b"VP8X" and len(data) >= 30:
        return int.from_bytes(data[24:27], "little") + 1, int.from_bytes(data[27:30], "little") + 1
    return None


# PNG chunks we never use, dropped before Pillow reads them: zTXt, iTXt and iCCP inflate to 1 MB each,
# and Pillow keeps up to 64 MB of text per image (a 74 KB PNG of 70 zTXt chunks took 67 MB).
_PNG_DROPPED = frozenset({b"tEXt", b"zTXt", b"iTXt", b"iCCP"})


def _png_without_text(data: bytes) -> bytes:
    """``data`` without its text and colour-profile chunks (the same bytes if it has none)."""
    kept, pos, dropped = [data[:8]], 8, False
    while pos + 8 <= len(data):
        kind = data[pos + 4:pos + 8]
        end = pos + 12 + int.from_bytes(data[pos:pos + 4], "big")
        if kind in _PNG_DROPPED:
            dropped = True
        else:
            kept.append(data[pos:end])
        pos = end
        if kind == b"IEND":
            break
    return b"".join(kept) if dropped else data


def _mp(pixels: float) -> str:
    """Megapixels the Indonesian way: 39,7 / 12 / 0,5 (one decimal, none when whole)."""
    text = f"{pixels / 1e6:.1f}".rstrip("0").rstrip(".")
    return text.replace(".", ",")


def _too_many(pixels: int, allowed: float, fmt: str) -> ImageRejected:
    """The refusal, with the file's megapixels rounded up and the limit rounded down (never 4,8 > 4,8)."""
    return ImageRejected("too_many_pixels", mp=_mp(math.ceil(pixels / 1e5) * 1e5),
                         max_mp=_mp(max(math.floor(allowed / 1e5) * 1e5, 1e5)), format=_NAMES[fmt])


def _jpeg_sample_share(im: Image.Image) -> float:
    """Samples per pixel a JPEG codes (3 for 4:4:4 colour, 1.5 for 4:2:0, 1 for grey), from its SOF."""
    layers = getattr(im, "layer", None) or []
    sampling = [(max(1, h), max(1, v)) for _, h, v, _ in layers]
    if not sampling:
        return float(len(im.getbands()))
    h_max = max(h for h, _ in sampling)
    v_max = max(v for _, v in sampling)
    return sum(h * v for h, v in sampling) / (h_max * v_max)


def _decode_cost(im: Image.Image, fmt: str, header: tuple[int, int], scans: int) -> int:
    """Bytes the decoder holds for this file (see the module docstring); ``im`` after ``draft``."""
    pixels = header[0] * header[1]
    if fmt == "PNG":
        return pixels * _STORAGE_BYTES.get(im.mode, 4)
    if fmt == "WEBP":
        return pixels * _WEBP_BYTES_PER_PIXEL
    cost = im.width * im.height * 4  # JPEG: its output, at the draft scale
    if scans > 1:  # progressive (or non-interleaved): libjpeg buffers every coefficient, 2 bytes each
        cost += int(pixels * 2 * _jpeg_sample_share(im))
    return cost


def _peak(im: Image.Image) -> float:
    """White level of a 16/32-bit grey image (65535 unless its values fit in 8 bits), from the whole image."""
    if im.mode.startswith("I;16"):
        return 65535.0
    if im.mode in ("I", "F"):
        return 65535.0 if (im.getextrema()[1] or 0) > 255 else 255.0
    return 255.0


def _to_rgb(im: Image.Image, peak: float = 255.0) -> Image.Image:
    """RGB of ``im`` (a strip or a small image): transparency onto white, deep grey scaled by ``peak``."""
    if im.mode == "RGB":
        return im
    if im.mode in ("I;16", "I;16B", "I;16L", "I;16N", "I", "F"):
        arr = np.asarray(im, dtype=np.float64)
        im = Image.fromarray(np.clip(arr * (255.0 / peak), 0, 255).astype(np.uint8), "L")
    if im.mode == "P":
        im = im.convert("RGBA" if "transparency" in im.info else "RGB")
    if im.mode in ("RGBA", "LA", "PA", "RGBa", "La"):
        rgba = im.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(background, rgba).convert("RGB")
    return im.convert("RGB")


def _target_size(size: tuple[int, int], target: int) -> tuple[int, int]:
    width, height = size
    longest = max(width, height)
    if longest <= target:
        return size
    ratio = target / longest
    return max(1, round(width * ratio)), max(1, round(height * ratio))


def _shrink(im: Image.Image, target: int, resample: Image.Resampling) -> Image.Image:
    """``im`` as RGB with its longest side at most ``target``, without a full-size copy.

    The source is converted strip by strip (``STRIP_PIXELS`` at a time) and each strip resized
    straight into its rows of the result.  A strip carries enough rows above and below for the
    filter's reach, so the result is that of one resize of the whole converted image.
    """
    width, height = im.size
    size = _target_size(im.size, target)
    peak = _peak(im)
    out = Image.new("RGB", size)
    scale = height / size[1]
    margin = math.ceil(3 * max(1.0, scale)) + 2  # Lanczos reaches 3 source pixels per output pixel
    rows = max(1, int(STRIP_PIXELS / (width * scale)))  # output rows per strip
    for top in range(0, size[1], rows):
        bottom = min(size[1], top + rows)
        y0, y1 = top * scale, bottom * scale
        first, last = max(0, math.floor(y0) - margin), min(height, math.ceil(y1) + margin)
        strip = _to_rgb(im.crop((0, first, width, last)), peak)
        if size == im.size:
            part = strip.crop((0, top - first, width, bottom - first))
        else:
            part = strip.resize((size[0], bottom - top), resample, box=(0, y0 - first, width, y1 - first))
        out.paste(part, (0, top))
    return out


def _orientation(im: Image.Image) -> int:
    try:
        value = im.getexif().get(0x0112, 1)
    except Exception:  # malformed EXIF must not make a usable photo unusable
        return 1
    return value if value in _ORIENTATION else 1


def _open(data: bytes, fmt: str, max_pixels: int) -> Image.Image:
    try:
        return Image.open(io.BytesIO(data), formats=_PILLOW_FORMATS[fmt])
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        # Pillow's own limit, checked in open (the warning is raised where warnings are errors)
        raise ImageRejected("too_many_pixels", mp="lebih dari " + _mp(Image.MAX_IMAGE_PIXELS),
                            max_mp=_mp(max_pixels), format=_NAMES[fmt]) from None
    except UnidentifiedImageError:
        raise ImageRejected("bad_type") from None
    except (OSError, SyntaxError, ValueError, EOFError):
        raise ImageRejected("corrupt") from None


def _load(im: Image.Image) -> None:
    try:
        im.load()
    except OSError as exc:
        code = "truncated" if "truncated" in str(exc) else "corrupt"
        raise ImageRejected(code) from None
    except (SyntaxError, ValueError, EOFError, MemoryError):
        raise ImageRejected("corrupt") from None


def decode_reduced(data: bytes, fmt: str, *, max_pixels: int, decode_budget: int, target: int,
                   resample: Image.Resampling = Image.Resampling.BILINEAR) -> Reduced:
    """Decode ``data`` (of format ``fmt``, already sniffed and complete) into an RGB image whose longest
    side is at most ``target``, refusing from the header what needs more than ``max_pixels`` or more than
    ``decode_budget`` bytes of decoder memory.  Both faces and documents come through here."""
    declared = _declared_size(data, fmt)
    if declared and declared[0] * declared[1] > max_pixels:
        raise _too_many(declared[0] * declared[1], max_pixels, fmt)
    if declared and fmt == "WEBP" and declared[0] * declared[1] * _WEBP_BYTES_PER_PIXEL > decode_budget:
        raise _too_many(declared[0] * declared[1], decode_budget / _WEBP_BYTES_PER_PIXEL, fmt)
    if not _decode_slots.acquire(timeout=DECODE_WAIT_S):
        raise ImageRejected("busy")
    try:  # everything Pillow touches happens inside a slot (opening a WebP already copies it twice)
        if fmt == "PNG":
            data = _png_without_text(data)
        return _decode_in_slot(data, fmt, max_pixels, decode_budget, target, resample)
    finally:
        _decode_slots.release()


def _decode_in_slot(data: bytes, fmt: str, max_pixels: int, decode_budget: int, target: int,
                    resample: Image.Resampling) -> Reduced:
    im = _open(data, fmt, max_pixels)
    try:
        width, height = im.size
        if width <= 0 or height <= 0:
            raise ImageRejected("corrupt")
        pixels = width * height
        if pixels > max_pixels:
            raise _too_many(pixels, max_pixels, fmt)
        longest = max(width, height)
        if im.format in ("JPEG", "MPO") and longest > target:
            # DCT scaling by 1/2, 1/4 or 1/8, never below the size we need
            im.draft("RGB", (-(-width * target // longest), -(-height * target // longest)))
        cost = _decode_cost(im, fmt, (width, height), _jpeg_scans(data) if fmt == "JPEG" else 1)
        if cost > decode_budget:
            raise _too_many(pixels, min(max_pixels, pixels * decode_budget / cost), fmt)
        _load(im)
        orientation = _orientation(im)
        if im.mode == "RGB" and im.width * im.height <= _PLAIN_PIXELS:
            # small already (a phone photo after draft): turned first, then resized, exactly as before strips
            rgb = im.transpose(_ORIENTATION[orientation]) if orientation != 1 else im
            if max(rgb.size) > target:
                small = rgb.resize(_target_size(rgb.size, target), resample, reducing_gap=2.0)
            else:
                small = rgb if rgb is not im else im.copy()
        else:
            small = _shrink(im, target, resample)
            if orientation != 1:
                small = small.transpose(_ORIENTATION[orientation])
    except ImageRejected:
        raise
    except (OSError, SyntaxError, ValueError, EOFError, MemoryError):
        raise ImageRejected("corrupt") from None
    finally:
        im.close()
    swapped = orientation in (5, 6, 7, 8)
    return Reduced(small, (height, width) if swapped else (width, height), fmt)


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
    reduced = decode_reduced(data, fmt, max_pixels=limits.max_pixels, decode_budget=limits.decode_budget,
                             target=limits.detection_size)
    rgb = reduced.image
    scale = rgb.width / reduced.original_size[0]
    return DecodedImage(np.ascontiguousarray(np.asarray(rgb)), scale, reduced.original_size, fmt)


def _fmt_mb(n: int) -> str:
    return f"{n / (1024 * 1024):g}"
