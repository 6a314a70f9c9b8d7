"""Accessibility of the pages citizens and officers use most, checked offline with axe-core
(installed from npm at set-up) in real Chromium. Any serious or critical violation fails."""

from __future__ import annotations

from pathlib import Path

import pytest
from browser_support import launch, log_in, needs_chromium

from bench.server import running_server
from tests.conftest import SIGNING_KEY, TEMPLATE_KEY

AXE = Path(__file__).resolve().parent.parent / ".cache/npm/axe.min.js"
pytestmark = [pytest.mark.browser, needs_chromium,
              pytest.mark.skipif(not AXE.exists(), reason="axe-core not installed (scripts/fetch-vendor)")]

PUBLIC = ["/", "/layanan", "/layanan?q=akta", "/layanan/akta-kelahiran", "/mpp/2171", "/masuk", "/daftar",
          "/pengaduan", "/tidak-ada"]
CITIZEN = ["/akun", "/permohonan/baru?layanan=akta-kelahiran&wilayah=2171", "/mpp/2171/antrean"]
OFFICER = ["/petugas", "/petugas/antrean"]


def violations(page) -> list[str]:
    page.add_script_tag(path=str(AXE))
    result = page.evaluate("async () => (await axe.run(document, {resultTypes: ['violations']})).violations"
                           ".filter(v => ['serious', 'critical'].includes(v.impact))"
                           ".map(v => v.id + ': ' + v.nodes.map(n => n.target.join(' ')).join(', '))")
    return result


def test_no_serious_accessibility_violations(db_path):
    from playwright.sync_api import sync_playwright

    env = {"MPP_SECRET_KEY": "a11y-key", "MPP_TEMPLATE_KEY": TEMPLATE_KEY, "MPP_SIGNING_KEY": SIGNING_KEY,
           "MPP_FACE_WARMUP": "0", "MPP_NOW": "2026-11-30T02:00:00+00:00"}
    found = []
    with running_server(db_path=db_path, env=env) as srv, sync_playwright() as p:
        for who, urls in ((None, PUBLIC), ("2171031508900001", CITIZEN), ("dukcapil.batam", OFFICER)):
            ctx = launch(p, bypass_csp=True)
            page = ctx.pages[0]
            if who:
                log_in(page, srv.url, who)
            for url in urls:
                page.goto(srv.url + url)
                found += [f"{url}: {v}" for v in violations(page)]
                if url.startswith("/permohonan/baru"):  # the start page's one button (a POST) opens the form page
                    page.click("button:has-text('Mulai mengisi formulir')")
                    page.wait_for_url("**/isi")
                    found += [f"{page.url}: {v}" for v in violations(page)]
            ctx.close()
    assert found == [], "\n".join(found)
