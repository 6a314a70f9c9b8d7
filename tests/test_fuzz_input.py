"""Hostile numbers everywhere: every route with a path parameter, and every id or number in a query or a form.

``'²'.isdigit()`` is True but ``int('²')`` fails; ``int('١٢')`` reads Arabic-Indic digits as 12; SQLite refuses
integers past 2**63; ``hmac.compare_digest`` raises on non-ASCII text. None of it may give a 500: a thing that
is not there is a 404, a typed number that is wrong is a 400 with a message, and every page is in Bahasa
Indonesia. The routes come from the app's own route table, so a new route is fuzzed without being listed.
"""

from __future__ import annotations

import dataclasses
import re
import shutil
import tempfile
from pathlib import Path
from urllib.parse import quote

import pytest
from starlette.testclient import TestClient

from app import create_app
from db.connection import connect
from tests.conftest import SIGNING_KEY, TEMPLATE_KEY
from tests.helpers import form_fields, login, start_draft, text_of
from tests.test_access_matrix import LOGINS, ROLES, RULES, build_world, concrete, route_keys, world  # noqa: F401
from web.settings import Settings

HOSTILE = [str(2**63), str(2**64), "-1", "0", "²", "١٢", "1e3", " 1", "1 ", "%00", "x" * 5000, "", "٣",
           "999999999999"]  # the last: well formed, but nothing has that id
ENGLISH = ("Internal Server Error", "Not Found", "Bad Request", "Method Not Allowed", "Traceback")


def _settings(db_path: str) -> Settings:
    return Settings(db_path=db_path, secret_key="test-secret-key-not-for-production", demo=True,
                    template_key=TEMPLATE_KEY, signing_key=SIGNING_KEY, loop_guard="raise")


def _path_cases() -> list[tuple[str, str]]:
    """(route, parameter) for every parameter of every route of the app (its route table, not a list here)."""
    with tempfile.TemporaryDirectory() as folder:  # the app makes its local CA beside the database
        app = create_app(_settings(str(Path(folder) / "mpp.db")), quiet=True)
        return [(key, param) for key in route_keys(app) for param in re.findall(r"\{[^}]+\}", key)]


PATH_CASES = _path_cases()


def role_for(key: str) -> str:
    """The first role this route serves (anonymous for routes that exist for nobody without a secret)."""
    return next((r for r in ROLES if RULES[key][r] == "ok"), "anonim")


def as_role(app, role: str) -> TestClient:
    """A client logged in as ``role``, that answers a server error with the 500 page instead of raising."""
    c = TestClient(app, base_url="http://127.0.0.1", raise_server_exceptions=False)
    c.__enter__()
    if role != "anonim":
        assert login(c, LOGINS[role]).status_code == 303, role
    return c


@pytest.fixture(scope="module")
def shared(template_db, tmp_path_factory):
    """One app, the access matrix's world and a client per role, for the GET-only and refused requests below:
    a hostile id finds nothing and changes nothing, so these tests can share them (it keeps the file fast)."""
    path = tmp_path_factory.mktemp("fuzz") / "mpp.db"
    shutil.copy(template_db, path)
    app = create_app(_settings(str(path)), quiet=True)
    clients: dict[str, TestClient] = {}
    with TestClient(app, base_url="http://127.0.0.1"):
        db = connect(path)
        found = build_world(app, db)
        db.conn.close()

        def client_for(role: str) -> TestClient:
            if role not in clients:
                clients[role] = as_role(app, role)
            return clients[role]

        yield found, client_for
        for c in clients.values():
            c.__exit__(None, None, None)


def csrf_fields(c: TestClient) -> dict:
    logged_in = c.get("/akun", follow_redirects=False).status_code == 200
    fields = form_fields(c, "/akun", "/keluar") if logged_in else form_fields(c, "/masuk", "/masuk")
    return {"csrf_token": fields["csrf_token"]}


