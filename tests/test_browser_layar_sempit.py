"""On a 360×640 phone no page scrolls sideways: every public page and each role's main pages, with
seeded demo data (an issued document, an application in the officer's inbox, a ticket in today's
queue, a complaint) so that tables have rows. A failure names the elements that stick out."""

from __future__ import annotations

import datetime as dt
import shutil

import pytest
from browser_support import launch, log_in, needs_chromium
from starlette.testclient import TestClient

from app import create_app
from bench.server import running_server
from db.connection import connect
from services import antrean as antrean_svc
from services import pengaduan as pengaduan_svc
from tests.conftest import SIGNING_KEY, TEMPLATE_KEY
from tests.helpers import login
from tests.test_dokumen import issue
from tests.test_permohonan import BUDI, fill, start, submit
from web.settings import Settings

pytestmark = [pytest.mark.browser, needs_chromium]
WIDTH = 360
NOW = dt.datetime(2026, 11, 30, 2, 0, tzinfo=dt.UTC)  # Monday 09:00 WIB in Batam
# long unbroken words, as people type them, in what officers and the citizen read back
LONG = "Antrean-loket-Disdukcapil-tidak-bergerak-sejak-pagi-hingga-siang-hari-padahal-sudah-daftar-daring"
# a refused import of the national list: its page lists each error
BAD_CSV = ("kode,status,tanggal_berdiri,target_tahun\n2171,berdiri,kemarin-sore,\n9999,entah,,\n"
           "1101,target,,dua-ribu-dua-puluh-tujuh\n" + "x" * 120 + ",berdiri,,\n").encode()


@pytest.fixture(scope="module")
def site(template_db, tmp_path_factory):
    """A server on a copy of the demo data, with something in every list; its URL and the ids to visit."""
    path = str(tmp_path_factory.mktemp("layar-sempit") / "mpp.db")
    shutil.copy(template_db, path)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("MPP_NOW", NOW.isoformat())
        db = connect(path)
        db.execute("UPDATE akun SET wajah_terakhir = ?, telepon = '081200001111' WHERE nik = ?",
                   [NOW.strftime("%Y-%m-%dT%H:%M:%SZ"), BUDI])
        db.conn.commit()
        app = create_app(Settings(db_path=path, secret_key="layar-sempit-key", demo=True, template_key=TEMPLATE_KEY,
                                  signing_key=SIGNING_KEY), quiet=True)
        with TestClient(app, base_url="http://127.0.0.1") as citizen:
            login(citizen, BUDI)
            issued, token = issue(app, citizen, db, "akta-kelahiran",
                                  {"nama_anak": "Putri Anggraini Kusumawardhani Santoso", "tempat_lahir": "Batam"})
            waiting = start(citizen, "kartu-keluarga")  # in the officer's inbox
            fill(citizen, db, waiting, "kartu-keluarga")
            submit(citizen, waiting)
            draft = start(citizen, "akta-kematian")  # the check-answers page
            fill(citizen, db, draft, "akta-kematian")
        budi = dict(db.execute("SELECT * FROM akun WHERE nik = ?", [BUDI]).fetchone())
        gerai = db.execute("SELECT id FROM gerai WHERE wilayah_kode = '2171' AND nomor = '01'").fetchone()[0]
        ticket = antrean_svc.book(db, budi, gerai, "2026-11-30", "10:00", now=NOW)
        officer = dict(db.execute("SELECT * FROM akun WHERE username = 'dukcapil.batam'").fetchone())
        antrean_svc.call_next(db, officer, gerai, now=NOW)  # called: the row has all its buttons
        antrean_svc.walk_in(db, officer, gerai, now=NOW)  # and one waiting
        akta = db.execute("SELECT id FROM layanan WHERE slug = 'akta-kelahiran'").fetchone()[0]
        complaint = pengaduan_svc.file(db, {"isi": LONG + " " + LONG, "wilayah": "2171", "layanan": str(akta),
                                            "kontak": "budi@contoh.id"}, budi, "127.0.0.7", now=NOW)
        db.conn.close()
    env = {"MPP_SECRET_KEY": "layar-sempit-key", "MPP_TEMPLATE_KEY": TEMPLATE_KEY, "MPP_SIGNING_KEY": SIGNING_KEY,
           "MPP_FACE_WARMUP": "0", "MPP_NOW": NOW.isoformat()}
    with running_server(db_path=path, env=env) as srv:
        yield {"url": srv.url, "issued": issued, "token": token, "waiting": waiting, "draft": draft,
               "ticket": ticket["id"], "complaint": complaint}


