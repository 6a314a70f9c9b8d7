"""The hall queue: book a slot, the ticket, the hall display, and the officer's queue screen."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from services import angka, skm
from services import antrean as svc
from services.dokumen_pdf import qr_svg
from web import auth
from web.params import path_id
from web.render import db_of, path_to, render, with_form


def book_form(request: Request, errors: dict | None = None, status_code: int = 200, chosen: dict | None = None,
              held_id: int | None = None):
    """``chosen`` (the refused booking's counter and date) stays selected after an error; ``held_id`` is the
    ticket the citizen already holds when that was the reason, linked from the message."""
    akun = auth.require(request, "warga")
    page = svc.booking_page(db_of(request), request.path_params["kode"], request.query_params.get("gerai"),
                            request.query_params.get("tanggal"), chosen)
    return render(request, "antrean_pesan.html", {**page, "errors": errors or {}, "akun": akun, "tiket_lain": held_id},
                  status_code=status_code)


@with_form
def book(request: Request, form):
    akun = auth.require(request, "warga")
    chosen = {"gerai": str(form.get("gerai", ""))[:20], "tanggal": str(form.get("tanggal", ""))[:20]}
    try:
        ticket = svc.book_at(db_of(request), request.path_params["kode"], akun, angka.to_id(chosen["gerai"]) or 0,
                             chosen["tanggal"], str(form.get("jam", "")))
    except (svc.QueueRefused, ValueError) as e:
        return book_form(request, {"jam": getattr(e, "message", "Pilih gerai dan jam.")}, 400, chosen,
                         getattr(e, "tiket_id", None))
    return auth.redirect(path_to(request, "tiket", id=ticket["id"]))


def ticket(request: Request):
    akun = auth.require(request, "warga")
    page = svc.ticket_page(db_of(request), akun, path_id(request))
    t = page["t"]
    url = request.app.state.settings.url(path_to(request, "tiket", id=t["id"]))
    return render(request, "tiket.html", {**page, "qr": qr_svg(f"{t['kode']} {t['tanggal']} {t['jam']} {url}"),
                                          "unsur": skm.ELEMENTS, "nilai": skm.ANSWERS,
                                          "pesan": request.session.pop("pesan", None)})


@with_form
def cancel(request: Request, form):
    akun = auth.require(request, "warga")
    tiket_id = path_id(request)
    refused = svc.withdraw(db_of(request), akun, tiket_id)
    if refused:  # e.g. called a moment ago: the ticket page says why it still stands
        request.session["pesan"] = refused
    return auth.redirect(path_to(request, "tiket", id=tiket_id))


def _display(request: Request) -> dict:
    return svc.display(db_of(request), request.path_params["kode"])


def display(request: Request):
    """The hall screen: big numbers; htmx polls cheaply, a meta refresh covers browsers without JS."""
    return render(request, "layar.html", _display(request))


def display_fragment(request: Request):
    context = _display(request)
    if request.query_params.get("v") == context["versi"]:
        return Response(status_code=204)  # nothing changed: a few bytes, no swap
    return render(request, "_layar.html", context)


def officer_queue(request: Request, message: str | None = None, status_code: int = 200):
    officer = auth.require(request, "petugas")
    return render(request, "petugas_antrean.html", {
        **svc.officer_page(db_of(request), officer), "galat": message, "pesan": request.session.pop("pesan", None),
    }, status_code=status_code)


@with_form
def officer_action(request: Request, form):
    officer = auth.require(request, "petugas")
    try:
        note = svc.desk(db_of(request), officer, str(form.get("aksi", "")), angka.to_id(form.get("gerai")) or 0,
                        angka.to_id(form.get("tiket")) or 0, angka.to_id(form.get("ke_gerai")))
    except (svc.QueueRefused, ValueError) as e:
        return officer_queue(request, getattr(e, "message", "Permintaan tidak valid."), status_code=400)
    if note:
        request.session["pesan"] = note
    return auth.redirect(path_to(request, "petugas_antrean"))


routes = [
    Route("/mpp/{kode}/antrean", book_form, name="antrean_pesan"),
    Route("/mpp/{kode}/antrean", book, methods=["POST"], name="antrean_pesan_kirim"),
    Route("/mpp/{kode}/layar", display, name="layar"),
    Route("/fragmen/layar/{kode}", display_fragment, name="layar_fragmen"),
    Route("/antrean/{id}", ticket, name="tiket"),
    Route("/antrean/{id}/batal", cancel, methods=["POST"], name="tiket_batal"),
    Route("/petugas/antrean", officer_queue, name="petugas_antrean"),
    Route("/petugas/antrean", officer_action, methods=["POST"], name="petugas_antrean_kirim"),
]
