"""Every route × every role → the expected answer, generated from the app's own route table.

A new route without a rule here fails ``test_every_route_has_a_rule``: access is
decided on purpose, never by accident. "ok" means served (2xx, or a redirect
that is not to the login page, or a 400 for the empty form this test sends);
"login" means sent to /masuk; "404" means the thing does not exist for that
role (never 403, which would leak that it exists).
"""

from __future__ import annotations

import pytest
from starlette.routing import Route
from starlette.testclient import TestClient

from services.passwords import hash_password
from tests.helpers import form_fields, login

ROLES = ["anonim", "warga_a", "warga_b", "petugas", "petugas_instansi_lain", "petugas_wilayah_lain",
         "admin_wilayah", "kementerian"]
LOGINS = {"warga_a": "2171031508900001", "warga_b": "2171100402850002", "petugas": "dukcapil.batam",
          "petugas_instansi_lain": "dpmptsp.batam", "petugas_wilayah_lain": "dukcapil.aceh",
          "admin_wilayah": "admin.batam", "kementerian": "kemenpanrb"}


def rule(anonim="ok", warga_a="ok", warga_b="ok", petugas="ok", petugas_instansi_lain="ok",
         petugas_wilayah_lain="ok", admin_wilayah="ok", kementerian="ok") -> dict:
    return dict(zip(ROLES, [anonim, warga_a, warga_b, petugas, petugas_instansi_lain, petugas_wilayah_lain,
                            admin_wilayah, kementerian]))


PUBLIC = rule()
NOBODY = rule(*["404"] * 8)
LOGGED_IN = rule(anonim="login")
OWN = rule("login", "ok", "404", "404", "404", "404", "404", "404")          # the citizen's own things
CITIZENS = rule("login", "ok", "ok", "404", "404", "404", "404", "404")      # any citizen
OFFICERS = rule("login", "404", "404", "ok", "ok", "ok", "404", "404")
CASE = rule("login", "404", "404", "ok", "404", "404", "404", "404")         # that agency in that region
COMPLAINTS = rule("login", "404", "404", "ok", "ok", "ok", "ok", "404")
COMPLAINT = rule("login", "404", "404", "ok", "404", "404", "ok", "404")
STAFF = rule("login", "404", "404", "ok", "ok", "ok", "ok", "ok")
CONSOLE = rule("login", "404", "404", "404", "404", "404", "ok", "ok")
METRICS = rule("404", "404", "404", "404", "404", "404", "404", "ok")
MINISTRY = rule("login", "404", "404", "404", "404", "404", "404", "ok")
IDENTITY_DESK = rule("login", "404", "404", "ok", "404", "ok", "404", "404")  # Disdukcapil officers, any region
REGION_ADMIN = rule("login", "404", "404", "404", "404", "404", "ok", "404")  # its own region only

