"""Bad input from anyone, anywhere: never a 500, always a message in Bahasa Indonesia, nothing half-stored."""

from __future__ import annotations

import io
import zlib
import struct

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st
from PIL import Image

from tests.helpers import form_fields, jpeg, login, text_of
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
    r = client.get("/permohonan/baru?layanan=akta-kelahiran&wilayah=2171", follow_redirects=False)
    pid = r.headers["location"].split("/")[2]
    fields = form_fields(client, f"/permohonan/{pid}/isi", f"/permohonan/{pid}/berkas/berkas_surat_lahir")
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
    r = client.get("/permohonan/baru?layanan=akta-kelahiran&wilayah=2171", follow_redirects=False)
    pid = r.headers["location"].split("/")[2]
    fields = form_fields(client, f"/permohonan/{pid}/isi", f"/permohonan/{pid}/simpan")
    r = client.post(f"/permohonan/{pid}/simpan", data={**fields, **answers, "aksi": "lanjut"}, follow_redirects=False)
    assert r.status_code in (303, 400)
    assert client.get(f"/permohonan/{pid}/periksa").status_code == 200


@pytest.mark.parametrize("query", ["?status=%00", "?layanan=abc", "?hal=-5", "?hal=99999999999999999999", "?terlambat=ya"])
def test_officer_inbox_filters_never_fail(client, query):
    login(client, "dukcapil.batam")
    assert client.get("/petugas" + query).status_code == 200
