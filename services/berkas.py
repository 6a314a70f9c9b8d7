"""Checking an uploaded requirement document (scan, photo or PDF) before it is kept.

Limits are checked before anything is decoded: size, type by content (never by
name), pixel count from the header (a decompression bomb is refused unread), and
completeness (a truncated upload is refused, not half-stored). Images are then
re-encoded to at most 1600 px JPEG, which also drops EXIF data such as the GPS
position a phone writes into photos.
"""

from __future__ import annotations

import hashlib
import io
from dataclasses import dataclass

from PIL import Image, ImageOps

from biometrics.images import is_complete, sniff_format

MAX_IMAGE_BYTES = 8 * 1024 * 1024
MAX_PDF_BYTES = 5 * 1024 * 1024
MAX_PIXELS = 40_000_000
STORE_SIDE = 1600


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
        with Image.open(io.BytesIO(data)) as im:
            if im.width * im.height > MAX_PIXELS:
                raise FileRejected("Resolusi foto terlalu tinggi. Kirim foto dengan resolusi lebih kecil.")
            im = ImageOps.exif_transpose(im).convert("RGB")
            im.thumbnail((STORE_SIDE, STORE_SIDE))
            out = io.BytesIO()
            im.save(out, "JPEG", quality=80, optimize=True)
    except FileRejected:
        raise
    except Image.DecompressionBombError:  # Pillow refuses far-too-large headers itself, before decoding
        raise FileRejected("Resolusi foto terlalu tinggi. Kirim foto dengan resolusi lebih kecil.") from None
    except Exception:
        raise FileRejected("Foto rusak dan tidak dapat dibaca. Silakan ambil foto lagi.") from None
    stored = out.getvalue()
    return CheckedFile(_safe_name(name, ".jpg"), "image/jpeg", stored, hashlib.sha256(stored).hexdigest())


def _pdf(name: str, data: bytes) -> CheckedFile:
    if len(data) > MAX_PDF_BYTES:
        raise FileRejected(f"PDF terlalu besar (maks. {MAX_PDF_BYTES // 1024 // 1024} MB).")
    if b"%%EOF" not in data[-2048:]:
        raise FileRejected("PDF tidak terkirim dengan lengkap. Periksa sinyal lalu kirim ulang.")
    return CheckedFile(_safe_name(name, ".pdf"), "application/pdf", data, hashlib.sha256(data).hexdigest())


def _safe_name(name: str, ext: str) -> str:
    stem = "".join(c for c in (name or "berkas").rsplit(".", 1)[0] if c.isalnum() or c in "-_ ")[:60].strip()
    return (stem or "berkas") + ext
