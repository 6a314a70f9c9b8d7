"""MPP Digital: the Starlette application.

``create_app()`` declares everything: routes of each area, middleware (outermost
first), error pages, and the lifespan that opens the database, migrates and
seeds it before the first request.
"""

from __future__ import annotations

import asyncio
import contextlib
import sys

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.middleware.sessions import SessionMiddleware
from starlette.requests import Request
from starlette.routing import Route

import services
from db.connection import is_busy
from ops import seed
from routes import (
    admin,
    akun,
    antrean,
    bantuan,
    daftar,
    demo,
    kasus,
    operasi,
    pemantauan,
    pengaduan,
    permohonan,
    perwalian,
    petugas,
    public,
    rancang,
    verifikasi,
)
from services import kalender
from web import jobs, wiring
from web.auth import AuthMiddleware
from web.compression import CompressionMiddleware
from web.formguard import FormGuardMiddleware
from web.headers import SecurityHeadersMiddleware
from web.headers import apply as security_headers
from web.hosts import TrustedHosts
from web.litefs import ReplayWrites, SpoolReceiver
from web.proses import one_at_a_time, serve_workers
from web.readonly import ReadOnlyGets
from web.requestlog import RequestLogMiddleware, configure_logging, new_stats
from web.settings import ROOT, Settings
from web.static import StaticAssets
from web.templating import BUSY, error_page, make_templates


def _seeded(deps) -> list[dict]:
    """Migrate and seed, one worker process at a time (WEB_CONCURRENCY: the first creates, the others find it done);
    the demo accounts this start created."""
    with one_at_a_time(deps.settings.spool_folder):
        return seed.seed(deps.store.db, demo=deps.settings.demo, waktu=kalender.stamp())


def create_app(settings: Settings | None = None, quiet: bool = False) -> Starlette:
    settings = settings or Settings.from_env()
    assets = StaticAssets(ROOT / "static")
    templates = make_templates(ROOT / "templates", assets)
    deps = wiring.build(settings)
    store = deps.store
    metrics = new_stats()
    get_writes: list[str] = []  # writes tried while a GET/HEAD was answered (web/readonly.py)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette):
        # migrate and seed on the machine that writes: a LiteFS replica reads the primary's (litefs.yml migrates on
        # the candidate before any app starts, and the primary's own start does it again, idempotently)
        primary = await run_in_threadpool(deps.cluster.is_primary)
        created = await run_in_threadpool(_seeded, deps) if primary else []
        await run_in_threadpool(kalender.load_zones, store.db)
        if settings.face_warmup:
            app.state.faces.warm_up()
        if not quiet:
            seed.print_accounts(created, out=sys.stderr)
            if settings.https and not settings.demo:
                await run_in_threadpool(seed.warn_demo_accounts_left, store.db, out=sys.stderr)
        task = asyncio.create_task(jobs.run_forever(app)) if settings.background_jobs else None
        app.state.running = getattr(app.state, "running", 0) + 1  # test clients may nest on one app
        try:
            yield
        finally:
            if task:  # a round running in the thread pool finishes first: its connection is not closed under it
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
            app.state.running -= 1
            if not app.state.running:  # the last one out closes every thread's connection
                deps.close()

    def show_error(request: Request, status: int):
        return error_page(templates, request, status)

    async def http_error(request: Request, exc: HTTPException):
        if exc.status_code in (301, 302, 303, 307, 308):
            from starlette.responses import RedirectResponse
            return RedirectResponse(exc.headers["Location"], status_code=exc.status_code)
        return show_error(request, exc.status_code)

    async def not_found(request: Request, exc: services.NotFound):
        return show_error(request, 404)

    async def unavailable(request: Request, exc: services.Unavailable):
        response = show_error(request, 503)  # another system (a registry) did not answer: nothing was changed
        response.headers["Retry-After"] = "30"
        return response

    async def server_error(request: Request, exc: Exception):
        if is_busy(exc):  # waited the whole busy_timeout for the write lock: nothing committed, sending again will do
            response = error_page(templates, request, 503, says=BUSY)
            response.headers["Retry-After"] = "30"
        else:
            response = show_error(request, 500)
        response.headers["Cache-Control"] = "no-store"
        security_headers(response.headers, request.scope, settings.https)  # sent past every middleware
        return response

    routes = [
        *public.routes, *akun.routes, *daftar.routes, *permohonan.routes, *petugas.routes, *kasus.routes,
        *verifikasi.routes, *demo.routes, *antrean.routes, *pengaduan.routes, *operasi.routes,
        *pemantauan.routes, *admin.routes, *rancang.routes, *perwalian.routes, *bantuan.routes,
        Route("/static/{path:path}", assets.endpoint, name="static"),
    ]
    configure_logging(settings.log_level)
    middleware = [
        Middleware(RequestLogMiddleware, stats=metrics),
        Middleware(SecurityHeadersMiddleware, https=settings.https),
        # a replica's spool hand-over to the primary: by bearer token, to a Machine's private address (web/litefs.py)
        Middleware(SpoolReceiver, token=settings.internal_bearer, cluster=deps.cluster),
        Middleware(TrustedHosts, allowed_hosts=settings.allowed_hosts),
        Middleware(ReadOnlyGets, mode=settings.get_writes, found=get_writes),
        # LiteFS replicas: a write is replayed to the primary before its body is read (web/litefs.py)
        Middleware(ReplayWrites, cluster=deps.cluster, link=deps.primary, error_page=show_error,
                   max_body=settings.max_body_bytes, idle_seconds=settings.body_idle_seconds),
        Middleware(CompressionMiddleware),
        Middleware(SessionMiddleware, secret_key=settings.secret_key, session_cookie="mpp_sesi",
                   max_age=settings.session_max_age, same_site="lax", https_only=settings.https),
        Middleware(AuthMiddleware),
        Middleware(FormGuardMiddleware, max_body=settings.max_body_bytes, error_page=show_error,
                   form_max_body=settings.form_max_bytes, idle_seconds=settings.body_idle_seconds,
                   total_seconds=settings.body_seconds),
    ]
    app = Starlette(routes=routes, middleware=middleware, lifespan=lifespan,
                    exception_handlers={HTTPException: http_error, services.NotFound: not_found,
                                        services.Unavailable: unavailable,
                                        500: server_error})
    app.state.deps = deps
    app.state.settings = settings
    app.state.store = store
    app.state.templates = templates
    app.state.assets = assets
    app.state.faces = deps.faces
    app.state.signing_key = deps.signing_key
    app.state.tte = deps.tte
    app.state.metrics = metrics
    app.state.get_writes = get_writes
    return app


def main() -> None:
    import uvicorn

    from web.settings import SERVER_LIMITS, ConfigError, listen_address, workers_from

    try:
        host, port = listen_address()
        workers = workers_from()
        if workers == 1:
            app = create_app()
        else:  # each worker builds its own app; the settings are checked here, once, with a readable message
            Settings.from_env()
    except ConfigError as exc:  # the message says what to set; a traceback would hide it
        sys.exit(f"MPP Digital tidak dijalankan: {exc}")
    options = dict(host=host, port=port, proxy_headers=False, server_header=False, access_log=False, **SERVER_LIMITS)
    if workers > 1:  # one process per core
        serve_workers("app:create_app", workers, **options)
    else:
        uvicorn.run(app, **options)


if __name__ == "__main__":
    main()
