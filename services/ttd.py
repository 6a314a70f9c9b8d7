"""Electronic signatures (TTE, tanda tangan elektronik) of issued documents.

Why this shape: the QR code printed on a Kutipan Akta, a SIP and the like holds
``https://<host>/verifikasi/<token>``. The server checks the token at that URL
(and also that the document is still on record), but the signature must stand
on its own: a bank, a hospital or a court can check a document OFFLINE, years
later, with nothing but the published Ed25519 public key
(``/verifikasi/kunci-publik.pem``, or its raw 32 bytes as base64url). So the
token carries the signed facts themselves, not a database id::

    token = base64url(payload_json) + "." + base64url(ed25519_signature)

``payload_json`` is canonical (sorted keys, no spaces, UTF-8) and the token has
no ``=`` padding, so it stays short enough for a QR code printed on A4 and read
by a cheap phone camera. Ed25519 signs the exact payload bytes: changing any
character of the payload, or of the signature, makes verification fail.

Offline check by a third party, with only ``cryptography`` and the published
raw public key::

    import base64, json
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    def unb64(s):
        return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))

    PUBLIC_KEY = "...."  # kunci publik MPP Digital (base64url, 32 byte)
    token = "...."       # the part after /verifikasi/ in the QR code
    body, sig = token.split(".")
    Ed25519PublicKey.from_public_bytes(unb64(PUBLIC_KEY)).verify(unb64(sig), unb64(body))  # raises if forged
    print(json.loads(unb64(body)))  # {"v": 1, "no": ..., "nm": ..., ...}

The signature proves who issued the facts and that they are unchanged; it does
not prove the document was not revoked later. Only the online check (which
also looks the number up) can say that.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
import secrets

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

MAX_TOKEN = 2000  # a QR code on A4 holds far less; anything longer is junk or an attack
VERSION = 1
_SIGNATURE_LEN = 64
_B64URL = re.compile(r"[A-Za-z0-9_-]*")


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    """Strict base64url: the decoder in the standard library silently skips
    foreign characters and ignores the spare low bits of the last character, so
    several different strings decode to the same bytes. Accepting only the one
    canonical spelling means one payload has exactly one valid token, and any
    changed character is rejected rather than quietly tolerated."""
    if not _B64URL.fullmatch(text) or len(text) % 4 == 1:
        raise ValueError("bukan base64url")
    data = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    if _b64(data) != text:
        raise ValueError("base64url tidak kanonik")
    return data


def generate_signing_key() -> str:
    """A new private key in the configuration format (base64url of 32 raw bytes),
    for ``MPP_SIGNING_KEY``. Any 32 random bytes are a valid Ed25519 seed."""
    return _b64(secrets.token_bytes(32))


def load_signing_key(text: str) -> Ed25519PrivateKey:
    """The private key from configuration text; fails loudly at start-up rather
    than issuing documents nobody can verify."""
    if not isinstance(text, str) or not text.strip():
        raise ValueError("Kunci tanda tangan elektronik (MPP_SIGNING_KEY) kosong.")
    cleaned = text.strip().rstrip("=")
    try:
        raw = _unb64(cleaned)
    except (binascii.Error, ValueError):
        raise ValueError("Kunci tanda tangan elektronik (MPP_SIGNING_KEY) bukan base64url yang sah. "
                         "Buat kunci baru dengan generate_signing_key().") from None
    if len(raw) != 32:
        raise ValueError(f"Kunci tanda tangan elektronik (MPP_SIGNING_KEY) harus 32 byte (Ed25519), "
                         f"bukan {len(raw)} byte.")
    return Ed25519PrivateKey.from_private_bytes(raw)


def _public(key) -> Ed25519PublicKey:
    """Callers hold the private key at runtime; accepting it here spares them
    deriving the public half at every call site."""
    if isinstance(key, Ed25519PrivateKey):
        return key.public_key()
    if isinstance(key, Ed25519PublicKey):
        return key
    raise TypeError("Kunci harus Ed25519PrivateKey atau Ed25519PublicKey.")


def public_key_pem(key: Ed25519PrivateKey | Ed25519PublicKey) -> str:
    """The public key as SubjectPublicKeyInfo PEM: what openssl and most libraries read."""
    return _public(key).public_bytes(serialization.Encoding.PEM,
                                     serialization.PublicFormat.SubjectPublicKeyInfo).decode("ascii")


def public_key_b64(key: Ed25519PrivateKey | Ed25519PublicKey) -> str:
    """The raw 32-byte public key as base64url: short enough to print or publish
    in a gazette, and all ``Ed25519PublicKey.from_public_bytes`` needs."""
    return _b64(_public(key).public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw))


def canonical_json(payload: dict) -> bytes:
    """One byte string per payload, so the same facts always give the same token."""
    return json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                      allow_nan=False).encode("utf-8")


def sign_document(private_key: Ed25519PrivateKey, payload: dict) -> str:
    """The token for a QR code. The payload must say ``"v": 1`` because
    verify_token refuses every other version; failing here beats issuing a
    document whose QR code always reads as forged."""
    if not isinstance(payload, dict):
        raise TypeError("Muatan tanda tangan harus berupa dict.")
    if type(payload.get("v")) is not int or payload["v"] != VERSION:
        raise ValueError(f'Muatan tanda tangan harus memuat "v": {VERSION}.')
    body = canonical_json(payload)
    return _b64(body) + "." + _b64(private_key.sign(body))


def verify_token(key: Ed25519PrivateKey | Ed25519PublicKey, token: str) -> dict | None:
    """The signed payload when the token is intact and ours; None for anything
    else. It never raises on a bad token, because the token comes straight from
    an anonymous URL. (A key of the wrong type is a programming error and does
    raise TypeError.)"""
    public = _public(key)
    if not isinstance(token, str) or len(token) > MAX_TOKEN or token.count(".") != 1:
        return None
    body_text, sig_text = token.split(".")
    try:
        body, sig = _unb64(body_text), _unb64(sig_text)
        if not body or len(sig) != _SIGNATURE_LEN:
            return None
        public.verify(sig, body)
        payload = json.loads(body.decode("utf-8"))
    except (binascii.Error, ValueError, InvalidSignature, UnicodeDecodeError, RecursionError):
        return None
    if not isinstance(payload, dict) or type(payload.get("v")) is not int or payload["v"] != VERSION:
        return None
    return payload