PAGES = {
    "umum": (None, [
        "/", "/layanan", "/layanan?q=akta", "/layanan/akta-kelahiran", "/layanan/sip-perawat", "/mpp/2171",
        "/mpp/2171/layar", "/masuk", "/daftar", "/pengaduan", "/pengaduan/{c[nomor]}?kode={c[kode_lacak]}",
        "/verifikasi/{token}", "/pemantauan", "/pemantauan/provinsi", "/pemantauan/daftar",
        "/pemantauan/wilayah/2171", "/tidak-ada",
    ]),
    "warga": (BUDI, [
        "/akun", "/permohonan", "/permohonan/{draft}/isi", "/permohonan/{draft}/periksa", "/permohonan/{waiting}",
        "/permohonan/{issued}", "/permohonan/{issued}/dokumen", "/mpp/2171/antrean", "/antrean/{ticket}",
        "/verifikasi-wajah", "/pengaduan?permohonan={issued}",
    ]),
    "petugas": ("dukcapil.batam", [
        "/petugas", "/petugas/permohonan/{waiting}", "/petugas/permohonan/{issued}", "/petugas/antrean",
        "/petugas/pengaduan", "/petugas/pengaduan/{c[id]}", "/petugas/identitas",
    ]),
    "admin-wilayah": ("admin.batam", [
        "/admin", "/admin/2171/profil", "/admin/2171/instansi", "/admin/2171/gerai", "/admin/2171/layanan",
        "/admin/2171/petugas", "/admin/2171/libur", "/admin/2171/kriteria", "/petugas/pengaduan",
        "/petugas/pengaduan/{c[id]}",
    ]),
    "kementerian": ("kemenpanrb", [
        "/admin", "/pemantauan", "/pemantauan/kriteria", "/pemantauan/kinerja", "/pemantauan/impor",
        "/pemantauan/pengaduan", "/pemantauan/daftar?hal=2",
    ]),
}

# The widest elements that stick out past the screen's right edge, outermost first (their children
# stick out because they do); an element inside a box that scrolls on its own is not the page's problem.
WIDE_JS = """(width) => {
  const name = (el) => el.tagName.toLowerCase() + (el.id ? '#' + el.id : '') +
      [...el.classList].map(c => '.' + c).join('');
  const clipped = (el) => {
    for (let a = el.parentElement; a && a !== document.body; a = a.parentElement) {
      if (getComputedStyle(a).overflowX !== 'visible') return true;
    }
    return false;
  };
  const found = [];
  for (const el of document.body.querySelectorAll('*')) {
    const r = el.getBoundingClientRect();
    if (r.width === 0 || r.right <= width + 0.5 || clipped(el)) continue;
    const p = el.parentElement.getBoundingClientRect();
    if (el.parentElement !== document.body && p.right > width + 0.5) continue;
    const text = (el.innerText || '').trim().replace(/\\s+/g, ' ').slice(0, 40);
    found.push(`${name(el)} (${Math.round(r.width)} px, right edge ${Math.round(r.right)}) "${text}"`);
  }
  return {doc: document.documentElement.scrollWidth, body: document.body.scrollWidth, wide: found.slice(0, 6)};
}"""


def sideways(page) -> str | None:
    """None when the page fits the screen; else its width and what sticks out."""
    m = page.evaluate(WIDE_JS, WIDTH)
    if m["doc"] <= WIDTH and m["body"] <= WIDTH:
        return None
    return f"{m['doc']} px wide: " + "; ".join(m["wide"] or ["(no single element found)"])


@pytest.mark.parametrize("javascript", [True, False], ids=["js", "tanpa-js"])
@pytest.mark.parametrize("role", list(PAGES))
def test_no_page_scrolls_sideways_on_a_360px_phone(site, role, javascript):
    from playwright.sync_api import sync_playwright

    who, urls = PAGES[role]
    problems = []
    with sync_playwright() as p:
        ctx = launch(p, javascript=javascript)
        page = ctx.pages[0]
        page.set_viewport_size({"width": WIDTH, "height": 640})
        if who:
            log_in(page, site["url"], who)
            page.wait_for_load_state()
            assert "/masuk" not in page.url, f"{who} could not log in"
        for url in urls:
            path = url.format(c=site["complaint"], **{k: v for k, v in site.items() if k != "complaint"})
            response = page.goto(site["url"] + path)
            assert response.status < 500 and (response.status != 404 or path == "/tidak-ada"), \
                f"{path}: HTTP {response.status}"
            if (problem := sideways(page)) is not None:
                problems.append(f"{path}: {problem}")
        if role == "kementerian":  # a refused import lists its errors
            page.goto(site["url"] + "/pemantauan/impor")
            page.set_input_files("#berkas", files=[{"name": "daftar.csv", "mimeType": "text/csv", "buffer": BAD_CSV}])
            page.click("main form button")
            page.wait_for_load_state()
            if (problem := sideways(page)) is not None:
                problems.append(f"/pemantauan/impor (berkas ditolak): {problem}")
        ctx.close()
    assert problems == [], "pages wider than a 360 px phone:\n" + "\n".join(problems)
