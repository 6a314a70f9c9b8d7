"""Face templates at rest: AES-256-GCM, bound to the account they belong to.

A 128-d template is biometric data (UU PDP treats it as specific personal
data), and it cannot be changed like a password once leaked.  It is stored
only sealed:

    blob = b"\\x01" || nonce (12 random bytes) || AES-256-GCM(template as 512 bytes f32 LE)

with ``b"mpp-face-template-v1|" + account_id`` as associated data.  The
account id is not secret, but binding it means a blob copied onto another
account's row (by a bug or by someone with database access) does not open:
that, a flipped byte, or the wrong key all raise :class:`SealError`.  A random
96-bit nonce per seal is safe for far more templates than a registry will hold
under one key.

Keys are 32 random bytes written as unpadded URL-safe base64 in config
(``generate_key()`` prints one; ``parse_key()`` reads it back).
"""

from __future__ import annotations

import base64
import binascii
import os

import numpy as np
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from .matching import as_template

VERSION = b"\x01"
NONCE_BYTES = 12
KEY_BYTES = 32
_AAD_PREFIX = b"mpp-face-template-v1|"
_PLAIN_BYTES = 128 * 4
SEALED_BYTES = len(VERSION) + NONCE_BYTES + _PLAIN_BYTES + 16


class SealError(ValueError):
    """A sealed template could not be opened (wrong account or key, or altered)."""


def generate_key() -> str:
    """A fresh key as config text (43 characters, URL-safe base64 without padding)."""
    return base64.urlsafe_b64encode(os.urandom(KEY_BYTES)).rstrip(b"=").decode("ascii")


def parse_key(text: str) -> bytes:
    """Config text -> 32-byte key; padding optional, surrounding whitespace ignored."""
    raw = (text or "").strip()
    if not raw:
        raise ValueError("Kunci templat wajah kosong. Buat dengan: python -m biometrics genkey")
    try:
        key = base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4))
    except (binascii.Error, ValueError):
        raise ValueError("Kunci templat wajah bukan base64 URL-safe yang valid.") from None
    if len(key) != KEY_BYTES:
        raise ValueError(f"Kunci templat wajah harus {KEY_BYTES} byte, bukan {len(key)} byte.")
    return key


def _aad(account_id: str) -> bytes:
    if not isinstance(account_id, str) or not account_id:
        raise ValueError("account_id wajib diisi.")
    return _AAD_PREFIX + account_id.encode("utf-8")


def _check_key(key: bytes) -> bytes:
    if not isinstance(key, bytes | bytearray) or len(key) != KEY_BYTES:
        raise ValueError(f"Kunci harus {KEY_BYTES} byte (lihat parse_key).")
    return bytes(key)


def seal(template: np.ndarray, key: bytes, account_id: str) -> bytes:
    """Encrypt ``template`` for ``account_id``; a new random nonce every call."""
    plain = as_template(template).astype("<f4").tobytes()
    nonce = os.urandom(NONCE_BYTES)
    return VERSION + nonce + AESGCM(_check_key(key)).encrypt(nonce, plain, _aad(account_id))


def open_sealed(blob: bytes, key: bytes, account_id: str) -> np.ndarray:
    """Decrypt a :func:`seal` blob; raise :class:`SealError` unless key, account and bytes all match."""
    aes = AESGCM(_check_key(key))
    aad = _aad(account_id)
    if not isinstance(blob, bytes | bytearray) or len(blob) != SEALED_BYTES or blob[:1] != VERSION:
        raise SealError("Templat wajah tersimpan rusak atau formatnya tidak dikenal.")
    nonce, body = bytes(blob[1:1 + NONCE_BYTES]), bytes(blob[1 + NONCE_BYTES:])
    try:
        plain = aes.decrypt(nonce, body, aad)
    except InvalidTag:
        raise SealError(
            "Templat wajah tidak dapat dibuka: milik akun lain, kunci berbeda, atau data telah diubah."
        ) from None
    return np.frombuffer(plain, dtype="<f4").astype(np.float32)