RULES = {
    "GET /": PUBLIC, "GET /layanan": PUBLIC, "GET /fragmen/layanan": PUBLIC, "GET /layanan/{slug}": PUBLIC,
    "GET /mpp/{kode}": PUBLIC, "GET /mpp/{kode}/layar": PUBLIC, "GET /fragmen/layar/{kode}": PUBLIC,
    "GET /healthz": PUBLIC, "GET /favicon.ico": PUBLIC, "GET /masuk": PUBLIC, "GET /daftar": PUBLIC,
    "GET /daftar/status": PUBLIC, "GET /daftar/wajah": PUBLIC, "GET /pengaduan": PUBLIC,
    "GET /verifikasi/kunci-publik.pem": PUBLIC, "GET /verifikasi/sertifikat-ca.pem": PUBLIC,
    "GET /verifikasi/{token}": PUBLIC, "GET /static/{path:path}": PUBLIC,
    "GET /pengaduan/{nomor}": NOBODY,  # without its secret code a complaint is not found
    "GET /pengaduan/lacak": PUBLIC,  # the form that opens one by number and code
    "GET /akun": LOGGED_IN,
    "GET /permohonan": CITIZENS, "GET /permohonan/baru": CITIZENS, "POST /permohonan/baru": CITIZENS,
    "GET /mpp/{kode}/antrean": CITIZENS,
    "GET /verifikasi-wajah": CITIZENS,
    "GET /permohonan/{id}": OWN, "GET /permohonan/{id}/isi": OWN, "GET /permohonan/{id}/periksa": OWN,
    "GET /permohonan/{id}/dokumen": OWN, "GET /permohonan/{id}/dokumen.pdf": OWN,
    "GET /permohonan/{id}/berkas/{berkas_id}": OWN, "GET /antrean/{id}": OWN,
    "GET /petugas": OFFICERS, "GET /petugas/antrean": OFFICERS,
    "GET /petugas/permohonan/{id}": CASE, "GET /petugas/permohonan/{id}/berkas/{berkas_id}": CASE,
    "GET /petugas/aktivasi/{id}": CASE,
    "GET /petugas/pengaduan": COMPLAINTS, "GET /petugas/pengaduan/{id}": COMPLAINT,
    "GET /admin": CONSOLE, "GET /demo/pesan": STAFF, "GET /metrics": METRICS,
    "POST /masuk": PUBLIC, "POST /daftar": PUBLIC, "POST /fragmen/cek-nik": PUBLIC, "POST /pengaduan": PUBLIC,
    "POST /daftar/wajah": CITIZENS, "POST /pengaduan/{nomor}/selesai": NOBODY,
    "GET /daftar/kode": PUBLIC, "POST /daftar/kode": PUBLIC, "POST /daftar/kode/ulang": PUBLIC,
    "GET /bukan-saya/{token}": NOBODY, "POST /bukan-saya/{token}": NOBODY,  # a forged link names no account
    "POST /akun/telepon": CITIZENS, "POST /akun/telepon/kode": CITIZENS,
    **{f"{m} /petugas/identitas{p}": IDENTITY_DESK for m, p in (("GET", ""), ("POST", ""), ("POST", "/tatap-muka"),
                                                                ("POST", "/kode"), ("POST", "/klaim"))},
    "POST /mpp/{kode}/antrean": CITIZENS, "POST /verifikasi-wajah": CITIZENS, "POST /skm": OWN,
    "POST /antrean/{id}/batal": OWN, "POST /permohonan/{id}/simpan": OWN, "POST /permohonan/{id}/ajukan": OWN,
    "POST /permohonan/{id}/berkas/{kolom}": OWN,
    "POST /petugas/aktivasi/{id}": CASE, "POST /petugas/aktivasi/{id}/tolak": CASE,
    "POST /petugas/antrean": OFFICERS, "POST /petugas/permohonan/{id}/tindakan": CASE,
    "POST /petugas/permohonan/{id}/cabut": CASE,
    "POST /petugas/pengaduan/{id}": COMPLAINT,
    # filing at the counter for a citizen present: any officer, for their agency; tracking it needs no account
    "GET /petugas/bantu": OFFICERS, "POST /petugas/bantu": OFFICERS,
    "GET /petugas/permohonan/{id}/bantu": CASE, "POST /petugas/permohonan/{id}/bantu": CASE,
    "POST /petugas/permohonan/{id}/kode-lacak": rule("login", *["404"] * 7),  # the world's case has no code
    "GET /lacak": PUBLIC, "POST /lacak": PUBLIC, "POST /lacak/klaim": CITIZENS,
    "POST /keluar/semua": LOGGED_IN, "POST /keluar": PUBLIC,
    # monitoring: the rollout picture is open data; criteria, performance and import are the ministry's
    **{f"GET /pemantauan{p}": PUBLIC for p in ("", "/provinsi", "/daftar", "/wilayah/{kode}", "/ringkasan.csv",
                                                 "/kelompok.csv", "/provinsi.csv", "/wilayah.csv")},
    **{f"GET /pemantauan{p}": MINISTRY for p in ("/kriteria", "/kriteria.csv", "/kinerja", "/kinerja.csv", "/impor",
                                                          "/pengaduan")},
    "POST /pemantauan/impor": MINISTRY,
    # onboarding a region: the ministry's; opening it to citizens: its own region admin's
    "GET /pemantauan/daerah-baru": MINISTRY, "GET /pemantauan/daerah-baru/{kode}": MINISTRY,
    "POST /pemantauan/daerah-baru/{kode}": MINISTRY,
    "GET /admin/{kode}/buka": REGION_ADMIN, "POST /admin/{kode}/buka": REGION_ADMIN,
    **{f"{m} /admin/{{kode}}/{p}": REGION_ADMIN for m in ("GET", "POST")
       for p in ("profil", "instansi", "gerai", "layanan", "petugas", "libur", "kriteria")},
    # a region's own services: designed, previewed, published and retired by its region admin only
    **{f"{m} /admin/{{kode}}/layanan-daerah{p}": REGION_ADMIN for m in ("GET", "POST") for p in ("", "/{id}")},
    **{f"POST /admin/{{kode}}/layanan-daerah/{{id}}/{p}": REGION_ADMIN for p in ("kolom", "terbitkan", "hentikan")},
    "GET /admin/{kode}/layanan-daerah/{id}/pratinjau": REGION_ADMIN,
    "GET /petugas/perwalian": IDENTITY_DESK, "POST /petugas/perwalian": IDENTITY_DESK,
}


