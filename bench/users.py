"""200 concurrent simulated users against one server process, in two phases.

1. **Login burst**: every user logs in at the same moment (``GET /masuk`` + ``POST /masuk``). Each
   login is one scrypt hash (16 MiB, ~50 ms, at most 4 at once: by design), so 200 of them queue for
   seconds on two cores. The figures are per user, from the first ``GET /masuk`` to logged in; a try
   the server refuses (a 503 once its connection limit is reached) is counted as an error and tried
   again after a think time, up to ``LOGIN_TRIES`` tries, as a person would.
2. **Steady use**, once everyone is logged in, for a bounded time: citizens open a draft, browse the
   catalogue and autosave answers; the first ``submitters`` submit a whole application (with a small
   scan) at a random moment of the first third; officers read their inbox and verify submitted cases.
   Every user waits a think time (``THINK_S``, uniform, as a person reading a page on a phone) between
   two requests: 200 users then offer ~100 requests/s. Without it they would be 200 load-generator
   connections, not users, and the latency would only say how long the queue is.

Latencies are counted per phase, from the client (which shares the machine). Loopback only; every
loop stops at the deadline.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import io
import os
import random
import re
import sqlite3
import time

import httpx2 as httpx
from PIL import Image

from services import kalender
from services.passwords import hash_password
from web.settings import SERVER_LIMITS

PASSWORD = "beban-uji-2026"
THINK_S = (1.0, 3.0)  # seconds between two requests of one user (uniform)
LOGIN_TRIES = 3
# a connection idle this long is not reused: the server closes it after 5 s (SERVER_LIMITS), and a request sent
# as it closes fails (ReadError), as a browser's would not
CLIENT_LIMITS = httpx.Limits(keepalive_expiry=SERVER_LIMITS["timeout_keep_alive"] - 1)
_HIDDEN = re.compile(r'name="(csrf_token|_idem)" value="([^"]*)"')


def seeded(db_path: str, citizens: int, officers: int) -> None:
    """A new database at ``db_path``: migrated, seeded, with the simulated users' accounts."""
    from db.connection import connect
    from ops import seed

    db = connect(db_path)
    seed.seed(db)
    db.conn.close()
    prepare(db_path, citizens=citizens, officers=officers)


def prepare(db_path: str, citizens: int, officers: int) -> None:
    """Accounts for the simulated users (one password hash shared: scrypt per row would take minutes)."""
    h = hash_password(PASSWORD)
    face_checked = kalender.stamp(kalender.utc_now() + dt.timedelta(days=1))  # no step-up asked in the run
    conn = sqlite3.connect(db_path)
    disduk = conn.execute("SELECT id FROM instansi WHERE wilayah_kode = '2171' "
                          "AND jenis_kode = 'disdukcapil'").fetchone()[0]
    for i in range(citizens):
        # face-verified citizens, as most will be: the level every simulated service accepts for submitting
        conn.execute("INSERT INTO akun (peran, nik, nama, kata_sandi, wilayah_kode, tingkat, wajah_terakhir) "
                     "VALUES ('warga', ?, ?, ?, '2171', 'terverifikasi_wajah', ?)",
                     [citizen_login(i), f"Warga Uji {i}", h, face_checked])
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


async def start_draft(stats, client, slug: str = "kartu-keluarga", wilayah: str = "2171"):
    """A citizen's draft, started as the service's page does: ``GET /permohonan/baru`` leads to the open draft or
    shows one button, which POSTs (GETs only read). The answer ends on the draft's form (the client follows
    redirects), or None."""
    page = await stats.call(client, "GET", f"/permohonan/baru?layanan={slug}&wilayah={wilayah}")
    if page is None or "/isi" in str(page.url):
        return page
    return await stats.call(client, "POST", "/permohonan/baru",
                            data={**hidden(page.text), "layanan": slug, "wilayah": wilayah})


async def login(stats, client, who) -> bool:
    """One try: the login page, then the form; whether it ended logged in (away from ``/masuk``)."""
    page = await stats.call(client, "GET", "/masuk")
    if page is None or page.status_code != 200:
        return False
    r = await stats.call(client, "POST", "/masuk", data={**hidden(page.text), "login": who, "kata_sandi": PASSWORD})
    return r is not None and r.status_code == 200 and r.url.path != "/masuk"


async def login_as_a_person(stats, client, who, took: list[float]) -> bool:
    """Up to LOGIN_TRIES tries, a think time apart, as a person would; the time until logged in."""
    t0 = time.perf_counter()
    for attempt in range(LOGIN_TRIES):
        if attempt:
            await think()
        if await login(stats, client, who):
            took.append(time.perf_counter() - t0)
            return True
    return False


async def think():
    await asyncio.sleep(random.uniform(*THINK_S))


def citizen_login(i: int) -> str:
    return f"2171{i:06d}000001"[:16]


