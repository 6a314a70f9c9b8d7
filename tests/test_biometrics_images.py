"""Decoding uploads under limits: what a citizen's phone may send, and what gets refused.

All images here are generated in memory or tmp_path; none needs the shared photos.
"""

from __future__ import annotations

import io
import struct
import time
import zlib

import numpy as np
import pytest
from faces_support import REPO  # noqa: F401  (puts the repo on sys.path)
from PIL import Image, ImageFile

from biometrics.config import ImageLimits
from biometrics.errors import ImageRejected
from biometrics.images import decode_image, is_complete, sniff_format


def _noise(w=320, h=240, mode="RGB", seed=0) -> Image.Image:
    rng = np.random.default_rng(seed)
    return Image.fromarray(rng.integers(0, 255, (h, w, 3), dtype=np.uint8), "RGB").convert(mode)


def _save(im: Image.Image, fmt: str, **kw) -> bytes:
    buf = io.BytesIO()
    im.save(buf, fmt, **kw)
    return buf.getvalue()


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def _png_declaring(width: int, height: int) -> bytes:
    """A tiny, complete PNG whose header claims ``width`` x ``height`` RGB pixels."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    idat = zlib.compress(b"\x00" * 64)
    return b"\x89PNG\r\n\x1a\n" + _png_chunk(b"IHDR", ihdr) + _png_chunk(b"IDAT", idat) + _png_chunk(b"IEND", b"")


def _code(data: bytes, limits: ImageLimits | None = None) -> str:
    with pytest.raises(ImageRejected) as info:
        decode_image(data, limits)
    assert info.value.message  # every refusal tells the citizen something
    return info.value.code


@pytest.fixture
def no_decoding(monkeypatch):
    """Fail the test if any pixel data is decoded."""

    def forbidden(self, *a, **k):
        raise AssertionError("pixel data was decoded")

    monkeypatch.setattr(ImageFile.ImageFile, "load", forbidden)
    monkeypatch.setattr(Image.Image, "load", forbidden)


def test_empty_upload_is_refused_as_empty():
    assert _code(b"") == "empty"


def test_oversized_upload_is_refused_before_decoding_with_the_limit_in_the_message(no_decoding):
    data = b"\xff\xd8\xff\xe0" + b"\x00" * (2 * 1024 * 1024)
    with pytest.raises(ImageRejected) as info:
        decode_image(data)
    assert info.value.code == "too_large"
    assert "Foto terlalu besar (maks. 2 MB)" in info.value.message


def test_byte_limit_is_configurable():
    jpeg = _save(_noise(), "JPEG")
    assert _code(jpeg, ImageLimits(max_bytes=len(jpeg) - 1)) == "too_large"
    assert decode_image(jpeg, ImageLimits(max_bytes=len(jpeg))).rgb.shape == (240, 320, 3)


@pytest.mark.parametrize(
    "data",
    [
        _save(_noise(), "GIF"),
        _save(_noise(), "BMP"),
        _save(_noise(), "TIFF"),
        b'<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><rect/></svg>',
        b"Ini bukan foto, hanya teks yang diberi nama selfie.jpg\n",
        b"\x00\x00\x00\x18ftypheic" + b"\x00" * 100,  # iPhone HEIC
    ],
    ids=["gif", "bmp", "tiff", "svg", "text", "heic"],
)
def test_non_jpeg_png_webp_content_is_bad_type_whatever_the_name(data):
    assert _code(data) == "bad_type"


def test_jpeg_png_webp_are_accepted_by_content():
    im = _noise()
    for fmt in ("JPEG", "PNG", "WEBP"):
        decoded = decode_image(_save(im, fmt))
        assert decoded.format == fmt
        assert decoded.rgb.shape == (240, 320, 3) and decoded.rgb.dtype == np.uint8


@pytest.mark.parametrize("load_truncated", [False, True], ids=["pillow-default", "after-import-face_recognition"])
@pytest.mark.parametrize("keep", [0.6, 0.95])
def test_truncated_jpeg_is_refused_even_when_pillow_would_pad_it(monkeypatch, load_truncated, keep):
    # import face_recognition sets this global to True; Pillow then silently pads with grey
    monkeypatch.setattr(ImageFile, "LOAD_TRUNCATED_IMAGES", load_truncated)
    jpeg = _save(_noise(640, 480), "JPEG", quality=90)
    assert _code(jpeg[: int(len(jpeg) * keep)]) == "truncated"


def test_jpeg_missing_only_its_end_marker_is_truncated():
    jpeg = _save(_noise(), "JPEG")
    assert jpeg.endswith(b"\xff\xd9")
    assert _code(jpeg[:-2]) == "truncated"


def test_truncated_progressive_jpeg_png_and_webp_are_refused(monkeypatch):
    monkeypatch.setattr(ImageFile, "LOAD_TRUNCATED_IMAGES", True)
    for fmt, kw in (("JPEG", {"progressive": True}), ("PNG", {}), ("WEBP", {})):
        data = _save(_noise(640, 480), fmt, **kw)
        assert decode_image(data).rgb.shape[:2] == (480, 640)
        assert _code(data[: len(data) * 2 // 3]) == "truncated", fmt


def test_bytes_after_jpeg_end_marker_are_tolerated():
    # some phones append a trailer after EOI; the picture itself is complete
    jpeg = _save(_noise(), "JPEG") + b"SEFT trailer from a phone camera"
    assert decode_image(jpeg).rgb.shape == (240, 320, 3)


def test_decompression_bomb_is_refused_fast_without_decoding(no_decoding):
    bomb = _png_declaring(30000, 30000)  # 900 MP declared in a ~100-byte file
    assert len(bomb) < 200
    start = time.perf_counter()
    with pytest.raises(ImageRejected) as info:
        decode_image(bomb)
    assert time.perf_counter() - start < 0.5
    assert info.value.code == "too_many_pixels"
    assert "12 megapiksel" in info.value.message


@pytest.mark.parametrize("side", [5000, 10000], ids=["25MP-below-pillow-limit", "100MP-pillow-warns"])
def test_more_pixels_than_our_limit_refused_from_header(no_decoding, side):
    assert _code(_png_declaring(side, side)) == "too_many_pixels"


def test_pixel_limit_is_configurable():
    data = _save(_noise(400, 300), "PNG")
    assert _code(data, ImageLimits(max_pixels=400 * 300 - 1)) == "too_many_pixels"
    assert decode_image(data, ImageLimits(max_pixels=400 * 300)).rgb.shape == (300, 400, 3)


def test_exif_orientation_is_applied():
    # stored landscape, red on the left; orientation 6 = "rotate 90 deg clockwise to view"
    im = Image.new("RGB", (200, 100), (0, 0, 255))
    im.paste((255, 0, 0), (0, 0, 100, 100))
    exif = Image.Exif()
    exif[0x0112] = 6
    decoded = decode_image(_save(im, "JPEG", exif=exif.tobytes(), quality=95))
    rgb = decoded.rgb.astype(int)
    assert rgb.shape == (200, 100, 3)  # portrait, as the citizen saw it
    assert decoded.original_size == (100, 200)
    assert rgb[:90, :, 0].mean() > 200 and rgb[:90, :, 2].mean() < 60  # red now on top
    assert rgb[110:, :, 2].mean() > 200


def test_transparent_png_is_flattened_onto_white_not_black():
    im = Image.new("RGBA", (64, 64), (0, 0, 0, 0))
    im.paste((200, 10, 10, 255), (0, 0, 32, 64))
    rgb = decode_image(_save(im, "PNG")).rgb
    assert rgb.shape == (64, 64, 3)
    assert (rgb[:, 40:] == 255).all()
    assert tuple(rgb[10, 10]) == (200, 10, 10)


@pytest.mark.parametrize("mode", ["L", "CMYK", "P", "LA", "I;16"])
def test_other_colour_modes_become_rgb(mode):
    if mode == "I;16":
        im = Image.fromarray(np.full((30, 40), 65535, dtype=np.uint16))
        assert im.mode == "I;16"
    else:
        im = _noise(40, 30).convert(mode)
    fmt = "JPEG" if mode == "CMYK" else "PNG"
    rgb = decode_image(_save(im, fmt)).rgb
    assert rgb.shape == (30, 40, 3) and rgb.dtype == np.uint8
    if mode == "I;16":
        assert (rgb == 255).all()


def test_large_photo_is_shrunk_to_detection_size_and_scale_reported():
    decoded = decode_image(_save(_noise(1600, 1200), "JPEG"))
    assert decoded.rgb.shape == (480, 640, 3)
    assert decoded.original_size == (1600, 1200)
    assert decoded.scale == pytest.approx(0.4)
    small = decode_image(_save(_noise(1600, 1200), "JPEG"), ImageLimits(detection_size=480))
    assert max(small.rgb.shape) == 480


def test_sniff_and_completeness_helpers():
    assert sniff_format(b"GIF89a....") is None
    assert sniff_format(b"RIFF\x00\x00\x00\x00WEBPVP8 ") == "WEBP"
    png = _save(_noise(), "PNG")
    assert is_complete(png, "PNG") and not is_complete(png[:-12], "PNG")


def test_decoding_writes_nothing_to_disk(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    decode_image(_save(_noise(), "JPEG"))
    assert list(tmp_path.iterdir()) == []
