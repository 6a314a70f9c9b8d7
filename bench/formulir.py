"""A form of 40 fields through the draft page: `python -m bench formulir` (or `python -m bench.formulir`).

The catalogue's longest forms have about ten fields; a region's own service (a building or business permit)
may ask far more. This builds a synthetic service of 40 fields of every kind (text, long text, date, choice,
NIK, number, file) in a throw-away database only — never in the catalogue files — starts a citizen's draft of
it, answers every field, and measures the real page (`/permohonan/{id}/isi`: permohonan_isi.html and
_isian.html, in-process through every middleware, brotli as served): its render time, with the catalogue's
akta kelahiran draft page (9 fields) measured in the same run as the baseline, and its compressed bytes with
the stylesheet inline (a first visit) and linked (later visits: page plus stylesheet). The 14 KB budget is
HTML + CSS.
"""

from __future__ import annotations

import base64
import json
import os
import re
import statistics
import tempfile
import time
from pathlib import Path

import brotli

from db.connection import connect, write

SLUG = "bench-formulir-40"
BASE_SLUG = "akta-kelahiran"  # the baseline page, and the catalogue row the synthetic service is copied from
REGION = "2171"
CITIZEN = "2171031508900001"
BUDGET = 14 * 1024


def _f(nama: str, label: str, jenis: str, petunjuk: str = "", opsi: list[str] | None = None,
       wajib: bool = True) -> dict:
    return {"nama": nama, "label": label, "jenis": jenis, "wajib": wajib, "petunjuk": petunjuk, "opsi": opsi or []}


# A building-permit-like form (PBG with a business licence): 40 distinct questions, realistic labels and hints.
FIELDS = [
    _f("jenis_permohonan", "Jenis permohonan", "pilihan", "Pilih sesuai keadaan bangunan",
       ["Bangunan baru", "Perubahan bangunan", "Bangunan sudah berdiri (belum ber-PBG)", "Pelestarian"]),
    _f("nama_pemilik", "Nama pemilik bangunan", "teks", "Sesuai sertifikat atau akta jual beli"),
    _f("nik_pemilik", "NIK pemilik bangunan", "nik", "16 angka pada KTP-el pemilik"),
    _f("status_pemilik", "Status pemilik", "pilihan", "", ["Perorangan", "Badan usaha", "Yayasan", "Pemerintah"]),
    _f("nama_badan_usaha", "Nama badan usaha", "teks", "Kosongkan bila perorangan", wajib=False),
    _f("nib", "Nomor Induk Berusaha (NIB)", "angka", "13 angka dari OSS; kosongkan bila perorangan", wajib=False),
    _f("tanggal_akta_pendirian", "Tanggal akta pendirian badan usaha", "tanggal", "", wajib=False),
    _f("alamat_pemilik", "Alamat pemilik", "teks_panjang", "Jalan, RT/RW, kelurahan, kecamatan, kabupaten/kota"),
    _f("telepon_pemilik", "Nomor HP pemilik", "angka", "Untuk pemberitahuan dari petugas"),
    _f("nama_bangunan", "Nama atau sebutan bangunan", "teks", "Contoh: Rumah tinggal, Ruko Blok A"),
    _f("fungsi_bangunan", "Fungsi bangunan", "pilihan", "",
       ["Hunian", "Keagamaan", "Usaha", "Sosial dan budaya", "Khusus", "Campuran"]),
    _f("klasifikasi", "Klasifikasi kompleksitas", "pilihan", "Lihat panduan di halaman layanan",
       ["Sederhana", "Tidak sederhana", "Khusus"]),
    _f("alamat_bangunan", "Alamat lokasi bangunan", "teks_panjang", "Lengkap dengan RT/RW dan kelurahan"),
    _f("kelurahan", "Kelurahan/desa lokasi", "teks"),
    _f("kecamatan", "Kecamatan lokasi", "teks"),
    _f("koordinat", "Titik koordinat lokasi", "teks", "Contoh: 1.0456, 104.0305 (dari peta di ponsel)"),
    _f("nomor_sertifikat", "Nomor sertifikat tanah", "teks", "Atau nomor akta jual beli/girik"),
    _f("jenis_hak", "Jenis hak atas tanah", "pilihan", "", ["Hak milik", "HGB", "Hak pakai", "HPL", "Lainnya"]),
    _f("tanggal_sertifikat", "Tanggal terbit sertifikat", "tanggal"),
    _f("nik_pemilik_tanah", "NIK pemilik tanah", "nik", "Isi bila pemilik tanah bukan pemilik bangunan",
       wajib=False),
    _f("luas_tanah", "Luas tanah (m²)", "angka"),
    _f("luas_bangunan", "Luas total lantai bangunan (m²)", "angka"),
    _f("jumlah_lantai", "Jumlah lantai", "angka"),
    _f("tinggi_bangunan", "Tinggi bangunan (meter)", "angka", "Dari muka tanah sampai puncak atap"),
    _f("basemen", "Ada basemen?", "pilihan", "", ["Tidak ada", "1 lapis", "2 lapis atau lebih"]),
    _f("rencana_mulai", "Rencana mulai membangun", "tanggal", "Tidak boleh sebelum PBG terbit"),
    _f("rencana_selesai", "Rencana selesai membangun", "tanggal"),
    _f("nama_perencana", "Nama perencana/arsitek", "teks", "Wajib untuk bangunan tidak sederhana", wajib=False),
    _f("nik_perencana", "NIK perencana", "nik", "", wajib=False),
    _f("nomor_ska", "Nomor sertifikat keahlian (SKA/SKK) perencana", "teks", "", wajib=False),
    _f("sumber_air", "Sumber air bersih", "pilihan", "", ["PDAM/SPAM", "Sumur bor", "Sumur gali", "Lainnya"]),
    _f("pengolahan_limbah", "Pengolahan air limbah", "pilihan", "",
       ["Septic tank", "IPAL komunal", "Sambungan IPAL kota", "Lainnya"]),
    _f("daya_listrik", "Daya listrik yang direncanakan (VA)", "teks", "Contoh: 2200"),
    _f("uraian_kegiatan", "Uraian kegiatan di dalam bangunan", "teks_panjang",
       "Untuk fungsi usaha: jenis usaha, jumlah pekerja, jam operasional"),
    _f("keterangan", "Keterangan tambahan", "teks_panjang", "", wajib=False),
    _f("berkas_sertifikat", "Sertifikat tanah atau bukti kepemilikan", "berkas", "Halaman yang memuat nomor dan nama"),
    _f("berkas_gambar", "Gambar arsitektur (denah, tampak, potongan)", "berkas", "PDF, paling besar 5 MB"),
    _f("berkas_struktur", "Perhitungan struktur", "berkas", "Wajib untuk bangunan lebih dari 2 lantai",
       wajib=False),
    _f("berkas_foto_lokasi", "Foto lokasi dari empat arah", "berkas", "Satu berkas gabungan atau PDF"),
    _f("berkas_persetujuan_tetangga", "Persetujuan tetangga", "berkas", "", wajib=False),
]
assert len(FIELDS) == 40 and len({f["nama"] for f in FIELDS}) == 40
KINDS = ("teks", "teks_panjang", "tanggal", "pilihan", "nik", "angka", "berkas")
assert {f["jenis"] for f in FIELDS} == set(KINDS)

