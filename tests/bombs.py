"""Image decode bombs within limits: small, valid files that declare many pixels.

Built from bytes (no full-size image in the test process); the PNGs decode
correctly (blank pixels), the WebP and GIF only declare their size.
"""

from __future__ import annotations

import io
import struct
import zlib

# the finding: a 4.9 KB 1-bit PNG of 6300 x 6300 (39.7 MP, under Pillow's own 89 MP limit)
SIDE = 6300

_PNG_KINDS = {  # kind -> (bit depth, colour type, bits per pixel, PLTE)
    "1bit": (1, 0, 1, b""),
    "palette": (1, 3, 1, b"\x00\x00\x00\xff\xff\xff"),
    "grey": (8, 0, 8, b""),
    "rgb": (8, 2, 24, b""),
    "rgba": (8, 6, 32, b""),
}


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def png(width: int = SIDE, height: int = SIDE, kind: str = "1bit") -> bytes:
    """A complete, decodable PNG of ``width`` x ``height`` blank pixels."""
    depth, colour, bits, palette = _PNG_KINDS[kind]
    row = b"\x00" * (1 + (width * bits + 7) // 8)  # filter byte + packed pixels
    compressor = zlib.compressobj(9)
    body = b"".join(compressor.compress(row) for _ in range(height)) + compressor.flush()
    ihdr = struct.pack(">IIBBBBB", width, height, depth, colour, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", ihdr) + (_chunk(b"PLTE", palette) if palette else b"")
            + _chunk(b"IDAT", body) + _chunk(b"IEND", b""))


def jpeg(width: int = SIDE, height: int = SIDE, progressive: bool = False, mode: str = "L") -> bytes:
    """A real JPEG (made with Pillow: ``width`` x ``height`` bytes in this process for a moment)."""
    from PIL import Image

    out = io.BytesIO()
    Image.new(mode, (width, height), 0).save(out, "JPEG", quality=30, progressive=progressive,
                                            **({"subsampling": 0} if mode == "RGB" else {}))
    return out.getvalue()


def webp_declaring(width: int = SIDE, height: int = SIDE) -> bytes:
    """A complete RIFF whose VP8X header declares ``width`` x ``height`` (libwebp sizes its canvases by it)."""
    vp8x = bytes([0, 0, 0, 0]) + (width - 1).to_bytes(3, "little") + (height - 1).to_bytes(3, "little")
    body = b"WEBP" + b"VP8X" + struct.pack("<I", len(vp8x)) + vp8x
    return b"RIFF" + struct.pack("<I", len(body)) + body


def gif_declaring(width: int = SIDE, height: int = SIDE) -> bytes:
    """A GIF header declaring ``width`` x ``height`` (the format itself is not accepted)."""
    return b"GIF89a" + struct.pack("<HHBBB", width, height, 0, 0, 0) + b"\x3b"


def png_with_text(chunks: int = 70, width: int = 100, height: int = 100) -> bytes:
    """A small PNG carrying ``chunks`` zTXt chunks of 1 MB each once inflated (about 1 KB each on the wire)."""
    base = png(width, height, "rgb")
    text = b"".join(_chunk(b"zTXt", b"k%d\x00\x00" % i + zlib.compress(b"a" * (1024 * 1024 - 1), 9))
                    for i in range(chunks))
    after_ihdr = 8 + 25
    return base[:after_ihdr] + text + base[after_ihdr:]
