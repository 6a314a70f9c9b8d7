"""Demo-only pages (MPP_DEMO=1): the notifications a real SMS gateway would have sent."""

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
    auth.require(request, "petugas", "admin_wilayah", "kementerian")
    rows = notifikasi.recent(db_of(request))
    for r in rows:
        r["tujuan"] = mask_phone(r["tujuan"])
    return render(request, "demo_pesan.html", {"pesan_keluar": rows})


routes = [Route("/demo/pesan", outbox, name="demo_pesan")]
