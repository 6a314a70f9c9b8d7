"""Password hashing with scrypt, a memory-hard KDF from the standard library.

Parameters n=2**14, r=8, p=1 use 16 MiB and ~50 ms per hash here: slow enough
to make guessing expensive, cheap enough for a 2-core VM under login load.
At most :data:`AT_ONCE` hashes run at the same time (the thread pool has 40
threads: 40 logins at once would otherwise hold 640 MiB); the others wait
their turn, which on 2 cores costs them no more time than running together.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import threading

N, R, P = 2**14, 8, 1
MAXMEM = 64 * 1024 * 1024
AT_ONCE = 4  # 64 MiB of scrypt memory at most
_turns = threading.BoundedSemaphore(AT_ONCE)


def _scrypt(password: str, salt: bytes, n: int, r: int, p: int) -> bytes:
    with _turns:
        return hashlib.scrypt(password.encode(), salt=salt, n=n, r=r, p=p, maxmem=MAXMEM, dklen=32)


def hash_password(password: str) -> str:
    salt = secrets.token_bytes(16)
    key = _scrypt(password, salt, N, R, P)
    return f"scrypt${N}${R}${P}${_b64(salt)}${_b64(key)}"


def verify_password(password: str, stored: str) -> bool:
    try:
        scheme, n, r, p, salt, key = stored.split("$")
    except ValueError:
        return False
    if scheme != "scrypt":
        return False
    got = _scrypt(password, _unb64(salt), int(n), int(r), int(p))
    return hmac.compare_digest(got, _unb64(key))


def same_secret(sent: str, expected: str) -> bool:
    """A secret someone sent (a token, a tracking code) equals ours, in constant time. Compared as bytes:
    ``hmac.compare_digest`` raises TypeError on non-ASCII text, which anyone can send."""
    return hmac.compare_digest(str(sent).encode("utf-8", "surrogatepass"),
                               str(expected).encode("utf-8", "surrogatepass"))


def dummy_verify() -> None:
    """Spend the same time as a real check, so unknown accounts are not revealed by timing."""
    verify_password("x", _DUMMY)


def _b64(b: bytes) -> str:
    return base64.urlsafe_b64encode(b).decode().rstrip("=")


def _unb64(s: str) -> bytes:
    return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))


_DUMMY = hash_password(secrets.token_hex(8))
