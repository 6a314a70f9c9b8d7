"""The electronic seal on the PDF itself (PAdES), so any PDF reader can tell the file is ours and unchanged.

The QR token (``services/ttd.py``) proves the content; this proves the file. Two
adapters, chosen by configuration like the registry's:

``EmbeddedTte`` (default) signs with a local certificate authority generated at
first start under ``data/tte/`` (``MPP_TTE_DIR``): ``ca.crt`` is published at
``/verifikasi/sertifikat-ca.pem`` for readers to trust, ``ca.key`` only ever
certifies the next seal certificate, and ``segel.crt``/``segel.key`` sign
(renewed from the CA 30 days before they expire). ECDSA P-256: keys are made in
milliseconds, the certificates and the signature stay small, and Acrobat,
Foxit and Poppler-based readers validate it. The signature is PAdES-B-B
(SubFilter ETSI.CAdES.detached) and certifies the document with "no changes
allowed", so a reader flags any later edit.

``HttpTte`` hands the PDF to the national certified e-signature service (BSrE
TTE, its *segel elektronik* for agencies) through a gateway, when
``MPP_TTE_URL`` and ``MPP_TTE_TOKEN`` are set::

    POST {base}/segel/pdf
      Authorization: Bearer {token}; Content-Type: application/json; timeout 20 s
      {"dokumen": "<base64 of the PDF>",
       "nomor": "474/AKL/2171/2026/000012",        document number, for the service's log
       "instansi": "Dinas ... Kota Batam",          whose e-seal signs
       "wilayah": "Kota Batam",                     the signature's location
       "penandatangan": "Rina Wulandari",           the officer who issued the document
       "alasan": "Penerbitan ... nomor 474/..."}    the signature's reason
      -> 200 {"dokumen": "<base64 of the signed PDF>"}

The answer must be the sent file plus an incremental update carrying exactly
one signature that is intact and covers the whole file. Anything else (another
status, not JSON, a changed original, no or a broken signature) raises
ServiceUnavailable: the service can never seal content we did not write, and
the citizen is asked to download again later.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import io
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from asn1crypto import keys as asn1_keys
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.misc import PdfError
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign import signers
from pyhanko.sign.fields import MDPPerm, SigSeedSubFilter
from pyhanko.sign.validation import validate_pdf_signature
from pyhanko.sign.validation.generic_cms import validate_sig_integrity
from pyhanko.sign.validation.pdf_embedded import EmbeddedPdfSignature
from pyhanko.sign.validation.status import PdfSignatureStatus, SignatureCoverageLevel
from pyhanko_certvalidator import ValidationContext
from pyhanko_certvalidator.registry import SimpleCertificateStore

from integrations.http import ServiceUnavailable, post_json

FIELD = "TTE-MPP-Digital"
CA_YEARS = 20
SEAL_DAYS = 2 * 365
RENEW_BEFORE = dt.timedelta(days=30)


@dataclass(frozen=True)
class SealRequest:
    """What the signature itself says besides the file: who, where, why."""

    nomor: str
    instansi: str
    wilayah: str
    penandatangan: str
    alasan: str


class Tte(Protocol):
    def seal(self, pdf: bytes, request: SealRequest) -> bytes: ...

    def ca_pem(self) -> str | None: ...


def validate(pdf: bytes, trusted_pem: str) -> PdfSignatureStatus:
    """What a PDF reader does: the one signature's status (``intact``, ``valid``,
    ``trusted`` against the CA in ``trusted_pem``, ``coverage``, ``bottom_line``).
    Raises on a file without exactly one readable signature: not valid either."""
    roots = [asn1_x509.Certificate.load(c.public_bytes(serialization.Encoding.DER))
             for c in x509.load_pem_x509_certificates(trusted_pem.encode())]
    return validate_pdf_signature(_the_signature(pdf), ValidationContext(trust_roots=roots))


def _the_signature(pdf: bytes) -> EmbeddedPdfSignature:
    found = PdfFileReader(io.BytesIO(pdf), strict=False).embedded_signatures
    if len(found) != 1:
        raise ValueError(f"{len(found)} tanda tangan, bukan satu")
    return found[0]


class EmbeddedTte:
    """A local CA and its seal certificate under ``folder``, made at first start."""

    def __init__(self, folder: Path, now: dt.datetime | None = None):
        self.folder = Path(folder)
        now = now or dt.datetime.now(dt.UTC)
        ca_key, ca_cert = self._ca(now)
        seal_key, seal_cert = self._seal(ca_key, ca_cert, now)
        self._ca_pem = ca_cert.public_bytes(serialization.Encoding.PEM).decode("ascii")
        der = [c.public_bytes(serialization.Encoding.DER) for c in (seal_cert, ca_cert)]
        self._signer = signers.SimpleSigner(
            signing_cert=asn1_x509.Certificate.load(der[0]),
            signing_key=asn1_keys.PrivateKeyInfo.load(_pkcs8(seal_key, serialization.Encoding.DER)),
            cert_registry=SimpleCertificateStore.from_certs([asn1_x509.Certificate.load(der[1])]))
        # both certificates, signed attributes and an ECDSA value, with room to spare: a fixed size
        # spares pyHanko a trial signature per document (about half the signing time)
        self._reserved = (sum(len(d) for d in der) + 2560) // 2 * 2  # pyHanko wants an even count

    def ca_pem(self) -> str:
        return self._ca_pem

    def seal(self, pdf: bytes, request: SealRequest) -> bytes:
        meta = signers.PdfSignatureMetadata(
            field_name=FIELD, md_algorithm="sha256", subfilter=SigSeedSubFilter.PADES, certify=True,
            docmdp_permissions=MDPPerm.NO_CHANGES, reason=request.alasan, location=request.wilayah,
            name=request.penandatangan)
        writer = IncrementalPdfFileWriter(io.BytesIO(pdf), strict=False)
        return signers.PdfSigner(meta, signer=self._signer).sign_pdf(writer, bytes_reserved=self._reserved).getvalue()

    def _ca(self, now: dt.datetime):
        key_path, cert_path = self.folder / "ca.key", self.folder / "ca.crt"
        if cert_path.exists():
            return _read_key(key_path), x509.load_pem_x509_certificate(cert_path.read_bytes())
        key = ec.generate_private_key(ec.SECP256R1())
        name = _name("MPP Digital CA Lokal")
        cert = (_builder(name, name, key.public_key(), now, now + dt.timedelta(days=365 * CA_YEARS))
                .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
                .add_extension(_usage(key_cert_sign=True, crl_sign=True), critical=True)
                .sign(key, hashes.SHA256()))
        return _store(key_path, key, cert_path, cert)

    def _seal(self, ca_key, ca_cert, now: dt.datetime):
        key_path, cert_path = self.folder / "segel.key", self.folder / "segel.crt"
        if cert_path.exists():
            cert = x509.load_pem_x509_certificate(cert_path.read_bytes())
            if cert.not_valid_after_utc - RENEW_BEFORE > now and cert.issuer == ca_cert.subject:
                return _read_key(key_path), cert
        key = ec.generate_private_key(ec.SECP256R1())
        cert = (_builder(_name("MPP Digital Segel Elektronik"), ca_cert.subject, key.public_key(), now,
                         min(now + dt.timedelta(days=SEAL_DAYS), ca_cert.not_valid_after_utc))
                .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
                .add_extension(_usage(digital_signature=True, content_commitment=True), critical=True)
                .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
                .sign(ca_key, hashes.SHA256()))
        return _store(key_path, key, cert_path, cert)


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COUNTRY_NAME, "ID"),
                      x509.NameAttribute(NameOID.ORGANIZATION_NAME, "MPP Digital"),
                      x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _builder(subject: x509.Name, issuer: x509.Name, public_key, now: dt.datetime, until: dt.datetime):
    return (x509.CertificateBuilder().subject_name(subject).issuer_name(issuer).public_key(public_key)
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(hours=1)).not_valid_after(until)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False))


def _usage(**allowed: bool) -> x509.KeyUsage:
    names = ("digital_signature", "content_commitment", "key_encipherment", "data_encipherment", "key_agreement",
             "key_cert_sign", "crl_sign", "encipher_only", "decipher_only")
    return x509.KeyUsage(**{n: allowed.get(n, False) for n in names})


def _read_key(path: Path):
    return serialization.load_pem_private_key(path.read_bytes(), password=None)


def _store(key_path: Path, key, cert_path: Path, cert: x509.Certificate):
    """Key first, certificate last: a certificate on disk always has its key beside it."""
    _write(key_path, _pkcs8(key, serialization.Encoding.PEM), secret=True)
    _write(cert_path, cert.public_bytes(serialization.Encoding.PEM))
    return key, cert


def _pkcs8(key, encoding: serialization.Encoding) -> bytes:
    return key.private_bytes(encoding, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())


def _write(path: Path, data: bytes, secret: bool = False) -> None:
    """Written whole or not at all (a crash never leaves half a key), keys readable by the owner only."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600 if secret else 0o644)
    with os.fdopen(fd, "wb") as f:
        f.write(data)
    os.replace(tmp, path)


