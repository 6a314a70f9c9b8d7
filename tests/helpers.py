"""Small helpers tests share: parse a page, fill a form's hidden fields, log in."""

from __future__ import annotations

import contextlib
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from bs4 import BeautifulSoup

from ops import seed


def soup(response) -> BeautifulSoup:
    return BeautifulSoup(response.text, "html.parser")


def form_fields(client, url: str, form_action: str | None = None) -> dict[str, str]:
    """The hidden fields (CSRF token, idempotency key) of a form on ``url``."""
    page = soup(client.get(url))
    form = page.find("form", action=form_action, method="post") if form_action else page.find("form", method="post")
    assert form is not None, f"no POST form on {url}"
    return {i["name"]: i.get("value", "") for i in form.find_all("input", type="hidden")}


def login(client, login_id: str, password: str = seed.DEMO_PASSWORD):
    fields = form_fields(client, "/masuk", "/masuk")
    return client.post("/masuk", data={**fields, "login": login_id, "kata_sandi": password},
                       follow_redirects=False)


def start_draft(client, slug: str, wilayah: str = "2171", untuk: str = "", follow_redirects: bool = False):
    """Start a draft the way a citizen does now that GETs only read: ``GET /permohonan/baru?…`` leads to the open
    draft (303) or shows one button, which POSTs. The answer is the old one: a 303 to the draft's form (or the
    404/503 of the page)."""
    query = f"layanan={slug}&wilayah={wilayah}" + (f"&untuk={untuk}" if untuk else "")
    page = client.get(f"/permohonan/baru?{query}", follow_redirects=False)
    if page.status_code == 303 and follow_redirects:
        return client.get(page.headers["location"])
    if page.status_code != 200:
        return page
    form = soup(page).find("form", action="/permohonan/baru", method="post")
    fields = {i["name"]: i.get("value", "") for i in form.find_all("input", type="hidden")}
    return client.post("/permohonan/baru", data=fields, follow_redirects=follow_redirects)


def sms_code(client, url: str = "/daftar/kode") -> str:
    """The 6-digit code of the last SMS, as demo mode shows it on the page where the code is typed."""
    found = re.search(r"kode verifikasi Anda (\d{6})", text_of(client.get(url)))
    assert found, f"no SMS code shown on {url}"
    return found.group(1)


def register(client, person: dict, prove_phone: bool = True):
    """Registration up to an account at level terdaftar: the form, then the SMS code (demo mode shows it)."""
    fields = form_fields(client, "/daftar", "/daftar")
    r = client.post("/daftar", data={**fields, **person}, follow_redirects=False)
    if not prove_phone or r.status_code != 303:
        return r
    fields = form_fields(client, "/daftar/kode", "/daftar/kode")
    return client.post("/daftar/kode", data={**fields, "kode": sms_code(client)}, follow_redirects=False)


def text_of(response) -> str:
    return re.sub(r"\s+", " ", soup(response).get_text(" "))



def jpeg(width: int = 900, height: int = 1200, color=(200, 190, 170)) -> bytes:
    """A plain scan-like JPEG made here (no test photo needed)."""
    import io

    from PIL import Image, ImageDraw

    im = Image.new("RGB", (width, height), color)
    ImageDraw.Draw(im).rectangle((50, 50, width - 50, 200), outline=(0, 0, 0), width=5)
    out = io.BytesIO()
    im.save(out, "JPEG", quality=80)
    return out.getvalue()


SAMPLE = {"teks": "Contoh isian", "teks_panjang": "Jl. Contoh No. 1, Batam", "tanggal": "01-11-2026",
          "angka": "1", "nik": "2171064712880001"}


def answers_for(formulir: list[dict], overrides: dict | None = None) -> dict[str, str]:
    """A valid answer for every non-file field of a service's form."""
    out = {}
    for f in formulir:
        if f["jenis"] == "berkas":
            continue
        out[f["nama"]] = f["opsi"][0] if f["jenis"] == "pilihan" else SAMPLE[f["jenis"]]
    out.update(overrides or {})
    return out


@contextlib.contextmanager
def serving(handler: type[BaseHTTPRequestHandler]):
    """A real HTTP server on 127.0.0.1 (a free port) for adapter tests; its base URL."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
