"""Static files: fingerprinted, cached for a year, compressed once, and safe for old browsers."""

from __future__ import annotations

import brotli
import gzip
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.helpers import soup

ROOT = Path(__file__).resolve().parent.parent


def linked_assets(client) -> list[str]:
    page = soup(client.get("/"))
    urls = [l["href"] for l in page.select('link[rel="stylesheet"]')]
    for script in page.find_all("script", src=True):
        urls.append(script["src"])
        if script.get("data-htmx"):
            urls.append(script["data-htmx"])
    return urls


def test_assets_are_fingerprinted_and_immutable(client):
    urls = linked_assets(client)
    assert any(u.endswith(".css") for u in urls) and any("htmx" in u for u in urls)
    for url in urls:
        r = client.get(url)
        assert r.status_code == 200
        assert r.headers["cache-control"] == "public, max-age=31536000, immutable"
        original = (ROOT / "static" / _logical(url)).read_bytes()
        assert r.content == original


def _logical(url: str) -> str:
    stem, ext = url.removeprefix("/static/").rsplit(".", 1)
    return stem.rsplit(".", 1)[0] + "." + ext


def test_revalidation_answers_304(client):
    url = linked_assets(client)[0]
    etag = client.get(url).headers["etag"]
    r = client.get(url, headers={"If-None-Match": etag})
    assert r.status_code == 304 and r.content == b""


def test_assets_are_served_precompressed(client):
    for url in linked_assets(client):
        original = (ROOT / "static" / _logical(url)).read_bytes()
        for enc, decode in (("br", brotli.decompress), ("gzip", gzip.decompress)):
            with client.stream("GET", url, headers={"Accept-Encoding": enc}) as r:
                raw = b"".join(r.iter_raw())
                assert r.headers["content-encoding"] == enc
                assert decode(raw) == original
                assert len(raw) < len(original)


def test_stale_or_unknown_asset_urls_are_404(client):
    assert client.get("/static/app.000000000000.css").status_code == 404
    assert client.get("/static/app.css").status_code == 404
    assert client.get("/static/../app.py").status_code == 404


def test_htmx_is_pinned_and_loaded_only_by_the_feature_test(client):
    page = soup(client.get("/"))
    scripts = page.find_all("script")
    assert len(scripts) == 1 and scripts[0].has_attr("defer")
    assert "/static/vendor/htmx.min." in scripts[0]["data-htmx"]
    assert b'version:"2.0.4"' in (ROOT / "static/vendor/htmx.min.js").read_bytes()


@pytest.mark.skipif(not shutil.which("node"), reason="node is needed to run the acorn parser")
def test_every_shipped_script_parses_as_es2015():
    """KaiOS 2.5 (Gecko 48) and Chrome 5x must never get a script they cannot parse."""
    acorn = ROOT / ".cache/npm/node_modules/acorn"
    if not acorn.exists():
        pytest.skip("acorn not installed: run scripts/fetch-vendor (make test does)")
    files = sorted((ROOT / "static").rglob("*.js"))
    assert files
    check = (
        "const acorn=require(process.argv[1]);const fs=require('fs');"
        "for(const f of process.argv.slice(2)){try{acorn.parse(fs.readFileSync(f,'utf8'),"
        "{ecmaVersion:2015,sourceType:'script'})}catch(e){console.log(f+': '+e.message);process.exitCode=1}}"
    )
    result = subprocess.run(["node", "-e", check, str(acorn), *map(str, files)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_no_icon_costs_a_download(client):
    """Pages declare an empty icon, so a browser never asks; an old one that asks anyway
    gets an empty answer it keeps for a year, not a 404 page on every visit."""
    assert soup(client.get("/")).find("link", rel="icon")["href"] == "data:,"
    r = client.get("/favicon.ico")
    assert r.status_code == 204 and r.content == b""
    assert "max-age=31536000" in r.headers["cache-control"]