def judge(r, allowed: set[int]) -> str | None:
    """What is wrong with an answer (None when it is fine). 429 is always fine: the battery is many wrong
    guesses from one address, which a limit (complaint tracking codes) may stop before it ends."""
    if r.status_code >= 500 or r.status_code not in allowed | {429}:
        return f"{r.status_code}: {text_of(r)[:160] if 'html' in r.headers.get('content-type', '') else r.text[:160]}"
    if r.status_code >= 400 and "text/html" in r.headers.get("content-type", "") and (
            'lang="id"' not in r.text or any(e in r.text for e in ENGLISH)):
            return f"{r.status_code}: not a Bahasa Indonesia page: {r.text[:160]!r}"
    return None


def in_path(value: str) -> str:
    return value if value == "%00" else quote(value, safe="")


@pytest.mark.parametrize("key, param", PATH_CASES, ids=[f"{k} {p}" for k, p in PATH_CASES])
def test_every_path_parameter_refuses_hostile_values(shared, key, param):
    """Each path parameter, with every other one valid, as a role the route serves: 404 (or 400/303), never 500."""
    world, client_for = shared
    method, path = key.split(" ", 1)
    c = client_for(role_for(key))
    token = csrf_fields(c) if method == "POST" else {}
    wrong = []
    for value in HOSTILE:
        if param == "{path:path}":
            url = "/static/" + in_path(value)
        else:
            url = concrete(f"{method} {path.replace(param, 'FUZZVALUE')}", world, c).replace("FUZZVALUE",
                                                                                             in_path(value))
        r = c.get(url, follow_redirects=False) if method == "GET" else \
            c.post(url, data={**token, "aksi": "lanjut"}, follow_redirects=False)
        problem = judge(r, {303, 400, 404} | ({307} if value == "" else set()))  # '' ends in '/': redirected
        if problem:
            wrong.append(f"{param}={value[:20]!r} → {problem}")
    assert wrong == [], f"{key}:\n" + "\n".join(wrong)


def test_the_one_parser_takes_ascii_digits_only():
    from services import angka

    assert [angka.to_id(v) for v in ("1", "007", "999999999999")] == [1, 7, 999999999999]
    assert [angka.to_id(v) for v in HOSTILE if v not in ("0", "999999999999")] == [None] * (len(HOSTILE) - 2)
    assert angka.to_id(3) is None and angka.to_id(None) is None and angka.to_id("1_0") is None
    assert [angka.to_int(v, 1, 31) for v in (" 7 ", "31", "32", "0", "-1", "²", "١٢", "1e3", "1_0")] == \
        [7, 31, None, None, None, None, None, None, None]
    assert angka.to_int("-5", -10, 10) == -5 and angka.to_int(str(2**64), 0, 2**70) is None
    assert angka.is_digits("2171", 4) and not angka.is_digits("٢١٧١", 4) and not angka.is_digits("²")


# ---------------------------------------------------------------- numbers and ids in query strings and forms

QUERIES = [  # (role, path, parameter, other parameters)
    ("petugas", "/petugas", "hal", {}),
    ("petugas", "/petugas", "layanan", {}),
    ("anonim", "/pemantauan/daftar", "hal", {}),
    ("warga_a", "/mpp/2171/antrean", "gerai", {}),
    ("warga_a", "/mpp/2171/antrean", "tanggal", {}),
    ("warga_a", "/pengaduan", "permohonan", {}),
    ("anonim", "/pengaduan/ADU-2171-000001", "kode", {}),
    ("admin_wilayah", "/admin/2171/gerai", "id", {}),
    ("admin_wilayah", "/admin/2171/layanan", "id", {}),
    ("admin_wilayah", "/admin/2171/petugas", "id", {}),
    ("anonim", "/fragmen/layar/2171", "v", {}),
    ("anonim", "/layanan", "wilayah", {}),
    ("anonim", "/layanan/kartu-keluarga", "wilayah", {}),
    ("warga_a", "/permohonan/baru", "wilayah", {"layanan": "kia"}),
]


