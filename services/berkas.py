"""Checking an uploaded requirement document (scan, photo or PDF) before it is kept.

Limits are checked before anything is decoded: size, type by content (never by
name), completeness (a truncated upload is refused, not half-stored), and from the
header the pixel count and the memory its decoder would hold (a decompression bomb
is refused unread; see :mod:`biometrics.images`, which faces use too). Images are
then decoded at reduced scale and re-encoded to at most 1600 px JPEG, which also
drops EXIF data such as the GPS position a phone writes into photos.
"""

from __future__ import annotations

import hashlib
import io
from dataclasses import dataclass

from PIL import Image

from biometrics.errors import ImageRejected
from biometrics.images import decode_reduced, is_complete, sniff_format

MAX_IMAGE_BYTES = 8 * 1024 * 1024
MAX_PDF_BYTES = 5 * 1024 * 1024
# A phone camera's "12 MP" photo (4000 x 3000 to 4080 x 3072, up to 12.6 MP) or an A4 page scanned
# at 300 dpi (2480 x 3508 = 8.7 MP) is more than a 1600 px copy needs; above that is only cost.
MAX_PIXELS = 13_000_000
# Bytes the decoder of one document may hold: a baseline JPEG up to MAX_PIXELS, a PNG up to 12 MP
# (colour) or MAX_PIXELS (grey, palette, 1-bit), a progressive JPEG up to ~5-7 MP, a WebP up to 3 MP.
# One such decode peaks at ~60 MB, two at once (biometrics.images.DECODE_SLOTS) ~120 MB, where a
# 5 KB PNG of 6300 x 6300 alone used to take 240 MB.
DECODE_BUDGET = 48_000_000
STORE_SIDE = 1600
CORRUPT = "Foto rusak dan tidak dapat dibaca. Silakan ambil foto lagi."


@dataclass
class CheckedFile:
    name: str
    content_type: str
    data: bytes
    sha256: str


class FileRejected(ValueError):
    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


def check(name: str, data: bytes) -> CheckedFile:
    if not data:
        raise FileRejected("Berkas kosong atau tidak terkirim. Pilih berkas lalu kirim lagi.")
    if data[:5] == b"%PDF-":
        return _pdf(name, data)
    fmt = sniff_format(data)
    if fmt is None:
        raise FileRejected("Jenis berkas tidak didukung. Kirim foto/pindaian JPG, PNG, WebP, atau PDF.")
    if len(data) > MAX_IMAGE_BYTES:
        raise FileRejected(f"Foto terlalu besar (maks. {MAX_IMAGE_BYTES // 1024 // 1024} MB).")
    if not is_complete(data, fmt):
        raise FileRejected("Berkas tidak terkirim dengan lengkap. Periksa sinyal lalu kirim ulang.")
    try:
        reduced = decode_reduced(data, fmt, max_pixels=MAX_PIXELS, decode_budget=DECODE_BUDGET,
                                 target=STORE_SIDE, resample=Image.Resampling.BICUBIC)
        out = io.BytesIO()
        reduced.image.save(out, "JPEG", quality=80, optimize=True)
    except ImageRejected as e:
        raise FileRejected(_refusal(e)) from None
    except Exception:
        raise FileRejected(CORRUPT) from None
    stored = out.getvalue()
    return CheckedFile(_safe_name(name, ".jpg"), "image/jpeg", stored, hashlib.sha256(stored).hexdigest())


def _refusal(e: ImageRejected) -> str:
    if e.code == "too_many_pixels":
        d = e.details
        return (f"Resolusi foto terlalu tinggi ({d.get('mp')} megapiksel, maks. {d.get('max_mp')} megapiksel untuk "
                f"berkas {d.get('format')}). Kecilkan foto, atau pindai ulang dengan resolusi lebih rendah (200 dpi "
                "sudah cukup), lalu kirim lagi.")
    if e.code == "busy":
        return "Server sedang sibuk memeriksa berkas lain. Tunggu sebentar, lalu kirim berkas ini lagi."
    if e.code == "truncated":
        return "Berkas tidak terkirim dengan lengkap. Periksa sinyal lalu kirim ulang."
    return CORRUPT


def _pdf(name: str, data: bytes) -> CheckedFile:
    if len(data) > MAX_PDF_BYTES:
        raise FileRejected(f"PDF terlalu besar (maks. {MAX_PDF_BYTES // 1024 // 1024} MB).")
    if b"%%EOF" not in data[-2048:]:
        raise FileRejected("PDF tidak terkirim dengan lengkap. Periksa sinyal lalu kirim ulang.")
    return CheckedFile(_safe_name(name, ".pdf"), "application/pdf", data, hashlib.sha256(data).hexdigest())


def _safe_name(name: str, ext: str) -> str:
    stem = "".join(c for c in (name or "berkas").rsplit(".", 1)[0] if c.isalnum() or c in "-_ ")[:60].strip()
    return (stem or "berkas") + ext
