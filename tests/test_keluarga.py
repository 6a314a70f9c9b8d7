"""Families: a parent applies for a child on their Kartu Keluarga, never for a stranger's child."""

from __future__ import annotations

import re

from tests.helpers import soup, start_draft, text_of
from tests.test_dokumen import lines_on
from tests.test_permohonan import citizen, decide_and_issue, fill, officer_client, submit  # noqa: F401  (citizen is a fixture)

RANI = "2171034203190002"   # Budi's daughter, on his Kartu Keluarga (db/katalog/penduduk_demo.toml)
PUTRI = "2171105005170003"  # Ahmad's daughter: another family
AHMAD = "2171100402850002"


def start_for(client, slug: str, untuk: str):
    return start_draft(client, slug, untuk=untuk)


def test_the_service_page_offers_the_members_of_the_citizens_own_kartu_keluarga(citizen):  # noqa: F811
    page = soup(citizen.get("/layanan/akta-kelahiran?wilayah=2171"))
    choices = {r.parent.get_text(strip=True): r["value"] for r in page.select("fieldset#untuk input[type=radio]")}
    assert choices == {"Saya sendiri": "", "Rani Santoso": RANI}
    assert page.select_one("fieldset#untuk input[checked]")["value"] == ""  # oneself unless chosen
    assert len(page.select("main select")) == 1  # still one region picker


def test_a_parent_applies_for_their_child_and_sees_whom_it_is_for(citizen, db):  # noqa: F811
    r = start_for(citizen, "akta-kelahiran", RANI)
    assert r.status_code == 303
    pid = int(re.search(r"/permohonan/(\d+)/isi", r.headers["location"]).group(1))
    assert "Untuk Rani Santoso" in text_of(citizen.get(f"/permohonan/{pid}/isi"))
    own = start_draft(citizen, "akta-kelahiran")
    assert own.headers["location"] != r.headers["location"]  # the parent's own draft is another one
    assert start_for(citizen, "akta-kelahiran", RANI).headers["location"] == r.headers["location"]  # and once
    assert "untuk Rani Santoso" in text_of(citizen.get("/permohonan"))


def test_nobody_applies_for_a_stranger_or_a_strangers_child(citizen, db):  # noqa: F811
    for nik in (PUTRI, AHMAD, "2171030000000000", "x" * 40):
        r = start_for(citizen, "akta-kelahiran", nik)
        assert r.status_code == 404, nik
    assert db.execute("SELECT count(*) FROM permohonan WHERE untuk_nik IS NOT NULL").fetchone()[0] == 0


def test_the_officer_and_the_document_name_the_child_and_who_applied(app, citizen, db):  # noqa: F811
    r = start_for(citizen, "akta-kelahiran", RANI)
    pid = int(re.search(r"/permohonan/(\d+)/isi", r.headers["location"]).group(1))
    fill(citizen, db, pid, "akta-kelahiran")
    _, sent = submit(citizen, pid)
    assert sent.status_code == 303, text_of(sent)[:400]
    officer = officer_client(app, "dukcapil.batam")
    try:
        assert "Budi Santoso untuk Rani Santoso" in text_of(officer.get("/petugas"))
        assert "Rani Santoso (NIK 2171034203190002), satu Kartu Keluarga" in text_of(
            officer.get(f"/petugas/permohonan/{pid}"))
    finally:
        officer.__exit__(None, None, None)
    lines = issued_lines(app, citizen, db, pid)
    assert lines["Nama pemilik dokumen"] == "Rani Santoso" and lines["NIK pemilik dokumen"] == "2171********0002"
    assert lines["Nama pemohon"] == "Budi Santoso" and lines["NIK pemohon"] == "2171********0001"


def issued_lines(app, citizen, db, pid: int) -> dict:
    """Disdukcapil decides and issues the application; the lines its document states, as /verifikasi shows them."""
    decide_and_issue(app, pid, "dukcapil.batam")
    token = db.execute("SELECT token FROM dokumen WHERE permohonan_id = ?", [pid]).fetchone()[0]
    return lines_on(citizen.get(f"/verifikasi/{token}"))


def test_a_registry_that_does_not_answer_is_said_so_and_writes_nothing(app, citizen, db, monkeypatch):  # noqa: F811
    from integrations.http import ServiceUnavailable

    def down(nik):
        raise ServiceUnavailable("Dukcapil tidak menjawab")

    monkeypatch.setattr(app.state.deps.identity.registry, "family_of", down)
    page = soup(citizen.get("/layanan/akta-kelahiran?wilayah=2171"))
    assert page.select_one("fieldset#untuk") is None and page.find("button")  # the citizen can still apply for self
    r = start_for(citizen, "akta-kelahiran", RANI)
    assert r.status_code == 503 and "belum menjawab" in text_of(r) and r.headers["retry-after"] == "30"
    assert db.execute("SELECT count(*) FROM permohonan WHERE untuk_nik IS NOT NULL").fetchone()[0] == 0
