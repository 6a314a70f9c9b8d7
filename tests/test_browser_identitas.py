"""In a real browser: register a demo resident with the camera, then log in.

The fake camera plays a Y4M made from real photos answering the page's own
pose challenge (the challenge is read from the page, as a person reads the
instructions). Runs against a real server process on 127.0.0.1.
"""

from __future__ import annotations

import pytest

from bench.server import running_server
from browser_support import camera_flags, capture_poses, fill_registration, launch, needs_chromium, start_camera, write_y4m
from faces_support import needs_faces
from posed import frames_for
from tests.conftest import TEMPLATE_KEY

pytestmark = [pytest.mark.browser, pytest.mark.faces, needs_chromium, needs_faces]


@pytest.fixture
def server(db_path):
    env = {"MPP_SECRET_KEY": "browser-test-key", "MPP_TEMPLATE_KEY": TEMPLATE_KEY, "MPP_DEMO": "1"}
    with running_server(db_path=db_path, env=env) as srv:
        yield srv.url


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
        start_camera(page)
        assert page.is_hidden("#tanpa-js")
        capture_poses(page, len(poses))
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
