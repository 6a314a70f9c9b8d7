"""In a real browser: register a demo resident with the camera, then log in.

The fake camera plays a Y4M made from real photos answering the page's own
pose challenge (the challenge is read from the page, as a person reads the
instructions). Runs against a real server process on 127.0.0.1.
"""

from __future__ import annotations

import time

import pytest

from bench.server import running_server
from browser_support import MARK, WAIT_FOR_MARK_JS, camera_flags, launch, needs_chromium, write_y4m
from faces_support import needs_faces
from posed import frames_for
from tests.conftest import TEMPLATE_KEY

pytestmark = [pytest.mark.browser, pytest.mark.faces, needs_chromium, needs_faces]


@pytest.fixture
def server(db_path):
    env = {"MPP_SECRET_KEY": "browser-test-key", "MPP_TEMPLATE_KEY": TEMPLATE_KEY, "MPP_DEMO": "1"}
    with running_server(db_path=db_path, env=env) as srv:
        yield srv.url


def wait_until(check, timeout: float = 15.0) -> None:
    """Poll from Python: the page's CSP (rightly) forbids the string eval of wait_for_function."""
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise TimeoutError("condition not met")
        time.sleep(0.05)


def fill_registration(page, base):
    page.goto(base + "/daftar")
    page.fill("#nik", "2171100402850002")
    page.fill("#nama", "Ahmad Fauzi")
    page.fill("#hari", "4")
    page.fill("input[name=bulan]", "2")
    page.fill("input[name=tahun]", "1985")
    page.check("input[name=jenis_kelamin][value=L]")
    page.fill("#telepon", "081234567890")
    page.fill("#kata_sandi", "rahasia-ahmad")
    page.check("#setuju")
    page.click("text=Lanjut ke verifikasi wajah")
    page.wait_for_url("**/daftar/wajah")


def test_register_with_the_camera_then_log_in(server, tmp_path):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        # 1. the citizen fills the form (any browser) and reads the challenge
        first = launch(p)
        page = first.pages[0]
        fill_registration(page, server)
        poses = page.get_attribute("#form-wajah", "data-pose").split(",")
        cookies = first.cookies()
        first.close()

        # 2. the phone's camera "shows" the head turns asked for
        y4m = write_y4m(frames_for("obama/obama4.jpg", poses), tmp_path / "kamera.y4m")
        phone = launch(p, camera_flags(y4m))
        phone.add_cookies(cookies)
        page = phone.pages[0]
        page.goto(server + "/daftar/wajah")
        assert page.get_attribute("#form-wajah", "data-pose").split(",") == poses  # same challenge
        page.click("#ambil")  # start the camera
        wait_until(lambda: page.evaluate("() => document.getElementById('video').videoWidth > 0"))
        assert page.is_hidden("#tanpa-js")
        for i in range(len(poses)):
            wait_until(lambda: page.evaluate(WAIT_FOR_MARK_JS, MARK[i]))
            page.click("#ambil")
        page.wait_for_url("**/akun", timeout=30_000)
        assert "Terverifikasi wajah" in page.inner_text("main")

        # 3. log out and in again with the NIK
        page.click("text=Keluar")
        page.goto(server + "/masuk")
        page.fill("#login", "2171100402850002")
        page.fill("#kata_sandi", "rahasia-ahmad")
        page.click("main button")
        page.wait_for_url("**/akun")
        assert "Ahmad Fauzi" in page.inner_text("main")
        phone.close()
