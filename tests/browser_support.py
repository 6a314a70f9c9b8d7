"""Real headless Chromium (Debian's package) for browser tests, driven by Playwright.

Playwright's own browser download cannot work here, so it launches the system
``chromium`` by path. Tests skip with a reason where it is not installed
(``make test`` installs it).
"""

from __future__ import annotations

import contextlib
import re
import shutil
import tempfile
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

CHROMIUM = shutil.which("chromium")
needs_chromium = pytest.mark.skipif(CHROMIUM is None, reason="Debian chromium not installed (make test installs it)")
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic"]


def launch(playwright, extra: list[str] | None = None, javascript: bool = True, bypass_csp: bool = False,
           executable: str | None = None, profile: str | None = None):
    """A phone-sized headless Chromium on a profile of its own (a fresh one unless ``profile``
    is given); ``bypass_csp`` only to inject test tools."""
    return playwright.chromium.launch_persistent_context(
        profile or tempfile.mkdtemp(prefix="chromium-"), executable_path=executable or CHROMIUM, headless=True,
        args=FLAGS + (extra or []), viewport={"width": 400, "height": 800}, locale="id-ID",
        java_script_enabled=javascript, bypass_csp=bypass_csp,
    )


def camera_flags(y4m: Path) -> list[str]:
    return ["--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream",
            f"--use-file-for-fake-video-capture={y4m}"]


MARK = (40, 130, 220)  # luma of the corner marker of frame 0, 1, 2


