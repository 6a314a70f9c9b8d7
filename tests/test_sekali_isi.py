"""Once-only (issue 17): what the population registry holds is filled from it, marked "dari data Dukcapil", and
never typed again; a tampered post cannot change it, and a registry that does not answer leaves a form that can
still be filled."""

from __future__ import annotations

import dataclasses
import json
import re

import pytest

from integrations.dukcapil import HttpDukcapil, Resident
from integrations.http import ServiceUnavailable
from tests.helpers import form_fields, soup, start_draft, text_of
from tests.test_keluarga import issued_lines
from tests.test_permohonan import citizen, fill, officer_client, start, submit  # noqa: F401

RANI = "2171034203190002"  # Budi's daughter on his Kartu Keluarga: born 2 March 2019 in Batam
BUDI_KK = "2171031201150003"
CHILD = {"nama_anak": "Rani Santoso", "jenis_kelamin": "Perempuan", "tanggal_lahir": "2 Maret 2019",
         "tempat_lahir": "Batam"}


def start_for_child(client, slug: str = "akta-kelahiran") -> int:
    r = start_draft(client, slug, untuk=RANI)
    assert r.status_code == 303, text_of(r)[:300]
    return int(re.search(r"/permohonan/(\d+)/isi", r.headers["location"]).group(1))


def answers(db, pid: int) -> dict:
    return json.loads(db.execute("SELECT data FROM permohonan WHERE id = ?", [pid]).fetchone()[0])


def shown(page, name: str) -> str:
    """What the form shows for a field filled from the registry (no input of that name may exist)."""
    assert page.find(attrs={"name": name}) is None, f"{name} is an input"
    block = page.select_one(f"#isian-{name}")
    assert "dari data Dukcapil" in block.get_text(" ", strip=True), name
    return block.get_text(" ", strip=True)


def registry_of(app):
    return app.state.deps.identity.registry


def test_a_citizen_sees_their_own_registry_data_marked_and_has_nothing_to_type_for_it(citizen, db):  # noqa: F811
    pid = start(citizen, "kartu-keluarga")
    page = soup(citizen.get(f"/permohonan/{pid}/isi"))
    assert BUDI_KK in shown(page, "nomor_kk")
    assert page.find("select", attrs={"name": "jenis_permohonan"}) is not None  # the rest is still asked
    stored = answers(db, pid)
    assert stored["nomor_kk"] == BUDI_KK and stored["_dukcapil"] == ["nomor_kk"]
    check = soup(citizen.get(f"/permohonan/{pid}/periksa"))
    row = check.select_one("#nomor_kk")
    assert BUDI_KK in row.get_text() and "dari data Dukcapil" in row.get_text() and row.find("a") is None


def test_a_parents_draft_for_a_child_shows_the_childs_registry_data(citizen, db):  # noqa: F811
    pid = start_for_child(citizen)
    page = soup(citizen.get(f"/permohonan/{pid}/isi"))
    for name, value in CHILD.items():
        assert value in shown(page, name), name
    assert page.find("input", attrs={"name": "anak_ke"}) is not None  # not in the registry: still asked
    assert page.find("input", attrs={"name": "nik_ibu"}) is not None
    stored = answers(db, pid)
    assert {k: stored[k] for k in CHILD} == {**CHILD, "tanggal_lahir": "02-03-2019"}  # stored as citizens type it
    # the parent's own draft of the same service is typed: a newborn is not on the KK yet
    own = soup(citizen.get(f"/permohonan/{start(citizen, 'akta-kelahiran')}/isi"))
    assert own.find("input", attrs={"name": "nama_anak"}) is not None and "dari data Dukcapil" not in own.get_text()
    kia = soup(citizen.get(f"/permohonan/{start_for_child(citizen, 'kia')}/isi"))
    assert RANI in shown(kia, "nik_anak")


def test_a_tampered_post_cannot_change_what_the_registry_holds(app, citizen, db):  # noqa: F811
    pid = start_for_child(citizen)
    citizen.get(f"/permohonan/{pid}/isi")
    fields = form_fields(citizen, f"/permohonan/{pid}/isi", f"/permohonan/{pid}/simpan")
    forged = {"nama_anak": "Anak Orang Lain", "tanggal_lahir": "01-01-2001", "jenis_kelamin": "Laki-laki",
              "tempat_lahir": "Jakarta"}
    r = citizen.post(f"/permohonan/{pid}/simpan", data={**fields, **forged, "anak_ke": "2", "aksi": "simpan"},
                     follow_redirects=False)
    assert r.status_code == 303
    r = citizen.post(f"/permohonan/{pid}/simpan", data={**fields, "nama_anak": "Lewat Autosave"},
                     headers={"HX-Request": "true"})
    assert r.status_code == 200
    stored = answers(db, pid)
    assert stored["nama_anak"] == "Rani Santoso" and stored["tanggal_lahir"] == "02-03-2019"
    assert stored["jenis_kelamin"] == "Perempuan" and stored["tempat_lahir"] == "Batam"
    assert stored["anak_ke"] == "2"  # what the citizen may type is kept

    fill(citizen, db, pid, "akta-kelahiran", forged)  # the whole form again, forged values and all
    _, sent = submit(citizen, pid)
    assert sent.status_code == 303, text_of(sent)[:400]
    officer = officer_client(app, "dukcapil.batam")
    try:
        case = soup(officer.get(f"/petugas/permohonan/{pid}"))
        answer = next(dt.find_next("dd") for dt in case.select("dl.facts dt") if dt.get_text() == "Nama lengkap anak")
        assert "Rani Santoso" in answer.get_text() and "dari data Dukcapil" in answer.get_text()
    finally:
        officer.__exit__(None, None, None)
    lines = issued_lines(app, citizen, db, pid)
    assert lines["Nama lengkap anak"] == "Rani Santoso" and lines["Tanggal lahir anak"] == "2 Maret 2019"
    assert lines["Tempat lahir"] == "Batam" and lines["Jenis kelamin"] == "Perempuan"


