"""The four citizen journeys, driven in headless Chromium across a :class:`~tests.weaknet.link.Link`.

Each journey returns a :class:`Measured`, counted by the relay in the middle of the link:

* ``bytes_down`` / ``bytes_up``: HTTP bytes, i.e. new TCP payload (request and status
  lines, headers, bodies as sent: compressed pages, the shrunk scan, every redirect and
  retry), each byte once even when TCP retransmitted it. Playwright's
  ``request.sizes()`` cannot be used for this: it reports 0 for an XHR body built
  from a Blob, which is exactly the shrunk scan and the selfie frames;
* ``wire_down`` / ``wire_up``: IP bytes, i.e. all of the above plus TCP/IP headers,
  handshakes, ACKs and retransmissions;
* ``requests`` (HTTP requests that left the phone), ``failed`` (requests the page saw
  fail) and ``wall_ms`` (from the first action to the last page being ready).

Shared by ``tests/test_weaknet.py`` (one profile, budgets in bytes) and
``python -m tests.weaknet`` (all profiles, ``make bench-weaknet``).
"""

from __future__ import annotations

import re
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from tests.weaknet.link import PORT, SRV_ADDR, Link

_TESTS = str(Path(__file__).resolve().parents[1])  # the test suite's own modules, as pytest imports them
if _TESTS not in sys.path:
    sys.path.insert(0, _TESTS)
import browser_support  # noqa: E402
from browser_support import fill_birth_application, fill_registration, wait_until  # noqa: E402

BUDI = "2171031508900001"  # demo citizen (README)
# The browser tests' flags, plus: the site is served over HTTPS in production, where the camera
# API exists; here it is plain HTTP on a namespace address, so that origin is treated as secure
# (TLS itself is not modelled: see the README's "Weak networks").
INSECURE_OK = [f"--unsafely-treat-insecure-origin-as-secure=http://{SRV_ADDR}:{PORT}"]
FLAGS = browser_support.FLAGS + INSECURE_OK
TIMEOUT_MS = 90_000
SCAN_SIZE = (1536, 2048)  # a 3-megapixel phone photo of a printed document
PAINT_JS = """() => {
  const n = performance.getEntriesByType('navigation')[0];
  const out = {ttfb: n.responseStart, dcl: n.domContentLoadedEventEnd, load: n.loadEventEnd};
  for (const e of performance.getEntriesByType('paint')) out[e.name] = e.startTime;
  return out;
}"""


@dataclass
class Measured:
    bytes_down: int = 0
    bytes_up: int = 0
    requests: int = 0
    failed: int = 0
    wall_ms: float = 0.0
    wire_down: int = 0
    wire_up: int = 0
    extra: dict = field(default_factory=dict)
    sent: list = field(default_factory=list)  # request lines the relay saw leave the phone

    @property
    def total(self) -> int:
        return self.bytes_down + self.bytes_up

    def __add__(self, other: Measured) -> Measured:
        return Measured(self.bytes_down + other.bytes_down, self.bytes_up + other.bytes_up,
                        self.requests + other.requests, self.failed + other.failed, self.wall_ms + other.wall_ms,
                        self.wire_down + other.wire_down, self.wire_up + other.wire_up,
                        {**self.extra, **other.extra}, self.sent + other.sent)


class Meter:
    """The link's traffic between start() and stop(), and the requests a browser context saw fail."""

    def __init__(self, context, link: Link):
        self.link = link
        self.failed: list = []
        self.t0 = 0.0
        context.on("requestfailed", lambda r: self.failed.append(r))

    def start(self) -> Meter:
        self.failed.clear()
        self.link.reset()
        self.t0 = time.monotonic()
        return self

    def stop(self) -> Measured:
        wall = (time.monotonic() - self.t0) * 1000
        time.sleep(0.25)  # the phone's last ACKs (counted as they leave it; payload is counted as it is sent)
        stats = self.link.stats()
        return Measured(bytes_down=stats["down_payload"], bytes_up=stats["up_payload"],
                        requests=len(stats["exchanges"]), failed=len(self.failed), wall_ms=wall,
                        wire_down=stats["down_bytes"], wire_up=stats["up_bytes"], sent=stats["exchanges"])