@pytest.mark.parametrize("role, path, name, extra", QUERIES, ids=[f"GET {q[1]}?{q[2]}" for q in QUERIES])
def test_query_numbers_refuse_hostile_values(shared, role, path, name, extra):
    c = shared[1](role)
    wrong = []
    for value in HOSTILE:
        r = c.get(path, params={**extra, name: "\0" if value == "%00" else value}, follow_redirects=False)
        problem = judge(r, {200, 204, 303, 400, 404})
        if problem:
            wrong.append(f"{name}={value[:20]!r} → {problem}")
    assert wrong == [], f"GET {path}?{name}:\n" + "\n".join(wrong)


FORMS = [  # (role, path, fuzzed fields, other fields); {permohonan}, {tiket}, {pengaduan} are world's ids
    ("warga_a", "/pengaduan", ["layanan", "permohonan"],
     {"isi": "Pelayanan di loket sangat lambat.", "wilayah": "2171"}),
    ("anonim", "/daftar", ["hari", "bulan", "tahun", "nik"],
     {"nik": "2171115006790002", "nama": "Dewi Lestari Putri", "hari": "10", "bulan": "6", "tahun": "1979",
      "jenis_kelamin": "P", "telepon": "081377770000", "kata_sandi": "kata-sandi-panjang", "setuju": "ya"}),
    ("anonim", "/fragmen/cek-nik", ["nik", "hari", "bulan", "tahun"],
     {"nik": "2171115006790002", "hari": "10", "bulan": "6", "tahun": "1979", "jenis_kelamin": "P"}),
    ("warga_a", "/mpp/2171/antrean", ["gerai"], {"tanggal": "2030-01-07", "jam": "09:00"}),
    ("warga_a", "/skm", ["transaksi"], {"u1": "4"}),
    ("warga_a", "/skm", ["u1", "u5"], {"transaksi": "tiket:{tiket}", **{f"u{i}": "3" for i in range(1, 10)}}),
    ("petugas", "/petugas/antrean", ["gerai"], {"aksi": "panggil"}),
    ("petugas", "/petugas/antrean", ["gerai"], {"aksi": "langsung"}),
    ("petugas", "/petugas/antrean", ["tiket", "ke_gerai"], {"aksi": "alihkan", "tiket": "{tiket}", "ke_gerai": "1"}),
    ("petugas", "/petugas/identitas", ["nik"], {}),
    ("admin_wilayah", "/petugas/pengaduan/{pengaduan}", ["instansi"], {}),
    ("admin_wilayah", "/admin/2171/gerai", ["id", "instansi_id", "kuota_daring", "kuota_langsung"],
     {"nomor": "09", "nama": "Gerai uji", "jam_buka": "08:00", "jam_tutup": "15:00", "kuota_daring": "4",
      "kuota_langsung": "4"}),
    ("admin_wilayah", "/admin/2171/instansi", ["id"], {"aksi": "ubah", "nama": "Instansi uji"}),
    ("admin_wilayah", "/admin/2171/layanan", ["id", "biaya"], {"biaya_keterangan": "Perda 1/2026"}),
    ("admin_wilayah", "/admin/2171/petugas", ["id", "instansi_id"], {"aksi": "ubah", "jabatan": "verifikator"}),
    ("admin_wilayah", "/admin/2171/petugas", ["instansi_id"],
     {"aksi": "buat", "username": "uji.fuzz", "nama": "Petugas Uji", "kata_sandi": "kata-sandi-panjang",
      "jabatan": "verifikator"}),
]


