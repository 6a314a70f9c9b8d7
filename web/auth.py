"""Who is asking: the logged-in account, loaded once per request.

The session cookie (signed with itsdangerous by Starlette's SessionMiddleware)
holds the account id, its session version and a random session id whose hash is
a row of ``sesi``. "Keluar" ends that row, so a copied cookie dies with it;
bumping the version logs the account out on every device ("keluar dari semua
perangkat"). Checking costs one indexed read per logged-in request; anonymous
sessions (a CSRF token only) never touch the database.
"""

from __future__ import annotations

from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.types import ASGIApp, Receive, Scope, Send

from services import akun as akun_service
from web import csrf


class AuthMiddleware:
    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            scope["akun"] = None
            session = scope.get("session", {})
            if "akun" in session:
                app = scope["app"]
                found = await run_in_threadpool(
                    akun_service.from_session, app.state.store.db, session.get("akun"), session.get("v"),
                    session.get("sid"), app.state.settings.session_max_age,
                    refresh=scope["method"] not in ("GET", "HEAD"),  # a GET only reads (web/readonly.py)
                )
                if found is None:
                    for key in ("akun", "v", "sid"):
                        session.pop(key, None)
                scope["akun"] = found
        await self.app(scope, receive, send)


def account_by_id(db, akun_id: int) -> dict | None:
    return akun_service.get(db, akun_id)


def log_in(request: Request, found: dict, sesi_id: str) -> None:
    """Put a session opened by ``akun_service.open_session`` into the cookie."""
    request.session["akun"] = found["id"]
    request.session["v"] = found["sesi_versi"]
    request.session["sid"] = sesi_id
    csrf.rotate(request.session)


def start_session(request: Request, found: dict, ip: str) -> None:
    """Open a server-side session for ``found`` (from address ``ip``) and put it into the cookie
    (in the thread pool, like every route's work)."""
    sesi_id = akun_service.open_session(request.app.state.store.db, found["id"], ip,
                                        request.app.state.settings.session_max_age)
    log_in(request, found, sesi_id)


def log_out(request: Request) -> None:
    """Clear the cookie; the route ends the server-side session first (``akun_service.end_session``)."""
    request.session.clear()


def require(request: Request, *roles: str) -> dict:
    """The account, if it has one of ``roles``.

    Anonymous visitors are sent to the login page (and back afterwards); a
    logged-in account of another role gets 404, never a hint that the page exists.
    """
    found = request.scope.get("akun")
    if found is None:
        raise HTTPException(303, headers={"Location": f"/masuk?lanjut={request.url.path}"})
    if roles and found["peran"] not in roles:
        raise HTTPException(404)
    return found


def require_agency(request: Request, jenis: str) -> dict:
    """An officer of that kind of agency (``disdukcapil`` for the identity desk); other accounts get 404."""
    found = require(request, "petugas")
    if found["instansi_jenis"] != jenis:
        raise HTTPException(404)
    return found


def same_site(path: str) -> str:
    """Only a path on this site ('' otherwise): never send someone to another site after a step."""
    return path if path.startswith("/") and not path.startswith("//") and "\\" not in path else ""


def go_to(request: Request, url: str) -> Response:
    """After a POST: a redirect for a browser, or 204 + ``X-Lanjut`` for our upload scripts (unggah.js,
    selfie.js send ``X-Unggah``). An XHR follows a redirect itself and throws the page away, so the
    phone would download it twice and a one-time message on it would be lost before the person sees it."""
    if request.headers.get("x-unggah"):
        return Response(status_code=204, headers={"X-Lanjut": url})
    return redirect(url)


def redirect(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)
