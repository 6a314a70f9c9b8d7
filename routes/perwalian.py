"""Guardianship recorded at the identity desk: /petugas/perwalian (Disdukcapil officers, as the desk)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.routing import Route

from services import perwalian as svc
from web import auth
from web.identity import identity_of
from web.render import db_of, path_to, render, with_form


def page(request: Request, errors: dict | None = None, values: dict | None = None, status_code: int = 200):
    officer = auth.require_agency(request, "disdukcapil")
    return render(request, "petugas_perwalian.html", {
        **svc.desk_page(db_of(request), officer), "errors": errors or {}, "v": values or {},
        "pesan": request.session.pop("pesan", None)}, status_code=status_code)


@with_form
def record(request: Request, form):
    officer = auth.require_agency(request, "disdukcapil")
    try:
        name = svc.record(db_of(request), identity_of(request).registry, officer, form)
    except svc.Refused as e:
        return page(request, e.errors, dict(form), 400)
    request.session["pesan"] = f"Perwalian atas {name} tercatat: walinya kini dapat mengajukan layanan untuknya."
    return auth.redirect(path_to(request, "petugas_perwalian"))


routes = [
    Route("/petugas/perwalian", page, name="petugas_perwalian"),
    Route("/petugas/perwalian", record, methods=["POST"], name="petugas_perwalian_kirim"),
]
