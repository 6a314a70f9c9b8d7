"""Electronic signatures (TTE, tanda tangan elektronik) of issued documents.

Why this shape: the QR code printed on a Kutipan Akta, a SIP and the like holds
``<MPP_BASE_URL>/verifikasi/<token>`` (the configured canonical address, never the
Host a request named: the sealed PDF is kept, so its QR code must be right the
first time). A bank, a hospital or a court must be able
to tell whether ANY statement on the document was changed, offline and years
later, with nothing but the published Ed25519 public key
(``/verifikasi/kunci-publik.pem``, or its raw 32 bytes as base64url). Yet the
token must stay short enough for a QR code printed on A4 and read by a cheap
phone camera. So the content is hashed and only its hash is signed::

    isi   = [["Nomor dokumen", "474/AKL/2171/2026/000012"], ["Jenis dokumen", "Kutipan Akta Kelahiran"], ...]
    h     = base64url(sha256(canonical_json(isi)))
    token = base64url(canonical_json({"h": h, "no": nomor, "v": 2})) + "." + base64url(ed25519_signature)

``isi`` is every line of the table printed on the document and the PDF (and
shown under "Isi dokumen" on the verification page), in order, label and value
exactly as printed: number, type, issuing
agency and region, every answer the document states (the child's name and birth
date on an akta, the practice place on a SIP), the holder's name and masked NIK,
the registration number, the issue date, the end of validity where the service
has one, the issuing officer and their duty, the fiktif-positif note. Change one
character of any of them, on paper or in the PDF, and the hash no longer matches
the signed one. ``canonical_json`` is sorted keys, no spaces, UTF-8, and the
token has no ``=`` padding; Ed25519 signs the exact payload bytes, so changing
any character of the token makes verification fail too.

Where a checker finds ``isi``: in the PDF it is attached as ``isi-dokumen.json``
(``{"isi": [...], "token": "..."}``; ``pdfdetach -saveall`` or
``dokumen_pdf.embedded_content``), and the PDF as a whole also carries a PAdES
signature that any PDF reader validates against the MPP Digital CA certificate
(``/verifikasi/sertifikat-ca.pem``). On paper, type the table's lines as printed.

Offline check by a third party, with only ``cryptography`` and the published
raw public key::

    import base64, hashlib, json
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    def unb64(s):
        return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))

    def canonical(value):
        return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")

    PUBLIC_KEY = "...."  # kunci publik MPP Digital (base64url, 32 byte)
    token = "...."       # the part after /verifikasi/ in the QR code
    isi = [["Nomor dokumen", "...."]]  # the document's lines, as printed (or from isi-dokumen.json)
    body, sig = token.split(".")
    Ed25519PublicKey.from_public_bytes(unb64(PUBLIC_KEY)).verify(unb64(sig), unb64(body))  # raises if forged
    signed = json.loads(unb64(body))
    digest = base64.urlsafe_b64encode(hashlib.sha256(canonical(isi)).digest()).rstrip(b"=").decode()
    print(signed["h"] == digest and isi[0] == ["Nomor dokumen", signed["no"]])  # False: content was changed

``verify_offline()`` does the same in one call.

What no offline check can tell: whether the document was revoked after it was
signed, or (for a permit) whether its validity has since ended and it was not
renewed. Only the online page ``/verifikasi/<token>`` at the address in the QR
code says that ("Dokumen dicabut", "Dokumen kedaluwarsa"), which is why the
document and the page both say where to look.

Documents issued before content binding carry version 1 tokens, which sign a
few facts themselves (number, service, holder's name, masked NIK, region,
date) and no hash. They still verify; the page says what they do not cover.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import re
import secrets

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

MAX_TOKEN = 2000  # a QR code on A4 holds far less; anything longer is junk or an attack
VERSION = 2  # content-bound: {"v": 2, "no": number, "h": hash of the content}
LEGACY_VERSION = 1  # the facts themselves, no content hash: still verified, never issued any more
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


def content_hash(isi: list) -> str:
    """base64url(sha256(canonical_json(isi))) of a document's lines: [[label, value], ...], as printed.

    Refuses anything but a non-empty list of two-string lines, so a caller cannot
    hash something the document does not print."""
    if not isinstance(isi, list) or not isi or not all(
            isinstance(line, (list, tuple)) and len(line) == 2 and all(isinstance(x, str) for x in line)
            for line in isi):
        raise ValueError("Isi dokumen harus daftar baris [label, nilai] berupa teks.")
    return _b64(hashlib.sha256(canonical_json([list(line) for line in isi])).digest())


def sign_document(private_key: Ed25519PrivateKey, payload: dict) -> str:
    """The token for a QR code. The payload must say ``"v": 2`` and carry the
    document number and content hash, because verify_token refuses anything else;
    failing here beats issuing a document whose QR code always reads as forged."""
    if not isinstance(payload, dict):
        raise TypeError("Muatan tanda tangan harus berupa dict.")
    if not _acceptable(payload) or payload["v"] != VERSION:
        raise ValueError(f'Muatan tanda tangan harus memuat "v": {VERSION}, "no" dan "h" berupa teks.')
    body = canonical_json(payload)
    return _b64(body) + "." + _b64(private_key.sign(body))


def sign_content(private_key: Ed25519PrivateKey, nomor: str, isi: list) -> str:
    """The token binding a document number to every line the document prints."""
    return sign_document(private_key, {"v": VERSION, "no": nomor, "h": content_hash(isi)})


def _acceptable(payload) -> bool:
    """A version 2 payload names its number and content hash; a version 1 one (legacy) its number."""
    if not isinstance(payload, dict) or type(payload.get("v")) is not int or not isinstance(payload.get("no"), str):
        return False
    if payload["v"] == VERSION:
        return isinstance(payload.get("h"), str) and len(payload["h"]) == 43
    return payload["v"] == LEGACY_VERSION


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
    return payload if _acceptable(payload) else None


def verify_offline(key: Ed25519PrivateKey | Ed25519PublicKey, token: str, isi: list) -> dict | None:
    """The signed payload when the token is ours AND ``isi`` (the document's lines,
    as printed or from ``isi-dokumen.json``) is exactly what was signed; None
    otherwise. Needs no server and no database. It cannot know about revocation
    or expiry: for those, open ``/verifikasi/<token>`` at the address in the QR code."""
    payload = verify_token(key, token)
    if payload is None or payload["v"] != VERSION:
        return None
    try:
        same = payload["h"] == content_hash(isi) and list(isi[0]) == ["Nomor dokumen", payload["no"]]
    except (ValueError, TypeError):
        return None
    return payload if same else None
