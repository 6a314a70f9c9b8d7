"""Every form page, shown again with its errors: each link of the error summary leads to an element
of the page, and each message is tied to its field (``aria-describedby``, ``aria-invalid``).

The pages are found from the templates: a template that shows an error summary or a field message
must have a case here that brings it up with errors (an empty or wrong submit), so a new form page
cannot be added without this check.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.helpers import form_fields, jpeg, login, soup, start_draft

TEMPLATES = Path(__file__).resolve().parent.parent / "templates"
BUDI = "2171031508900001"


def _hidden(page, action: str) -> dict[str, str]:
    form = page.find("form", action=action, method="post")
    assert form is not None, f"no form posting to {action}"
    return {i["name"]: i.get("value", "") for i in form.find_all("input", type="hidden")}


def _post_empty(client, url: str, action: str | None = None, **data):
    """What a person gets pressing the form's button with nothing (or only ``data``) filled in."""
    action = action or url.split("?")[0]
    return client.post(action, data={**_hidden(soup(client.get(url)), action), **data}, follow_redirects=False)


def masuk(client, db):
    return _post_empty(client, "/masuk")


def daftar(client, db):
    return _post_empty(client, "/daftar")


def daftar_nik(client, db):
    return _post_empty(client, "/daftar", nik="2171031508900001", nama="Budi", hari="16", bulan="8",
                       tahun="1990", jenis_kelamin="P", telepon="081234567890", kata_sandi="rahasia-sekali",
                       setuju="ya")


def pengaduan(client, db):
    return _post_empty(client, "/pengaduan")


def _draft(client, db) -> int:
    db.execute("UPDATE akun SET wajah_terakhir = strftime('%Y-%m-%dT%H:%M:%SZ', 'now') WHERE nik = ?", [BUDI])
    db.conn.commit()
    login(client, BUDI)
    r = start_draft(client, "akta-kelahiran")
    return int(re.search(r"/permohonan/(\d+)/isi", r.headers["location"]).group(1))


def permohonan_isi_unggah(client, db):
    pid = _draft(client, db)
    fields = form_fields(client, f"/permohonan/{pid}/isi", f"/permohonan/{pid}/simpan")
    return client.post(f"/permohonan/{pid}/berkas/berkas_surat_lahir", data={**fields, "nama_anak": "Putri"},
                       files={"berkas_surat_lahir": ("surat.jpg", jpeg()[:3000], "image/jpeg")})


def permohonan_isi_tanpa_berkas(client, db):
    pid = _draft(client, db)
    fields = form_fields(client, f"/permohonan/{pid}/isi", f"/permohonan/{pid}/simpan")
    return client.post(f"/permohonan/{pid}/berkas/berkas_surat_lahir", data=fields)


def permohonan_periksa(client, db):
    pid = _draft(client, db)
    fields = form_fields(client, f"/permohonan/{pid}/isi", f"/permohonan/{pid}/simpan")
    client.post(f"/permohonan/{pid}/simpan", data={**fields, "tanggal_lahir": "31-31-2026", "aksi": "simpan"})
    return client.get(f"/permohonan/{pid}/periksa")


def skm(client, db):
    login(client, BUDI)
    akun_id = db.execute("SELECT id FROM akun WHERE nik = ?", [BUDI]).fetchone()[0]
    gerai = db.execute("SELECT id FROM gerai WHERE wilayah_kode = '2171' AND nomor = '01'").fetchone()[0]
    tid = db.execute("INSERT INTO tiket (wilayah_kode, gerai_id, tanggal, jam, jenis, nomor, kode, akun_id, status) "
                     "VALUES ('2171', ?, '2026-11-30', '09:00', 'daring', 1, '01-001', ?, 'dilayani')",
                     [gerai, akun_id]).lastrowid
    db.conn.commit()
    return _post_empty(client, f"/antrean/{tid}", "/skm", u1="4")


def akun_telepon(client, db):
    login(client, BUDI)
    return _post_empty(client, "/akun", "/akun/telepon", telepon="12")


