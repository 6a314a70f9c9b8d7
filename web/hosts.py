"""Only the site's own Host names are served (Settings.allowed_hosts: the MPP_BASE_URL host, MPP_ALLOWED_HOSTS,
and loopback names on a development machine).

Absolute links never come from the Host header anyway (Settings.url builds them from MPP_BASE_URL); this
refuses the rest early, so a forged Host reaches no page, cache or log as if it were ours. It is Starlette's
TrustedHostMiddleware, answering in Bahasa Indonesia and without its ``www.`` redirect (which would build
a URL from the Host asked). ``/healthz`` answers any Host: the platform's health check calls the machine by
its private address, and that answer names no address.
"""

from __future__ import annotations

from collections.abc import Sequence

from starlette.middleware.trustedhost import TrustedHostMiddleware
from starlette.responses import PlainTextResponse
from starlette.types import ASGIApp, Receive, Scope, Send

REFUSED = ("Alamat situs tidak dikenal. Buka MPP Digital dari alamat resminya; bila Anda mengikuti tautan "
           "dari pesan atau situs lain, jangan masukkan data apa pun di sana.")
_PASSED = "mpp.host_ok"
ANY_HOST_PATHS = ("/healthz",)


class TrustedHosts(TrustedHostMiddleware):
    def __init__(self, app: ASGIApp, allowed_hosts: Sequence[str]):
        async def passed(scope: Scope, receive: Receive, send: Send) -> None:
            scope[_PASSED] = True
            await app(scope, receive, send)

        super().__init__(passed, allowed_hosts=list(allowed_hosts), www_redirect=False)
        self.inner = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] in ANY_HOST_PATHS:
            await self.inner(scope, receive, send)
            return

        async def only_if_passed(message) -> None:
            if scope.get(_PASSED):
                await send(message)

        await super().__call__(scope, receive, only_if_passed)
        if not scope.get(_PASSED):  # Starlette refused the Host (its English answer was held back)
            await PlainTextResponse(REFUSED, status_code=400)(scope, receive, send)
