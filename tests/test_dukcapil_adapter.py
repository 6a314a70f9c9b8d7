"""The registry adapters: the embedded default and the HTTP one against a real server on 127.0.0.1."""

from __future__ import annotations

import base64
import json
from http.server import BaseHTTPRequestHandler

import numpy as np
import pytest

from integrations.dukcapil import EmbeddedDukcapil, HttpDukcapil, RegistryUnavailable
from tests.conftest import TEMPLATE_KEY
from tests.helpers import serving

TEMPLATE = np.arange(128, dtype=np.float32) / 128


class Registry(BaseHTTPRequestHandler):
    def do_GET(self):  # noqa: N802 - http.server's naming
        if self.headers.get("Authorization") != "Bearer rahasia":
            self.send_response(401)
            self.end_headers()
            return
        if self.path == "/penduduk/2171100402850002":
            body = json.dumps({"nik": "2171100402850002", "nama": "Ahmad Fauzi", "tanggal_lahir": "1985-02-04",
                               "jenis_kelamin": "L", "alamat": "Batam", "kecamatan_kode": "217110",
                               "no_kk": "2171101003120001", "kontak": ["081270000002"],
                               "templat_wajah": base64.b64encode(TEMPLATE.astype("<f4").tobytes()).decode()})
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(body.encode())
        elif self.path == "/kk/2171101003120001":
            body = json.dumps({"anggota": [
                {"nik": "2171100402850002", "nama": "Ahmad Fauzi", "tanggal_lahir": "1985-02-04",
                 "jenis_kelamin": "L"},
                {"nik": "2171105005170003", "nama": "Putri Fauzi", "tanggal_lahir": "2017-05-10",
                 "jenis_kelamin": "P"}]})
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(body.encode())
        else:
            self.send_response(404)
            self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture
def registry_url():
    with serving(Registry) as url:
        yield url


def test_http_adapter_reads_a_resident_and_the_reference_face(registry_url):
    found = HttpDukcapil(registry_url, "rahasia").lookup("2171100402850002")
    assert found.nama == "Ahmad Fauzi" and found.kecamatan_kode == "217110"
    assert found.kontak == ["081270000002"]  # where a new account for this NIK is announced
    assert np.array_equal(found.templat_wajah, TEMPLATE)
    assert HttpDukcapil(registry_url, "rahasia").lookup("2171031508900001") is None


def test_http_adapter_errors_are_unavailable_not_not_found(registry_url):
    with pytest.raises(RegistryUnavailable):
        HttpDukcapil(registry_url, "salah").lookup("2171100402850002")
    with pytest.raises(RegistryUnavailable):
        HttpDukcapil("http://127.0.0.1:9", "rahasia", timeout=1).lookup("2171100402850002")


def test_embedded_adapter_has_demo_residents_without_photos(db):
    from biometrics.templates import parse_key
    found = EmbeddedDukcapil(db, parse_key(TEMPLATE_KEY)).lookup("2171031508900001")
    assert found.nama == "Budi Santoso" and found.templat_wajah is None
    assert EmbeddedDukcapil(db, parse_key(TEMPLATE_KEY)).lookup("2171031508900009") is None


def test_both_adapters_list_the_members_of_a_kartu_keluarga(registry_url, db):
    """A parent acts for a child only as the registry lists them on one KK (services/permohonan.start)."""
    over_http = HttpDukcapil(registry_url, "rahasia").family_of("2171100402850002")
    from biometrics.templates import parse_key

    embedded = EmbeddedDukcapil(db, parse_key(TEMPLATE_KEY)).family_of("2171100402850002")
    assert [m.nama for m in over_http] == [m.nama for m in embedded] == ["Ahmad Fauzi", "Putri Fauzi"]
    assert HttpDukcapil(registry_url, "rahasia").family_of("2171031508900001") == []
