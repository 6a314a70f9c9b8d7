"""Object storage: where uploaded requirement documents and sealed PDFs live, outside SQLite.

One small interface, two adapters chosen by configuration like the registry's:

``LocalDiskStore`` (the embedded default, what ``make run`` uses) keeps each object as a file under a
folder (``MPP_FILES_DIR``, by default ``objek/`` beside the database). A write goes to a temporary
file in the object's own folder, is flushed to disk (``fsync``), renamed over the key's name and the
folder is flushed too: a crash leaves either the whole object or none (at worst a ``.tmp-`` file,
which is listed like any object no row names, so the sweep removes it).

``S3Store`` speaks the S3 API through boto3 (``MPP_S3_BUCKET`` and the endpoint, region and keys:
Tigris on Fly, AWS, SeaweedFS in the tests). A put carries ``Content-MD5``, so the server refuses a
body damaged on the way; the caller reads the object back to check size and SHA-256 before it
commits the row that names it (``services/penyimpanan.py``).

Interface (``ObjectStore``)::

    put(key, data, content_type)      store (replace) the object; StorageUnavailable on failure
    stream(key) -> Iterator[bytes]    the object in chunks; ObjectMissing raised at once (before any chunk)
    get(key) -> bytes                 the whole object; ObjectMissing
    delete(key)                       remove it (an absent object is no error)
    exists(key) -> bool
    list(prefix) -> Iterator[StoredObject]   every object under ``prefix``, in key order (byte order)

Keys are ASCII: letters, digits and ``/ . _ -``, never ``..`` or a leading ``/``.
"""

from __future__ import annotations

import base64
import hashlib
import os
import re
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from integrations.http import ServiceUnavailable

CHUNK = 64 * 1024
TEMP_PREFIX = ".tmp-"
_KEY = re.compile(r"[A-Za-z0-9][A-Za-z0-9._/-]{0,511}")


class ObjectMissing(LookupError):
    """The store has no object under this key."""


class StorageUnavailable(ServiceUnavailable):
    """The store could not be asked or refused the request: try again later (nothing was acknowledged)."""


@dataclass(frozen=True)
class StoredObject:
    key: str
    size: int
    modified: float  # seconds since the epoch, by the store's clock


class ObjectStore(Protocol):
    name: str

    def put(self, key: str, data: bytes, content_type: str) -> None: ...
    def stream(self, key: str) -> Iterator[bytes]: ...
    def get(self, key: str) -> bytes: ...
    def delete(self, key: str) -> None: ...
    def exists(self, key: str) -> bool: ...
    def list(self, prefix: str = "") -> Iterator[StoredObject]: ...


def check_key(key: str) -> str:
    if not _KEY.fullmatch(key) or ".." in key or "//" in key or key.endswith("/"):
        raise ValueError(f"kunci objek tidak sah: {key!r}")
    return key


class LocalDiskStore:
    """Objects as files under ``folder`` (made on first write)."""

    name = "disk"

    def __init__(self, folder: str | Path):
        self.folder = Path(folder)

    def _path(self, key: str) -> Path:
        return self.folder / check_key(key)

    def put(self, key: str, data: bytes, content_type: str) -> None:
        path = self._path(key)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            temp = path.parent / f"{TEMP_PREFIX}{secrets.token_hex(8)}"
            fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            try:
                with os.fdopen(fd, "wb") as f:
                    f.write(data)
                    f.flush()
                    os.fsync(f.fileno())
                os.replace(temp, path)
            except BaseException:
                temp.unlink(missing_ok=True)
                raise
            _fsync_folder(path.parent)
        except OSError as e:
            raise StorageUnavailable(f"penyimpanan lokal: {e}") from e

    def stream(self, key: str) -> Iterator[bytes]:
        try:
            f = open(self._path(key), "rb")  # noqa: SIM115 - closed by Chunks
        except FileNotFoundError:
            raise ObjectMissing(key) from None
        except OSError as e:
            raise StorageUnavailable(f"penyimpanan lokal: {e}") from e
        return Chunks(f.read, f.close)

    def get(self, key: str) -> bytes:
        return b"".join(self.stream(key))

    def delete(self, key: str) -> None:
        try:
            self._path(key).unlink(missing_ok=True)
        except OSError as e:
            raise StorageUnavailable(f"penyimpanan lokal: {e}") from e

    def exists(self, key: str) -> bool:
        return self._path(key).is_file()

    def list(self, prefix: str = "") -> Iterator[StoredObject]:
        found = []
        start = self.folder / prefix.rpartition("/")[0]  # the prefix's folder: nothing outside it can match
        for folder, _, names in os.walk(start):
            for name in names:
                path = Path(folder) / name
                key = path.relative_to(self.folder).as_posix()
                if not key.startswith(prefix):
                    continue
                try:
                    st = path.stat()
                except FileNotFoundError:  # deleted while listing
                    continue
                found.append(StoredObject(key, st.st_size, st.st_mtime))
        found.sort(key=lambda o: o.key.encode())
        return iter(found)