def bytes_by_kind(exchanges: list) -> dict[str, int]:
    """Bytes down (status line + headers + encoded body) per kind of resource, from the relay's exchanges."""
    out: dict[str, int] = {}
    for line, _up, down in exchanges:
        path = line.split(" ", 1)[1].split("?", 1)[0]
        kind = ("css" if path.endswith(".css") else "js" if path.endswith(".js") else
                "static" if path.startswith("/static/") or path == "/favicon.ico" else "html")
        out[kind] = out.get(kind, 0) + down
    return out


def document_scan(path: Path, size: tuple[int, int] = SCAN_SIZE) -> Path:
    """A deterministic phone photo of a printed form: lines of 'text', a frame, a stamp,
    uneven light and sensor noise (a flat synthetic image would flatter every byte figure)."""
    import numpy as np
    from PIL import Image, ImageDraw, ImageFilter

    w, h = size
    rng = np.random.default_rng(20261101)
    im = Image.new("L", (w, h), 235)
    d = ImageDraw.Draw(im)
    s = w / 1000
    d.rectangle((60 * s, 60 * s, w - 60 * s, h - 60 * s), outline=40, width=int(4 * s))
    y = 200 * s
    while y < h - 300 * s:
        x = 100 * s
        while x < w - 150 * s:
            length = int(rng.integers(20, 90)) * s
            d.rectangle((x, y, x + length, y + 14 * s), fill=int(rng.integers(30, 80)))
            x += length + 12 * s
        y += 38 * s
    d.ellipse((w - 380 * s, h - 420 * s, w - 140 * s, h - 180 * s), outline=90, width=int(6 * s))
    a = np.asarray(im, dtype=np.float32) * (0.85 + 0.15 * (np.arange(w, dtype=np.float32) / w))[None, :]
    a += rng.normal(0, 4, a.shape).astype(np.float32)
    rgb = np.stack([a, a * 0.98, a * 0.93], -1).clip(0, 255).astype(np.uint8)
    Image.fromarray(rgb).filter(ImageFilter.GaussianBlur(0.8)).save(path, "JPEG", quality=85)
    return path


class Phone:
    """Headless Chromium running inside the link's client namespace."""

    def __init__(self, playwright, link: Link, chromium: str):
        self.pw = playwright
        self.link = link
        self.exe = link.chromium(chromium)
        self.browser = None

    def context(self, javascript: bool = True):
        if self.browser is None:
            self.browser = self.pw.chromium.launch(executable_path=self.exe, headless=True, args=FLAGS)
        ctx = self.browser.new_context(viewport={"width": 400, "height": 800}, locale="id-ID",
                                       java_script_enabled=javascript)
        ctx.set_default_timeout(TIMEOUT_MS)
        ctx.set_default_navigation_timeout(TIMEOUT_MS)
        return ctx

    def persistent(self, profile: str, javascript: bool = True, extra: list[str] | None = None):
        """A browser with a profile on disk (its HTTP cache and cookies outlive a restart)."""
        ctx = browser_support.launch(self.pw, INSECURE_OK + (extra or []), javascript, executable=self.exe,
                                     profile=profile)
        ctx.set_default_timeout(TIMEOUT_MS)
        ctx.set_default_navigation_timeout(TIMEOUT_MS)
        return ctx

    def close(self) -> None:
        if self.browser is not None:
            self.browser.close()
            self.browser = None


# journey 1 ---------------------------------------------------------------------------------
PAGES = {"beranda": "/", "layanan": "/layanan"}


def first_visit(phone: Phone, base: str, javascript: bool) -> Measured:
    """Cold first visit (empty cache, new connection) to each page, one fresh browser context per page."""
    total = Measured()
    for name, path in PAGES.items():
        ctx = phone.context(javascript)
        try:
            page = ctx.new_page()
            meter = Meter(ctx, phone.link).start()
            page.goto(base + path, wait_until="load")
            loaded = (time.monotonic() - meter.t0) * 1000
            page.wait_for_load_state("networkidle")
            m = meter.stop()
            m.wall_ms = loaded
            timing = page.evaluate(PAINT_JS)
        finally:
            ctx.close()
        kinds = bytes_by_kind(m.sent)
        html, css = kinds.get("html", 0), kinds.get("css", 0)
        m.extra = {f"{name}_html_bytes": html, f"{name}_css_bytes": css, f"{name}_html_css_bytes": html + css,
                   f"{name}_js_bytes": kinds.get("js", 0), f"{name}_other_bytes": kinds.get("static", 0),
                   f"{name}_down_bytes": m.bytes_down, f"{name}_requests": m.requests,
                   f"{name}_ttfb_ms": timing.get("ttfb", 0), f"{name}_first_paint_ms": timing.get("first-paint", 0),
                   f"{name}_first_contentful_paint_ms": timing.get("first-contentful-paint", 0),
                   f"{name}_load_ms": timing.get("load", 0)}
        total = total + m
    return total


