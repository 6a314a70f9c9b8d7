"""The PDF seal adapters: the local CA made at first start, and the HTTP gateway to the national
e-signature service (BSrE TTE) against a real server on 127.0.0.1 that signs like it would."""

from __future__ import annotations

import base64
import datetime as dt
import json
import os
import shutil
import stat
import subprocess
from http.server import BaseHTTPRequestHandler

import pytest
from cryptography import x509

from integrations import tte
from integrations.http import ServiceUnavailable
from services import dokumen_pdf
from tests.conftest import SIGNING_KEY, TEMPLATE_KEY
from tests.helpers import serving, text_of
from web.settings import Settings

REQUEST = tte.SealRequest(nomor="474/AKL/2171/2026/000001", instansi="Disdukcapil Kota Batam", wilayah="Kota Batam",
                          penandatangan="Rina Wulandari", alasan="Penerbitan Kutipan Akta Kelahiran")


def a_pdf() -> bytes:
    return dokumen_pdf.render_pdf({"judul": "Kutipan Akta Kelahiran", "nomor": REQUEST.nomor,
                                   "rows": [("Nomor dokumen", REQUEST.nomor), ("Nama lengkap anak", "Putri")],
                                   "url_verifikasi": "http://127.0.0.1/verifikasi/x.y"})


# --- the local CA --------------------------------------------------------------------------------------------------

def test_the_local_ca_is_made_once_and_its_keys_are_private(tmp_path):
    first = tte.EmbeddedTte(tmp_path / "tte")
    files = sorted(p.name for p in (tmp_path / "tte").iterdir())
    assert files == ["ca.crt", "ca.key", "segel.crt", "segel.key"]
    for key in ("ca.key", "segel.key"):
        assert stat.S_IMODE((tmp_path / "tte" / key).stat().st_mode) == 0o600
    again = tte.EmbeddedTte(tmp_path / "tte")
    assert again.ca_pem() == first.ca_pem()  # a restart keeps the CA every issued PDF chains to
    ca = x509.load_pem_x509_certificate(first.ca_pem().encode())
    assert ca.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    seal = x509.load_pem_x509_certificate((tmp_path / "tte" / "segel.crt").read_bytes())
    usage = seal.extensions.get_extension_for_class(x509.KeyUsage).value
    assert usage.digital_signature and usage.content_commitment and seal.issuer == ca.subject


def test_a_seal_certificate_near_its_end_is_renewed_from_the_same_ca(tmp_path):
    folder = tmp_path / "tte"
    tte.EmbeddedTte(folder)
    old = (folder / "segel.crt").read_bytes()
    later = dt.datetime.now(dt.UTC) + dt.timedelta(days=tte.SEAL_DAYS - 10)
    renewed = tte.EmbeddedTte(folder, now=later)
    new = x509.load_pem_x509_certificate((folder / "segel.crt").read_bytes())
    assert new.not_valid_after_utc > x509.load_pem_x509_certificate(old).not_valid_after_utc
    assert renewed.ca_pem() == tte.EmbeddedTte(folder).ca_pem() and new.issuer.rfc4514_string().startswith("CN=MPP")
    assert tte.EmbeddedTte(folder, now=later) and (folder / "segel.crt").read_bytes() == new.public_bytes(
        __import__("cryptography.hazmat.primitives.serialization", fromlist=["Encoding"]).Encoding.PEM)


def test_the_sealed_pdf_is_pades_certified_and_carries_who_where_why(tmp_path):
    sealer = tte.EmbeddedTte(tmp_path / "tte")
    original = a_pdf()
    sealed = sealer.seal(original, REQUEST)
    assert sealed.startswith(original)  # an incremental update: our bytes untouched
    assert b"/ETSI.CAdES.detached" in sealed and b"/DocMDP" in sealed
    status = tte.validate(sealed, sealer.ca_pem())
    assert status.bottom_line and status.coverage == tte.SignatureCoverageLevel.ENTIRE_FILE
    other = tte.EmbeddedTte(tmp_path / "lain")
    assert not tte.validate(sealed, other.ca_pem()).trusted  # another CA is not ours


@pytest.mark.skipif(not (shutil.which("pdfsig") and shutil.which("certutil")),
                    reason="poppler-utils / libnss3-tools not installed (make test installs them)")
