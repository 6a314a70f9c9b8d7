"""Static files: fingerprinted, cached for a year, compressed once, and safe for old browsers."""

from __future__ import annotations

import base64
import gzip
import hashlib
import re
import shutil
import subprocess
from pathlib import Path

import brotli
import pytest

from tests.helpers import soup
from tests.test_public_pages import BUDGET, public_urls
from tests.test_public_pages import _wire as wire_bytes

ROOT = Path(__file__).resolve().parent.parent


def linked_assets(client) -> list[str]:
    client.get("/layanan")  # a first visit inlines the stylesheet; later ones link the cached file
    page = soup(client.get("/layanan"))
    urls = [link["href"] for link in page.select('link[rel="stylesheet"]')]
    for script in page.find_all("script", src=True):
        urls.append(script["src"])
        if script.get("data-htmx"):
            urls.append(script["data-htmx"])
    for later in page.find_all("meta", attrs={"name": "mpp-app"}):  # loaded on first use
        urls += [later["content"], later["data-htmx"]]
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
    page = soup(client.get("/mpp/2171/layar"))
    scripts = page.find_all("script")
    assert len(scripts) == 1 and scripts[0].has_attr("defer")
    assert "/static/vendor/htmx.min." in scripts[0]["data-htmx"]
    later = soup(client.get("/layanan")).find("meta", attrs={"name": "mpp-app"})  # loaded on first use
    assert "/static/vendor/htmx.min." in later["data-htmx"] and "/static/app." in later["content"]
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


def _csp_style_sources(response) -> list[str]:
    directive = next(d.strip() for d in response.headers["content-security-policy"].split(";")
                     if d.strip().startswith("style-src"))
    return directive.split()[1:]


def test_a_first_visit_gets_the_stylesheet_inline_allowed_by_its_hash(client):
    """On 2G a linked stylesheet costs one more round trip before anything shows: the first page carries it."""
    css = (ROOT / "static/app.css").read_bytes()
    r = client.get("/")
    page = soup(r)
    assert not page.select('link[rel="stylesheet"]')
    styles = page.find_all("style")
    assert len(styles) == 1 and styles[0].string == css.decode()
    source = "'sha256-" + base64.b64encode(hashlib.sha256(styles[0].string.encode()).digest()).decode() + "'"
    assert _csp_style_sources(r) == ["'self'", source]
    assert "unsafe-inline" not in r.headers["content-security-policy"]
    digest = hashlib.sha256(css).hexdigest()[:12]
    assert f"css={digest}" in r.headers["set-cookie"]
    assert "max-age=31536000" in r.headers["set-cookie"].lower()


def test_later_visits_link_the_cached_stylesheet_instead(client):
    client.get("/")
    r = client.get("/layanan")
    page = soup(r)
    assert not page.find_all("style")
    href = page.select_one('link[rel="stylesheet"]')["href"]
    assert re.fullmatch(r"/static/app\.[0-9a-f]{12}\.css", href)
    assert "css=" not in r.headers.get("set-cookie", "")
    # a stylesheet changed since (new release): the old fingerprint in the cookie inlines the new one again
    client.cookies.clear()
    client.cookies.set("css", "000000000000")
    assert soup(client.get("/layanan")).find("style")


def test_an_error_page_on_a_first_visit_inlines_it_too(client):
    r = client.get("/tidak-ada")
    assert r.status_code == 404 and soup(r).find("style")
    assert len(_csp_style_sources(r)) == 2


def test_templates_use_only_data_hx_attributes():
    """vnu reports hx-* as invalid HTML; htmx reads the same attributes with the data- prefix."""
    bare = re.compile(r"(?<![\w-])hx-[a-z-]+\s*=")
    found = [f"{path.name}: {m.group(0)}" for path in sorted((ROOT / "templates").rglob("*.html"))
             for m in bare.finditer(path.read_text())]
    assert not found, found


def test_htmx_is_sent_only_to_pages_that_use_it(client):
    """htmx (15.5 KB) is for search-as-you-type, the NIK check, autosave and the hall display; /masuk never
    needs it. The server decides from the page itself: no extra round trip to find out."""
    pages = {url: soup(client.get(url)) for url in public_urls(client)}
    pages["/mpp/2171/layar"] = soup(client.get("/mpp/2171/layar"))
    def loads_htmx(page) -> bool:  # at once (app.js), or on first use (the inlined loader names it)
        return bool(page.find("script", attrs={"data-htmx": True}) or page.find("meta", attrs={"name": "mpp-app"}))

    for url, page in pages.items():
        uses = bool(page.select("[data-hx-get], [data-hx-post]"))
        assert loads_htmx(page) == uses, url
        assert bool(page.find("meta", attrs={"name": "htmx-config"})) == uses, url
        if not uses:  # app.js only loads htmx: a script asked for before the first paint delays it on 2G
            assert not page.find("script", src=re.compile(r"/static/app\.")), url
    assert not loads_htmx(pages["/masuk"])
    assert pages["/mpp/2171/layar"].find("script", attrs={"data-htmx": True})


def test_search_as_you_type_loads_htmx_only_when_the_search_box_is_used(client):
    """On /layanan htmx only improves a box the person has not touched yet: no script file is asked for
    before the page is painted; an inlined loader, allowed by its hash, fetches app.js on first use."""
    r = client.get("/layanan")
    page = soup(r)
    assert not page.find_all("script", src=True)
    loader = page.find("script", src=False)
    source = "'sha256-" + base64.b64encode(hashlib.sha256(loader.string.encode()).digest()).decode() + "'"
    script_src = next(d for d in r.headers["content-security-policy"].split("; ") if d.startswith("script-src"))
    assert script_src.split()[1:] == ["'self'", source]
    meta = page.find("meta", attrs={"name": "mpp-app"})
    assert client.get(meta["content"]).status_code == 200 and client.get(meta["data-htmx"]).status_code == 200


def test_a_cold_visit_with_javascript_fits_one_window_where_no_htmx_is_needed(client):
    """Everything a phone with JavaScript downloads on a first visit (empty cache, no cookie) to a page
    that needs no htmx: the page, its stylesheet and its scripts, compressed, within one initial window."""
    for url in public_urls(client):
        for enc in ("br", "gzip"):
            client.cookies.clear()
            r = client.get(url)
            page = soup(r)
            if page.find("script", attrs={"data-htmx": True}):
                continue
            client.cookies.clear()  # measured as the same first visit
            total = wire_bytes(client, url, enc)
            for link in page.select('link[rel="stylesheet"]'):
                total += wire_bytes(client, link["href"], enc)
            for script in page.find_all("script", src=True):
                total += wire_bytes(client, script["src"], enc)
            assert total <= BUDGET, f"{url}: {total} bytes {enc}"