def antrean(client, db):
    login(client, BUDI)
    return _post_empty(client, "/mpp/2171/antrean")


def _admin(section: str, **data):
    def case(client, db):
        login(client, "admin.batam")
        return _post_empty(client, f"/admin/2171/{section}", **data)
    case.__name__ = f"admin_{section}"
    return case


def admin_layanan(client, db):
    login(client, "admin.batam")
    chosen = db.execute("SELECT layanan_id FROM layanan_wilayah WHERE wilayah_kode = '2171' LIMIT 1").fetchone()[0]
    return _post_empty(client, f"/admin/2171/layanan?id={chosen}", id=str(chosen), biaya="seribu",
                       persyaratan_tambahan="\n".join(f"Syarat {i}" for i in range(12)))


def admin_kriteria(client, db):
    login(client, "admin.batam")
    page = soup(client.get("/admin/2171/kriteria"))
    return client.post("/admin/2171/kriteria",
                       data={**_hidden(page, "/admin/2171/kriteria"), "kriteria": "bukan-kriteria", "terpenuhi": "1"},
                       follow_redirects=False)


def kasus(client, db):
    """An officer's refusal with no reason typed: the reason field says so, the page keeps what was chosen."""
    from tests.test_permohonan import fill, submit
    pid = _draft(client, db)
    fill(client, db, pid, "akta-kelahiran")
    submit(client, pid)
    client.cookies.clear()
    login(client, "dukcapil.batam")
    return _post_empty(client, f"/petugas/permohonan/{pid}", f"/petugas/permohonan/{pid}/tindakan", aksi="tolak")


def rancang_daftar(client, db):
    login(client, "admin.batam")
    return _post_empty(client, "/admin/2171/layanan-daerah")


def _new_design(client, db) -> tuple[str, int]:
    """A region admin's new service draft: (its editing page, the agency it is for)."""
    login(client, "admin.batam")
    agency = db.execute("SELECT id FROM instansi WHERE wilayah_kode = '2171' AND jenis_kode = 'dpmptsp'").fetchone()[0]
    r = _post_empty(client, "/admin/2171/layanan-daerah", nama="Izin Reklame", instansi_id=str(agency))
    return r.headers["location"], agency


def rancang_ubah(client, db):
    """A field added with nothing typed."""
    page, _ = _new_design(client, db)
    return _post_empty(client, page, f"{page}/kolom", aksi="tambah", kolom_jenis="pilihan")


def rancang_ubah_keterangan(client, db):
    """The service's description saved with a bad fee and period."""
    page, agency = _new_design(client, db)
    return _post_empty(client, page, page, nama="X", instansi_id=str(agency), biaya="seribu",
                       jangka_waktu_hari="0", tingkat_ajukan="terverifikasi_petugas", tingkat_terbit="terdaftar")


def petugas_perwalian(client, db):
    login(client, "dukcapil.batam")
    return _post_empty(client, "/petugas/perwalian")


def bantuan(client, db):
    login(client, "dukcapil.batam")
    return _post_empty(client, "/petugas/bantu")


def bantuan_isi(client, db):
    """An application filed at the counter, submitted with nothing typed."""
    login(client, "dukcapil.batam")
    layanan = db.execute("SELECT id FROM layanan WHERE slug = 'ktp-el'").fetchone()[0]
    r = _post_empty(client, "/petugas/bantu", nik="2171064712880001", layanan=str(layanan), ktp_diperiksa="ya")
    url = r.headers["location"]
    return _post_empty(client, url, url, aksi="ajukan")


def lacak(client, db):
    return _post_empty(client, "/lacak")


def penyiapan_isi(client, db):
    login(client, "kemenpanrb")
    return _post_empty(client, "/pemantauan/daerah-baru/1172")


def penyiapan_buka(client, db):
    """A region onboarded, opened by its manager before any officer is in place."""
    from tests.test_penyiapan import FORM, PASSWORD, onboard
    login(client, "kemenpanrb")
    assert onboard(client).status_code == 303
    client.cookies.clear()
    login(client, FORM["username"], PASSWORD)
    hidden = _hidden(soup(client.get("/admin/1172/profil")), "/admin/1172/profil")  # the page has no button yet
    return client.post("/admin/1172/buka", data=hidden, follow_redirects=False)


