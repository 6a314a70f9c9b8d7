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


# --- decode bombs within limits: what a decode holds in memory, not only the bytes sent -----------------

import json  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import threading  # noqa: E402
from pathlib import Path  # noqa: E402

import bombs  # noqa: E402

from biometrics import images  # noqa: E402


@pytest.mark.parametrize("data", [bombs.png(kind="1bit"), bombs.png(kind="palette"), bombs.webp_declaring()],
                         ids=["1bit-png", "palette-png", "webp"])
def test_a_tiny_file_declaring_40_megapixels_is_refused_unread_with_what_to_do(no_decoding, data):
    # the finding: 4.9 KB, 6300 x 6300, under Pillow's own 89 MP limit, used to be decoded in full
    assert len(data) < 5000
    with pytest.raises(ImageRejected) as info:
        decode_image(data)
    assert info.value.code == "too_many_pixels"
    message = info.value.message
    assert "39,7 megapiksel" in message and "maks. 12 megapiksel" in message
    assert "Kecilkan foto" in message and "kirim lagi" in message


@pytest.fixture(scope="module")
def huge_jpeg() -> bytes:
    return bombs.jpeg()  # made before no_decoding (module fixtures come first)


def test_a_huge_jpeg_is_refused_from_its_header(huge_jpeg, no_decoding):
    assert _code(huge_jpeg) == "too_many_pixels"


def test_a_huge_gif_is_refused_as_a_format_we_do_not_take(no_decoding):
    assert _code(bombs.gif_declaring(65000, 65000)) == "bad_type"


def test_formats_decoded_at_full_size_get_a_smaller_limit_than_a_phone_jpeg():
    # WebP and progressive JPEG hold far more memory per pixel than a baseline JPEG decoded at 1/4 scale
    im = _noise(1800, 1000)
    with pytest.raises(ImageRejected) as info:
        decode_image(_save(im, "WEBP"))
    assert info.value.code == "too_many_pixels"
    assert "1,8 megapiksel, maks. 1,5 megapiksel untuk foto WebP" in info.value.message
    assert _code(bombs.jpeg(2400, 2000, progressive=True, mode="RGB")) == "too_many_pixels"
    assert decode_image(bombs.jpeg(2400, 2000, mode="RGB")).rgb.shape == (533, 640, 3)  # baseline: fine
    assert decode_image(bombs.png(3000, 2000, "1bit")).rgb.shape == (427, 640, 3)  # 1 byte a pixel: fine


def test_text_chunks_of_a_png_are_not_inflated():
    # 70 zTXt chunks of 1 MB each in a 74 KB file: Pillow would inflate and keep up to 64 MB of "text"
    decoded = decode_image(bombs.png_with_text())
    assert decoded.rgb.shape == (100, 100, 3)


def test_decode_budget_is_configurable():
    data = bombs.png(1000, 1000, "rgb")  # 4 MB decoded
    assert _code(data, ImageLimits(decode_budget=4_000_000 - 1)) == "too_many_pixels"
    assert decode_image(data, ImageLimits(decode_budget=4_000_000)).rgb.shape == (640, 640, 3)


@pytest.mark.parametrize("mode", ["RGBA", "P", "L", "I;16"])
def test_large_images_are_shrunk_in_strips_as_one_whole_resize_would(mode):
    rng = np.random.default_rng(3)
    if mode == "I;16":
        im = Image.fromarray(rng.integers(0, 65535, (1500, 2100), dtype=np.uint16))
    else:
        im = Image.fromarray(rng.integers(0, 255, (1500, 2100, 4), dtype=np.uint8), "RGBA").convert(mode)
    whole = images._to_rgb(im, images._peak(im)).resize((640, 457), Image.Resampling.BILINEAR)
    stripped = images._shrink(im, 640, Image.Resampling.BILINEAR)
    assert stripped.size == whole.size
    assert np.abs(np.asarray(stripped, dtype=int) - np.asarray(whole, dtype=int)).max() <= 1


def test_exif_orientation_is_applied_after_shrinking_a_large_image():
    im = Image.new("L", (2400, 1200), 0)
    im.paste(255, (0, 0, 1200, 1200))  # white on the left
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 deg clockwise to view: white on top
    decoded = decode_image(_save(im, "JPEG", exif=exif.tobytes(), quality=95))
    assert decoded.rgb.shape == (640, 320, 3) and decoded.original_size == (1200, 2400)
    assert decoded.rgb[:300].mean() > 240 and decoded.rgb[340:].mean() < 15