def route_keys(app) -> list[str]:
    keys = []
    for r in app.routes:
        if isinstance(r, Route):
            for m in sorted(r.methods - {"HEAD"}):
                keys.append(f"{m} {r.path}")
    return keys


def test_every_route_has_a_rule(app):
    missing = [k for k in route_keys(app) if k not in RULES]
    assert missing == [], f"routes without an access rule: {missing}"


@pytest.fixture
def world(app, client, db):
    return build_world(app, db)


def build_world(app, db) -> dict:
    """Objects owned by citizen A in Kota Batam: an application with a file and a signed document,
    a served queue ticket, a complaint forwarded to Disdukcapil, a registration under review."""
    aceh = db.execute("SELECT id FROM instansi WHERE wilayah_kode = '1171' "
                      "AND jenis_kode = 'disdukcapil'").fetchone()[0]
    db.execute("INSERT INTO akun (peran, username, nama, kata_sandi, wilayah_kode, instansi_id, jabatan) VALUES "
               "('petugas', 'dukcapil.aceh', 'Petugas Banda Aceh', ?, '1171', ?, 'verifikator')",
               [hash_password("mpp-demo-2026"), aceh])
    budi = db.execute("SELECT id FROM akun WHERE nik = '2171031508900001'").fetchone()[0]
    db.execute("INSERT INTO akun (peran, nik, nama, kata_sandi, wilayah_kode) VALUES ('warga', '2171100402850002', "
               "'Ahmad Fauzi', ?, '2171')", [hash_password("mpp-demo-2026")])
    disduk = db.execute("SELECT id FROM instansi WHERE wilayah_kode = '2171' "
                        "AND jenis_kode = 'disdukcapil'").fetchone()[0]
    layanan = db.execute("SELECT id FROM layanan WHERE slug = 'kartu-keluarga'").fetchone()[0]
    pid = db.execute("INSERT INTO permohonan (nomor, akun_id, layanan_id, wilayah_kode, instansi_id, status, tenggat, "
                     "diajukan) VALUES ('2171-261130-000001', ?, ?, '2171', ?, 'selesai', '2026-12-01', "
                     "'2026-11-30T02:00:00Z')", [budi, layanan, disduk]).lastrowid
    bid = db.execute("INSERT INTO berkas (permohonan_id, kolom, nama_file, jenis, ukuran, sha256, isi) VALUES "
                     "(?, 'berkas_kk_lama', 'kk.jpg', 'image/jpeg', 3, 'x', x'ffd8ff')", [pid]).lastrowid
    import json

    from services import ttd
    lines = [["Nomor dokumen", "474/KK/2171/2026/000001"], ["Jenis dokumen", "Kartu Keluarga"],
             ["Nama pemohon", "Budi"]]
    token = ttd.sign_content(app.state.signing_key, "474/KK/2171/2026/000001", lines)
    isi = {"format": 2, "judul": "Kartu Keluarga", "instansi": "Disdukcapil", "wilayah": "Kota Batam",
           "tanggal": "2026-11-30", "penandatangan": "Rina", "baris": lines}
    db.execute("INSERT INTO dokumen (permohonan_id, nomor, isi, token, penandatangan) VALUES (?, ?, ?, ?, 'Rina')",
               [pid, "474/KK/2171/2026/000001", json.dumps(isi), token])
    gerai = db.execute("SELECT id FROM gerai WHERE wilayah_kode = '2171' AND nomor = '01'").fetchone()[0]
    tid = db.execute("INSERT INTO tiket (wilayah_kode, gerai_id, tanggal, jam, jenis, nomor, kode, akun_id, status) "
                     "VALUES ('2171', ?, '2026-11-30', '09:00', 'daring', 1, '01-001', ?, 'dilayani')",
                     [gerai, budi]).lastrowid
    cid = db.execute("INSERT INTO pengaduan (nomor, kode_lacak, wilayah_kode, instansi_id, isi, status, "
                     "batas_teruskan) "
                     "VALUES ('ADU-2171-000001', 'rahasia1', '2171', ?, 'Isi pengaduan contoh.', 'diteruskan', "
                     "'2026-12-03')", [disduk]).lastrowid
    reg = db.execute("INSERT INTO pendaftaran (nik, nama, telepon, kata_sandi, persetujuan_biometrik, status) VALUES "
                     "('2171115006790002', 'Dewi Lestari Putri', '081300000000', 'x', 'now', 'ditinjau')").lastrowid
    rid = db.execute("INSERT INTO tinjauan (pendaftaran_id, wilayah_kode, alasan) VALUES (?, '2171', 'tanpa_foto')",
                     [reg]).lastrowid
    from services.rancang import blank
    draft = db.execute("INSERT INTO layanan_rancangan (wilayah_kode, instansi_id, definisi, dibuat, diubah) "
                       "VALUES ('2171', ?, ?, '', '')",
                       [disduk, json.dumps(blank("Surat Uji", "disdukcapil"))]).lastrowid
    db.conn.commit()
    return {"{id}": None, "{berkas_id}": str(bid), "{kolom}": "berkas_kk_lama", "{slug}": "kartu-keluarga",
            "{kode}": "2171", "{token}": token, "{nomor}": "ADU-2171-000001", "{path:path}": None,
            "ids": {"permohonan": pid, "antrean": tid, "pengaduan": cid, "aktivasi": rid, "rancangan": draft}}


