"""Demo-only pages (MPP_DEMO=1): the notifications a real SMS gateway would have sent.

An officer or MPP admin sees the messages to accounts of their own region only (numbers masked); the
ministry, which serves no region, sees none. Registration codes go to no account yet: the demo shows
each on the page where it is typed, never here."""

from __future__ import annotations

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.routing import Route

from services import notifikasi
from services.samaran import mask_phone
from web import auth
from web.render import db_of, render


def outbox(request: Request):
    if not request.app.state.settings.demo:
        raise HTTPException(404)
    akun = auth.require(request, "petugas", "admin_wilayah", "kementerian")
    rows = notifikasi.recent_in_region(db_of(request), akun["wilayah_kode"])
    for r in rows:
        r["tujuan"] = mask_phone(r["tujuan"])
    return render(request, "demo_pesan.html", {"pesan_keluar": rows, "wilayah": akun["wilayah_kode"]})


routes = [Route("/demo/pesan", outbox, name="demo_pesan")]
