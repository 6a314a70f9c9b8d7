"""200 concurrent simulated users against one server process, for a bounded time.

Citizens log in, browse the catalogue, open drafts and autosave answers; some
submit a whole application (with a small scan); officers log in, read their
inbox and verify submitted cases. Prints requests/s, p50/p99 and errors.
Loopback only; every loop stops at the deadline.
"""

from __future__ import annotations

import asyncio
import io
import random
import re
import sqlite3
import time

import httpx2 as httpx
from PIL import Image

from services.passwords import hash_password

PASSWORD = "beban-uji-2026"
_HIDDEN = re.compile(r'name="(csrf_token|_idem)" value="([^"]*)"')


def prepare(db_path: str, citizens: int, officers: int) -> None:
    """Accounts for the simulated users (one password hash shared: scrypt per row would take minutes)."""
    h = hash_password(PASSWORD)
    conn = sqlite3.connect(db_path)
    disduk = conn.execute("SELECT id FROM instansi WHERE wilayah_kode = '2171' AND jenis_kode = 'disdukcapil'").fetchone()[0]
    for i in range(citizens):
        # face-verified citizens, as most will be: the level every simulated service accepts for submitting
        conn.execute("INSERT INTO akun (peran, nik, nama, kata_sandi, wilayah_kode, tingkat, wajah_terakhir) VALUES "
                     "('warga', ?, ?, ?, '2171', 'terverifikasi_wajah', strftime('%Y-%m-%dT%H:%M:%SZ', 'now', '+1 day'))",
                     [f"2171{i:06d}000001"[:16], f"Warga Uji {i}", h])
    for i in range(officers):
        conn.execute("INSERT INTO akun (peran, username, nama, kata_sandi, wilayah_kode, instansi_id, jabatan) VALUES "
                     "('petugas', ?, ?, ?, '2171', ?, 'verifikator,validator,penandatangan')",
                     [f"petugas.uji{i}", f"Petugas Uji {i}", h, disduk])
    conn.commit()
    conn.close()


def _scan() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (600, 800), (220, 220, 210)).save(out, "JPEG", quality=60)
    return out.getvalue()


class Stats:
    def __init__(self):
        self.latencies: list[float] = []
        self.errors: list[str] = []
        self.submitted = 0
        self.verified = 0

    async def call(self, client, method, url, **kw):
        t0 = time.perf_counter()
        try:
            r = await client.request(method, url, **kw)
        except httpx.HTTPError as e:
            self.errors.append(f"{method} {url}: {type(e).__name__}")
            return None
        self.latencies.append(time.perf_counter() - t0)
        if r.status_code >= 500 or r.status_code in (403, 409):
            self.errors.append(f"{method} {url}: {r.status_code}")
        return r


def hidden(html: str) -> dict:
    return dict(_HIDDEN.findall(html))


async def login(stats, client, who):
    page = await stats.call(client, "GET", "/masuk")
    await stats.call(client, "POST", "/masuk", data={**hidden(page.text), "login": who, "kata_sandi": PASSWORD})


