"""Who is asking: the logged-in account, loaded once per request.

The session cookie (signed with itsdangerous by Starlette's SessionMiddleware)
holds only the account id and its session version; bumping the version in the
database logs that account out on every device ("keluar dari semua perangkat").
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
                store = scope["app"].state.store
                found = await run_in_threadpool(
                    akun_service.from_session, store.db, session.get("akun"), session.get("v")
                )
                if found is None:
                    session.pop("akun", None)
                    session.pop("v", None)
                scope["akun"] = found
        await self.app(scope, receive, send)


def account_by_id(db, akun_id: int) -> dict | None:
    return akun_service.get(db, akun_id)


def log_in(request: Request, found: dict) -> None:
    request.session["akun"] = found["id"]
    request.session["v"] = found["sesi_versi"]
    csrf.rotate(request.session)


def log_out(request: Request) -> None:
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
