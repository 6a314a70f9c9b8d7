"""Memory under an image decode bomb: `python -m bench.bomb` prints the server's resident memory idle,
at its peak after one bomb uploaded as an application document, and at its peak after four at once;
then the peak after four documents at once that are accepted but cost the most to decode.

The bomb is a 1-bit PNG of 6300x6300 pixels (39.7 megapixels, under Pillow's own 89 MP limit) that
compresses to about 5 KB. The costliest accepted document is a 4000x3000 RGB PNG (12 MP, 48 MB
decoded: the documents' decode budget). Peaks are the server process's VmHWM (Linux /proc), reset
before each run through /proc/PID/clear_refs; the face models are loaded first, as on a serving machine.
"""

from __future__ import annotations

import io
import re
import tempfile
import threading
from pathlib import Path

import httpx2 as httpx
from PIL import Image

from bench.server import Server, running_server

_HIDDEN = re.compile(r'name="(csrf_token|_idem)" value="([^"]*)"')
SIDE = 6300
PARALLEL = 4


def bomb_png(side: int = SIDE) -> bytes:
    """A blank 1-bit PNG of ``side`` x ``side`` pixels: a few KB on the wire, 1 byte a pixel decoded."""
    out = io.BytesIO()
    Image.new("1", (side, side)).save(out, "PNG", optimize=True)
    return out.getvalue()


def costliest_document() -> bytes:
    """An accepted document at the decode budget: a blank 4000x3000 RGB PNG (small on the wire)."""
    out = io.BytesIO()
    Image.new("RGB", (4000, 3000), (250, 250, 245)).save(out, "PNG")
    return out.getvalue()


def _status_kb(server: Server, field: str) -> float:
    for line in Path(f"/proc/{server.pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return float("nan")


def peak_mb(server: Server) -> float:
    return _status_kb(server, "VmHWM") / 1024


def reset_peak(server: Server) -> bool:
    """Set the process's VmHWM back to its current RSS (same user may write clear_refs)."""
    try:
        Path(f"/proc/{server.pid}/clear_refs").write_text("5")
        return True
    except OSError:
        return False


class Citizen:
    """A logged-in citizen (bench.users accounts) with a draft application that asks for documents."""

    def __init__(self, server: Server, nik: str):
        from bench.users import PASSWORD
        self.server = server
        self.client = httpx.Client(base_url=server.url, timeout=120, follow_redirects=True)
        page = self.client.get("/masuk")
        self.client.post("/masuk", data={**dict(_HIDDEN.findall(page.text)), "login": nik, "kata_sandi": PASSWORD})
        r = self.client.get("/permohonan/baru?layanan=kartu-keluarga&wilayah=2171")  # one button: a POST starts it
        if "/isi" not in str(r.url):
            r = self.client.post("/permohonan/baru", data={**dict(_HIDDEN.findall(r.text)), "layanan": "kartu-keluarga",
                                                           "wilayah": "2171"})
        found = re.search(r"/permohonan/(\d+)/isi", str(r.url))
        kolom = re.findall(r'action="/permohonan/\d+/berkas/([a-z_]+)"', r.text)
        if not found or not kolom:
            raise RuntimeError(f"no draft with a document field for {nik}: {r.url}")
        self.pid, self.kolom = found.group(1), kolom[0]

    def upload(self, data: bytes) -> int:
        page = self.client.get(f"/permohonan/{self.pid}/isi")
        r = self.client.post(f"/permohonan/{self.pid}/berkas/{self.kolom}", data=dict(_HIDDEN.findall(page.text)),
                             files={"berkas": ("pindaian.png", data, "image/png")}, follow_redirects=False)
        return r.status_code


def _parallel(citizens: list[Citizen], data: bytes) -> list[int]:
    """Every citizen uploads ``data`` at the same moment; the peak is reset first."""
    reset_peak(citizens[0].server)
    statuses: list[int] = []
    threads = [threading.Thread(target=lambda c=c: statuses.append(c.upload(data))) for c in citizens]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return sorted(statuses)


def measure() -> list[str]:
    from bench import users

    bomb = bomb_png()
    lines = [f"# image bomb: {SIDE}x{SIDE} 1-bit PNG, {len(bomb)} bytes"]
    with tempfile.TemporaryDirectory() as tmp:
        db_path = str(Path(tmp) / "bomb.db")
        users.seeded(db_path, citizens=PARALLEL, officers=0)
        env = {"MPP_SECRET_KEY": "bench-only-key", "MPP_FACE_WARMUP": "1"}
        with running_server(db_path=db_path, env=env) as server:
            with httpx.Client(timeout=90) as c:
                c.get(server.url + "/healthz?siap=wajah")  # the models a serving machine holds
            citizens = [Citizen(server, f"2171{i:06d}000001"[:16]) for i in range(PARALLEL)]
            lines.append(f"rss_bomb_idle_mb={server.rss_mb():.0f} MB")
            if not reset_peak(server):
                lines.append("# peaks not reset (clear_refs not writable): each includes the ones before")
            status = citizens[0].upload(bomb)
            lines.append(f"rss_image_bomb_mb={peak_mb(server):.0f} MB")
            lines.append(f"# one bomb answered {status}")
            statuses = _parallel(citizens, bomb)
            lines.append(f"rss_image_bomb_x{PARALLEL}_mb={peak_mb(server):.0f} MB")
            lines.append(f"# {PARALLEL} bombs at once answered {statuses}")
            statuses = _parallel(citizens, costliest_document())
            lines.append(f"rss_image_limit_x{PARALLEL}_mb={peak_mb(server):.0f} MB")
            lines.append(f"# {PARALLEL} 12 MP RGB PNG documents at once answered {statuses}")
            for citizen in citizens:
                citizen.client.close()
    return lines


if __name__ == "__main__":
    print(*measure(), sep="\n", flush=True)