@pytest.mark.parametrize("role, path, names, base", FORMS, ids=[f"POST {f[1]} {','.join(f[2])}" for f in FORMS])
def test_form_numbers_refuse_hostile_values(app, world, db, role, path, names, base):
    c = as_role(app, role)
    ids = world["ids"]
    fill = {"{tiket}": str(ids["antrean"]), "{permohonan}": str(ids["permohonan"]),
            "{pengaduan}": str(ids["pengaduan"])}
    for k, v in fill.items():
        path = path.replace(k, v)
    base = {k: fill.get(v, v).replace("{tiket}", fill["{tiket}"]) for k, v in base.items()}
    wrong = []
    token = csrf_fields(c)
    for name in names:
        for value in HOSTILE:
            data = {**token, **base, name: "\0" if value == "%00" else value}
            if path == "/skm" and name == "transaksi":
                data[name] = f"tiket:{data[name]}"
            r = c.post(path, data=data, follow_redirects=False)
            problem = judge(r, {200, 303, 400, 404, 429})
            if problem:
                wrong.append(f"{name}={value[:20]!r} → {problem}")
    c.__exit__(None, None, None)
    assert wrong == [], f"POST {path}:\n" + "\n".join(wrong)


def test_application_number_answer_takes_only_ascii_digits(client, db):
    """'Anak ke-' is a number: '²', '١٢' or a 20-digit number is kept as typed (nothing is lost) but the check
    page asks to correct it, as it does for '1e3'; '2' passes."""
    login(client, "2171031508900001")
    pid = start_draft(client, "akta-kelahiran").headers["location"].split("/")[2]
    for value in [*HOSTILE, "2"]:
        fields = form_fields(client, f"/permohonan/{pid}/isi", f"/permohonan/{pid}/simpan")
        r = client.post(f"/permohonan/{pid}/simpan", data={**fields, "anak_ke": value, "aksi": "lanjut"},
                        follow_redirects=False)
        assert r.status_code in (303, 400), (value, r.status_code)
        check = client.get(f"/permohonan/{pid}/periksa")
        assert check.status_code == 200, value
        asked = "Anak ke- harus berupa angka" in text_of(check)
        assert asked == (value not in ("0", " 1", "1 ", "2", "", "999999999999")), value


def test_a_nik_of_other_scripts_digits_gets_a_message(client):
    """16 characters that ``isdigit()`` accepts ('²', Arabic-Indic '٣') used to reach ``int()`` (a 500) or pass."""
    for nik in ("²" * 16, "٣" * 16, "21710٣1508900001"):
        fields = form_fields(client, "/daftar", "/daftar")
        r = client.post("/fragmen/cek-nik", data={**fields, "nik": nik})
        assert r.status_code == 200 and "NIK harus 16 angka 0–9" in text_of(r), nik


def test_a_malformed_counter_id_neither_edits_nor_creates_a_counter(client, db):
    """A tampered hidden id used to be a 500; read leniently it would have added a new counter instead."""
    login(client, "admin.batam")
    before = db.execute("SELECT count(*) FROM gerai").fetchone()[0]
    for value in ("²", "١٢", str(2**64), "-1", "1e3"):
        fields = form_fields(client, "/admin/2171/gerai", "/admin/2171/gerai")
        r = client.post("/admin/2171/gerai", data={**fields, "id": value, "instansi_id": "1", "nomor": "77",
                                                   "nama": "Gerai baru", "jam_buka": "08:00", "jam_tutup": "15:00",
                                                   "kuota_daring": "4", "kuota_langsung": "4"},
                        follow_redirects=False)
        assert r.status_code == 404 and "Halaman tidak ditemukan" in text_of(r), value
    assert db.execute("SELECT count(*) FROM gerai").fetchone()[0] == before


def test_a_complaint_naming_a_service_that_does_not_exist_is_kept_without_it(client, db):
    """A tampered service id (well formed, no such service) used to fail on the foreign key: a 500, complaint lost."""
    login(client, "2171031508900001")
    for value in ("999999999999", "0", str(2**64), "²"):
        fields = form_fields(client, "/pengaduan", "/pengaduan")
        r = client.post("/pengaduan", data={**fields, "isi": f"Antrean di loket terlalu lama ({value}).",
                                            "wilayah": "2171", "layanan": value, "permohonan": value},
                        follow_redirects=False)
        assert r.status_code == 303, value
        kept = db.execute("SELECT layanan_id, permohonan_id FROM pengaduan ORDER BY id DESC LIMIT 1").fetchone()
        assert tuple(kept) == (None, None), value


