"""In a real browser, with JavaScript and without: a citizen applies with a document upload,
an officer approves, the citizen opens the signed document and its verification page."""

from __future__ import annotations

import re

import pytest
from browser_support import fill_birth_application, launch, log_in, needs_chromium

from tests.helpers import jpeg

pytestmark = [pytest.mark.browser, needs_chromium]
BUDI = "2171031508900001"


@pytest.fixture
def server(db_path):
    from browser_support import server_for_budi

    with server_for_budi(db_path) as url:
        yield url


def apply(page, base, scan, javascript: bool) -> str:
    log_in(page, base, BUDI)
    fill_birth_application(page, base, javascript)
    # the page promises a shrunk photo only where the script that shrinks it runs
    assert ("diperkecil di ponsel" in page.inner_text("#catatan-ukuran")) == javascript
    page.set_input_files("#file-berkas_surat_lahir", str(scan))
    if not javascript:
        page.click("#berkas-berkas_surat_lahir button")
    page.wait_for_selector("#berkas-berkas_surat_lahir .ok-msg", timeout=15_000)
    assert page.input_value("#nama_anak") == "Putri Santoso"  # nothing lost across the upload
    page.click("text=Lanjut: periksa jawaban")
    page.wait_for_url("**/periksa")
    page.click("button:has-text('Ajukan permohonan')")
    page.wait_for_url(re.compile(r".*/permohonan/\d+$"))
    assert "Permohonan diajukan" in page.inner_text("main")
    return page.url


def approve(page, base, case_path):
    log_in(page, base, "dukcapil.batam")
    page.goto(base + case_path.replace("/permohonan/", "/petugas/permohonan/"))
    for button in ("Berkas lengkap dan benar", "Setujui", "Tandatangani dan terbitkan dokumen"):
        page.click(f"button:has-text('{button}')")
        page.wait_for_url("**/petugas")
        page.goto(base + case_path.replace("/permohonan/", "/petugas/permohonan/"))
    assert "Selesai" in page.inner_text("main")


@pytest.mark.parametrize("javascript", [True, False], ids=["js", "tanpa-js"])
def test_apply_approve_and_verify_the_signed_document(server, tmp_path, javascript):
    from playwright.sync_api import sync_playwright

    scan = tmp_path / "surat-lahir.jpg"
    scan.write_bytes(jpeg(2400, 3200))
    with sync_playwright() as p:
        citizen = launch(p, javascript=javascript)
        page = citizen.pages[0]
        sent = []
        page.on("request", lambda r: sent.append(len(r.post_data_buffer or b"")) if "/berkas/" in r.url else None)
        url = apply(page, server, scan, javascript)
        if javascript:  # the photo was shrunk on the phone before upload
            assert sent and max(sent) < scan.stat().st_size / 2
        officer = launch(p, javascript=javascript)
        approve(officer.pages[0], server, url.removeprefix(server))
        officer.close()
        page.goto(url)
        page.click("text=Lihat dokumen")
        assert page.locator(".qr svg").count() == 1
        verify_url = page.get_attribute(".small a", "href")
        page.goto(verify_url)
        assert "Dokumen sah" in page.inner_text("main")
        pdf = page.request.get(url + "/dokumen.pdf")
        assert pdf.body().startswith(b"%PDF")
        citizen.close()


def fits_360(page) -> bool:
    """Nothing wider than a 360 px phone: no sideways scrolling."""
    return page.evaluate("document.documentElement.scrollWidth") <= 360


def test_a_checker_and_a_signing_officer_at_360px_without_javascript(server, tmp_path):
    """Issue 13: the verification page, the holder's document page and the revocation form on the
    case page, on a 360 px phone with JavaScript off; a revoked document reads "Dokumen dicabut" in red."""
    from playwright.sync_api import sync_playwright

    scan = tmp_path / "surat-lahir.jpg"
    scan.write_bytes(jpeg(1200, 1600))
    with sync_playwright() as p:
        citizen = launch(p, javascript=False)
        page = citizen.pages[0]
        page.set_viewport_size({"width": 360, "height": 740})
        url = apply(page, server, scan, javascript=False)
        officer = launch(p, javascript=False)
        desk = officer.pages[0]
        desk.set_viewport_size({"width": 360, "height": 740})
        approve(desk, server, url.removeprefix(server))
        page.goto(url + "/dokumen")
        assert fits_360(page) and "Nama lengkap anak" in page.inner_text("dl.isi")
        verify_url = page.get_attribute(".small a", "href")
        page.goto(verify_url)
        assert "Dokumen sah" in page.inner_text("main") and fits_360(page)
        assert page.inner_text("dl.isi dt >> nth=6") == "Nama lengkap anak"
        # the signing officer revokes from the case page
        desk.goto(server + url.removeprefix(server).replace("/permohonan/", "/petugas/permohonan/"))
        assert fits_360(desk)
        desk.select_option("#kategori-cabut", "data_keliru")
        desk.fill("#catatan-cabut", "Nama anak salah ketik; akta pengganti diterbitkan.")
        desk.click("button:has-text('Cabut dokumen')")
        desk.wait_for_url("**/petugas")
        assert "dicabut" in desk.inner_text("main")
        officer.close()
        page.goto(verify_url)
        heading = page.locator(".status-dicabut h1")
        assert heading.inner_text() == "Dokumen dicabut" and "Dokumen sah" not in page.inner_text("main")
        assert heading.evaluate("h => getComputedStyle(h).color") == "rgb(212, 53, 28)"  # red
        assert "Nama anak salah ketik" in page.inner_text(".status-dicabut") and fits_360(page)
        page.goto(url + "/dokumen")
        assert "Dokumen dicabut" in page.inner_text("main") and fits_360(page)
        citizen.close()
