"""Bad input from anyone, anywhere: never a 500, always a message in Bahasa Indonesia, nothing half-stored."""

from __future__ import annotations

import io
import struct
import zlib

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from tests.helpers import form_fields, jpeg, login, soup, start_draft, text_of
from tests.test_access_matrix import route_keys

TABLES = ("akun", "pendaftaran", "permohonan", "berkas", "pengaduan", "tiket", "skm")


def counts(db) -> dict:
    return {t: db.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in TABLES}


def test_every_post_without_or_with_a_wrong_csrf_token_is_403(app, client):
    login(client, "2171031508900001")
    for key in route_keys(app):
        method, path = key.split(" ", 1)
        if method != "POST":
            continue
        url = path.replace("{id}", "1").replace("{kode}", "2171").replace("{kolom}", "x").replace("{nomor}", "x")
        for data in ({}, {"csrf_token": "palsu", "_idem": "x"}):
            r = client.post(url, data=data, follow_redirects=False)
            assert r.status_code == 403, f"{key}: {r.status_code}"
            assert "Formulir kedaluwarsa" in r.text


def png_bomb(width: int = 30000, height: int = 30000) -> bytes:
    """A tiny PNG whose header declares 900 megapixels (a decompression bomb)."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    body = zlib.compress(b"\x00" * 1024, 9)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", body) + chunk(b"IEND", b"")


def cmyk_jpeg() -> bytes:
    out = io.BytesIO()
    Image.new("CMYK", (800, 600), (10, 20, 30, 0)).save(out, "JPEG")
    return out.getvalue()


HOSTILE = [
    ("truncated.jpg", jpeg()[:4000], 400, "tidak terkirim dengan lengkap"),
    ("bomb.png", png_bomb(), 400, "Resolusi foto terlalu tinggi"),
    ("polyglot.jpg", b"GIF89a<script>alert(1)</script>" + jpeg(), 400, "tidak didukung"),
    ("gambar.svg", b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>', 400, "tidak didukung"),
    ("kosong.jpg", b"", 400, "Pilih berkas"),
    ("html.pdf", b"<html>bukan pdf</html>", 400, "tidak didukung"),
    ("cmyk.jpg", cmyk_jpeg(), 303, ""),           # a real scan in CMYK is accepted (converted)
    ("foto.pdf", jpeg(), 303, ""),                # the wrong extension does not matter: content does
]


@pytest.mark.parametrize("name, data, status, message", HOSTILE, ids=[h[0] for h in HOSTILE])
def test_hostile_uploads(client, db, name, data, status, message):
    db.execute("UPDATE akun SET wajah_terakhir = strftime('%Y-%m-%dT%H:%M:%SZ', 'now') WHERE nik = '2171031508900001'")
    db.conn.commit()
    login(client, "2171031508900001")
    r = start_draft(client, "akta-kelahiran")
    pid = r.headers["location"].split("/")[2]
    fields = form_fields(client, f"/permohonan/{pid}/isi", f"/permohonan/{pid}/simpan")
    before = counts(db)
    r = client.post(f"/permohonan/{pid}/berkas/berkas_surat_lahir", data=fields,
                    files={"berkas": (name, data, "image/jpeg")}, follow_redirects=False)
    assert r.status_code == status, text_of(r)[:300]
    if status == 400:
        assert message in text_of(r)
        assert counts(db) == before
    else:
        assert db.execute("SELECT jenis FROM berkas").fetchone()[0] == "image/jpeg"


def test_a_50_mb_body_is_refused_before_it_is_read(client):
    fields = form_fields(client, "/pengaduan", "/pengaduan")
    r = client.post("/pengaduan", data=fields, files={"lampiran": ("besar.bin", b"\0" * (50 * 1024 * 1024))})
    assert r.status_code == 413 and "terlalu besar" in text_of(r)


def test_a_photo_too_big_without_javascript_gets_the_limits_and_a_way_back_to_the_form(client, db):
    db.execute("UPDATE akun SET wajah_terakhir = strftime('%Y-%m-%dT%H:%M:%SZ', 'now') WHERE nik = '2171031508900001'")
    db.conn.commit()
    login(client, "2171031508900001")
    pid = start_draft(client, "akta-kelahiran").headers["location"].split("/")[2]
    form = f"/permohonan/{pid}/isi"
    fields = form_fields(client, form, f"/permohonan/{pid}/simpan")
    r = client.post(f"/permohonan/{pid}/berkas/berkas_surat_lahir", data=fields,
                    files={"berkas_surat_lahir": ("besar.jpg", b"\xff" * (13 * 1024 * 1024), "image/jpeg")},
                    headers={"referer": f"http://127.0.0.1{form}"})
    assert r.status_code == 413
    text = text_of(r)
    assert "paling besar 12 MB" in text and "foto dokumen paling besar 8 MB" in text and "PDF 5 MB" in text
    assert soup(r).find("a", string="Kembali ke formulir")["href"] == form
    elsewhere = client.post("/pengaduan", data=form_fields(client, "/pengaduan", "/pengaduan"),
                            files={"x": ("x.bin", b"\0" * (13 * 1024 * 1024))},
                            headers={"referer": "https://contoh.example/jebakan"})
    assert soup(elsewhere).find("a", string="Kembali ke formulir")["href"] == "/akun"


text = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=300)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(isi=text, wilayah=text, layanan=text, permohonan=text, kontak=text)
def test_complaint_form_never_fails(client, db, isi, wilayah, layanan, permohonan, kontak):
    fields = form_fields(client, "/pengaduan", "/pengaduan")
    r = client.post("/pengaduan", data={**fields, "isi": isi, "wilayah": wilayah, "layanan": layanan,
                                        "permohonan": permohonan, "kontak": kontak}, follow_redirects=False)
    assert r.status_code in (303, 400)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(nik=text, nama=text, hari=text, bulan=text, tahun=text, telepon=text, kata_sandi=text,
       jenis_kelamin=st.sampled_from(["L", "P", "", "X"]))
def test_registration_form_never_fails(client, db, nik, nama, hari, bulan, tahun, telepon, kata_sandi, jenis_kelamin):
    fields = form_fields(client, "/daftar", "/daftar")
    r = client.post("/daftar", data={**fields, "nik": nik, "nama": nama, "hari": hari, "bulan": bulan, "tahun": tahun,
                                     "telepon": telepon, "kata_sandi": kata_sandi, "jenis_kelamin": jenis_kelamin,
                                     "setuju": "ya"}, follow_redirects=False)
    assert r.status_code in (303, 400)
    if r.status_code == 400:
        assert "Ada yang perlu diperbaiki" in r.text


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(answers=st.dictionaries(st.sampled_from(["nama_anak", "tanggal_lahir", "anak_ke", "nik_ibu", "jenis_kelamin",
                                                "tempat_lahir", "zzz"]), text, max_size=7))
def test_application_answers_never_fail(client, db, answers):
    if client.get("/akun", follow_redirects=False).status_code != 200:
        login(client, "2171031508900001")
    r = start_draft(client, "akta-kelahiran")
    pid = r.headers["location"].split("/")[2]
    fields = form_fields(client, f"/permohonan/{pid}/isi", f"/permohonan/{pid}/simpan")
    r = client.post(f"/permohonan/{pid}/simpan", data={**fields, **answers, "aksi": "lanjut"}, follow_redirects=False)
    assert r.status_code in (303, 400)
    assert client.get(f"/permohonan/{pid}/periksa").status_code == 200


@pytest.mark.parametrize("query", ["?status=%00", "?layanan=abc", "?hal=-5", "?hal=99999999999999999999",
                                   "?terlambat=ya"])
def test_officer_inbox_filters_never_fail(client, query):
    login(client, "dukcapil.batam")
    assert client.get("/petugas" + query).status_code == 200


# --- image decode bombs within limits (a 4.9 KB PNG of 6300 x 6300 used to take ~240 MB to store) -------

from tests import bombs  # noqa: E402
from tests.faces_support import needs_faces  # noqa: E402

BOMBS = {
    "bom-1bit.png": lambda: bombs.png(kind="1bit"),
    "bom-palet.png": lambda: bombs.png(kind="palette"),
    "bom.jpg": lambda: bombs.jpeg(),
    "bom.webp": lambda: bombs.webp_declaring(),
}


def _draft_with_upload(client, db):
    db.execute("UPDATE akun SET wajah_terakhir = strftime('%Y-%m-%dT%H:%M:%SZ', 'now') WHERE nik = '2171031508900001'")
    db.conn.commit()
    login(client, "2171031508900001")
    r = start_draft(client, "akta-kelahiran")
    pid = r.headers["location"].split("/")[2]
    url = f"/permohonan/{pid}/berkas/berkas_surat_lahir"
    return url, form_fields(client, f"/permohonan/{pid}/isi", f"/permohonan/{pid}/simpan")


@pytest.mark.parametrize("name", list(BOMBS))
def test_image_bombs_as_application_documents_are_refused_with_what_to_do(client, db, name):
    url, fields = _draft_with_upload(client, db)
    before = counts(db)
    r = client.post(url, data=fields, files={"berkas": (name, BOMBS[name](), "image/png")}, follow_redirects=False)
    assert r.status_code == 400, text_of(r)[:300]
    text = text_of(r)
    assert "Resolusi foto terlalu tinggi (39,7 megapiksel, maks. 13 megapiksel" in text
    assert "Kecilkan foto" in text and "kirim lagi" in text
    assert counts(db) == before


def test_a_phone_photo_of_a_document_is_still_accepted_and_stored_small(client, db):
    url, fields = _draft_with_upload(client, db)
    photo = bombs.jpeg(4032, 3024, mode="RGB")  # a 12-megapixel phone camera (12.2 MP)
    r = client.post(url, data=fields, files={"berkas": ("kk.jpg", photo, "image/jpeg")}, follow_redirects=False)
    assert r.status_code == 303, text_of(r)[:300]
    bid = db.execute("SELECT id FROM berkas").fetchone()[0]  # the bytes are in object storage: downloaded
    stored = Image.open(io.BytesIO(client.get(f"{url.rsplit('/', 1)[0]}/{bid}").content))
    assert stored.format == "JPEG" and stored.size == (1600, 1200)


@pytest.mark.faces  # the frames are decoded only when the registry holds a photo to compare with
@needs_faces
def test_image_bombs_as_selfie_frames_or_photo_get_a_message_not_a_500(client, db):
    from tests.helpers import register
    from tests.test_identitas import AHMAD, face_page
    assert register(client, AHMAD).status_code == 303
    hidden, poses, _ = face_page(client)
    frames = [bombs.png(kind="palette")] + [jpeg(320, 240)] * (len(poses) - 1)
    r = client.post("/daftar/wajah", data=hidden, files=[("frame", (f"f{i}.jpg", f, "image/jpeg"))
                                                         for i, f in enumerate(frames)], follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/daftar/wajah"
    assert "Foto ke-1: Resolusi foto terlalu tinggi (39,7 megapiksel" in text_of(client.get("/daftar/wajah"))
    hidden, _, _ = face_page(client)
    r = client.post("/daftar/wajah", data=hidden, files={"foto": ("s.png", bombs.png(), "image/png")},
                    follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/daftar/wajah"
    assert "Resolusi foto terlalu tinggi (39,7 megapiksel" in text_of(client.get("/daftar/wajah"))
    assert db.execute("SELECT tingkat FROM akun WHERE nik = ?", [AHMAD["nik"]]).fetchone()[0] == "terdaftar"
