"""The primary of a LiteFS cluster, as a replica reaches it: the spool hand-over, and writes too big to replay.

A replica records accesses made while reading in its own spool (services/jejak.py) and hands each batch to the
primary: ``POST {MPP_PRIMARY_URL}/_intern/jejak`` with ``{"entri": [...]}`` and the deployment's internal bearer
token, answered 200 once the primary has committed them (web/litefs.SpoolReceiver). ``{primary}`` in the URL is
the host name LiteFS writes in ``.primary`` (on Fly, the Machine id: ``http://{primary}.vm.<app>.internal:8081``,
the app's own port on the private network, not LiteFS's proxy).
"""

from __future__ import annotations

import http.client
import urllib.parse
from collections.abc import Callable
from typing import BinaryIO

from integrations.http import ServiceUnavailable, post_json

INTERNAL_PATH = "/_intern/jejak"
FORWARDED = "mpp-diteruskan"  # set on a write a replica hands on: the machine receiving it never hands it on again
# a connection's own headers, never passed on (RFC 9110 7.6.1); Host is passed on: the primary checks it as usual
HOP_BY_HOP = {b"connection", b"keep-alive", b"proxy-authenticate", b"proxy-authorization", b"te", b"trailer",
              b"transfer-encoding", b"upgrade", FORWARDED.encode()}


class PrimaryLink:
    def __init__(self, url_template: str, token: str, timeout: float = 10.0):
        self.url_template = url_template
        self.token = token
        self.timeout = timeout

    def url(self, primary: str) -> str:
        return self.base(primary) + INTERNAL_PATH

    def base(self, primary: str) -> str:
        host = "".join(c for c in primary if c.isalnum() or c in "-._")
        return self.url_template.replace("{primary}", host).rstrip("/")

    def forward(self, primary: str, method: str, target: str, headers: list[tuple[bytes, bytes]], body: BinaryIO,
                length: int, timeout: float = 120.0) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
        """Send a request received here (``target``: path and query) to the primary's app as it came — its
        cookie, CSRF token, Host and client-address header included — with ``body`` (``length`` bytes) streamed
        from its file; the primary's answer (status, headers, body). ServiceUnavailable when it cannot be asked.
        The answer is read whole: a write is answered with a redirect or a form page, never a large body."""
        base = urllib.parse.urlsplit(self.base(primary))
        conn_class = http.client.HTTPSConnection if base.scheme == "https" else http.client.HTTPConnection
        conn = conn_class(base.hostname or "", base.port, timeout=timeout)
        try:
            conn.putrequest(method, target, skip_host=True, skip_accept_encoding=True)
            for name, value in headers:
                if name.lower() not in HOP_BY_HOP and name.lower() != b"content-length":
                    conn.putheader(name.decode("latin-1"), value.decode("latin-1"))
            conn.putheader("Content-Length", str(length))
            conn.putheader(FORWARDED, "1")
            conn.endheaders()
            while chunk := body.read(64 * 1024):
                conn.send(chunk)
            answer = conn.getresponse()
            data = answer.read()
            kept = [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in answer.getheaders()
                    if k.lower().encode("latin-1") not in HOP_BY_HOP and k.lower() != "content-length"]
            return answer.status, kept + [(b"content-length", str(len(data)).encode())], data
        except (OSError, http.client.HTTPException) as e:
            raise ServiceUnavailable(f"primer {primary} tidak terjangkau: {e}") from e
        finally:
            conn.close()

    def sender(self, primary: str) -> Callable[[list[dict]], None]:
        """A function handing entries to ``primary``; it raises ServiceUnavailable unless they were taken (2xx)."""
        url = self.url(primary)

        def send(entries: list[dict]) -> None:
            post_json(url, {"entri": entries}, self.token, self.timeout)
        return send
