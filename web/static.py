"""Static files under fingerprinted URLs, compressed once at start-up.

``/static/app.3f2a9c1b7e4d.css`` names one exact content, so it can be cached
for a year (``immutable``): a phone on 2G never asks for it again until the
file changes, and then the URL changes too. gzip and brotli versions are made
once when the app starts, not per request.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import mimetypes
from dataclasses import dataclass
from pathlib import Path

import brotli
from starlette.requests import Request
from starlette.responses import Response

from web.compression import choose_encoding

IMMUTABLE = "public, max-age=31536000, immutable"
COMPRESSIBLE = (".css", ".js", ".svg", ".json", ".txt")


@dataclass(frozen=True)
class Asset:
    url: str
    content_type: str
    etag: str
    bodies: dict[str, bytes]  # encoding ('identity', 'gzip', 'br') → bytes
    digest: str = ""  # the fingerprint in the URL (12 hex digits of its SHA-256)
    csp_source: str = ""  # "'sha256-…'": allows this exact text inline in a <style> or <script>


class StaticAssets:
    def __init__(self, folder: Path, prefix: str = "/static/"):
        self.folder = folder
        self.prefix = prefix
        self.by_name: dict[str, Asset] = {}
        self.by_url: dict[str, Asset] = {}
        self.inline_sources: list[str] = []
        self.inline_scripts: list[str] = []
        for path in sorted(folder.rglob("*")):
            if path.is_file() and not path.name.startswith("."):
                self._add(path)

    def _add(self, path: Path) -> None:
        name = path.relative_to(self.folder).as_posix()
        data = path.read_bytes()
        digest = hashlib.sha256(data).hexdigest()[:12]
        stem, dot, ext = name.rpartition(".")
        url = f"{self.prefix}{stem}.{digest}.{ext}" if dot else f"{self.prefix}{name}.{digest}"
        bodies = {"identity": data}
        if name.endswith(COMPRESSIBLE):
            bodies["gzip"] = gzip.compress(data, compresslevel=9, mtime=0)
            bodies["br"] = brotli.compress(data, quality=11)
        ctype = mimetypes.guess_type(name)[0] or "application/octet-stream"
        if ctype.startswith("text/") or ctype.endswith("javascript"):
            ctype += "; charset=utf-8"
        csp_source = "'sha256-" + base64.b64encode(hashlib.sha256(data).digest()).decode() + "'"
        asset = Asset(url, ctype, f'"{digest}"', bodies, digest, csp_source)
        self.by_name[name] = asset
        self.by_url[url] = asset

    def url(self, name: str) -> str:
        """The fingerprinted URL of ``static/<name>`` (KeyError if it does not exist)."""
        return self.by_name[name].url

    def exists(self, name: str) -> bool:
        return name in self.by_name

    def inline(self, name: str) -> str:
        """The file's text, to put in a page's ``<style>`` (``.css``) or ``<script>`` (``.js``) exactly as it
        is: from now on the CSP allows it."""
        asset = self.by_name[name]
        kept = self.inline_scripts if name.endswith(".js") else self.inline_sources
        if asset.csp_source not in kept:
            kept.append(asset.csp_source)
        return asset.bodies["identity"].decode()

    def style_sources(self) -> list[str]:
        """The CSP sources that allow each inlined stylesheet's exact text (its SHA-256, computed at start-up)."""
        return list(self.inline_sources)

    def script_sources(self) -> list[str]:
        """The same for each inlined script."""
        return list(self.inline_scripts)

    async def endpoint(self, request: Request) -> Response:
        asset = self.by_url.get(request.url.path)
        if asset is None:
            return Response("Berkas tidak ditemukan.", status_code=404, media_type="text/plain")
        headers = {"Cache-Control": IMMUTABLE, "ETag": asset.etag, "Vary": "Accept-Encoding"}
        if request.headers.get("if-none-match") == asset.etag:
            return Response(status_code=304, headers=headers)
        encoding = choose_encoding(request.headers.get("accept-encoding", ""), asset.bodies)
        if encoding != "identity":
            headers["Content-Encoding"] = encoding
        return Response(asset.bodies[encoding], headers=headers, media_type=asset.content_type)
