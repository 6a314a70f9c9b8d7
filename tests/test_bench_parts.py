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