async def submit(stats, c, pid: str, draft) -> None:
    """Fill in the draft, upload each required document and submit it."""
    await stats.call(c, "POST", f"/permohonan/{pid}/simpan", data={**hidden(draft.text), "aksi": "simpan",
                     **_answers(draft.text)})
    for kolom in dict.fromkeys(re.findall(r'action="/permohonan/\d+/berkas/([a-z_]+)"', draft.text)):
        await think()
        page = await stats.call(c, "GET", f"/permohonan/{pid}/isi")
        if page is None:
            continue
        fields = hidden(page.text)  # one form: its "Unggah" button posts it to the document's address
        await stats.call(c, "POST", f"/permohonan/{pid}/berkas/{kolom}", data=fields,
                         files={"berkas": ("scan.jpg", _scan(), "image/jpeg")})
    await think()
    page = await stats.call(c, "GET", f"/permohonan/{pid}/periksa")
    if page is not None and "/ajukan" in page.text:
        await think()
        r = await stats.call(c, "POST", f"/permohonan/{pid}/ajukan", data=hidden(page.text.split("/ajukan")[1]))
        stats.submitted += bool(r is not None and r.status_code in (200, 303))


async def citizen(stats, c, stop: float, submit_at: float | None):
    """Steady use of one logged-in citizen until ``stop``; submits once ``submit_at`` has passed."""
    await asyncio.sleep(random.uniform(0, THINK_S[1]))  # users do not move in step
    r = await start_draft(stats, c)
    if r is None:
        return
    pid = re.search(r"/permohonan/(\d+)/isi", str(r.url))
    pid = pid.group(1) if pid else None
    while time.monotonic() < stop:
        if pid and submit_at is not None and time.monotonic() >= submit_at:
            submit_at = None
            await submit(stats, c, pid, r)
        for url in ("/layanan", "/layanan?q=" + random.choice(["akta", "perawat", "ktp", "bidan"]),
                    "/layanan/akta-kelahiran"):
            await think()
            await stats.call(c, "GET", url)
        if pid:
            await think()
            page = await stats.call(c, "GET", f"/permohonan/{pid}")
            if page is not None and "/isi" in str(page.url):
                await think()
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
    first_option = r'<select id="([a-z_]+)" name="\1">\s*<option value="">[^<]*</option>\s*<option>([^<]*)<'
    for name, option in re.findall(first_option, html):
        out[name] = option
    for name in re.findall(r'<textarea id="([a-z_]+)"', html):
        out[name] = "Jl. Uji No. 1"
    return out


async def officer(stats, c, stop: float):
    """Steady use of one logged-in officer until ``stop``: the inbox, a case, its verification."""
    await asyncio.sleep(random.uniform(0, THINK_S[1]))
    while time.monotonic() < stop:
        inbox = await stats.call(c, "GET", "/petugas?status=diajukan")
        cases = re.findall(r'href="/petugas/permohonan/(\d+)"', inbox.text) if inbox is not None else []
        if cases:
            await think()
            case = await stats.call(c, "GET", f"/petugas/permohonan/{random.choice(cases)}")
            if case is not None and 'value="verifikasi"' in case.text:
                action = case.text.split('value="verifikasi"')[0].rsplit("<form", 1)[1]
                url = re.search(r'action="([^"]+)"', action).group(1)
                await think()
                r = await stats.call(c, "POST", url, data={**hidden(action), "aksi": "verifikasi"})
                stats.verified += bool(r is not None and r.status_code in (200, 303))
        await think()


def percentiles(latencies: list[float]) -> dict:
    lat = sorted(latencies)
    pick = lambda q: lat[min(len(lat) - 1, int(q * len(lat)))] * 1000 if lat else 0.0  # noqa: E731
    return {"requests": len(lat), "p50_ms": pick(0.5), "p99_ms": pick(0.99)}


def run(base: str, seconds: float, citizens: int, officers: int, submitters: int) -> dict:
    """Both phases; ``seconds`` bounds the steady one (the burst lasts as long as its logins take)."""
    burst, steady = Stats(), Stats()
    timing, took = {}, []

    async def main():
        async with contextlib.AsyncExitStack() as stack:
            clients = [await stack.enter_async_context(httpx.AsyncClient(base_url=base, timeout=30,
                                                                         follow_redirects=True, limits=CLIENT_LIMITS))
                       for _ in range(citizens + officers)]
            names = [citizen_login(i) for i in range(citizens)] + [f"petugas.uji{i}" for i in range(officers)]
            t0 = time.perf_counter()
            done = await asyncio.gather(*[login_as_a_person(burst, c, who, took)
                                          for c, who in zip(clients, names, strict=True)])
            timing["burst"], timing["not_logged_in"] = time.perf_counter() - t0, done.count(False)
            t0, now = time.perf_counter(), time.monotonic()
            stop = now + seconds
            await asyncio.gather(
                *[citizen(steady, c, stop, now + random.uniform(0, seconds / 3) if i < submitters else None)
                  for i, c in enumerate(clients[:citizens])],
                *[officer(steady, c, stop) for c in clients[citizens:]])
            timing["steady"] = time.perf_counter() - t0

    asyncio.run(main())
    login = {**percentiles(took), "requests": len(burst.latencies), "seconds": timing["burst"],
             "errors": len(burst.errors), "failed": timing["not_logged_in"]}
    return {"login": login,
            "steady": {**percentiles(steady.latencies), "rps": len(steady.latencies) / timing["steady"],
                       "errors": len(steady.errors), "submitted": steady.submitted, "verified": steady.verified},
            "error_samples": burst.errors[:3] + steady.errors[:3]}


def main() -> int:
    """``python -m bench.users``: the users lines of ``make bench`` alone."""
    from bench.__main__ import users
    users(float(os.environ.get("BENCH_USERS_SECONDS", "20")))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
