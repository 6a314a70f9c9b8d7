"""A guardian applies for a ward who is not on their Kartu Keluarga only once an identity-desk officer has
seen the guardianship papers and recorded it; nobody else can."""

from __future__ import annotations

from starlette.testclient import TestClient

from tests.helpers import form_fields, login, soup, text_of
from tests.test_keluarga import PUTRI, start_for
from tests.test_permohonan import citizen  # noqa: F401  (a fixture)

BUDI = "2171031508900001"


def record(officer, data: dict):
    fields = form_fields(officer, "/petugas/perwalian", "/petugas/perwalian")
    return officer.post("/petugas/perwalian", data={**fields, **data}, follow_redirects=False)


GUARDIANSHIP = {"wali_nik": BUDI, "nik": PUTRI, "dasar": "Penetapan PN Batam No. 12/Pdt.P/2026 tanggal 1-12-2026",
                "diperiksa": "1"}


def test_a_guardianship_seen_at_the_counter_lets_the_guardian_apply_for_the_ward(app, citizen, db):  # noqa: F811
    assert start_for(citizen, "kia", PUTRI).status_code == 404  # not on Budi's KK: refused
    with TestClient(app, base_url="http://127.0.0.1") as officer:
        login(officer, "dukcapil.batam")
        unsure = record(officer, {**GUARDIANSHIP, "diperiksa": ""})
        assert unsure.status_code == 400 and "dokumen asli" in text_of(unsure)
        r = record(officer, GUARDIANSHIP)
        assert r.status_code == 303
        assert "Perwalian atas Putri Fauzi tercatat" in text_of(officer.get("/petugas/perwalian"))
        assert record(officer, GUARDIANSHIP).status_code == 303  # sent twice: recorded once
    assert db.execute("SELECT count(*) FROM perwalian").fetchone()[0] == 1
    who = db.execute("SELECT a.username FROM audit JOIN akun a ON a.id = audit.akun_id "
                     "WHERE aksi = 'catat_perwalian'").fetchall()
    assert [w[0] for w in who] == ["dukcapil.batam"]

    page = soup(citizen.get("/layanan/kia?wilayah=2171"))
    choices = {r.parent.get_text(strip=True): r["value"] for r in page.select("fieldset#untuk input[type=radio]")}
    assert choices.get("Putri Fauzi") == PUTRI
    r = start_for(citizen, "kia", PUTRI)
    assert r.status_code == 303
    assert "Untuk Putri Fauzi" in text_of(citizen.get(r.headers["location"]))


def test_only_identity_desk_officers_record_and_only_for_real_people(app, db):
    with TestClient(app, base_url="http://127.0.0.1") as other:
        login(other, "dpmptsp.batam")
        assert other.get("/petugas/perwalian").status_code == 404
    with TestClient(app, base_url="http://127.0.0.1") as officer:
        login(officer, "dukcapil.batam")
        unknown = record(officer, {**GUARDIANSHIP, "nik": "2171031508900009"})
        assert unknown.status_code == 400 and "tidak ditemukan" in text_of(unknown)
        no_account = record(officer, {**GUARDIANSHIP, "wali_nik": "2171115006790002"})
        assert no_account.status_code == 400 and "belum memiliki akun" in text_of(no_account)
        db.execute("INSERT INTO akun (peran, nik, nama, kata_sandi, wilayah_kode, tingkat) VALUES ('warga', "
                   "'2171100402850002', 'Ahmad Fauzi', 'x', '2171', 'terdaftar')")
        db.conn.commit()
        only_registered = record(officer, {**GUARDIANSHIP, "wali_nik": "2171100402850002", "nik": BUDI})
        assert only_registered.status_code == 400 and "belum terverifikasi" in text_of(only_registered)
    assert db.execute("SELECT count(*) FROM perwalian").fetchone()[0] == 0


def test_the_officer_sees_the_guardianship_papers_on_the_case(app, citizen, db):  # noqa: F811
    from tests.test_permohonan import fill, officer_client, submit
    with TestClient(app, base_url="http://127.0.0.1") as officer:
        login(officer, "dukcapil.batam")
        assert record(officer, GUARDIANSHIP).status_code == 303
    r = start_for(citizen, "kia", PUTRI)
    pid = int(r.headers["location"].split("/")[2])
    assert "di bawah perwalian Anda" in text_of(citizen.get(f"/permohonan/{pid}/isi"))
    fill(citizen, db, pid, "kia")
    _, sent = submit(citizen, pid)
    assert sent.status_code == 303, text_of(sent)[:400]
    officer = officer_client(app, "dukcapil.batam")
    try:
        case = text_of(officer.get(f"/petugas/permohonan/{pid}"))
        assert "di bawah perwalian pemohon, tercatat di gerai: Penetapan PN Batam No. 12/Pdt.P/2026" in case
    finally:
        officer.__exit__(None, None, None)