def write_y4m(frames: list[bytes], path: Path, width: int = 640, height: int = 480, hold: int = 2,
              fit: bool = False) -> Path:
    """A 1 fps Y4M (4:2:0) of the given JPEG frames, letterboxed, never stretched.

    Each frame carries a grey square in its top-left corner (outside the photo)
    whose brightness says which frame it is, so a test can wait until the fake
    camera shows the frame it wants before pressing the capture button.
    ``hold`` shows each frame that many seconds: the page takes a frame 0.7 s
    after the button is pressed (the screen colour is on meanwhile), so one
    second could end before the frame is taken; ``fit`` also enlarges a
    frame smaller than the video, as a face close to a phone fills it.
    """
    import io

    with open(path, "wb") as out:
        out.write(f"YUV4MPEG2 W{width} H{height} F1:1 Ip A1:1 C420jpeg\n".encode())
        for i, data in enumerate(frames):
            im = Image.open(io.BytesIO(data)).convert("RGB")
            if fit:
                ratio = min((width - 80) / im.width, height / im.height)
                im = im.resize((round(im.width * ratio), round(im.height * ratio)), Image.Resampling.LANCZOS)
            else:
                im.thumbnail((width - 80, height))
            canvas = Image.new("RGB", (width, height))
            canvas.paste(im, ((width - im.width) // 2 + 40, (height - im.height) // 2))
            ycbcr = np.asarray(canvas.convert("YCbCr"))
            y = ycbcr[:, :, 0].copy()
            y[0:32, 0:32] = MARK[i]
            cb = np.asarray(Image.fromarray(ycbcr[:, :, 1]).resize((width // 2, height // 2), Image.BILINEAR))
            cr = np.asarray(Image.fromarray(ycbcr[:, :, 2]).resize((width // 2, height // 2), Image.BILINEAR))
            cb, cr = cb.copy(), cr.copy()
            cb[0:16, 0:16] = 128
            cr[0:16, 0:16] = 128
            out.write((b"FRAME\n" + y.tobytes() + cb.tobytes() + cr.tobytes()) * hold)
    return path


WAIT_FOR_MARK_JS = """(want) => {
  const v = document.getElementById('video');
  if (!v || !v.videoWidth) return false;
  const c = document.createElement('canvas'); c.width = 8; c.height = 8;
  const g = c.getContext('2d');
  g.drawImage(v, 0, 0, 16, 16, 0, 0, 8, 8);
  const d = g.getImageData(2, 2, 1, 1).data;
  const luma = 0.299 * d[0] + 0.587 * d[1] + 0.114 * d[2];
  return Math.abs(luma - want) < 25;
}"""


def log_in(page, base: str, login_id: str, password: str = "mpp-demo-2026") -> None:
    page.goto(base + "/masuk")
    page.fill("#login", login_id)
    page.fill("#kata_sandi", password)
    page.click("main button")


def wait_until(page, check, timeout: float = 30.0) -> None:
    """Poll from Python: the page's CSP (rightly) forbids the string eval of wait_for_function."""
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise TimeoutError("condition not met")
        page.wait_for_timeout(50)


def start_camera(page) -> None:
    """Press the selfie page's button once: the (fake) camera starts and shows a picture."""
    page.click("#ambil")
    wait_until(page, lambda: page.evaluate("() => document.getElementById('video').videoWidth > 0"))


COLOUR_ON_SCREEN_JS = """() => {
  const layers = document.querySelectorAll('div[aria-hidden=true]');
  for (const d of layers) { if (d.style.display === 'block') return getComputedStyle(d).backgroundColor; }
  return null;
}"""


def _css_rgb(colour: str) -> str:
    c = colour.lstrip("#")
    return "rgb({}, {}, {})".format(*(int(c[i:i + 2], 16) for i in (0, 2, 4)))


def capture_poses(page, count: int, colours: list[str] | None = None) -> None:
    """Press the capture button as each of the ``count`` frames of :func:`write_y4m` is on camera;
    with ``colours``, also see the page fill the screen with each frame's colour while it takes it."""
    for i in range(count):
        wait_until(page, lambda mark=MARK[i]: page.evaluate(WAIT_FOR_MARK_JS, mark))
        page.click("#ambil")
        if colours:
            want = _css_rgb(colours[i])
            wait_until(page, lambda want=want: page.evaluate(COLOUR_ON_SCREEN_JS) == want, timeout=5)


AHMAD = "2171100402850002"  # demo resident with no account yet, who registers with a selfie (photos: obama)


def fill_registration(page, base: str) -> None:
    """Ahmad's registration form and the SMS code (demo mode shows the SMS on the code page), up to the selfie."""
    page.goto(base + "/daftar")
    page.fill("#nik", AHMAD)
    page.fill("#nama", "Ahmad Fauzi")
    page.fill("#hari", "4")
    page.fill("input[name=bulan]", "2")
    page.fill("input[name=tahun]", "1985")
    page.check("input[name=jenis_kelamin][value=L]")
    page.fill("#telepon", "081234567890")
    page.fill("#kata_sandi", "rahasia-ahmad")
    page.check("#setuju")
    page.click("text=Lanjut: kirim kode SMS")
    page.wait_for_url("**/daftar/kode")
    code = re.search(r"kode verifikasi Anda (\d{6})", page.inner_text("main")).group(1)
    page.fill("#kode", code)
    page.click("text=Buat akun")
    page.wait_for_url("**/daftar/wajah")


def fill_birth_application(page, base: str, javascript: bool) -> None:
    """A logged-in citizen starts an akta kelahiran application and answers its form (the
    answers saved: autosaved by htmx with JavaScript, by the 'Simpan draf' button without)."""
    page.goto(base + "/layanan/akta-kelahiran")
    page.click("button:has-text('Ajukan permohonan')")
    page.wait_for_url(re.compile(r".*/permohonan/\d+/isi"))
    page.fill("#nama_anak", "Putri Santoso")
    page.select_option("#jenis_kelamin", "Perempuan")
    page.fill("#tanggal_lahir", "01-11-2026")
    page.fill("#tempat_lahir", "Batam")
    page.fill("#anak_ke", "1")
    page.fill("#nik_ibu", "2171064712880001")
    if javascript:  # wait for the autosave that carries the last answer
        with page.expect_response(
                lambda r: r.url.endswith("/simpan") and "2171064712880001" in (r.request.post_data or "")):
            page.press("#nik_ibu", "Tab")
    else:
        page.click("text=Simpan draf")
        page.wait_for_url("**/isi?tersimpan=1")


@contextlib.contextmanager
def server_for_budi(db_path: str):
    """A real server on demo data where Budi (the demo citizen) passed a face check a moment ago, so an
    application journey needs no step-up selfie (that is tested elsewhere). Yields its base URL."""
    from bench.server import running_server
    from db.connection import connect
    from tests.conftest import SIGNING_KEY, TEMPLATE_KEY

    db = connect(db_path)
    db.execute("UPDATE akun SET wajah_terakhir = strftime('%Y-%m-%dT%H:%M:%SZ', 'now') WHERE nik = ?",
               ["2171031508900001"])
    db.conn.commit()
    db.conn.close()
    env = {"MPP_SECRET_KEY": "browser-test-key", "MPP_TEMPLATE_KEY": TEMPLATE_KEY, "MPP_SIGNING_KEY": SIGNING_KEY,
           "MPP_FACE_WARMUP": "0"}
    with running_server(db_path=db_path, env=env) as srv:
        yield srv.url