async def citizen(stats, base, i, stop, submit):
    async with httpx.AsyncClient(base_url=base, timeout=30, follow_redirects=True) as c:
        await login(stats, c, f"2171{i:06d}000001"[:16])
        r = await stats.call(c, "GET", "/permohonan/baru?layanan=kartu-keluarga&wilayah=2171")
        if r is None:
            return
        pid = re.search(r"/permohonan/(\d+)/isi", str(r.url))
        pid = pid.group(1) if pid else None
        if pid and submit:
            form = hidden(r.text)
            await stats.call(c, "POST", f"/permohonan/{pid}/simpan", data={**form, "aksi": "simpan",
                             **{k: v for k, v in _answers(r.text).items()}})
            for kolom in dict.fromkeys(re.findall(r'action="/permohonan/\d+/berkas/([a-z_]+)"', r.text)):
                page = await stats.call(c, "GET", f"/permohonan/{pid}/isi")
                if page is None:
                    continue
                fields = hidden(page.text)  # one form: its "Unggah" button posts it to the document's address
                await stats.call(c, "POST", f"/permohonan/{pid}/berkas/{kolom}", data=fields,
                                 files={"berkas": ("scan.jpg", _scan(), "image/jpeg")})
            page = await stats.call(c, "GET", f"/permohonan/{pid}/periksa")
            if page is not None and "/ajukan" in page.text:
                r = await stats.call(c, "POST", f"/permohonan/{pid}/ajukan", data=hidden(page.text.split("/ajukan")[1]))
                stats.submitted += bool(r is not None and r.status_code in (200, 303))
        while time.monotonic() < stop:
            await stats.call(c, "GET", "/layanan")
            await stats.call(c, "GET", "/layanan?q=" + random.choice(["akta", "perawat", "ktp", "bidan"]))
            await stats.call(c, "GET", "/layanan/akta-kelahiran")
            if pid:
                page = await stats.call(c, "GET", f"/permohonan/{pid}")
                if page is not None and "/isi" in str(page.url):
                    await stats.call(c, "POST", f"/permohonan/{pid}/simpan", data={**hidden(page.text),
                                     "alamat": f"Jl. Uji {random.randint(1, 999)}"}, headers={"HX-Request": "true"})


def _answers(html: str) -> dict:
    out = {}
    for name, numeric in re.findall(r'<input id="([a-z_]+)" name="\1" value=""( inputmode="numeric")?', html):
        if name.startswith("nik"):
            out[name] = "2171064712880001"
        elif numeric:
            out[name] = "1"
        else:
            out[name] = "01-11-2026" if "tanggal" in name else "Uji Beban"
    for name, option in re.findall(r'<select id="([a-z_]+)" name="\1">\s*<option value="">[^<]*</option>\s*<option>([^<]*)<', html):
        out[name] = option
    for name in re.findall(r'<textarea id="([a-z_]+)"', html):
        out[name] = "Jl. Uji No. 1"
    return out


async def officer(stats, base, i, stop):
    async with httpx.AsyncClient(base_url=base, timeout=30, follow_redirects=True) as c:
        await login(stats, c, f"petugas.uji{i}")
        while time.monotonic() < stop:
            inbox = await stats.call(c, "GET", "/petugas?status=diajukan")
            if inbox is None:
                continue
            cases = re.findall(r'href="/petugas/permohonan/(\d+)"', inbox.text)
            if cases:
                case = await stats.call(c, "GET", f"/petugas/permohonan/{random.choice(cases)}")
                if case is not None and 'value="verifikasi"' in case.text:
                    action = case.text.split('value="verifikasi"')[0].rsplit("<form", 1)[1]
                    url = re.search(r'action="([^"]+)"', action).group(1)
                    r = await stats.call(c, "POST", url, data={**hidden(action), "aksi": "verifikasi"})
                    stats.verified += bool(r is not None and r.status_code in (200, 303))
            await asyncio.sleep(0.2)


def run(base: str, seconds: float, citizens: int, officers: int, submitters: int) -> dict:
    stats = Stats()

    async def main():
        stop = time.monotonic() + seconds
        await asyncio.gather(*[citizen(stats, base, i, stop, i < submitters) for i in range(citizens)],
                             *[officer(stats, base, i, stop) for i in range(officers)])

    t0 = time.perf_counter()
    asyncio.run(main())
    elapsed = time.perf_counter() - t0
    lat = sorted(stats.latencies)
    pick = lambda q: lat[min(len(lat) - 1, int(q * len(lat)))] * 1000 if lat else 0.0  # noqa: E731
    return {"requests": len(lat), "rps": len(lat) / elapsed, "p50_ms": pick(0.5), "p99_ms": pick(0.99),
            "errors": len(stats.errors), "submitted": stats.submitted, "verified": stats.verified,
            "error_samples": stats.errors[:5]}