# ---------------------------------------------------------------- secrets compared with non-ASCII input

def test_a_non_ascii_csrf_token_is_refused_not_a_500(client):
    fields = form_fields(client, "/masuk", "/masuk")
    r = client.post("/masuk", data={**fields, "csrf_token": "tokén²", "login": "x", "kata_sandi": "y"})
    assert r.status_code == 403 and "Formulir kedaluwarsa" in text_of(r)
    r = client.post("/masuk", data={"login": "x"}, headers={"X-CSRF-Token": "tokén".encode()})
    assert r.status_code == 403 and "Formulir kedaluwarsa" in text_of(r)


def test_a_non_ascii_complaint_code_is_not_found_not_a_500(client, world):
    for kode in ("rahasia¹", "ü", "١٢٣"):
        r = client.get("/pengaduan/ADU-2171-000001", params={"kode": kode})
        assert r.status_code == 404 and "Halaman tidak ditemukan" in text_of(r)
    fields = form_fields(client, "/masuk", "/masuk")
    r = client.post("/pengaduan/ADU-2171-000001/selesai", data={**fields, "kode": "rahasia²"}, follow_redirects=False)
    assert r.status_code == 404
    assert client.get("/pengaduan/ADU-2171-000001", params={"kode": "rahasia1"}).status_code == 200


def test_a_non_ascii_metrics_bearer_is_not_found_not_a_500(settings):
    client = TestClient(create_app(dataclasses.replace(settings, metrics_token="token-metrik-rahasia"), quiet=True))
    for sent in ("tokén", "токен", "²"):
        r = client.get("/metrics", headers={"Authorization": f"Bearer {sent}".encode()})
        assert r.status_code == 404
    r = client.get("/metrics", headers={"Authorization": "Bearer token-metrik-rahasia"})
    assert r.status_code == 200 and "route count" in r.text


# ---------------------------------------------------------------- the 500 page itself

def test_a_500_page_carries_the_security_headers_and_speaks_indonesian(app, monkeypatch):
    from services import wilayah

    def broken(db):
        raise RuntimeError("gangguan uji")

    ok = TestClient(app, base_url="http://127.0.0.1")
    with ok:
        normal = ok.get("/layanan")
    monkeypatch.setattr(wilayah, "home_page", broken)
    with TestClient(app, base_url="http://127.0.0.1", raise_server_exceptions=False) as c:
        r = c.get("/")
    assert r.status_code == 500
    assert "Terjadi gangguan" in text_of(r) and "Data Anda yang sudah tersimpan tidak hilang" in text_of(r)
    assert 'lang="id"' in r.text and "Internal Server Error" not in r.text
    for name in ("content-security-policy", "x-content-type-options", "referrer-policy", "x-frame-options",
                 "permissions-policy", "cross-origin-opener-policy"):
        assert normal.headers.get(name) and r.headers.get(name) == normal.headers.get(name), name
    assert r.headers["cache-control"] == "no-store"
    assert "gangguan uji" not in r.text and "RuntimeError" not in r.text


def test_an_application_named_in_the_step_up_return_address_refuses_hostile_ids(shared):
    """"Ajukan" sends the citizen to /verifikasi-wajah?lanjut=/permohonan/<id>/periksa: the id in that return
    address is read by the same rules as every other id (an id past SQLite's integers was a 500)."""
    c = shared[1]("warga_a")
    token = csrf_fields(c)
    wrong = []
    for value in HOSTILE + [str(10**30)]:
        lanjut = f"/permohonan/{value}/periksa"
        for r in (c.get("/verifikasi-wajah", params={"lanjut": lanjut}, follow_redirects=False),
                  c.post("/verifikasi-wajah", data={**token, "lanjut": lanjut}, follow_redirects=False)):
            problem = judge(r, {200, 303, 400, 404})
            if problem:
                wrong.append(f"{r.request.method} lanjut={lanjut[:40]!r} → {problem}")
    assert wrong == [], "\n".join(wrong)
