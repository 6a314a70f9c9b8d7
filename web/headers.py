"""Security headers on every response.

The CSP allows scripts only from our own origin, plus the exact text of
``static/nanti.js`` inlined where htmx is loaded on first use (its SHA-256; no
other inline script, no ``eval``): htmx is configured through a ``<meta name="htmx-config">`` tag with
its inline-style and eval features off, so this policy does not break it.
Styles come from our origin or are the stylesheet's exact text inlined in a
``<style>`` on a first visit (web/templating.py): its SHA-256, computed once at
start-up (web/static.py), is the only inline style the policy allows.
"""

from __future__ import annotations

import functools

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send


def content_security_policy(style_sources: tuple[str, ...] = (), script_sources: tuple[str, ...] = ()) -> str:
    return "; ".join([
        "default-src 'self'",
        " ".join(["script-src 'self'", *script_sources]),
        " ".join(["style-src 'self'", *style_sources]),
        "img-src 'self' data: blob:",
        "media-src 'self' blob:",
        "connect-src 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
        "base-uri 'none'",
        "object-src 'none'",
    ])


CSP = content_security_policy()
# The cookie that says "this browser was sent the stylesheet": its value is the file's fingerprint, so a
# page links the cached file instead of inlining it again (web/templating.py). Set on the page that inlined.
CSS_COOKIE = "css"
CSS_COOKIE_STATE = "css_cookie"  # scope["state"] key: the fingerprint to set in the cookie on this response

BASE_HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
    "Permissions-Policy": "camera=(self), microphone=(), geolocation=(), interest-cohort=()",
    "Cross-Origin-Opener-Policy": "same-origin",
}

# Pages about one person even without a login: a registration in progress (it shows the SMS code in demo
# mode), a complaint followed with its code, an issued document, a "bukan saya" link; and the rest of
# what only a logged-in person or the operator reaches (so a logged-out browser keeps no copy either).
PERSONAL_PATHS = ("/daftar", "/bukan-saya/", "/pengaduan/", "/verifikasi/", "/verifikasi-wajah", "/fragmen/cek-nik",
                  "/akun", "/permohonan", "/petugas", "/admin", "/antrean/", "/demo/", "/metrics")


@functools.lru_cache(maxsize=4)
def _policy_with(style_sources: tuple[str, ...], script_sources: tuple[str, ...] = ()) -> str:
    return content_security_policy(style_sources, script_sources)


def cache_control(scope: Scope, declared: str | None) -> str:
    """The one caching rule. What a route declared public (static files, the public key) stays so; any other
    answer to a logged-in person, to a form submission (it echoes what was typed) or on a personal path is
    ``no-store``: no copy in the browser's cache or history for the next user of a shared or lost phone.
    The public catalogue keeps ``private, no-cache`` (cached, revalidated)."""
    if declared and ("public" in declared or "immutable" in declared):
        return declared
    if scope.get("akun") or scope["method"] not in ("GET", "HEAD") or scope["path"].startswith(PERSONAL_PATHS):
        return "no-store"
    return declared or "private, no-cache"


def apply(headers: MutableHeaders, scope: Scope, https: bool) -> None:
    """The security headers and the caching rule, on every response: the middleware's, and the 500 page's
    (Starlette sends that one from its outermost layer, past every middleware, so app.py applies it there)."""
    for name, value in BASE_HEADERS.items():
        headers.setdefault(name, value)
    assets = getattr(getattr(scope.get("app"), "state", None), "assets", None)
    if assets is not None and headers.get("content-security-policy") == CSP:
        headers["Content-Security-Policy"] = _policy_with(tuple(assets.style_sources()), tuple(assets.script_sources()))
    css = (scope.get("state") or {}).get(CSS_COOKIE_STATE)
    if css:
        headers.append("Set-Cookie", f"{CSS_COOKIE}={css}; Path=/; Max-Age=31536000; SameSite=Lax"
                                     + ("; Secure" if https else ""))
    if https:
        headers.setdefault("Strict-Transport-Security", "max-age=63072000; includeSubDomains")
    headers["Cache-Control"] = cache_control(scope, headers.get("cache-control"))


class SecurityHeadersMiddleware:
    def __init__(self, app: ASGIApp, https: bool = False):
        self.app = app
        self.https = https

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def wrapped(message: Message) -> None:
            if message["type"] == "http.response.start":
                apply(MutableHeaders(raw=message["headers"]), scope, self.https)
            await send(message)

        await self.app(scope, receive, wrapped)
