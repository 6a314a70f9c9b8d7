"""In a real browser: a citizen books a slot, the officer calls it, the hall display shows it
(the display was already open: htmx polling picks the call up)."""

from __future__ import annotations

import time

import pytest
from browser_support import launch, log_in, needs_chromium

from bench.server import running_server
from tests.conftest import SIGNING_KEY, TEMPLATE_KEY

pytestmark = [pytest.mark.browser, needs_chromium]


@pytest.fixture
def server(db_path):
    env = {"MPP_SECRET_KEY": "browser-test-key", "MPP_TEMPLATE_KEY": TEMPLATE_KEY, "MPP_SIGNING_KEY": SIGNING_KEY,
           "MPP_FACE_WARMUP": "0", "MPP_NOW": "2026-11-30T02:00:00+00:00"}  # a Monday, 09:00 in Batam
    with running_server(db_path=db_path, env=env) as srv:
        yield srv.url


def test_book_call_and_see_it_on_the_hall_display(server):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        hall = launch(p)
        screen = hall.pages[0]
        screen.goto(server + "/mpp/2171/layar")
        assert "Belum ada panggilan" in screen.inner_text("main")

        citizen = launch(p, javascript=False)
        page = citizen.pages[0]
        log_in(page, server, "2171031508900001")
        page.goto(server + "/mpp/2171/antrean")
        page.check("input[name=jam]:not([disabled]) >> nth=0")
        page.click("button:has-text('Ambil nomor antrean')")
        page.wait_for_url("**/antrean/*")
        kode = page.inner_text(".huge")
        assert kode == "01-001"

        officer = launch(p)
        desk = officer.pages[0]
        log_in(desk, server, "dukcapil.batam")
        desk.goto(server + "/petugas/antrean")
        desk.click("button:has-text('Panggil berikutnya') >> nth=0")
        desk.wait_for_url("**/petugas/antrean")
        assert "(dipanggil)" in desk.inner_text("main")

        deadline = time.monotonic() + 20
        while kode not in screen.inner_text("main"):
            assert time.monotonic() < deadline, "the display did not show the call"
            time.sleep(0.25)
        for ctx in (hall, citizen, officer):
            ctx.close()