# journey 2 ---------------------------------------------------------------------------------
def register_with_selfie(phone: Phone, base: str, javascript: bool, workdir: Path,
                         cuts: int = 0, outage: float = 3.0) -> Measured:
    """Register Ahmad: the form, the SMS code (shown on the page in demo mode), then the selfie.

    With JavaScript the phone's (fake) camera answers the page's head-pose challenge
    and the account is active at the end. The fake camera is fixed when Chromium
    starts and the challenge is only known from the page, so the phone is restarted
    on the same profile (cache and cookies kept) and reopens the selfie page: one page
    more than a person would load. Without JavaScript the page offers a file input:
    one photo is sent; the account works at level terdaftar and the face waits for an officer (``/daftar/status``).

    ``cuts`` > 0 (with JavaScript): the line drops as the server answers each of the
    next ``cuts`` frame uploads; selfie.js sends the same frames again.
    """
    from browser_support import camera_flags, capture_poses, start_camera, write_y4m
    from faces_support import FACES_DIR, to_jpeg

    profile = tempfile.mkdtemp(prefix="weaknet-phone-", dir=workdir)
    try:
        if not javascript:
            from PIL import Image

            photo = workdir / "selfie.jpg"
            photo.write_bytes(to_jpeg(Image.open(FACES_DIR / "obama/obama4.jpg"), quality=80, max_side=640))
            ctx = phone.persistent(profile, javascript=False)
            try:
                page = ctx.pages[0]
                meter = Meter(ctx, phone.link).start()
                fill_registration(page, base)
                page.set_input_files("#foto", str(photo))
                page.click("#tanpa-js button")
                page.wait_for_url("**/daftar/status")
                m = meter.stop()
            finally:
                ctx.close()
            m.extra = {"selfie_bytes": photo.stat().st_size, "outcome": "petugas"}
            return m

        from posed import frames_for

        ctx = phone.persistent(profile)
        try:
            page = ctx.pages[0]
            meter = Meter(ctx, phone.link).start()
            fill_registration(page, base)
            first = meter.stop()
            poses = page.get_attribute("#form-wajah", "data-pose").split(",")
            colours = [c for c in (page.get_attribute("#form-wajah", "data-warna") or "").split(",") if c]
        finally:
            ctx.close()
        # a live head re-rendered in 3-D from the registry's portrait, lit by the page's screen colours
        frames = frames_for("obama/obama5-1080p.jpg", poses, colours or None)
        y4m = write_y4m(frames, workdir / "kamera.y4m", width=480, height=640, hold=3, fit=True)
        ctx = phone.persistent(profile, extra=camera_flags(y4m))
        try:
            page = ctx.pages[0]
            meter = Meter(ctx, phone.link).start()
            page.goto(base + "/daftar/wajah")
            assert page.get_attribute("#form-wajah", "data-pose").split(",") == poses
            start_camera(page)
            if cuts:
                phone.link.arm("/daftar/wajah", cuts=cuts, outage=outage)
            capture_poses(page, len(poses), colours)
            page.wait_for_url(re.compile(r".*/(akun|masuk)([?#].*)?$"))
            page.wait_for_load_state()
            landed = page.url.removeprefix(base)
            verified = "Terverifikasi wajah" in page.inner_text("main")
            if not cuts:
                assert verified, page.inner_text("main")[:600]
            cuts_left = phone.link.disarm() if cuts else 0
            second = meter.stop()
            upload = max((up for line, up, _ in second.sent if line == "POST /daftar/wajah"), default=0)
            failed = [f"{r.method} {r.url.removeprefix(base)}: {r.failure}" for r in meter.failed]
        finally:
            ctx.close()
        m = first + second
        m.extra = {"selfie_upload_bytes": upload, "outcome": "aktif", "cuts_left": cuts_left, "failed_in_page": failed,
                   "landed": landed, "logged_in": verified}
        return m
    finally:
        shutil.rmtree(profile, ignore_errors=True)


# journey 3 ---------------------------------------------------------------------------------
RECEIPT = re.compile(r".*/permohonan/\d+$")


