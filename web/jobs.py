"""Background work of the server process: send due notifications, issue overdue permits.

Runs as one asyncio task started in the lifespan; each round is bounded and runs
its database work in the thread pool, off the event loop. A crash of one round
is logged and the loop goes on.
"""

from __future__ import annotations

import asyncio
import logging

from starlette.concurrency import run_in_threadpool

from integrations.sisdmk import EmbeddedSisdmk
from integrations.dukcapil import EmbeddedDukcapil
from db import idempotensi
from services import notifikasi, pengaduan, permohonan

log = logging.getLogger("mpp.jobs")


def one_round(app) -> None:
    db = app.state.store.db
    notifikasi.deliver_due(db, app.state.sender)
    pel = permohonan.Pelayanan(db=db, registry=EmbeddedDukcapil(db, app.state.faces.key),
                               sisdmk=EmbeddedSisdmk(db), signing_key=app.state.signing_key)
    permohonan.deem_overdue_permits(pel)
    pengaduan.close_unanswered(db)
    idempotensi.purge_older_than(db)  # stored first answers: kept 7 days, retries come within minutes


async def run_forever(app, every_s: float = 30.0) -> None:
    while True:
        try:
            await run_in_threadpool(one_round, app)
        except Exception:  # keep the loop alive; the next round retries
            log.exception("background round failed")
        await asyncio.sleep(every_s)
