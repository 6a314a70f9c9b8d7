"""In a real browser: search as you type on /layanan. htmx is not fetched before the page is painted; the
first touch of the search box loads it (static/nanti.js, inlined and allowed by its hash), and typing then
updates the results in place. No script error and no CSP violation on the way."""

from __future__ import annotations

import pytest
from browser_support import launch, needs_chromium, wait_until

from bench.server import running_server
from tests.conftest import SIGNING_KEY, TEMPLATE_KEY

pytestmark = [pytest.mark.browser, needs_chromium]


def test_search_as_you_type_loads_htmx_on_first_use(db_path):
    from playwright.sync_api import sync_playwright

    env = {"MPP_SECRET_KEY": "browser-test-key", "MPP_TEMPLATE_KEY": TEMPLATE_KEY, "MPP_SIGNING_KEY": SIGNING_KEY,
           "MPP_FACE_WARMUP": "0"}
    with running_server(db_path=db_path, env=env) as srv, sync_playwright() as p:
        browser = launch(p)
        page = browser.pages[0]
        problems, asked = [], []
        page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: problems.append(str(e)))
        page.on("request", lambda r: asked.append(r.url))
        page.goto(srv.url + "/layanan", wait_until="load")
        assert not [u for u in asked if u.endswith(".js")]  # nothing fetched before the first touch
        page.click("#q")
        wait_until(page, lambda: any("htmx" in u for u in asked))  # the first touch fetched it
        page.wait_for_timeout(500)  # parsed and started (a person is still reading the label)
        page.keyboard.type("akta kelahran", delay=50)
        wait_until(page, lambda: any("/fragmen/layanan" in u for u in asked), timeout=10)
        wait_until(page, lambda: "Akta Kelahiran" in page.inner_text("#hasil"))
        assert page.url.endswith("/layanan")  # updated in place, not by submitting the form
        assert any("htmx" in u for u in asked) and problems == [], problems
        browser.close()