def upload_scan(page, scan: Path, javascript: bool) -> int:
    """Send the scan; return how often the person had to press 'Unggah' again (without JavaScript)."""
    page.set_input_files("#file-berkas_surat_lahir", str(scan))
    presses = 0
    if not javascript:
        page.click("#berkas-berkas_surat_lahir button")
        presses = press_again_until(page, re.compile(r".*/isi\?tersimpan=1#berkas-"),
                                    "#berkas-berkas_surat_lahir button",
                                    lambda: page.set_input_files("#file-berkas_surat_lahir", str(scan)))
    # with JavaScript, unggah.js shrinks, sends, and on a dropped line sends again by itself
    page.wait_for_selector("#berkas-berkas_surat_lahir .ok-msg")
    assert page.input_value("#nama_anak") == "Putri Santoso"  # nothing lost across the upload
    return presses


def press_again_until(page, done: re.Pattern, button: str, refill=None, attempts: int = 4) -> int:
    """What a person does when a form submit ends on the browser's 'no connection' page:
    go back to the page with the button and press it again. Returns how many times."""
    presses = 0
    while True:
        wait_until(page, lambda: bool(done.match(page.url)) or page.url.startswith("chrome-error:"), timeout=120)
        if done.match(page.url):
            return presses
        presses += 1
        assert presses <= attempts, "still no answer after pressing again"
        page.go_back()
        if done.match(page.url):  # the page came back fresh from the server, already done
            return presses
        if refill:
            refill()
        page.click(button)


def submit(page) -> int:
    """Check the answers and submit; return how often the person had to press submit again."""
    page.click("text=Lanjut: periksa jawaban")
    page.wait_for_url("**/periksa")
    page.click("button:has-text('Ajukan permohonan')")
    return press_again_until(page, RECEIPT, "button:has-text('Ajukan permohonan')")


def apply(phone: Phone, base: str, scan: Path, javascript: bool, cut: tuple[str, int] | None = None,
          outage: float = 3.0, then_status: bool = False) -> tuple[Measured, Measured | None, str]:
    """Journey 3: log in, open the akta kelahiran page, fill the form, upload one scan, submit,
    reach the receipt. With ``then_status``, journey 4 follows on the same phone.

    ``cut=("/berkas/", n)`` or ``("/ajukan", n)``: the link goes dark for ``outage``
    seconds as the server starts answering each of the next ``n`` matching POSTs, and
    the connections are lost (see ``relay.py``).
    """
    ctx = phone.context(javascript)
    try:
        page = ctx.new_page()
        meter = Meter(ctx, phone.link).start()
        browser_support.log_in(page, base, BUDI)
        page.wait_for_url("**/akun")
        fill_birth_application(page, base, javascript)
        if cut and cut[0] == "/berkas/":
            phone.link.arm(cut[0], cuts=cut[1], outage=outage)
        upload_presses = upload_scan(page, scan, javascript)
        if cut and cut[0] == "/ajukan":
            phone.link.arm(cut[0], cuts=cut[1], outage=outage)
        submit_presses = submit(page)
        assert "Permohonan diajukan" in page.inner_text("main")
        cuts_left = phone.link.disarm() if cut else 0
        m = meter.stop()
        m.extra = {"scan_file_bytes": scan.stat().st_size,
                   "scan_upload_bytes": max((up for line, up, _ in m.sent if "/berkas/" in line), default=0),
                   "pressed_again": upload_presses + submit_presses, "cuts_left": cuts_left,
                   "failed_in_page": [f"{r.method} {r.url.removeprefix(base)}: {r.failure}" for r in meter.failed]}
        receipt = page.url.removeprefix(base)
        status = check_status(page, base, meter, receipt) if then_status else None
        return m, status, receipt
    finally:
        ctx.close()


# journey 4 ---------------------------------------------------------------------------------
def check_status(page, base: str, meter: Meter, receipt: str) -> Measured:
    """Journey 4: later, on the same phone (still logged in, its cache kept), the citizen opens
    their account from a bookmark, then 'Permohonan saya', then the application."""
    page.goto("about:blank")
    meter.start()
    page.goto(base + "/akun")
    page.click("text=Permohonan saya")
    page.wait_for_url("**/permohonan")
    page.click(f"main table a[href='{receipt}']")
    page.wait_for_url(RECEIPT)
    assert "Diajukan" in page.inner_text("main")
    return meter.stop()
