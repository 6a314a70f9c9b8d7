"""Why a photo was refused, as a stable code plus a message a citizen can act on.

The web layer shows ``message`` as-is (Bahasa Indonesia, tells the citizen what
to do next) and logs/branches on ``code`` (stable English identifiers).  Every
refusal in this package is a :class:`BiometricRejected`, so one ``except``
clause covers both undecodable images and faces of poor quality.
"""

from __future__ import annotations

MESSAGES: dict[str, str] = {
    # image decoding (biometrics.images)
    "empty": "Foto kosong atau tidak terkirim. Silakan ambil foto lagi.",
    "too_large": "Foto terlalu besar (maks. {max_mb} MB). Coba ambil ulang dengan resolusi lebih kecil.",
    "too_many_pixels": (
        "Resolusi foto terlalu tinggi ({mp} megapiksel, maks. {max_mp} megapiksel untuk foto {format}). "
        "Kecilkan foto atau ambil ulang dengan resolusi lebih kecil, lalu kirim lagi."
    ),
    "bad_type": "Format foto tidak didukung. Gunakan foto JPEG, PNG, atau WebP dari kamera.",
    "truncated": "Foto tidak terkirim dengan lengkap. Periksa sinyal lalu kirim ulang.",
    "corrupt": "Foto rusak dan tidak dapat dibaca. Silakan ambil foto lagi.",
    "busy": "Server sedang sibuk memeriksa foto lain. Tunggu sebentar, lalu kirim foto lagi.",
    # face quality (biometrics.quality)
    "no_face": (
        "Wajah tidak terlihat. Pastikan wajah Anda menghadap kamera, tidak tertutup, "
        "dan cahaya cukup."
    ),
    "multiple_faces": (
        "Terdeteksi lebih dari satu wajah. Pastikan hanya wajah Anda yang ada di foto."
    ),
    "face_too_small": "Wajah terlalu kecil atau terlalu jauh. Dekatkan wajah ke kamera.",
    "face_cut_off": "Wajah terpotong di tepi foto. Posisikan seluruh wajah di tengah bingkai.",
    "too_dark": "Foto terlalu gelap. Cari tempat yang lebih terang atau hadap ke arah cahaya.",
    "too_bright": (
        "Foto terlalu terang. Hindari cahaya langsung ke kamera atau sinar matahari di wajah."
    ),
    "too_blurry": "Foto buram. Pegang ponsel dengan stabil dan bersihkan lensa kamera.",
    # liveness (biometrics.liveness)
    "wrong_frame_count": "Jumlah foto tidak sesuai dengan tantangan. Silakan ulangi pemeriksaan.",
    "identical_frames": (
        "Foto-foto yang dikirim sama persis. Ikuti arahan gerakan kepala langsung di depan kamera."
    ),
    "wrong_pose": "Foto ke-{frame} tidak sesuai arahan ({expected}). Ulangi dengan urutan: {sequence}.",
    "different_person": (
        "Wajah pada foto-foto tidak sama. Pastikan hanya Anda yang berada di depan kamera."
    ),
    # presentation-attack detection (biometrics.pad): refused
    "flat_face": (
        "Foto tidak menunjukkan kepala yang benar-benar menoleh. Jangan gunakan foto atau layar; "
        "tolehkan kepala Anda sendiri di depan kamera sesuai arahan, lalu ulangi."
    ),
    # presentation-attack detection: sent to an officer (LivenessResult.review)
    "pad_parallax": (
        "Gerakan kepala pada foto kurang jelas untuk dipastikan. Data Anda akan diperiksa petugas; "
        "datang ke MPP dengan membawa KTP-el."
    ),
    "pad_colour": (
        "Warna layar tidak terlihat pada wajah Anda (mungkin karena cahaya terlalu terang). "
        "Data Anda akan diperiksa petugas; datang ke MPP dengan membawa KTP-el."
    ),
    "pad_screen": (
        "Foto tampak seperti diambil dari layar lain. Data Anda akan diperiksa petugas; "
        "datang ke MPP dengan membawa KTP-el."
    ),
    "pad_print": (
        "Foto tampak seperti foto cetak. Data Anda akan diperiksa petugas; "
        "datang ke MPP dengan membawa KTP-el."
    ),
}

# Liveness outcomes that send the citizen to an officer instead of refusing (LivenessResult.review).
REVIEW_CODES = frozenset({"pad_parallax", "pad_colour", "pad_screen", "pad_print"})


class _Defaults(dict):
    """Message fields left out by a caller read as the default limits, never as a KeyError."""

    FALLBACK = {"max_mb": "2", "max_mp": "12", "mp": "terlalu banyak", "format": "ini", "frame": "?",
                "expected": "?", "sequence": "?"}

    def __missing__(self, key: str) -> str:
        return self.FALLBACK.get(key, "?")


class BiometricRejected(ValueError):
    """A photo that cannot be used; ``code`` for programs, ``message`` for citizens."""

    def __init__(self, code: str, message: str | None = None, **details: object):
        self.code = code
        self.details = details
        if message is None:
            template = MESSAGES.get(code, "Foto tidak dapat diproses.")
            message = template.format_map(_Defaults(details))
        self.message = message
        super().__init__(code, message)

    def __str__(self) -> str:
        return f"{self.code}: {self.message}"


class ImageRejected(BiometricRejected):
    """The bytes are not an acceptable image (size, type, truncation, pixels)."""


class QualityRejected(BiometricRejected):
    """The image decoded, but the face in it is unusable (none, several, dark, blurry...)."""