_SAMPLE = {"teks": "Ruko Blok A No. 12 Tiban Indah", "teks_panjang": "Jl. Gajah Mada No. 12, RT 02/RW 05, Tiban "
           "Indah, Sekupang, Kota Batam, Kepulauan Riau", "tanggal": "15-01-2027", "angka": "2200",
           "nik": "2171064712880001"}


def answers() -> dict[str, str]:
    """A plausible answer for every field that is typed (files are uploaded separately)."""
    return {f["nama"]: f["opsi"][-1] if f["jenis"] == "pilihan" else _SAMPLE[f["jenis"]]
            for f in FIELDS if f["jenis"] != "berkas"}


def install(db, slug: str = SLUG, region: str = REGION) -> None:
    """The synthetic service in this database only: a copy of a catalogue service's row with the 40-field form,
    offered in ``region`` by the same agency (and, where services keep versions, as its first version)."""
    with write(db):
        row = dict(db.execute("SELECT * FROM layanan WHERE slug = ?", [BASE_SLUG]).fetchone())
        base_id = row.pop("id")
        row.update(slug=slug, nama="Persetujuan Bangunan Gedung (uji 40 isian)", singkatan="PBG40",
                   formulir=json.dumps(FIELDS, ensure_ascii=False))
        new_id = db.execute(f"INSERT INTO layanan ({', '.join(row)}) VALUES ({', '.join('?' * len(row))})",
                            list(row.values())).lastrowid
        offer = dict(db.execute("SELECT * FROM layanan_wilayah WHERE layanan_id = ? AND wilayah_kode = ?",
                                [base_id, region]).fetchone())
        offer.pop("id", None)
        offer["layanan_id"] = new_id
        db.execute(f"INSERT INTO layanan_wilayah ({', '.join(offer)}) VALUES ({', '.join('?' * len(offer))})",
                   list(offer.values()))
        if "layanan_versi" in db.table_names():
            version = db.execute("SELECT definisi FROM layanan_versi WHERE layanan_id = ? ORDER BY versi DESC",
                                 [base_id]).fetchone()
            if version:
                definisi = {**json.loads(version[0]), "formulir": FIELDS, "nama": row["nama"]}
                db.execute("INSERT INTO layanan_versi (layanan_id, versi, definisi, terbit) VALUES (?, ?, ?, ?)",
                           [new_id, row.get("versi") or 1, json.dumps(definisi, ensure_ascii=False),
                            "2026-01-01T00:00:00Z"])