class Chunks:
    """An object's bytes, ``CHUNK`` at a time, from an open file or HTTP body; closed at the end, by ``close()``,
    or when dropped unread (a caller that only wanted to know the object is there)."""

    def __init__(self, read, close, fail=None):
        self._read, self._close, self._fail = read, close, fail
        self._open = True

    def __iter__(self) -> Chunks:
        return self

    def __next__(self) -> bytes:
        if not self._open:
            raise StopIteration
        try:
            chunk = self._read(CHUNK)
        except Exception as e:
            self.close()
            if self._fail is None:
                raise
            raise self._fail(e) from e
        if not chunk:
            self.close()
            raise StopIteration
        return chunk

    def close(self) -> None:
        if self._open:
            self._open = False
            self._close()

    def __del__(self) -> None:
        self.close()


def _fsync_folder(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class S3Store:
    """Objects in one S3 bucket (any S3 API). boto3's client is thread-safe: one per process."""

    name = "s3"

    def __init__(self, bucket: str, endpoint: str = "", region: str = "", access_key_id: str = "",
                 secret_access_key: str = "", timeout: float = 30.0):
        import boto3
        from botocore.config import Config

        self.bucket = bucket
        config = Config(
            region_name=region or None, connect_timeout=5, read_timeout=timeout, max_pool_connections=32,
            retries={"max_attempts": 3, "mode": "standard"},
            # a custom endpoint (Tigris, SeaweedFS, MinIO) is addressed by path; AWS itself by host name
            s3={"addressing_style": "path" if endpoint else "auto"},
            # integrity is Content-MD5 on put and the read-back check: no newer checksum headers that an
            # S3-compatible server may not know
            request_checksum_calculation="when_required", response_checksum_validation="when_required")
        self.client = boto3.session.Session().client(
            "s3", endpoint_url=endpoint or None, aws_access_key_id=access_key_id or None,
            aws_secret_access_key=secret_access_key or None, config=config)

    def _fail(self, e: Exception, key: str = "") -> StorageUnavailable:
        return StorageUnavailable(f"penyimpanan S3 ({self.bucket}/{key}): {e}")

    def put(self, key: str, data: bytes, content_type: str) -> None:
        from botocore.exceptions import BotoCoreError, ClientError

        md5 = base64.b64encode(hashlib.md5(data, usedforsecurity=False).digest()).decode()
        try:
            self.client.put_object(Bucket=self.bucket, Key=check_key(key), Body=data, ContentType=content_type,
                                   ContentMD5=md5)
        except (BotoCoreError, ClientError) as e:
            raise self._fail(e, key) from e

    def stream(self, key: str) -> Iterator[bytes]:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            answer = self.client.get_object(Bucket=self.bucket, Key=check_key(key))
        except ClientError as e:
            if _not_found(e):
                raise ObjectMissing(key) from None
            raise self._fail(e, key) from e
        except BotoCoreError as e:
            raise self._fail(e, key) from e
        body = answer["Body"]  # a connection broken mid-object: StorageUnavailable from the chunk that failed
        return Chunks(body.read, body.close, lambda e: self._fail(e, key))

    def get(self, key: str) -> bytes:
        return b"".join(self.stream(key))

    def delete(self, key: str) -> None:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            self.client.delete_object(Bucket=self.bucket, Key=check_key(key))
        except (BotoCoreError, ClientError) as e:
            raise self._fail(e, key) from e

    def exists(self, key: str) -> bool:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            self.client.head_object(Bucket=self.bucket, Key=check_key(key))
        except ClientError as e:
            if _not_found(e):
                return False
            raise self._fail(e, key) from e
        except BotoCoreError as e:
            raise self._fail(e, key) from e
        return True

    def list(self, prefix: str = "") -> Iterator[StoredObject]:
        from botocore.exceptions import BotoCoreError, ClientError

        pages = self.client.get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=prefix)
        try:
            for page in pages:
                for item in page.get("Contents", ()):
                    yield StoredObject(item["Key"], item["Size"], item["LastModified"].timestamp())
        except (BotoCoreError, ClientError) as e:
            raise self._fail(e, prefix) from e


def _not_found(e) -> bool:
    return e.response.get("Error", {}).get("Code") in ("NoSuchKey", "404", "NotFound")


def store_for(folder: str | Path, bucket: str = "", endpoint: str = "", region: str = "", access_key_id: str = "",
              secret_access_key: str = "") -> ObjectStore:
    """S3 when a bucket is configured, else the local folder."""
    if bucket:
        return S3Store(bucket, endpoint, region, access_key_id, secret_access_key)
    return LocalDiskStore(folder)