def test_when_the_registry_does_not_answer_the_form_is_still_filled_in(app, citizen, db, monkeypatch):  # noqa: F811
    def down(nik):
        raise ServiceUnavailable("Dukcapil tidak menjawab")

    real = registry_of(app).lookup
    monkeypatch.setattr(registry_of(app), "lookup", down)
    pid = start_for_child(citizen)  # the registry answers the family list, but not the child's record (at start too)
    r = citizen.get(f"/permohonan/{pid}/isi")
    assert r.status_code == 200
    page = soup(r)
    note = page.select_one("#catatan-dukcapil").get_text(" ", strip=True)
    assert "Data Dukcapil belum dapat diambil saat ini" in note and "Nama lengkap anak" in note
    assert "dari data Dukcapil" not in page.select_one("form").get_text()
    for name in ("nama_anak", "tanggal_lahir", "tempat_lahir", "jenis_kelamin"):
        assert page.find(attrs={"name": name}) is not None, name
    fields = form_fields(citizen, f"/permohonan/{pid}/isi", f"/permohonan/{pid}/simpan")
    citizen.post(f"/permohonan/{pid}/simpan", data={**fields, "nama_anak": "Rani Santoso", "tempat_lahir": "Btm",
                                                     "aksi": "simpan"})
    assert answers(db, pid)["tempat_lahir"] == "Btm"  # typed while the registry was away
    assert citizen.get(f"/permohonan/{pid}/periksa").status_code == 200

    monkeypatch.setattr(registry_of(app), "lookup", real)  # back: the registry's value wins
    assert "Batam" in shown(soup(citizen.get(f"/permohonan/{pid}/isi")), "tempat_lahir")
    assert answers(db, pid)["tempat_lahir"] == "Btm"  # the page (a GET) only shows it; the next POST stores it
    fields = form_fields(citizen, f"/permohonan/{pid}/isi", f"/permohonan/{pid}/simpan")
    citizen.post(f"/permohonan/{pid}/simpan", data={**fields, "tempat_lahir": "Btm", "aksi": "simpan"})
    assert answers(db, pid)["tempat_lahir"] == "Batam"

    monkeypatch.setattr(registry_of(app), "lookup", down)  # away again: what it filled stays its own
    page = soup(citizen.get(f"/permohonan/{pid}/isi"))
    assert "Batam" in shown(page, "tempat_lahir") and page.select_one("#catatan-dukcapil") is None
    fields = form_fields(citizen, f"/permohonan/{pid}/isi", f"/permohonan/{pid}/simpan")
    citizen.post(f"/permohonan/{pid}/simpan", data={**fields, "tempat_lahir": "Jakarta", "aksi": "simpan"})
    assert answers(db, pid)["tempat_lahir"] == "Batam"


def test_the_catalogue_checks_what_a_field_may_take_from_the_registry():
    from db.reference import DUKCAPIL_ATTRIBUTES, check_form_field

    provided = {f.name for f in dataclasses.fields(Resident)}
    assert set(DUKCAPIL_ATTRIBUTES) <= provided  # only what both adapters return
    good = {"nama": "nama_anak", "jenis": "teks", "dukcapil": "nama", "dukcapil_anggota_saja": True}
    check_form_field("x", good)
    for wrong, message in [({"dukcapil": "agama"}, "harus salah satu"),
                           ({"dukcapil": "tanggal_lahir"}, "hanya untuk isian berjenis tanggal"),
                           ({"jenis": "berkas"}, "hanya untuk isian"),
                           ({"dukcapil_anggota_saja": "ya"}, "true atau false"),
                           ({"jenis": "pilihan", "dukcapil": "jenis_kelamin", "opsi": ["L", "P"]}, "Laki-laki")]:
        with pytest.raises(ValueError, match=message):
            check_form_field("x", {**good, **wrong})
    with pytest.raises(ValueError, match="tanpa dukcapil"):
        check_form_field("x", {"nama": "a", "jenis": "teks", "dukcapil_anggota_saja": True})


def test_the_http_registry_gives_the_birthplace_and_tolerates_its_absence():
    from http.server import BaseHTTPRequestHandler

    from tests.helpers import serving

    class Registry(BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802
            record = {"nik": RANI, "nama": "Rani Santoso", "tanggal_lahir": "2019-03-02", "jenis_kelamin": "P",
                      "alamat": "Batam", "kecamatan_kode": "217103", "no_kk": BUDI_KK, "templat_wajah": None}
            if self.path.endswith(RANI):
                record["tempat_lahir"] = "Batam"
            body = json.dumps(record).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    with serving(Registry) as url:
        assert HttpDukcapil(url, "t").lookup(RANI).tempat_lahir == "Batam"
        assert HttpDukcapil(url, "t").lookup("2171031508900001").tempat_lahir == ""
