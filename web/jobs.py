"""Background work of the server process: send due notifications, issue overdue permits.

Runs as one asyncio task started in the lifespan; each round is bounded and runs
its database work in the thread pool, off the event loop. A crash of one round
is logged and the loop goes on.

Only the primary writes (LiteFS, web/litefs.py; a single machine is always the primary): there every step runs,
the spool of accesses recorded while reading (services/jejak.py) first. On a replica the loop only hands its spool
to the primary, every round and as soon as a page records something; the other steps are the primary's, checked
again each round, so a replica promoted to primary takes them over at its next round.

With several worker processes on one machine (WEB_CONCURRENCY), one of them runs the loop: the one holding the
machine's lease (web/proses.py). The others wake it when a page queued an SMS code or recorded an access.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from starlette.concurrency import run_in_threadpool

from services import dokumen, idempotensi, jejak, notifikasi, pengaduan, penyimpanan, permohonan

log = logging.getLogger("mpp.jobs")

LEASE_RETRY_S = 5.0  # a worker not running the job looks this often whether it may take it over


def one_round(app) -> None:
    """The wired services (``web.wiring``): the same registries and keys the routes use. Each step stands
    alone: a registry that is down (SISDMK for overdue permits) must not stop complaints closing or SMS going."""
    deps = app.state.deps
    if not deps.cluster.is_primary():
        ship_spool(app)
        return
    steps = [
        ("jejak", lambda: jejak.drain(deps.store.db, deps.spool)),  # accesses recorded while reading, in their order
        ("sms", lambda: deliver_now(app)),
        ("izin lewat waktu", lambda: permohonan.deem_overdue_permits(deps.pelayanan)),
        ("pengaduan", lambda: pengaduan.close_unanswered(deps.store.db)),
        # issued documents whose PDF was not sealed at issue (the seal service was down): sealed and kept
        ("segel", lambda: dokumen.seal_waiting(deps.store.db, deps.tte, deps.objects,
                                               lambda token: verify_url(app, token))),
        # stored first answers of submits: kept MPP_IDEM_HOURS (retries come within minutes)
        ("idempotensi", lambda: idempotensi.forget_older_than(deps.store.db, deps.settings.idem_hours)),
        # hourly, in its own thread: objects no row names swept, rows whose object is missing counted (/metrics)
        ("penyimpanan", lambda: penyimpanan.check_when_due(deps.store.db, deps.objects, deps.storage_threads.pool())),
    ]
    for name, step in steps:
        try:
            step()
        except Exception:  # logged; the next round retries this step
            log.exception("background step %s failed", name)


def verify_url(app, token: str) -> str:
    """The public checking address of a document (its QR code), as the routes make it."""
    return app.state.settings.url(str(app.url_path_for("verifikasi", token=token)))


def deliver_now(app) -> None:
    notifikasi.deliver_due(app.state.deps.store.db, app.state.deps.sender)


def between_rounds(app) -> None:
    """What runs as soon as a route wakes the loop: on the primary the spool into SQLite and the SMS outbox; on a
    replica the spool to the primary."""
    deps = app.state.deps
    if not deps.cluster.is_primary():
        ship_spool(app)
        return
    for name, step in (("jejak", lambda: jejak.drain(deps.store.db, deps.spool)), ("sms", lambda: deliver_now(app))):
        try:
            step()
        except Exception:
            log.exception("background step %s failed", name)


def ship_spool(app) -> None:
    """A replica's spool to the primary; a batch the primary did not take stays for the next round."""
    deps = app.state.deps
    primary = deps.cluster.primary()
    if primary is None:  # promoted meanwhile: the next round drains it here
        return
    try:
        jejak.ship(deps.spool, deps.primary.sender(primary))
    except Exception:  # the primary unreachable or changing: the batch waits, nothing is dropped
        log.exception("handing the spool to the primary %s failed", primary)


def wake_spool(request) -> None:
    """Take a just-recorded access into the audit log (or hand it to the primary) now, not at the next round."""
    wake_outbox(request)


def wake_outbox(request) -> None:
    """Send queued SMS now rather than at the next round: a person is waiting for a code.

    Routes run in the thread pool; an asyncio.Event may only be set from its loop's own thread. In a worker
    process that does not run the job (WEB_CONCURRENCY > 1), the worker that does is woken through its lease."""
    loop, wake = getattr(request.app.state, "jobs_loop", None), getattr(request.app.state, "outbox_wake", None)
    lease = request.app.state.deps.lease
    if lease is not None and not lease.held:
        lease.wake()
    elif loop is not None and wake is not None:
        with contextlib.suppress(RuntimeError):  # the job's loop just closed (shutting down): the next start sends
            loop.call_soon_threadsafe(wake.set)


async def run_forever(app, every_s: float = 30.0) -> None:
    """A full round every ``every_s``; in between, the spool and deliveries only (``between_rounds``), as soon as a
    route wakes the loop. Only in the worker process holding the machine's lease (web/proses.py); the others try
    to take it every ``LEASE_RETRY_S``, so one takes over soon after its holder ends."""
    loop, wake = asyncio.get_running_loop(), asyncio.Event()  # an Event belongs to the loop that waits on it
    app.state.jobs_loop, app.state.outbox_wake = loop, wake
    lease = app.state.deps.lease
    try:
        while not lease.take():
            await asyncio.sleep(min(every_s, LEASE_RETRY_S))
        fd = lease.sock.fileno()
        loop.add_reader(fd, _woken, lease, wake)
        try:
            await _rounds(app, loop, wake, every_s)
        finally:
            loop.remove_reader(fd)
            lease.release()
    finally:
        if getattr(app.state, "jobs_loop", None) is loop:
            app.state.jobs_loop = app.state.outbox_wake = None


def _woken(lease, wake: asyncio.Event) -> None:
    lease.drain()
    wake.set()


async def _rounds(app, loop: asyncio.AbstractEventLoop, wake: asyncio.Event, every_s: float) -> None:
    next_full = 0.0
    while True:
        full = loop.time() >= next_full
        wake.clear()
        try:
            await run_in_threadpool(one_round if full else between_rounds, app)
        except Exception:  # keep the loop alive; the next round retries
            log.exception("background round failed")
        if full:
            next_full = loop.time() + every_s
        try:
            await asyncio.wait_for(wake.wait(), timeout=max(0.0, next_full - loop.time()))
        except TimeoutError:
            pass
