"""Electronic signatures (TTE) of issued documents: Ed25519 over a compact JSON payload.

The QR code on a document carries ``/verifikasi/<token>`` where
``token = base64url(payload_json) + "." + base64url(signature)``. The server
checks it at that URL; anyone can also check it offline with only the
published public key (``/verifikasi/kunci-publik.pem``)::

    import base64, json
    from cryptography.hazmat.primitives.serialization import load_pem_public_key
    key = load_pem_public_key(open("kunci-publik.pem", "rb").read())
    body, sig = token.split(".")
    pad = lambda s: s + "=" * (-len(s) % 4)
    key.verify(base64.urlsafe_b64decode(pad(sig)), base64.urlsafe_b64decode(pad(body)))  # raises if forged
    print(json.loads(base64.urlsafe_b64decode(pad(body))))
"""

from __future__ import annotations

import base64
import binascii
import json
import os

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

MAX_TOKEN = 2000
VERSION = 1


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def generate_signing_key() -> str:
    return _b64(os.urandom(32))


def load_signing_key(text: str) -> Ed25519PrivateKey:
    try:
        raw = _unb64((text or "").strip())
    except (binascii.Error, ValueError):
        raise ValueError("Kunci tanda tangan bukan base64 URL-safe yang valid.") from None
    if len(raw) != 32:
        raise ValueError("Kunci tanda tangan harus 32 byte (Ed25519).")
    return Ed25519PrivateKey.from_private_bytes(raw)


def _public(key) -> Ed25519PublicKey:
    return key.public_key() if isinstance(key, Ed25519PrivateKey) else key


def public_key_pem(key) -> str:
    return _public(key).public_bytes(serialization.Encoding.PEM,
                                     serialization.PublicFormat.SubjectPublicKeyInfo).decode("ascii")


def public_key_b64(key) -> str:
    return _b64(_public(key).public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw))


def sign_document(private_key: Ed25519PrivateKey, payload: dict) -> str:
    body = json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    return _b64(body) + "." + _b64(private_key.sign(body))


def verify_token(key, token: str) -> dict | None:
    """The payload when the signature is ours and intact; None for anything else (never raises)."""
    if not isinstance(token, str) or len(token) > MAX_TOKEN or token.count(".") != 1:
        return None
    body_text, sig_text = token.split(".")
    try:
        body, sig = _unb64(body_text), _unb64(sig_text)
        _public(key).verify(sig, body)
        payload = json.loads(body.decode("utf-8"))
    except (binascii.Error, ValueError, InvalidSignature, UnicodeDecodeError):
        return None
    if not isinstance(payload, dict) or payload.get("v") != VERSION:
        return None
    return payload
