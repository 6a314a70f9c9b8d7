"""The primary of a LiteFS cluster, as a replica's background job reaches it: the spool hand-over.

A replica records accesses made while reading in its own spool (services/jejak.py) and hands each batch to the
primary: ``POST {MPP_PRIMARY_URL}/_intern/jejak`` with ``{"entri": [...]}`` and the deployment's internal bearer
token, answered 200 once the primary has committed them (web/litefs.SpoolReceiver). ``{primary}`` in the URL is
the host name LiteFS writes in ``.primary`` (on Fly, the Machine id: ``http://{primary}.vm.<app>.internal:8081``,
the app's own port on the private network, not LiteFS's proxy).
"""

from __future__ import annotations

from collections.abc import Callable

from integrations.http import post_json

INTERNAL_PATH = "/_intern/jejak"


class PrimaryLink:
    def __init__(self, url_template: str, token: str, timeout: float = 10.0):
        self.url_template = url_template
        self.token = token
        self.timeout = timeout

    def url(self, primary: str) -> str:
        host = "".join(c for c in primary if c.isalnum() or c in "-._")
        return self.url_template.replace("{primary}", host).rstrip("/") + INTERNAL_PATH

    def sender(self, primary: str) -> Callable[[list[dict]], None]:
        """A function handing entries to ``primary``; it raises ServiceUnavailable unless they were taken (2xx)."""
        url = self.url(primary)

        def send(entries: list[dict]) -> None:
            post_json(url, {"entri": entries}, self.token, self.timeout)
        return send