def test_an_ordinary_pdf_reader_validates_the_seal(tmp_path):
    """Poppler (Evince, Okular) through NSS, the way a desktop reader does it once the CA is imported."""
    sealer = tte.EmbeddedTte(tmp_path / "tte")
    pdf = tmp_path / "dokumen.pdf"
    pdf.write_bytes(sealer.seal(a_pdf(), REQUEST))
    (tmp_path / "ca.pem").write_text(sealer.ca_pem())
    nss = tmp_path / "nss"
    nss.mkdir()
    subprocess.run(["certutil", "-N", "-d", f"sql:{nss}", "--empty-password"], check=True, capture_output=True)
    subprocess.run(["certutil", "-A", "-d", f"sql:{nss}", "-n", "mpp-ca", "-t", "CT,C,C", "-i",
                    str(tmp_path / "ca.pem")], check=True, capture_output=True)
    out = subprocess.run(["pdfsig", "-nssdir", f"sql:{nss}", str(pdf)], capture_output=True, text=True).stdout
    assert "Signature is Valid" in out and "Certificate is Trusted" in out and "Total document signed" in out
    changed = bytearray(pdf.read_bytes())
    changed[len(a_pdf()) // 2] ^= 0x01
    pdf.write_bytes(bytes(changed))
    out = subprocess.run(["pdfsig", "-nssdir", f"sql:{nss}", str(pdf)], capture_output=True, text=True).stdout
    assert "Signature is Valid" not in out


# --- the HTTP adapter ----------------------------------------------------------------------------------------------

class Bsre(BaseHTTPRequestHandler):
    """Stands in for the e-seal gateway: checks the token, seals with its own CA, or misbehaves on demand."""

    sealer: tte.EmbeddedTte
    mode = "ok"
    seen: list = []

    def do_POST(self):  # noqa: N802 - http.server's naming
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        Bsre.seen.append({k: v for k, v in body.items() if k != "dokumen"})
        if self.headers.get("Authorization") != "Bearer rahasia" or self.path != "/segel/pdf":
            return self._answer(401, b"{}")
        pdf = base64.b64decode(body["dokumen"])
        if self.mode == "error":
            return self._answer(500, b"{}")
        if self.mode == "not_json":
            return self._answer(200, b"<html>gangguan</html>")
        if self.mode == "unsigned":
            signed = pdf + b"\n%%EOF\n"
        else:
            req = tte.SealRequest(**{k: body[k] for k in ("nomor", "instansi", "wilayah", "penandatangan", "alasan")})
            signed = self.sealer.seal(_with_extra_text(pdf) if self.mode == "altered" else pdf, req)
            if self.mode == "overlay":
                signed = _signed_with_overlay(self.sealer, pdf)
            if self.mode == "broken":
                at = len(pdf) + 60  # inside the signing update, past our bytes
                signed = signed[:at] + bytes([signed[at] ^ 1]) + signed[at + 1:]
        self._answer(200, json.dumps({"dokumen": base64.b64encode(signed).decode()}).encode())

    def _answer(self, status: int, body: bytes):
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


def _with_extra_text(pdf: bytes) -> bytes:
    """An incremental update that paints more text on the page, before the signature."""
    import io

    from pyhanko.pdf_utils import generic
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter

    writer = IncrementalPdfFileWriter(io.BytesIO(pdf), strict=False)
    page = writer.root["/Pages"]["/Kids"][0]
    extra = writer.add_object(generic.StreamObject(stream_data=b"BT /F1 24 Tf 100 700 Td (PALSU) Tj ET"))
    page["/Contents"] = generic.ArrayObject([page.raw_get("/Contents"), extra])
    writer.update_container(page)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def _signed_with_overlay(sealer: tte.EmbeddedTte, pdf: bytes) -> bytes:
    """The sneakier way: new page content inside the signature's own update, which no reader diffs."""
    import io

    from pyhanko.pdf_utils import generic
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
    from pyhanko.sign import signers
    from pyhanko.sign.fields import SigSeedSubFilter

    writer = IncrementalPdfFileWriter(io.BytesIO(pdf), strict=False)
    page = writer.root["/Pages"]["/Kids"][0]
    extra = writer.add_object(generic.StreamObject(stream_data=b"BT /F1 24 Tf 100 700 Td (PALSU) Tj ET"))
    page["/Contents"] = generic.ArrayObject([page.raw_get("/Contents"), extra])
    writer.update_container(page)
    meta = signers.PdfSignatureMetadata(field_name="Segel", subfilter=SigSeedSubFilter.PADES)
    return signers.PdfSigner(meta, signer=sealer._signer).sign_pdf(writer).getvalue()


@pytest.fixture
def bsre(tmp_path):
    Bsre.sealer, Bsre.mode, Bsre.seen = tte.EmbeddedTte(tmp_path / "bsre"), "ok", []
    with serving(Bsre) as url:
        yield url


def test_the_http_adapter_gets_the_document_sealed_by_the_national_service(bsre):
    adapter = tte.tte_for(bsre, "rahasia", folder=None)
    assert isinstance(adapter, tte.HttpTte) and adapter.ca_pem() is None
    original = a_pdf()
    sealed = adapter.seal(original, REQUEST)
    assert sealed.startswith(original)
    status = tte.validate(sealed, Bsre.sealer.ca_pem())
    assert status.bottom_line  # trusted against the service's root, not ours
    assert Bsre.seen == [{"nomor": REQUEST.nomor, "instansi": REQUEST.instansi, "wilayah": REQUEST.wilayah,
                          "penandatangan": REQUEST.penandatangan, "alasan": REQUEST.alasan}]


@pytest.mark.parametrize("mode, reason", [
    ("error", "500"), ("not_json", "Expecting value"), ("unsigned", "tanda tangan PDF tidak terbaca"),
    ("altered", "lebih dari sekadar menambah tanda tangan"), ("overlay", "lebih dari sekadar menambah tanda tangan"),
    ("broken", "tanda tangan PDF tidak (utuh|terbaca)"),
])
def test_whatever_the_service_gets_wrong_is_refused_as_unavailable(bsre, mode, reason):
    """It can never seal content we did not write, nor hand back a broken file as signed."""
    Bsre.mode = mode
    with pytest.raises(ServiceUnavailable, match=reason):
        tte.HttpTte(bsre, "rahasia").seal(a_pdf(), REQUEST)


def test_a_wrong_token_or_an_unreachable_service_is_unavailable(bsre):
    with pytest.raises(ServiceUnavailable):
        tte.HttpTte(bsre, "salah").seal(a_pdf(), REQUEST)
    with pytest.raises(ServiceUnavailable):
        tte.HttpTte("http://127.0.0.1:9", "rahasia", timeout=1).seal(a_pdf(), REQUEST)


def test_the_app_uses_the_service_when_configured_and_says_so_when_it_is_down(bsre, db_path, monkeypatch):
    """MPP_TTE_URL / MPP_TTE_TOKEN choose the adapter, like the registry's; a citizen whose download
    meets a dead gateway is told to try again, never shown a 500."""
    from starlette.testclient import TestClient

    from app import create_app
    from tests.helpers import login
    from tests.test_dokumen import issue
    from tests.test_permohonan import BUDI

    env = {"MPP_DB": db_path, "MPP_SECRET_KEY": "k", "MPP_TEMPLATE_KEY": TEMPLATE_KEY,
           "MPP_SIGNING_KEY": SIGNING_KEY, "MPP_TTE_URL": bsre, "MPP_TTE_TOKEN": "rahasia", "MPP_FACE_WARMUP": "0"}
    settings = Settings.from_env(env)
    assert (settings.tte_url, settings.tte_token) == (bsre, "rahasia")
    app = create_app(settings, quiet=True)
    with TestClient(app, base_url="http://127.0.0.1") as citizen:
        from db.connection import connect
        db = connect(db_path)
        db.execute("UPDATE akun SET wajah_terakhir = strftime('%Y-%m-%dT%H:%M:%SZ', 'now') WHERE nik = ?", [BUDI])
        db.conn.commit()
        login(citizen, BUDI)
        Bsre.mode = "error"  # down when the document is issued: the officer's step succeeds, the PDF waits
        pid, _ = issue(app, citizen, db, "kartu-keluarga")
        assert citizen.get("/verifikasi/sertifikat-ca.pem").status_code == 404  # BSrE publishes its own root
        down = citizen.get(f"/permohonan/{pid}/dokumen.pdf")
        assert down.status_code == 503 and "coba unduh PDF lagi" in text_of(down)
        Bsre.mode = "ok"
        pdf = citizen.get(f"/permohonan/{pid}/dokumen.pdf")
        assert pdf.status_code == 200 and tte.validate(pdf.content, Bsre.sealer.ca_pem()).bottom_line
        assert db.execute("SELECT count(*) FROM dokumen_pdf").fetchone()[0] == 0  # a download only reads
        from web import jobs
        jobs.one_round(app)  # the primary's background round seals it and keeps it
        assert db.execute("SELECT count(*) FROM dokumen_pdf").fetchone()[0] == 1
        kept = citizen.get(f"/permohonan/{pid}/dokumen.pdf").content
        assert citizen.get(f"/permohonan/{pid}/dokumen.pdf").content == kept  # from now on the same file
        db.conn.close()
    assert not os.path.exists(os.path.join(os.path.dirname(db_path), "tte"))  # no local CA made
