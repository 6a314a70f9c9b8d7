"""Logging in and out with the demo accounts; who may open which workspace."""

from __future__ import annotations

import pytest
from starlette.testclient import TestClient

from tests.helpers import form_fields, login, text_of


@pytest.mark.parametrize("login_id, home", [
    ("2171031508900001", "/akun"), ("dukcapil.batam", "/petugas"),
    ("admin.batam", "/admin"), ("kemenpanrb", "/admin"),
])
def test_demo_accounts_log_in_to_their_home(client, login_id, home):
    r = login(client, login_id)
    assert r.status_code == 303 and r.headers["location"] == home
    assert client.get(home).status_code == 200


def test_wrong_password_keeps_the_input_and_explains(client):
    r = login(client, "2171031508900001", "salah")
    assert r.status_code == 400
    assert "kata sandi salah" in text_of(r)
    assert 'value="2171031508900001"' in r.text


def test_login_is_rate_limited_per_account_and_address(client):
    for _ in range(5):
        assert login(client, "dukcapil.batam", "salah").status_code == 400
    r = login(client, "dukcapil.batam")  # even the right password now waits, from this address
    assert r.status_code == 429 and "Terlalu banyak percobaan" in text_of(r)


def test_anonymous_is_sent_to_login_and_back(client):
    r = client.get("/petugas", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/masuk?lanjut=/petugas"
    fields = form_fields(client, "/masuk?lanjut=/petugas", "/masuk")
    r = client.post("/masuk", data={**fields, "login": "dukcapil.batam", "kata_sandi": "mpp-demo-2026"},
                    follow_redirects=False)
    assert r.headers["location"] == "/petugas"


def test_login_never_redirects_to_another_site(client):
    fields = form_fields(client, "/masuk?lanjut=//evil.example", "/masuk")
    assert fields["lanjut"] == ""


def test_a_citizen_cannot_open_the_officer_workspace(client):
    login(client, "2171031508900001")
    assert client.get("/petugas").status_code == 404
    assert client.get("/admin").status_code == 404


def test_logout_everywhere_ends_other_sessions(app, client):
    login(client, "2171031508900001")
    with TestClient(app, base_url="http://127.0.0.1") as phone:
        login(phone, "2171031508900001")
        assert phone.get("/akun", follow_redirects=False).status_code == 200
        fields = form_fields(client, "/akun", "/keluar/semua")
        client.post("/keluar/semua", data=fields)
        assert phone.get("/akun", follow_redirects=False).status_code == 303