class HttpTte:
    """The national e-signature service's gateway (see the module docstring for the contract)."""

    def __init__(self, base_url: str, token: str, timeout: float = 20.0):
        self.url = base_url.rstrip("/") + "/segel/pdf"
        self.token = token
        self.timeout = timeout

    def ca_pem(self) -> None:
        return None  # the national root is published by BSrE, not by us

    def seal(self, pdf: bytes, request: SealRequest) -> bytes:
        body = {"dokumen": base64.b64encode(pdf).decode("ascii"), "nomor": request.nomor,
                "instansi": request.instansi, "wilayah": request.wilayah,
                "penandatangan": request.penandatangan, "alasan": request.alasan}
        answer = post_json(self.url, body, self.token, self.timeout, want_answer=True)
        try:
            signed = base64.b64decode(str(answer.get("dokumen", "")), validate=True)
        except (binascii.Error, ValueError) as e:
            raise ServiceUnavailable("jawaban TTE bukan base64") from e
        check_sealed(pdf, signed)
        return signed


def check_sealed(original: bytes, signed: bytes) -> None:
    """ServiceUnavailable unless ``signed`` is ``original`` plus one incremental update that only adds an
    invisible signature, and that signature is intact and covers the whole file."""
    if len(signed) <= len(original) or not signed.startswith(original):
        raise ServiceUnavailable("PDF bertanda tangan tidak memuat dokumen asli tanpa perubahan")
    try:
        sig = _the_signature(signed)
        intact, valid = validate_sig_integrity(sig.signer_info, sig.signer_cert, "data", sig.compute_digest())
        whole = sig.evaluate_signature_coverage() == SignatureCoverageLevel.ENTIRE_FILE
        only_seal = _only_a_seal_added(original, signed)
    except (ValueError, KeyError, TypeError, AttributeError, PdfError) as e:
        raise ServiceUnavailable(f"tanda tangan PDF tidak terbaca: {e}") from e
    # integrity only: trust in the national root is the reader's business, not a reason to refuse
    if not (intact and valid and whole):
        raise ServiceUnavailable("tanda tangan PDF tidak utuh atau tidak mencakup seluruh berkas")
    if not only_seal:
        raise ServiceUnavailable("pembaruan PDF mengubah lebih dari sekadar menambah tanda tangan")