QUERY = {"GET /permohonan/baru": "?layanan=kia&wilayah=2171"}
BODY = {"POST /skm": {"transaksi": "tiket:{tiket}"}, "POST /permohonan/baru": {"layanan": "kia", "wilayah": "2171"}}


def concrete(key: str, world: dict, client) -> str:
    path = key.split(" ", 1)[1]
    if "{path:path}" in path:
        return client.app.state.assets.url("app.css")
    section = path.split("/")[2] if path.count("/") >= 2 else ""
    if "{id}" in path:
        kind = {"permohonan": "permohonan", "antrean": "antrean", "aktivasi": "aktivasi", "pengaduan": "pengaduan",
                "admin": "rancangan"}
        owner = path.split("/")[1] if path.startswith("/petugas") is False else section
        path = path.replace("{id}", str(world["ids"][kind[owner]]))
    for k, v in world.items():
        if k.startswith("{") and v is not None:
            path = path.replace(k, v)
    return path + QUERY.get(key, "")


def outcome(r) -> str:
    if r.status_code == 404:
        return "404"
    if r.status_code in (302, 303) and r.headers.get("location", "").startswith("/masuk"):
        return "login"
    if r.status_code == 403 or r.status_code >= 500:
        return f"{r.status_code}"
    return "ok"


def test_every_route_for_every_role(app, world):
    keys = sorted(route_keys(app), key=lambda k: ("/keluar" in k, k.endswith("/keluar"), k))
    wrong = []
    for role in ROLES:
        with TestClient(app, base_url="http://127.0.0.1") as c:
            if role != "anonim":
                assert login(c, LOGINS[role]).status_code == 303, role
            for key in keys:
                method, _ = key.split(" ", 1)
                url = concrete(key, world, c)
                if method == "GET":
                    r = c.get(url, follow_redirects=False)
                else:
                    logged_in = c.get("/akun", follow_redirects=False).status_code == 200
                    fields = form_fields(c, "/akun", "/keluar") if logged_in else form_fields(c, "/masuk", "/masuk")
                    body = {k: v.replace("{tiket}", str(world["ids"]["antrean"])) for k, v in BODY.get(key, {}).items()}
                    r = c.post(url, data={**fields, **body}, follow_redirects=False)
                got, want = outcome(r), RULES[key][role]
                if got != want:
                    wrong.append(f"{role:22} {key:45} expected {want}, got {got} ({r.status_code})")
    assert wrong == [], "\n" + "\n".join(wrong)
