"""The hall queue: book a slot, the ticket, the hall display, and the officer's queue screen."""

from __future__ import annotations

import datetime as dt

from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from db import antrean as q
from db import wilayah as wilayah_q
from services import angka, kalender, skm
from services import antrean as svc
from services.dokumen_pdf import qr_svg
from web import auth
from web.params import path_id
from web.render import db_of, render


def _region(request: Request) -> dict:
    kode = request.path_params["kode"]
    mpp = wilayah_q.get_mpp(db_of(request), kode) if angka.is_digits(kode, 4) else None
    if mpp is None:
        raise HTTPException(404)
    return mpp


def book_form(request: Request, errors: dict | None = None, status_code: int = 200, chosen: dict | None = None,
              held_id: int | None = None):
    """``chosen`` (the refused booking's counter and date) stays selected after an error; ``held_id`` is the
    ticket the citizen already holds when that was the reason, linked from the message."""
    akun = auth.require(request, "warga")
    mpp = _region(request)
    db = db_of(request)
    counters = q.counters(db, mpp["wilayah_kode"])
    days = svc.open_days(db, mpp["wilayah_kode"])
    if chosen:  # a refused POST: its own choices, where they are still valid
        gerai_id = angka.to_id(chosen.get("gerai"))
        day = kalender.parse_date(chosen.get("tanggal") or "")
        if gerai_id in {g["id"] for g in counters} and day in days:
            return _book_page(request, mpp, counters, days, gerai_id, day, errors, status_code, akun, held_id)
    try:
        gerai_id = angka.to_id(request.query_params.get("gerai") or str(counters[0]["id"]))
        day = dt.date.fromisoformat(request.query_params.get("tanggal") or days[0].isoformat())
    except (ValueError, IndexError):
        raise HTTPException(404) from None
    if gerai_id not in {g["id"] for g in counters}:
        raise HTTPException(404)
    return _book_page(request, mpp, counters, days, gerai_id, day, errors, status_code, akun, held_id)


def _book_page(request, mpp, counters, days, gerai_id, day, errors, status_code, akun, held_id):
    return render(request, "antrean_pesan.html", {
        "mpp": mpp, "gerai": counters, "hari": days, "pilih_gerai": gerai_id, "pilih_tanggal": day,
        "slot": svc.slots(db_of(request), gerai_id, day), "errors": errors or {}, "akun": akun,
        "tiket_lain": held_id,
    }, status_code=status_code)


async def book(request: Request):
    akun = auth.require(request, "warga")
    await run_in_threadpool(_region, request)
    form = await request.form()
    chosen = {"gerai": str(form.get("gerai", ""))[:20], "tanggal": str(form.get("tanggal", ""))[:20]}
    try:
        ticket = await run_in_threadpool(svc.book, db_of(request), akun, angka.to_id(chosen["gerai"]) or 0,
                                         chosen["tanggal"], str(form.get("jam", "")))
    except (svc.QueueRefused, ValueError) as e:
        return await run_in_threadpool(book_form, request, {"jam": getattr(e, "message", "Pilih gerai dan jam.")},
                                       400, chosen, getattr(e, "tiket_id", None))
    return auth.redirect(f"/antrean/{ticket['id']}")


def _ticket(request: Request) -> dict:
    akun = auth.require(request, "warga")
    t = q.get(db_of(request), path_id(request))
    if t is None or t["akun_id"] != akun["id"]:
        raise HTTPException(404)
    return t


def ticket(request: Request):
    t = svc.ticket_view(_ticket(request), db_of(request))
    url = request.app.state.settings.url(f"/antrean/{t['id']}")
    return render(request, "tiket.html", {"t": t, "qr": qr_svg(f"{t['kode']} {t['tanggal']} {t['jam']} {url}"),
                                          "skm_selesai": skm.done(db_of(request), f"tiket:{t['id']}"),
                                          "unsur": skm.ELEMENTS, "nilai": skm.ANSWERS,
                                          "pesan": request.session.pop("pesan", None)})


async def cancel(request: Request):
    akun = auth.require(request, "warga")
    t = _ticket(request)
    try:
        await run_in_threadpool(svc.cancel, db_of(request), akun, t["id"])
    except svc.QueueRefused as e:  # e.g. called a moment ago: the ticket page says why it still stands
        request.session["pesan"] = e.message
    return auth.redirect(f"/antrean/{t['id']}")


def _display_context(request: Request, mpp: dict) -> dict:
    db = db_of(request)
    local = kalender.local_now(svc.kalender_zone(db, mpp["wilayah_kode"]))
    today = local.date().isoformat()
    return {"mpp": mpp, "dipanggil": q.called(db, mpp["wilayah_kode"], today),
            # the minute is part of the version: the clock on the screen moves on even when nobody is called
            "versi": f"{q.display_version(db, mpp['wilayah_kode'], today)}.{local:%H%M}",
            "jam": f"{local:%H.%M} {local.tzname()}"}


def display(request: Request):
    """The hall screen: big numbers; htmx polls cheaply, a meta refresh covers browsers without JS."""
    return render(request, "layar.html", _display_context(request, _region(request)))


def display_fragment(request: Request):
    context = _display_context(request, _region(request))
    if request.query_params.get("v") == context["versi"]:
        return Response(status_code=204)  # nothing changed: a few bytes, no swap
    return render(request, "_layar.html", context)


def officer_queue(request: Request, message: str | None = None, status_code: int = 200):
    officer = auth.require(request, "petugas")
    db = db_of(request)
    today = kalender.region_today(db, officer["wilayah_kode"]).isoformat()
    counters = svc.officer_counters(db, officer)
    return render(request, "petugas_antrean.html", {
        "gerai": [{**g, "antre": q.waiting(db, g["id"], today)} for g in counters],
        "semua_gerai": q.counters(db, officer["wilayah_kode"]), "galat": message,
        "pesan": request.session.pop("pesan", None),
    }, status_code=status_code)


async def officer_action(request: Request):
    officer = auth.require(request, "petugas")
    form = await request.form()
    db = db_of(request)
    action = str(form.get("aksi", ""))
    try:
        if action == "panggil":
            await run_in_threadpool(svc.call_next, db, officer, angka.to_id(form.get("gerai")) or 0)
        elif action == "langsung":
            t = await run_in_threadpool(svc.walk_in, db, officer, angka.to_id(form.get("gerai")) or 0)
            request.session["pesan"] = f"Tiket langsung {t['kode']} ({t['jam']})."
        else:
            await run_in_threadpool(svc.act, db, officer, angka.to_id(form.get("tiket")) or 0, action,
                                    angka.to_id(form.get("ke_gerai")))
    except (svc.QueueRefused, ValueError) as e:
        return officer_queue(request, getattr(e, "message", "Permintaan tidak valid."), status_code=400)
    return auth.redirect("/petugas/antrean")


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
