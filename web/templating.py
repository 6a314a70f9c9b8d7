"""Jinja2 templates with the few globals every page needs.

Templates display; they do not decide. Everything a page shows comes in its
context from a service function.
"""

from __future__ import annotations

import datetime as dt
import secrets
from pathlib import Path
from urllib.parse import urlsplit

from jinja2 import pass_context
from markupsafe import Markup
from starlette.requests import Request
from starlette.templating import Jinja2Templates

from services.akun import HOME_BY_ROLE
from services.kalender import format_date, format_local
from services.samaran import mask_nik, mask_phone
from web import csrf
from web.auth import same_site
from web.headers import CSS_COOKIE, CSS_COOKIE_STATE
from web.render import path_to
from web.static import StaticAssets

STYLESHEET = "app.css"

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
    413: ("Kiriman terlalu besar", "Berkas atau isian yang dikirim melebihi batas ukuran. "
                                   "Perkecil berkas lalu coba lagi."),
    429: ("Terlalu banyak permintaan", "Tunggu beberapa menit, lalu coba lagi."),
    503: ("Sistem lain belum menjawab", "Sistem yang dibutuhkan untuk langkah ini (misalnya data "
                                        "kependudukan) belum menjawab. Tidak ada data Anda yang hilang. "
                                        "Coba lagi beberapa saat lagi."),
    500: ("Terjadi gangguan", "Maaf, ada gangguan di sisi kami. Data Anda yang sudah tersimpan tidak hilang. "
                              "Coba lagi beberapa saat lagi."),
}


INLINE_SCRIPTS = ("nanti.js",)  # static/nanti.js: loads htmx on first use where it only improves the page


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

    def stylesheet(request: Request) -> Markup:
        """The stylesheet, inlined on a first visit: on 2G a linked file costs one more round trip before
        anything shows. The page that inlines it sets the ``css`` cookie (web/headers.py), so later pages
        link the fingerprinted file instead, fetched once and then kept for a year. The inlined text is
        the file exactly, so the hash in the CSP (computed at start-up) matches it."""
        asset = assets.by_name[STYLESHEET]
        if request.cookies.get(CSS_COOKIE) == asset.digest:
            return Markup(f'<link rel="stylesheet" href="{asset.url}">')
        request.scope.setdefault("state", {})[CSS_COOKIE_STATE] = asset.digest
        return Markup(f"<style>{css_text}</style>")

    scripts = {name: Markup(assets.inline(name)) for name in INLINE_SCRIPTS}  # their hashes go in the CSP
    if any("</" in text for text in scripts.values()):
        raise ValueError(f"{INLINE_SCRIPTS} cannot be inlined: a script contains '</'")
    css_text = assets.inline(STYLESHEET)
    if "</" in css_text:
        raise ValueError(f"static/{STYLESHEET} cannot be inlined: it contains '</'")
    templates = Jinja2Templates(directory=str(folder), context_processors=[page_context])
    env = templates.env
    env.globals["static"] = assets.url
    env.globals["has_static"] = assets.exists
    env.globals["stylesheet"] = stylesheet
    env.globals["inline_script"] = scripts.__getitem__
    env.globals["url"] = url
    env.filters["rupiah"] = lambda n: "Gratis" if not n else "Rp" + f"{int(n):,}".replace(",", ".")
    env.filters["waktu"] = format_local
    env.filters["hp"] = mask_phone
    env.filters["nik"] = mask_nik
    env.filters["tanggal"] = lambda iso: format_date(dt.date.fromisoformat(iso[:10])) if iso else ""
    env.trim_blocks = True
    env.lstrip_blocks = True
    return templates


@pass_context
def url(context, name: str, **params) -> str:
    """``{{ url('tiket', id=t.id) }}``: the path of a named route ("/antrean/5"), so a link follows the
    route table instead of copying it. An unknown name or a missing parameter raises while rendering."""
    return path_to(context["request"], name, **params)


BUSY = ("Sistem sedang sibuk", "Banyak kiriman sedang diproses bersamaan, dan kiriman Anda belum tersimpan. "
                                "Tidak ada data Anda yang hilang. Kirim lagi dalam setengah menit.")


def error_page(templates: Jinja2Templates, request: Request, status: int, says: tuple[str, str] | None = None):
    title, message = says or TITLES.get(status, TITLES[500])
    context = {"judul": title, "pesan": message, "status": status}
    if status == 413:  # most often a big photo sent without JavaScript: say the limits and lead back
        context.update(pesan=_too_large(request), kembali=_came_from(request))
    return templates.TemplateResponse(request, "galat.html", context, status_code=status)


def _mb(n: int) -> str:
    return f"{n / 1024 / 1024:.0f}"  # whole megabytes: the limits are 2, 5, 8 and 12 MB


def _too_large(request: Request) -> str:
    from biometrics.config import ImageLimits
    from services import berkas

    settings = getattr(getattr(request.scope.get("app"), "state", None), "settings", None)
    body = getattr(settings, "max_body_bytes", 12 * 1024 * 1024)
    return (f"Kiriman Anda melebihi batas ukuran: satu kiriman paling besar {_mb(body)} MB; satu foto dokumen "
            f"paling besar {_mb(berkas.MAX_IMAGE_BYTES)} MB, satu PDF {_mb(berkas.MAX_PDF_BYTES)} MB, dan foto "
            f"wajah {_mb(ImageLimits().max_bytes)} MB. Kirim dokumen satu per satu, atau perkecil foto (misalnya "
            "ambil ulang dengan resolusi kamera lebih rendah), lalu kirim lagi. Isian yang belum tersimpan "
            "masih ada bila Anda menekan tombol Kembali di peramban.")


def _came_from(request: Request) -> str:
    """The page the refused form was on, when it is one of ours (the Referer's path); else the account page."""
    referer = urlsplit(request.headers.get("referer", ""))
    ours = referer.netloc in ("", request.url.netloc) and referer.scheme in ("", request.url.scheme)
    path = same_site(referer.path) if ours else ""
    return (path + (f"?{referer.query}" if referer.query else "")) if path else "/akun"
