"""Password hashing with scrypt, a memory-hard KDF from the standard library.

Parameters n=2**14, r=8, p=1 use 16 MiB and ~50 ms per hash here: slow enough
to make guessing expensive, cheap enough for a 2-core VM under login load.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

N, R, P = 2**14, 8, 1
MAXMEM = 64 * 1024 * 1024


def hash_password(password: str) -> str:
    salt = secrets.token_bytes(16)
    key = hashlib.scrypt(password.encode(), salt=salt, n=N, r=R, p=P, maxmem=MAXMEM, dklen=32)
    return "scrypt${}${}${}${}${}".format(N, R, P, _b64(salt), _b64(key))


def verify_password(password: str, stored: str) -> bool:
    try:
        scheme, n, r, p, salt, key = stored.split("$")
    except ValueError:
        return False
    if scheme != "scrypt":
        return False
    got = hashlib.scrypt(password.encode(), salt=_unb64(salt), n=int(n), r=int(r), p=int(p),
                         maxmem=MAXMEM, dklen=32)
    return hmac.compare_digest(got, _unb64(key))


def dummy_verify() -> None:
    """Spend the same time as a real check, so unknown accounts are not revealed by timing."""
    verify_password("x", _DUMMY)


def _b64(b: bytes) -> str:
    return base64.urlsafe_b64encode(b).decode().rstrip("=")


def _unb64(s: str) -> bytes:
    return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))


_DUMMY = hash_password(secrets.token_hex(8))