# What the signing update may change in objects that existed before (all else must stay as we wrote it).
_MAY_CHANGE = {"/Catalog": {"/AcroForm", "/Perms", "/Metadata", "/Version", "/Extensions"}, "/Page": {"/Annots"}}


def _only_a_seal_added(original: bytes, signed: bytes) -> bool:
    """A signature's own update is outside every diff check a reader runs (they review later updates),
    so a service could slip a new page content or an annotation drawn over the text into it. Allowed:
    new objects, the catalog's form/permission/metadata keys, the document info and XMP metadata, and
    on a page only new ``/Annots`` that are invisible signature widgets."""
    reader = PdfFileReader(io.BytesIO(signed), strict=False)
    last = PdfFileReader(io.BytesIO(original), strict=False).xrefs.total_revisions
    if reader.xrefs.total_revisions != last + 1:
        return False
    before = reader.get_historical_resolver(last - 1)
    info = reader.trailer.raw_get("/Info")
    for ref in reader.xrefs.explicit_refs_in_revision(last):
        if reader.xrefs.get_introducing_revision(ref) == last:
            continue  # new: it matters only where a changed object below points at it
        old, new = before.get_object(ref), reader.get_object(ref)
        kind = new.get("/Type") if isinstance(new, generic.DictionaryObject) else None
        if (isinstance(info, generic.IndirectObject) and info.reference == ref) or kind == "/Metadata":
            continue
        if kind not in _MAY_CHANGE or not isinstance(old, generic.DictionaryObject):
            return False
        if any(_raw(old, k) != _raw(new, k) for k in (set(old) | set(new)) - _MAY_CHANGE[kind]):
            return False
        added = [a for a in _raw(new, "/Annots") or () if a not in (_raw(old, "/Annots") or ())]
        if kind == "/Page" and not all(_invisible_signature(a.get_object()) for a in added):
            return False
    return True


def _raw(obj: generic.DictionaryObject, key: str):
    return obj.raw_get(key) if key in obj else None


def _invisible_signature(annotation) -> bool:
    field = annotation if "/FT" in annotation else annotation.get("/Parent", {})
    rect = [float(x) for x in annotation.get("/Rect", (0, 0, 0, 0))]
    return annotation.get("/Subtype") == "/Widget" and field.get("/FT") == "/Sig" and \
        (rect[2] - rect[0]) * (rect[3] - rect[1]) == 0


def tte_for(url: str, token: str, folder: Path) -> Tte:
    """The HTTP service when configured, else the local CA under ``folder``."""
    return HttpTte(url, token) if url else EmbeddedTte(folder)
