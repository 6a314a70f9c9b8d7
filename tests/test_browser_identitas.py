"""In a real browser: register a demo resident with the camera, then log in.

The fake camera plays a Y4M made from a real photo answering the page's own
pose challenge (the challenge is read from the page, as a person reads the
instructions): a genuine-looking sequence, the head re-rendered in 3-D for each
pose and lit by the screen colour the page will show for that frame
(``data-warna``; tests/posed.py), portrait like a phone's front camera.
Runs against a real server process on 127.0.0.1.
"""

from __future__ import annotations

import pytest
from browser_support import (
    camera_flags,
    capture_poses,
    fill_registration,
    launch,
    needs_chromium,
    start_camera,
    write_y4m,
)
from faces_support import needs_faces
from posed import frames_for

from bench.server import running_server
from tests.conftest import TEMPLATE_KEY

pytestmark = [pytest.mark.browser, pytest.mark.faces, needs_chromium, needs_faces]
# Ahmad's registry photo is obama1.jpg. His selfie is re-rendered from obama5-1080p.jpg, a video frame of
# the same portrait: his other pictures sit at 0.33-0.39 from it (obama2, obama4), at or over the 0.35
# auto-accept band, and this test is about the camera path, not about where the band lies.
SELFIE = "obama/obama5-1080p.jpg"


@pytest.fixture
def server(db_path):
    env = {"MPP_SECRET_KEY": "browser-test-key", "MPP_TEMPLATE_KEY": TEMPLATE_KEY, "MPP_DEMO": "1"}
    with running_server(db_path=db_path, env=env) as srv:
        yield srv.url


def _one_challenge_window(margin_s: float = 60.0) -> None:
    """A reload shows the same challenge within its window (services/identitas.CHALLENGE_WINDOW_S, 120 s) and a new
    one after it. The test reads the challenge on one browser and reloads it on the "phone": start those two in one
    window, or a loaded machine may cross into the next between them (the poses can match, the colours not)."""
    import time

    from services.identitas import CHALLENGE_WINDOW_S

    left = CHALLENGE_WINDOW_S - time.time() % CHALLENGE_WINDOW_S
    if left < margin_s:
        time.sleep(left + 0.5)


def test_register_with_the_camera_then_log_in(server, tmp_path):
    from playwright.sync_api import sync_playwright

    _one_challenge_window()
    with sync_playwright() as p:
        # 1. the citizen fills the form (any browser) and reads the challenge
        first = launch(p)
        page = first.pages[0]
        fill_registration(page, server)
        poses = page.get_attribute("#form-wajah", "data-pose").split(",")
        colours = [c for c in (page.get_attribute("#form-wajah", "data-warna") or "").split(",") if c]
        cookies = first.cookies()
        first.close()

        # 2. the phone's camera "shows" the head turns asked for, lit by the screen's colours
        frames = frames_for(SELFIE, poses, colours or None)
        y4m = write_y4m(frames, tmp_path / "kamera.y4m", width=480, height=640, hold=3, fit=True)
        phone = launch(p, camera_flags(y4m))
        phone.add_cookies(cookies)
        page = phone.pages[0]
        page.goto(server + "/daftar/wajah")
        assert page.get_attribute("#form-wajah", "data-pose").split(",") == poses  # same challenge
        assert (page.get_attribute("#form-wajah", "data-warna") or "") == ",".join(colours)
        start_camera(page)
        assert page.is_hidden("#tanpa-js")
        capture_poses(page, len(poses), colours)
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
