"""The background round: each step stands alone."""

from __future__ import annotations

from integrations.http import ServiceUnavailable
from web import jobs


def test_a_registry_that_is_down_does_not_stop_the_other_steps(app, monkeypatch, caplog):
    """SISDMK down (overdue permits need it): complaints still close and old stored answers still go."""
    done = []

    def registry_down(pel):
        raise ServiceUnavailable("SISDMK tidak menjawab")

    monkeypatch.setattr(jobs.permohonan, "deem_overdue_permits", registry_down)
    monkeypatch.setattr(jobs.pengaduan, "close_unanswered", lambda db: done.append("pengaduan"))
    monkeypatch.setattr(jobs.idempotensi, "forget_older_than", lambda db, hours: done.append("idempotensi"))
    jobs.one_round(app)
    assert done == ["pengaduan", "idempotensi"]
    assert "izin lewat waktu" in caplog.text