CASES = {  # template -> the cases that show it with errors
    "masuk.html": [masuk],
    "daftar.html": [daftar, daftar_nik],
    "pengaduan.html": [pengaduan],
    "permohonan_isi.html": [permohonan_isi_unggah, permohonan_isi_tanpa_berkas],
    "permohonan_periksa.html": [permohonan_periksa],
    "skm.html": [skm],
    "akun.html": [akun_telepon],
    "antrean_pesan.html": [antrean],
    "admin_profil.html": [_admin("profil", nama="")],
    "admin_instansi.html": [_admin("instansi")],
    "admin_gerai.html": [_admin("gerai")],
    "admin_layanan.html": [admin_layanan],
    "admin_petugas.html": [_admin("petugas")],
    "admin_libur.html": [_admin("libur")],
    "admin_kriteria.html": [admin_kriteria],
    "kasus.html": [kasus],
    "rancang_daftar.html": [rancang_daftar],
    "rancang_ubah.html": [rancang_ubah, rancang_ubah_keterangan],
    "petugas_perwalian.html": [petugas_perwalian],
    "bantuan.html": [bantuan],
    "bantuan_isi.html": [bantuan_isi],
    "lacak.html": [lacak],
    "penyiapan_isi.html": [penyiapan_isi],
    "penyiapan_buka.html": [penyiapan_buka],
}
# shown only inside the pages above, or a fragment of an htmx answer
PARTS = {"_macros.html", "_isian.html", "_skm_form.html", "_admin_nav.html",
         "_nik_pesan.html", "_tersimpan.html"}
# one-line notices of a refused action (no field to tie them to)
NOTICE_ONLY = {"permohonan.html", "admin_dasbor.html"}


def _shows_errors(text: str) -> bool:
    return "galat_ringkas(" in text or "error-msg" in text or "_admin_nav.html" in text or "field(" in text


def test_every_template_that_shows_errors_has_a_case():
    showing = {t.name for t in TEMPLATES.glob("*.html") if _shows_errors(t.read_text())}
    missing = showing - set(CASES) - PARTS - NOTICE_ONLY
    assert not missing, f"form pages without a case in tests/test_formulir.py: {sorted(missing)}"


def check_errors_are_linked_and_tied(r) -> list[str]:
    """What a screen-reader or keyboard user would trip over on a page shown with errors."""
    page = soup(r)
    problems = []
    summary = page.select_one(".error-summary")
    if summary is None:
        return ["no error summary"]
    ids = {e["id"] for e in page.find_all(id=True)}
    for a in summary.find_all("a"):
        href = a.get("href", "")
        if href.startswith("#") and href[1:] not in ids:
            problems.append(f"summary link {href} ({a.get_text(strip=True)!r}) leads nowhere")
    described = {}
    for el in page.find_all(attrs={"aria-describedby": True}):
        for ref in el["aria-describedby"].split():
            described[ref] = el
            if ref not in ids:
                problems.append(f"{el.name}#{el.get('id')} is described by missing #{ref}")
    def has_message(ref: str) -> bool:  # the element read out, or one inside it, is a message
        found = page.find(id=ref)
        return found is not None and ("error-msg" in found.get("class", []) or bool(found.select(".error-msg")))

    for el in page.find_all(attrs={"aria-invalid": "true"}):
        if not any(has_message(ref) for ref in el.get("aria-describedby", "").split()):
            problems.append(f"{el.name}#{el.get('id')} is invalid but no message describes it")
    for msg in page.select(".field .error-msg, fieldset .error-msg, .upload .error-msg"):
        tied = [e for e in [msg, *msg.parents] if e.get("id") in described] if hasattr(msg, "parents") else []
        if not tied:
            problems.append(f"message {msg.get_text(strip=True)!r} is tied to no field")
    ids_seen: dict[str, int] = {}
    for e in page.find_all(id=True):
        ids_seen[e["id"]] = ids_seen.get(e["id"], 0) + 1
    problems += [f"id {i!r} used {n} times" for i, n in ids_seen.items() if n > 1]
    return problems