def test_at_most_two_images_are_decoded_at_once(monkeypatch):
    inside, peak, lock, go = [0], [0], threading.Lock(), threading.Event()
    load = ImageFile.ImageFile.load

    def counting_load(self):
        with lock:
            inside[0] += 1
            peak[0] = max(peak[0], inside[0])
        go.wait(10)
        try:
            return load(self)
        finally:
            with lock:
                inside[0] -= 1

    monkeypatch.setattr(ImageFile.ImageFile, "load", counting_load)
    data = _save(_noise(), "PNG")
    results = []
    threads = [threading.Thread(target=lambda: results.append(decode_image(data))) for _ in range(5)]
    for t in threads:
        t.start()
    for _ in range(200):  # until two decodes are inside (the others wait for a slot)
        if inside[0] >= images.DECODE_SLOTS:
            break
        threading.Event().wait(0.01)
    threading.Event().wait(0.1)  # a third one would have come in by now
    go.set()
    for t in threads:
        t.join()
    assert images.DECODE_SLOTS == 2 and peak[0] == 2
    assert len(results) == 5


def test_a_decode_that_cannot_get_a_slot_asks_to_send_again(monkeypatch):
    monkeypatch.setattr(images, "DECODE_WAIT_S", 0.01)
    for _ in range(images.DECODE_SLOTS):
        images._decode_slots.acquire()
    try:
        with pytest.raises(ImageRejected) as info:
            decode_image(_save(_noise(), "JPEG"))
    finally:
        for _ in range(images.DECODE_SLOTS):
            images._decode_slots.release()
    assert info.value.code == "busy" and "kirim foto lagi" in info.value.message
    assert decode_image(_save(_noise(), "JPEG")).rgb.shape == (240, 320, 3)  # slots given back


# Peak memory of one decode, measured in a fresh process: its VmHWM is reset to the current RSS
# (/proc/self/clear_refs) once the modules are loaded and a small image was decoded, then the file
# goes through the same function the app calls (berkas.check for documents, decode_image for faces).
_CHILD = r"""
import json, sys
from pathlib import Path
from biometrics.errors import ImageRejected
from biometrics.images import decode_image
from services import berkas

kind, path = sys.argv[1], sys.argv[2]

def run(data):
    try:
        berkas.check("pindaian.png", data) if kind == "dokumen" else decode_image(data)
        return "diterima"
    except (berkas.FileRejected, ImageRejected) as e:
        return "ditolak: " + e.message

def kb(field):
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])

sys.path.insert(0, "tests")
import bombs
run(bombs.png(64, 64, "rgba"))
data = Path(path).read_bytes()
try:
    Path("/proc/self/clear_refs").write_text("5")
    base = kb("VmRSS")
except OSError:
    base = kb("VmHWM")
outcome = run(data)
print(json.dumps({"outcome": outcome, "added_mb": (kb("VmHWM") - base) / 1024}))
"""

MEMORY_CASES = [  # (what, file, refused?, MB the decode may add)
    ("dokumen", "bom-1bit-6300.png", True, 60),
    ("dokumen", "bom-palet-6300.png", True, 60),
    ("wajah", "bom-1bit-6300.png", True, 60),
    ("wajah", "bom-palet-6300.png", True, 60),
    ("dokumen", "1bit-13mp.png", False, 60),     # at the pixel limit: accepted, 1 byte a pixel
    ("dokumen", "rgb-12mp.png", False, 100),     # at the decode budget (48 MB) + the 1600 px copy and its JPEG
    ("wajah", "rgb-6mp.png", False, 50),         # at the face decode budget (24 MB)
    ("dokumen", "teks-70x1mb.png", False, 20),   # 74 KB of zTXt chunks that inflate to 70 MB
]
MEMORY_FILES = {
    "bom-1bit-6300.png": lambda: bombs.png(kind="1bit"),
    "bom-palet-6300.png": lambda: bombs.png(kind="palette"),
    "1bit-13mp.png": lambda: bombs.png(4160, 3120, "1bit"),
    "rgb-12mp.png": lambda: bombs.png(4000, 3000, "rgb"),
    "rgb-6mp.png": lambda: bombs.png(3000, 2000, "rgb"),
    "teks-70x1mb.png": lambda: bombs.png_with_text(),
}


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="peak memory is read from Linux /proc")
@pytest.mark.parametrize("what, name, refused, budget_mb", MEMORY_CASES,
                         ids=[f"{c[0]}-{c[1]}" for c in MEMORY_CASES])
def test_peak_memory_of_one_decode_stays_small(tmp_path, what, name, refused, budget_mb):
    path = tmp_path / name
    path.write_bytes(MEMORY_FILES[name]())
    repo = Path(__file__).resolve().parent.parent
    done = subprocess.run([sys.executable, "-c", _CHILD, what, str(path)], cwd=repo, capture_output=True,
                          text=True, timeout=120, env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(repo)})
    assert done.returncode == 0, done.stderr[-2000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    print(f"rss_decode_{what}_{name}={result['added_mb']:.1f} MB ({result['outcome'][:60]})")
    assert result["outcome"].startswith("ditolak" if refused else "diterima"), result["outcome"]
    if refused:
        assert "Resolusi foto terlalu tinggi (39,7 megapiksel" in result["outcome"]
    assert result["added_mb"] < budget_mb
