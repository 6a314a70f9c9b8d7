"""What an operator reads: one log line per request with the route template, and /metrics."""

from __future__ import annotations

import json
import logging

from tests.helpers import login


def test_request_log_names_the_route_template_never_the_concrete_path(client, caplog):
    with caplog.at_level(logging.INFO, logger="mpp.request"):
        client.get("/layanan/akta-kelahiran")
        client.get("/pengaduan/ADU-2171-000001?kode=rahasia")
    lines = [json.loads(r.getMessage()) for r in caplog.records if r.name == "mpp.request"]
    first = {k: lines[0][k] for k in ("method", "path", "status")}
    assert first == {"method": "GET", "path": "/layanan/{slug}", "status": 200}
    assert lines[0]["bytes"] > 0 and lines[0]["ms"] >= 0
    assert lines[1]["path"] == "/pengaduan/{nomor}" and "rahasia" not in json.dumps(lines)


def test_metrics_for_the_ministry_only(client):
    client.get("/layanan")
    assert client.get("/metrics").status_code == 404
    login(client, "kemenpanrb")
    text = client.get("/metrics").text
    assert "GET /layanan " in text and text.startswith("# route count errors_5xx p50_ms p99_ms bytes")
