"""Jinja2 templates with the few globals every page needs.

Templates display; they do not decide. Everything a page shows comes in its
context from a service function.
"""

from __future__ import annotations

import datetime as dt
import secrets
from pathlib import Path

from starlette.requests import Request
from starlette.templating import Jinja2Templates

from services.akun import HOME_BY_ROLE
from services.kalender import format_date, format_local
from web import csrf
from web.static import StaticAssets

TITLES = {
    400: ("Permintaan tidak dapat diproses", "Data yang dikirim tidak lengkap atau rusak. Kembali dan coba lagi."),
    403: ("Formulir kedaluwarsa", "Demi keamanan, formulir ini tidak dapat diterima. Muat ulang halaman, "
                                  "lalu kirim lagi. Isian Anda masih ada bila Anda menekan tombol Kembali."),
    404: ("Halaman tidak ditemukan", "Alamat yang Anda buka tidak ada. Periksa kembali alamatnya atau "
                                     "cari layanan dari halaman depan."),
    405: ("Cara akses tidak didukung", "Halaman ini tidak dapat dibuka dengan cara tersebut."),
    408: ("Pengiriman terlalu lama", "Kiriman Anda terhenti di tengah jalan, mungkin karena sinyal lemah. "
                                     "Periksa sambungan, lalu kirim lagi. Isian Anda masih ada bila Anda "
                                     "menekan tombol Kembali."),
    409: ("Permintaan sedang diproses", "Kiriman Anda sebelumnya masih diproses. Tunggu sebentar, lalu muat ulang."),
    413: ("Kiriman terlalu besar", "Berkas atau isian yang dikirim melebihi batas ukuran. Perkecil berkas lalu coba lagi."),
    429: ("Terlalu banyak permintaan", "Tunggu beberapa menit, lalu coba lagi."),
    500: ("Terjadi gangguan", "Maaf, ada gangguan di sisi kami. Data Anda yang sudah tersimpan tidak hilang. "
                              "Coba lagi beberapa saat lagi."),
}


def make_templates(folder: Path, assets: StaticAssets) -> Jinja2Templates:
    def page_context(request: Request) -> dict:
        session = request.scope.get("session")
        akun = request.scope.get("akun")
        return {
            "csrf_token": (lambda: csrf.session_token(session)) if session is not None else (lambda: ""),
            "new_idem": lambda: secrets.token_urlsafe(16),
            "akun": akun,
            "akun_home": HOME_BY_ROLE.get(akun["peran"]) if akun else None,
        }

    templates = Jinja2Templates(directory=str(folder), context_processors=[page_context])
    env = templates.env
    env.globals["static"] = assets.url
    env.globals["has_static"] = assets.exists
    env.filters["rupiah"] = lambda n: "Gratis" if not n else "Rp" + f"{int(n):,}".replace(",", ".")
    env.filters["waktu"] = format_local
    env.filters["tanggal"] = lambda iso: format_date(dt.date.fromisoformat(iso[:10])) if iso else ""
    env.trim_blocks = True
    env.lstrip_blocks = True
    return templates


def error_page(templates: Jinja2Templates, request: Request, status: int):
    title, message = TITLES.get(status, TITLES[500])
    return templates.TemplateResponse(
        request, "galat.html", {"judul": title, "pesan": message, "status": status}, status_code=status
    )