_HIDDEN = re.compile(r'<input type="hidden" name="([^"]+)" value="([^"]*)">')


def hidden_fields(html: str, action: str) -> dict[str, str]:
    """The hidden inputs (CSRF token, idempotency key) of the form posting to ``action``."""
    start = html.index(f'action="{action}"')
    return dict(_HIDDEN.findall(html[start:html.index("</form>", start)]))


def log_in(client, login_id: str = CITIZEN) -> None:
    from ops.seed import DEMO_PASSWORD

    page = client.get("/masuk").text
    r = client.post("/masuk", data={**hidden_fields(page, "/masuk"), "login": login_id, "kata_sandi": DEMO_PASSWORD},
                    follow_redirects=False)
    assert r.status_code == 303, r.status_code


def draft(client, slug: str, answered: bool = True) -> str:
    """A citizen's draft of ``slug`` in the region, every typed field answered; its form page's path."""
    r = client.get(f"/permohonan/baru?layanan={slug}&wilayah={REGION}", follow_redirects=False)
    if r.status_code == 200:  # no draft yet: the page's one button starts it (a POST; GETs only read)
        r = client.post("/permohonan/baru", data={**hidden_fields(r.text, "/permohonan/baru"), "layanan": slug,
                                                  "wilayah": REGION}, follow_redirects=False)
    assert r.status_code == 303, (slug, r.status_code)
    path = r.headers["location"]
    if answered:
        action = path.replace("/isi", "/simpan")
        fields = hidden_fields(client.get(path).text, action)
        data = answers() if slug == SLUG else {}
        r = client.post(action, data={**fields, **data, "aksi": "simpan"}, follow_redirects=False)
        assert r.status_code == 303, r.status_code
    return path


def wire_bytes(client, path: str, inline_css: bool) -> int:
    """Brotli bytes of the page as served, plus every stylesheet it links (a first visit has it inline)."""
    if inline_css:
        client.cookies.delete("css")
    with client.stream("GET", path, headers={"Accept-Encoding": "br"}) as r:
        assert r.headers.get("content-encoding") == "br", path
        raw = b"".join(r.iter_raw())
    total = len(raw)
    for href in re.findall(r'<link rel="stylesheet" href="([^"]+)"', brotli.decompress(raw).decode()):
        with client.stream("GET", href, headers={"Accept-Encoding": "br"}) as css:
            total += len(b"".join(css.iter_raw()))
    return total


def median_ms(client, path: str, runs: int) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        r = client.get(path, headers={"Accept-Encoding": "br"})
        times.append((time.perf_counter() - start) * 1000)
        assert r.status_code == 200
    return statistics.median(times)


def app_for(db_path: str):
    from app import create_app
    from web.settings import Settings

    key = lambda: base64.urlsafe_b64encode(os.urandom(32)).decode().rstrip("=")  # noqa: E731
    settings = Settings(db_path=db_path, secret_key="bench-only-key", demo=True, template_key=key(),
                        signing_key=key(), loop_guard="off", log_level="warning")
    return create_app(settings, quiet=True)


def measure(runs: int = 40) -> list[str]:
    from starlette.testclient import TestClient

    from ops.seed import seed

    with tempfile.TemporaryDirectory() as tmp:
        db_path = str(Path(tmp) / "formulir.db")
        db = connect(db_path)
        seed(db, demo=True)
        install(db)
        db.conn.close()
        with TestClient(app_for(db_path), base_url="http://127.0.0.1") as client:
            log_in(client)
            big, small = draft(client, SLUG), draft(client, BASE_SLUG)
            for path in (big, small):  # warm: templates compiled, caches filled
                median_ms(client, path, 5)
            ours, base = [], []
            for _ in range(3):  # alternating rounds: a neighbour's load falls on both alike
                ours.append(median_ms(client, big, runs // 3))
                base.append(median_ms(client, small, runs // 3))
            big_ms, small_ms = statistics.median(ours), statistics.median(base)
            html_bytes = len(client.get(big).content)
            linked = wire_bytes(client, big, inline_css=False)
            inline = wire_bytes(client, big, inline_css=True)
    return [f"form40_page_ms={big_ms:.2f} ms", f"form9_page_ms={small_ms:.2f} ms",
            f"form40_vs_form9={big_ms / small_ms:.2f} ratio",
            f"form40_html_bytes={html_bytes} bytes", f"form40_br_bytes={inline} bytes",
            f"form40_css_linked_br_bytes={linked} bytes", f"form40_budget_br_bytes={BUDGET} bytes"]


if __name__ == "__main__":
    print(*measure(), sep="\n")
