"""Background work of the server process: send due notifications, issue overdue permits.

Runs as one asyncio task started in the lifespan; each round is bounded and runs
its database work in the thread pool, off the event loop. A crash of one round
is logged and the loop goes on.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from starlette.concurrency import run_in_threadpool

from services import idempotensi, notifikasi, pengaduan, permohonan

log = logging.getLogger("mpp.jobs")


def one_round(app) -> None:
    """The wired services (``web.wiring``): the same registries and keys the routes use. Each step stands
    alone: a registry that is down (SISDMK for overdue permits) must not stop complaints closing or SMS going."""
    deps = app.state.deps
    steps = [
        ("sms", lambda: deliver_now(app)),
        ("izin lewat waktu", lambda: permohonan.deem_overdue_permits(deps.pelayanan)),
        ("pengaduan", lambda: pengaduan.close_unanswered(deps.store.db)),
        # stored first answers of submits: kept MPP_IDEM_HOURS (retries come within minutes)
        ("idempotensi", lambda: idempotensi.forget_older_than(deps.store.db, deps.settings.idem_hours)),
    ]
    for name, step in steps:
        try:
            step()
        except Exception:  # logged; the next round retries this step
            log.exception("background step %s failed", name)


def deliver_now(app) -> None:
    notifikasi.deliver_due(app.state.deps.store.db, app.state.deps.sender)


def wake_outbox(request) -> None:
    """Send queued SMS now rather than at the next round: a person is waiting for a code.

    Routes run in the thread pool; an asyncio.Event may only be set from its loop's own thread."""
    loop, wake = getattr(request.app.state, "jobs_loop", None), getattr(request.app.state, "outbox_wake", None)
    if loop is not None and wake is not None:
        with contextlib.suppress(RuntimeError):  # the job's loop just closed (shutting down): the next start sends
            loop.call_soon_threadsafe(wake.set)


async def run_forever(app, every_s: float = 30.0) -> None:
    """A full round every ``every_s``; in between, deliveries only, as soon as a route wakes the loop."""
    loop, wake = asyncio.get_running_loop(), asyncio.Event()  # an Event belongs to the loop that waits on it
    app.state.jobs_loop, app.state.outbox_wake = loop, wake
    try:
        await _rounds(app, loop, wake, every_s)
    finally:
        if getattr(app.state, "jobs_loop", None) is loop:
            app.state.jobs_loop = app.state.outbox_wake = None


async def _rounds(app, loop: asyncio.AbstractEventLoop, wake: asyncio.Event, every_s: float) -> None:
    next_full = 0.0
    while True:
        full = loop.time() >= next_full
        wake.clear()
        try:
            await run_in_threadpool(one_round if full else deliver_now, app)
        except Exception:  # keep the loop alive; the next round retries
            log.exception("background round failed")
        if full:
            next_full = loop.time() + every_s
        try:
            await asyncio.wait_for(wake.wait(), timeout=max(0.0, next_full - loop.time()))
        except TimeoutError:
            pass
