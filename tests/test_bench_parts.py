"""`make bench` parts can be run alone, and page compression keeps its output whatever the size."""

from __future__ import annotations

import asyncio
import gzip

import brotli

from bench import __main__ as bench_main
from web import compression


def test_bench_runs_only_the_parts_named_and_refuses_unknown_ones(capsys):
    assert {"served", "users", "loop_lag"} <= set(bench_main.SECTIONS)
    assert bench_main.main(["nope"]) == 2
    assert "loop_lag" in capsys.readouterr().err


def test_pages_and_large_bodies_decode_to_what_was_sent():
    page = ("<li><a href='/layanan/akta-kelahiran'>Akta Kelahiran</a></li>\n" * 200).encode()
    large = b"1,Warga Uji,2171000001000001,diajukan\n" * (compression.LOOP_MAX // 30)
    assert len(page) < compression.LOOP_MAX < len(large)
    for body in (page, large):
        br = asyncio.run(compression.compress_off_loop_if_large(body, "br"))
        gz = asyncio.run(compression.compress_off_loop_if_large(body, "gzip"))
        assert brotli.decompress(br) == body and gzip.decompress(gz) == body
        assert len(br) < len(body) // 5


def test_a_form_of_40_fields_of_every_kind_fits_the_14kb_budget(client, db):
    """`python -m bench formulir` measures it; here the page it measures must stay within one initial TCP window
    (HTML + CSS, brotli as served), whether the stylesheet is inline (a first visit) or linked."""
    from bench import formulir
    from tests.helpers import soup

    formulir.install(db)
    formulir.log_in(client)
    path = formulir.draft(client, formulir.SLUG)
    page = soup(client.get(path))
    typed = {el["name"] for el in page.select("#form-isian input:not([type=hidden]), #form-isian select, "
                                              "#form-isian textarea") if el.get("type") != "file"}
    files = {el["name"] for el in page.select("#form-isian input[type=file]")}
    assert typed | files == {f["nama"] for f in formulir.FIELDS} and len(files) == 5
    assert page.find("textarea", attrs={"name": "alamat_pemilik"}).get_text().startswith("Jl. Gajah Mada")  # answered
    for inline_css in (False, True):
        size = formulir.wire_bytes(client, path, inline_css)
        assert size <= formulir.BUDGET, f"40-field form page: {size} bytes brotli (CSS inline: {inline_css})"