@pytest.mark.parametrize("case", [c for cs in CASES.values() for c in cs], ids=lambda c: c.__name__)
def test_error_summary_links_and_field_messages(client, db, case):
    r = case(client, db)
    assert r.status_code in (200, 400), f"{case.__name__}: {r.status_code}"
    assert check_errors_are_linked_and_tied(r) == []


def test_a_birth_date_or_sex_the_nik_contradicts_is_named_on_its_own_field(client, db):
    page = soup(daftar_nik(client, db))  # Budi's NIK says 15-08-90 and male; 16-8-1990 and "P" typed
    assert "tidak sama dengan tanggal lahir di NIK" in page.find(id="hari-galat").get_text()
    assert "Jenis kelamin tidak sesuai dengan NIK" in page.find(id="jenis_kelamin-galat").get_text()
    assert page.find(id="nik-galat") is None  # the NIK itself is well formed
    links = {a["href"] for a in page.select(".error-summary a")}
    assert links == {"#hari", "#jenis_kelamin"}


def test_a_registry_mismatch_links_each_field_to_check_without_saying_which_differs(client, db):
    base = {"nik": BUDI, "hari": "15", "bulan": "8", "tahun": "1990", "jenis_kelamin": "L",
            "telepon": "081399990000", "kata_sandi": "rahasia-budi", "setuju": "ya"}
    wrong_name = soup(_post_empty(client, "/daftar", **base, nama="Orang Lain"))
    summary = {a["href"]: a.get_text() for a in wrong_name.select(".error-summary a")}
    assert set(summary) == {"#nik", "#nama", "#hari"}
    assert "tidak cocok dengan data kependudukan" in summary["#nik"] and "persis seperti di KTP-el" in summary["#nama"]
    unknown_nik = soup(_post_empty(client, "/daftar", **{**base, "nik": "2171031508909999"}, nama="Budi Santoso"))
    assert {a["href"]: a.get_text() for a in unknown_nik.select(".error-summary a")} == summary  # same words


# --- in a real browser: what the no-JS "Unggah" sends, and the button hidden where the script uploads ---

@pytest.fixture
def server(db_path):
    from browser_support import server_for_budi

    with server_for_budi(db_path) as url:
        yield url


@pytest.mark.browser
@pytest.mark.parametrize("javascript", [False, True], ids=["tanpa-js", "js"])
def test_unggah_in_a_browser_keeps_what_was_typed(server, tmp_path, javascript):
    from browser_support import CHROMIUM, launch, log_in

    if CHROMIUM is None:
        pytest.skip("Debian chromium not installed (make test installs it)")
    from playwright.sync_api import sync_playwright

    scan = tmp_path / "surat-lahir.jpg"
    scan.write_bytes(jpeg(1200, 1600))
    with sync_playwright() as p:
        browser = launch(p, javascript=javascript)
        page = browser.pages[0]
        log_in(page, server, BUDI)
        page.goto(server + "/layanan/akta-kelahiran")
        page.click("button:has-text('Ajukan permohonan')")
        page.wait_for_url(re.compile(r".*/permohonan/\d+/isi"))
        button = page.locator("#berkas-berkas_surat_lahir button")
        assert button.is_visible() != javascript  # the script uploads by itself: no button to press
        if javascript:  # promised once htmx, which does the autosave, has loaded
            page.wait_for_selector("#status-simpan:has-text('disimpan otomatis')")
        else:
            assert "disimpan otomatis" not in page.inner_text("main")
        page.fill("#nama_anak", "Putri Santoso")  # typed, never saved by a button
        page.set_input_files("#file-berkas_surat_lahir", str(scan))
        if not javascript:
            button.click()
        page.wait_for_selector("#berkas-berkas_surat_lahir .ok-msg", timeout=15_000)
        assert page.input_value("#nama_anak") == "Putri Santoso"  # sent with the file, script or not
        browser.close()
