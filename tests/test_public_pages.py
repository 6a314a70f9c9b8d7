"""Public pages: what a citizen on a 2G phone, with or without JavaScript, gets."""

from __future__ import annotations

import pytest

from tests.helpers import soup, text_of
from web.settings import ROOT

BUDGET = 14 * 1024  # HTML + CSS, compressed: one TCP initial window


def public_urls(client) -> list[str]:
    slugs = [a["href"] for a in soup(client.get("/layanan")).select("ul.services a")]
    regions = [a["href"] for a in soup(client.get("/")).select("ul.cols a")]
    return ["/", "/layanan", "/layanan?q=akta", "/masuk", "/lacak", "/tidak-ada",
            "/layanan/akta-kelahiran?wilayah=2171", *slugs, *regions]


def compressed_size(client, url: str) -> tuple[int, int]:
    """(gzip, brotli) bytes of the page plus every stylesheet it links."""
    sizes = []
    for enc in ("gzip", "br"):
        total = 0
        r = client.get(url, headers={"Accept-Encoding": enc})
        total += len(r.content) if r.headers.get("content-encoding") != enc else _wire(client, url, enc)
        for link in soup(r).select('link[rel="stylesheet"]'):
            total += _wire(client, link["href"], enc)
        sizes.append(total)
    return sizes[0], sizes[1]


def _wire(client, url: str, enc: str) -> int:
    """Bytes on the wire: httpx decodes bodies, so re-read the raw stream."""
    with client.stream("GET", url, headers={"Accept-Encoding": enc}) as r:
        assert r.headers.get("content-encoding") == enc, url
        return sum(len(chunk) for chunk in r.iter_raw())


def test_every_public_page_fits_the_14kb_budget(client):
    urls = public_urls(client)
    assert len(urls) >= 5 + 39 + 21
    for url in urls:
        gz, br = compressed_size(client, url)
        assert gz <= BUDGET, f"{url}: {gz} bytes gzip"
        assert br <= BUDGET, f"{url}: {br} bytes brotli"


def test_public_pages_stay_in_the_browser_cache_for_revalidation(client):
    """On 2G a page revalidated from the cache costs a 304, not the page: only personal pages are no-store."""
    for url in public_urls(client):
        r = client.get(url)
        assert r.headers["cache-control"] == "private, no-cache", url


def test_pages_work_without_javascript(client):
    """Every form submits by itself, and every htmx element is also a real link or form."""
    for url in public_urls(client):
        page = soup(client.get(url))
        for form in page.find_all("form"):
            assert form.get("method") in ("get", "post") and form.get("action"), f"{url}: {form}"
        for el in page.select("[data-hx-get], [data-hx-post]"):
            real = (el.name == "a" and el.get("href")) or el.find_parent("form", action=True)
            assert real, f"{url}: htmx-only element {el}"
        inline = [tag.string for tag in page.find_all("script", src=False)]  # only the first-use loader, by hash
        assert inline in ([], [(ROOT / "static/nanti.js").read_text()]), f"{url}: inline script"


def test_catalogue_search_as_you_type_has_its_own_url(client):
    page = soup(client.get("/layanan"))
    box = page.find("input", id="q")
    assert box["data-hx-get"] == "/fragmen/layanan"
    fragment = client.get("/fragmen/layanan?q=kela")
    assert fragment.status_code == 200
    assert "<html" not in fragment.text and "Akta Kelahiran" in fragment.text


@pytest.mark.parametrize("query, slug", [
    ("kelahiran", "akta-kelahiran"),
    ("akta kematian", "akta-kematian"),
    ("kela", "akta-kelahiran"),                 # prefix while typing
    ("KTP", "ktp-el"),
    ("perawat", "sip-perawat"),
    ("bidan", "sip-bidan"),
])
def test_search_finds_a_service_by_a_word_of_its_name(client, query, slug):
    links = [a["href"] for a in soup(client.get("/layanan", params={"q": query})).select("ul.services a")]
    assert f"/layanan/{slug}" in links[:3], links


def test_search_finds_services_by_their_agency(client):
    dukcapil = soup(client.get("/layanan", params={"q": "Dukcapil"})).select("ul.services a")
    assert len(dukcapil) == 8
    kesehatan = soup(client.get("/layanan", params={"q": "Dinas Kesehatan"})).select("ul.services a")
    assert len(kesehatan) == 31


@pytest.mark.parametrize("query", ['"', "NEAR(", "a OR", "*", "-", "%ff%fe", "'); DROP TABLE layanan;--",
                                   "x" * 5000, "akta\u0000", "<script>alert(1)</script>"])
def test_malformed_queries_never_fail(client, query):
    r = client.get("/layanan", params={"q": query})
    assert r.status_code == 200
    assert "<script>alert" not in r.text
    if "\x00" not in query:  # the test client itself refuses a raw NUL in a URL
        r = client.get("/layanan?q=" + query)
        assert r.status_code == 200


def test_region_filter(client):
    batam = soup(client.get("/layanan?wilayah=2171"))
    assert "Kota Batam" in batam.h1.text
    assert len(batam.select("ul.services a")) == 39
    # Kabupaten Merauke (Papua Selatan) has no MPP Digital yet: no services online there
    merauke = client.get("/layanan?wilayah=9301")
    assert len(soup(merauke).select("ul.services a")) == 0
    unknown = client.get("/layanan?wilayah=zz<b>")
    assert unknown.status_code == 200 and "tidak dikenal" in text_of(unknown)


def test_service_page_shows_its_standar_pelayanan(client):
    r = client.get("/layanan/akta-kelahiran")
    text = text_of(r)
    for heading in ("Persyaratan", "Prosedur", "Jangka waktu", "Biaya", "Produk", "Dasar hukum", "Pengaduan"):
        assert heading in text
    assert "Gratis" in text
    assert "Kota Batam" in text


def test_mpp_page_of_kota_batam(client):
    r = client.get("/mpp/2171")
    assert r.status_code == 200
    text = text_of(r)
    assert "Kota Batam" in text and "Disdukcapil" in text and "WIB" in text
    assert "Akta Kelahiran" in text


def test_region_without_mpp_digital_is_a_page_not_an_error(client):
    jayapura = client.get("/mpp/9171")  # Kota Jayapura
    assert jayapura.status_code == 200 and "belum" in text_of(jayapura)


@pytest.mark.parametrize("url", ["/layanan/tidak-ada", "/mpp/0000", "/mpp/21.71", "/mpp/abcd", "/mpp/217",
                                 "/mpp/%00", "/apa-saja"])
def test_unknown_things_are_a_404_page_in_bahasa_indonesia(client, url):
    r = client.get(url)
    assert r.status_code == 404
    assert "Halaman tidak ditemukan" in r.text
    assert r.headers["content-type"].startswith("text/html")


def test_healthz(client):
    r = client.get("/healthz")
    assert r.status_code == 200 and r.text == "ok"


def test_the_lighthouse_benchmark_measures_pages_that_exist(client):
    """`make bench-lighthouse` (bench/lighthouse.py) times these pages on 2G against an empty page."""
    from bench.lighthouse import GOAL, PAGES

    assert set(PAGES.values()) >= {"/", "/layanan", "/layanan/akta-kelahiran", "/mpp/2171", "/masuk", "/pengaduan",
                                   "/pemantauan"}
    assert GOAL == 1.15
    for path in PAGES.values():
        assert client.get(path).status_code == 200, path
