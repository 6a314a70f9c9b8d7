"""CSRF tokens bound to the session.

Every POST must carry the session's token, in the form field ``csrf_token`` or
the ``X-CSRF-Token`` header (htmx sends it from ``hx-headers`` on <body>). A
signed form token is used rather than ``Origin``/``Sec-Fetch-Site`` checks,
because old phone browsers often send neither header.
"""

from __future__ import annotations

import secrets

from services.passwords import same_secret

SESSION_KEY = "csrf"
FIELD = "csrf_token"
HEADER = "x-csrf-token"


def session_token(session: dict) -> str:
    """The session's token, created on first use (only pages with forms create one)."""
    token = session.get(SESSION_KEY)
    if not token:
        token = secrets.token_urlsafe(24)
        session[SESSION_KEY] = token
    return token


def valid(session: dict, sent: str | None) -> bool:
    expected = session.get(SESSION_KEY)
    return bool(expected and sent) and same_secret(str(sent), str(expected))


def rotate(session: dict) -> str:
    """New token after login/logout, so a token seen before login is useless after."""
    session.pop(SESSION_KEY, None)
    return session_token(session)
