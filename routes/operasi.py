"""Operator pages: /metrics (per-route counts, errors, latency, bytes; the object storage's last check) for the
ministry role or a bearer token (MPP_METRICS_TOKEN), as plain text an operator or a scraper reads."""

from __future__ import annotations

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from services import jejak, penyimpanan
from services.passwords import same_secret
from web.render import db_of, spool_of


def metrics(request: Request):
    token = request.app.state.settings.metrics_token
    sent = request.headers.get("authorization", "").removeprefix("Bearer ")
    akun = request.scope.get("akun")
    if not ((token and same_secret(sent, token)) or (akun and akun["peran"] == "kementerian")):
        raise HTTPException(404)
    lines = ["# route count errors_5xx p50_ms p99_ms bytes"]
    for key, st in sorted(request.app.state.metrics.items()):
        lines.append(f"{key} {st.count} {st.errors} {st.percentile(0.5):.1f} {st.percentile(0.99):.1f} {st.bytes}")
    # object storage, as its last comparison with the rows found it (make check-storage, or the hourly job)
    lines += penyimpanan.metrics_lines(db_of(request))
    # multi-VM mode (issue 18): accesses waiting in this machine's spool, and SQLite writes tried by a GET (logged)
    lines += jejak.metrics_lines(spool_of(request), request.app.state.get_writes,
                                 request.app.state.deps.cluster.primary())
    return PlainTextResponse("\n".join(lines) + "\n")


routes = [Route("/metrics", metrics, name="metrics")]
