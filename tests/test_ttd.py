"""Electronic signatures (TTE) of issued documents, their QR code and their PDF.

Pure functions, no app or database: what matters here is that a document can
be checked by anyone, offline, and that any tampering is caught.
"""

from __future__ import annotations

import base64
import json
import re
import zlib

import pytest
import segno
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import load_pem_public_key
from hypothesis import given, settings
from hypothesis import strategies as st

from services import dokumen_pdf, ttd

KEY_TEXT = "dGVzdC1zaWduaW5nLWtleS0zMi1ieXRlcy1sb25nISE"  # 32 bytes, tests only
NOMOR = "474.1/AKL/2171/2026/000012"
ISI = [["Nomor dokumen", NOMOR], ["Jenis dokumen", "Kutipan Akta Kelahiran"],
       ["Instansi penerbit", "Dinas Kependudukan dan Pencatatan Sipil Kota Batam"], ["Daerah", "Kota Batam"],
       ["Nama pemohon", "Budi Santoso"], ["NIK pemohon", "2171********0001"], ["Nama lengkap anak", "Putri Santoso"],
       ["Tanggal lahir anak", "1 November 2026"], ["Tanggal terbit", "28 November 2026"],
       ["Ditandatangani oleh", "Rina Wulandari"], ["Jabatan penandatangan", "Pejabat penandatangan, Disdukcapil"]]
PAYLOAD = {"v": 2, "no": NOMOR, "h": ttd.content_hash(ISI)}
HOST = "https://mpp-digital.batam.go.id"
B64URL = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"


@pytest.fixture(scope="module")
def key() -> Ed25519PrivateKey:
    return ttd.load_signing_key(KEY_TEXT)


@pytest.fixture(scope="module")
def token(key) -> str:
    return ttd.sign_document(key, PAYLOAD)


def _unb64(s: str) -> bytes:
    return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))


def _doc(url: str, **changes) -> dict:
    doc = {"judul": "Kutipan Akta Kelahiran", "nomor": PAYLOAD["no"],
           "instansi": "Dinas Kependudukan dan Pencatatan Sipil", "wilayah": "Kota Batam",
           "tanggal": "2026-11-28", "penandatangan": "Rina Marlina, S.Kom.",
           "rows": [("Nama", "Budi Santoso"), ("NIK", "2171********0001"), ("Tempat lahir", "Batam"),
                    ("Tanggal lahir", "1 Januari 2026"), ("Nama ibu", "Siti Aminah"), ("Nama ayah", "Ahmad")],
           "url_verifikasi": url}
    doc.update(changes)
    return doc


def _pdf_text(pdf: bytes) -> bytes:
    """The raw content streams, inflated when compressed, to search for text."""
    parts = [pdf]
    for stream in re.findall(rb"stream\r?\n(.*?)\r?\nendstream", pdf, re.S):
        try:
            parts.append(zlib.decompress(stream))
        except zlib.error:
            pass
    return b"\n".join(parts)


# --- keys ----------------------------------------------------------------------------------------------------------

def test_a_generated_key_loads_with_or_without_padding():
    text = ttd.generate_signing_key()
    assert "=" not in text and len(text) == 43
    key = ttd.load_signing_key(text)
    assert ttd.load_signing_key(f"  {text}=\n").private_bytes_raw() == key.private_bytes_raw()
    assert ttd.generate_signing_key() != text


@pytest.mark.parametrize("bad", ["", "   ", None, "bukan kunci!", "YWJj", KEY_TEXT + "AAAA", KEY_TEXT[:-1] + "F",
                                 "dGVzdC1zaWduaW5nLWtleS0zMi1ieXRlcy1sb25nISE+"])
def test_a_bad_configured_key_is_refused_with_an_indonesian_message(bad):
    with pytest.raises(ValueError, match="Kunci tanda tangan elektronik"):
        ttd.load_signing_key(bad)


def test_the_public_key_is_published_as_pem_and_as_raw_base64url(key):
    pem = ttd.public_key_pem(key)
    assert pem.startswith("-----BEGIN PUBLIC KEY-----")
    raw = _unb64(ttd.public_key_b64(key))
    assert len(raw) == 32
    assert load_pem_public_key(pem.encode()).public_bytes_raw() == raw == key.public_key().public_bytes_raw()
    assert ttd.public_key_b64(key.public_key()) == ttd.public_key_b64(key)


# --- signing and verifying -----------------------------------------------------------------------------------------

def test_a_signed_document_verifies_with_the_private_or_the_public_key(key, token):
    assert ttd.verify_token(key, token) == PAYLOAD
    assert ttd.verify_token(key.public_key(), token) == PAYLOAD
    body, _ = token.split(".")
    assert "=" not in token
    assert _unb64(body) == json.dumps(PAYLOAD, sort_keys=True, separators=(",", ":")).encode()


def test_the_same_facts_give_the_same_token_whatever_the_key_order(key, token):
    assert ttd.sign_document(key, dict(reversed(list(PAYLOAD.items())))) == token


def test_a_realistic_token_and_its_qr_code_stay_small_whatever_the_document_says(key, token):
    """Only the content's hash is signed into the token: a long SIP with many lines gives a token of
    the same size as a short akta, so the QR code on A4 never grows with the content."""
    assert len(token) < 250
    long_isi = ([["Nomor dokumen", "503/SIP-PERAWAT/2171/2026/000123"]]
                + [[f"Baris {i}", "kata " * 80] for i in range(40)])
    long_token = ttd.sign_content(key, "503/SIP-PERAWAT/2171/2026/000123", long_isi)
    assert len(long_token) < 250
    assert segno.make(f"{HOST}/verifikasi/{long_token}", error="m").version <= 12


def test_non_latin_content_hashes_and_verifies(key):
    isi = ISI + [["Nama ibu", "Nguyễn Thị “Ánh” – 王"]]
    token = ttd.sign_content(key, NOMOR, isi)
    assert ttd.verify_offline(key, token, isi)["no"] == NOMOR
    assert ttd.verify_offline(key, token, ISI + [["Nama ibu", "Nguyen Thi \"Anh\" - ?"]]) is None


def test_every_single_character_change_is_caught(key, token):
    """Each position, several replacement characters: the payload part, the dot and the signature part.
    Replacements include the look-alikes that lenient base64 decoders would tolerate (spare low bits of
    the last character, characters outside the alphabet)."""
    assert len(token) < 350
    for i, original in enumerate(token):
        for replacement in {B64URL[(B64URL.find(original) + 1) % 64], B64URL[(B64URL.find(original) + 7) % 64],
                            "A", "B", "Q", "g", "w", ".", "=", "+", "/", " ", "!"} - {original}:
            forged = token[:i] + replacement + token[i + 1:]
            assert ttd.verify_token(key, forged) is None, (i, original, replacement)


def test_a_low_bits_change_in_the_last_character_is_caught(key, token):
    """64 signature bytes leave 4 unused bits in the last base64 character; a lenient decoder accepts
    a different token for the same signature. Only the canonical spelling is valid."""
    body, sig = token.split(".")
    last = B64URL.index(sig[-1])
    for low in range(1, 16):
        twin = sig[:-1] + B64URL[last ^ low]
        assert _unb64(twin) == _unb64(sig)  # same bytes...
        assert ttd.verify_token(key, f"{body}.{twin}") is None  # ...but not our token


def test_inserting_or_dropping_characters_is_caught(key, token):
    body, sig = token.split(".")
    for forged in (body + "A." + sig, body + "." + sig + "A", body[1:] + "." + sig, body + "." + sig[:-1],
                   body + "." + sig + "AAAA", "AAAA" + body + "." + sig, body + "\n." + sig, token + "\n"):
        assert ttd.verify_token(key, forged) is None


def test_a_token_signed_by_another_key_fails(key):
    other = Ed25519PrivateKey.generate()
    forged = ttd.sign_document(other, PAYLOAD)
    assert ttd.verify_token(key, forged) is None
    assert ttd.verify_token(other, forged) == PAYLOAD
    body, _ = ttd.sign_document(key, PAYLOAD).split(".")
    assert ttd.verify_token(key, body + "." + forged.split(".")[1]) is None


def test_an_edited_payload_with_the_old_signature_fails(key, token):
    _, sig = token.split(".")
    other = ttd.content_hash(ISI[:-1])
    for change in ({"h": other}, {"no": "474.1/AKL/2171/2026/000013"}, {"v": 1}):
        body = ttd.canonical_json(dict(PAYLOAD, **change))
        assert ttd.verify_token(key, base64.urlsafe_b64encode(body).rstrip(b"=").decode() + "." + sig) is None


def _signed_raw(key, body: bytes) -> str:
    b64 = lambda data: base64.urlsafe_b64encode(data).rstrip(b"=").decode()  # noqa: E731
    return b64(body) + "." + b64(key.sign(body))


@pytest.mark.parametrize("body", [b"[1, 2]", b'"teks"', b"1", b"null", b'{"v": 2, "no": "x"}', b'{"no": "x"}',
                                  b'{"v": 2, "no": "x", "h": "pendek"}', b'{"v": 2, "h": "' + b"A" * 43 + b'"}',
                                  b'{"v": 3, "no": "x", "h": "' + b"A" * 43 + b'"}', b'{"v": 1}',
                                  b'{"v": true}', b'{"v": "1"}', b'{"v": 1.0}', b"{bukan json", b"\xff\xfe",
                                  b"[" * 5000 + b"]" * 5000])
def test_a_correctly_signed_but_unacceptable_payload_is_refused(key, body):
    """Even with a valid signature: only a JSON object of version 2 with number and hash (or a legacy
    version 1 with a number) is a document."""
    assert ttd.verify_token(key, _signed_raw(key, body)) is None


def test_a_legacy_version_1_token_still_verifies_but_not_as_content_bound(key):
    """Documents issued before content binding stay checkable; they never pass the offline content check."""
    legacy = {"v": 1, "no": NOMOR, "nm": "Budi Santoso", "nik": "2171********0001", "tgl": "2026-11-28"}
    token = _signed_raw(key, ttd.canonical_json(legacy))
    assert ttd.verify_token(key, token) == legacy
    assert ttd.verify_offline(key, token, ISI) is None
    with pytest.raises(ValueError):
        ttd.sign_document(key, legacy)  # and none is issued any more


@pytest.mark.parametrize("bad", ["", ".", "..", "a.b", "a.b.c", "bukan-token", "%00", "é.é", "\x00.\x00",
                                 "x" * 5000, "A" * 1500 + "." + "A" * 600, "eyJ2IjoxfQ.!!!!", "eyJ2IjoxfQ.",
                                 ".AAAA", "=.=", None, 12, b"a.b", ["a", "b"]])
def test_malformed_tokens_return_none_and_never_raise(key, bad):
    assert ttd.verify_token(key, bad) is None


def test_an_over_long_token_is_refused_before_any_work(key, token):
    assert ttd.verify_token(key, token + "." * 3000) is None
    assert ttd.verify_token(key, token.split(".")[0] + "A" * 2000 + "." + token.split(".")[1]) is None


@settings(max_examples=200, deadline=None, database=None)
@given(st.text(max_size=400) | st.from_regex(r"[A-Za-z0-9_-]{0,300}\.[A-Za-z0-9_-]{0,120}", fullmatch=True))
def test_random_tokens_never_raise(token):
    assert ttd.verify_token(ttd.load_signing_key(KEY_TEXT), token) is None


def test_signing_refuses_a_payload_that_could_never_verify(key):
    for bad in ({"no": "x"}, {"v": 2}, {"v": 2, "no": "x"}, {"v": 2, "no": "x", "h": "pendek"}, {"v": True},
                {"v": "1"}, {"v": 1, "no": "x"}):
        with pytest.raises(ValueError):
            ttd.sign_document(key, bad)
    with pytest.raises(ValueError):
        ttd.sign_document(key, dict(PAYLOAD, x=float("nan")))
    for bad_isi in ([], [["a"]], [["a", 1]], [("a", "b", "c")], "teks", [["a", None]]):
        with pytest.raises(ValueError):
            ttd.sign_content(key, NOMOR, bad_isi)
    with pytest.raises(TypeError):
        ttd.sign_document(key, [("v", 1)])


def test_a_wrong_kind_of_key_is_a_programming_error(token):
    with pytest.raises(TypeError):
        ttd.verify_token("kunci", token)


def test_offline_verification_with_only_the_published_raw_public_key(key, token):
    """What a bank or a court does without our server: the docstring's snippet, step by step."""
    published = ttd.public_key_b64(key)  # printed on the site / in the gazette
    public = Ed25519PublicKey.from_public_bytes(_unb64(published))
    body, sig = token.split(".")
    public.verify(_unb64(sig), _unb64(body))  # raises InvalidSignature if forged
    assert json.loads(_unb64(body)) == PAYLOAD
    assert ttd.verify_offline(public, token, ISI) == PAYLOAD
    assert "from_public_bytes" in ttd.__doc__ and "verify(" in ttd.__doc__


def test_every_edit_of_the_content_fails_the_offline_check(key, token):
    """Issue 13: the child's name, a birth date, the holder, the officer: one character changed in any
    label or value, a line dropped, added or moved, and the content no longer verifies."""
    public = key.public_key()
    for i, (label, value) in enumerate(ISI):
        for edited in ([label, value + "x"], [label, value[:-1]], [label + " ", value], [label.lower(), value]):
            forged = ISI[:i] + [edited] + ISI[i + 1:]
            assert ttd.verify_offline(public, token, forged) is None, (i, edited)
    assert ttd.verify_offline(public, token, ISI[:-1]) is None
    assert ttd.verify_offline(public, token, ISI + [["Keterangan", "tambahan"]]) is None
    assert ttd.verify_offline(public, token, [ISI[0], ISI[2], ISI[1], *ISI[3:]]) is None
    assert ttd.verify_offline(public, token, [list(line) for line in ISI]) == PAYLOAD
    assert ttd.verify_offline(public, token, None) is None and ttd.verify_offline(public, "x.y", ISI) is None


def test_lines_naming_another_number_do_not_verify(key):
    """The first line names the document number the token names: content cannot be moved onto
    another document's token."""
    isi = [["Nomor dokumen", "474/LAIN/2171/2026/000001"], *ISI[1:]]
    token = ttd.sign_document(key, {"v": 2, "no": NOMOR, "h": ttd.content_hash(isi)})
    assert ttd.verify_token(key, token) and ttd.verify_offline(key, token, isi) is None


def _docstring_snippet(token: str, isi: list, key) -> dict:
    snippet = ttd.__doc__.split("raw public key::", 1)[1].split("\n\n", 1)[1]
    snippet = "\n".join(line[4:] for line in snippet.split("\n\n``verify_offline()``")[0].splitlines())
    snippet = re.sub(r"^PUBLIC_KEY = .*$", f"PUBLIC_KEY = {ttd.public_key_b64(key)!r}", snippet, count=1, flags=re.M)
    snippet = re.sub(r"^token = .*$", f"token = {token!r}", snippet, count=1, flags=re.M)
    snippet = re.sub(r"^isi = .*$", f"isi = {isi!r}", snippet, count=1, flags=re.M)
    snippet = snippet.replace("print(", "result = (")
    scope: dict = {}
    exec(compile(snippet, "docstring", "exec"), scope)  # noqa: S102 - our own docstring
    return scope


def test_the_docstring_snippet_runs_as_written(key, token):
    assert _docstring_snippet(token, ISI, key)["result"] is True
    edited = [line if line[0] != "Nama lengkap anak" else ["Nama lengkap anak", "Putri Santosa"] for line in ISI]
    assert _docstring_snippet(token, edited, key)["result"] is False


# --- QR code and PDF -----------------------------------------------------------------------------------------------

def test_the_qr_svg_is_inline_accessible_and_small(token):
    url = f"{HOST}/verifikasi/{token}"
    svg = dokumen_pdf.qr_svg(url)
    assert svg.startswith("<svg") and "<?xml" not in svg and svg.rstrip().endswith("</svg>")
    assert 'role="img"' in svg and 'aria-label="Kode QR verifikasi dokumen"' in svg
    width = int(re.search(r'width="(\d+)"', svg).group(1))
    assert 160 <= width <= 200
    assert 'fill="#fff"' in svg  # white background: scannable on a tinted or dark page
    assert len(svg.encode()) < 8 * 1024
    qr = segno.make(url, error="m")
    assert qr.error == "M" and qr.mode == "byte" and qr.designator.endswith("-M") and qr.version <= 14
    assert re.search(r'viewBox="0 0 (\d+) \1"', svg).group(1) == str(qr.symbol_size(border=4)[0])


def test_the_pdf_is_small_a4_and_carries_number_signer_and_verification_address(token):
    url = f"{HOST}/verifikasi/{token}"
    pdf = dokumen_pdf.render_pdf(_doc(url))
    assert pdf.startswith(b"%PDF") and len(pdf) < 60 * 1024
    assert b"/Count 1" in pdf and b"/MediaBox [0 0 595.28 841.89]" in _pdf_text(pdf)
    text = _pdf_text(dokumen_pdf.render_pdf(_doc(url), compress=False))
    for expected in (PAYLOAD["no"], "PEMERINTAH KOTA BATAM", "Dinas Kependudukan dan Pencatatan Sipil",
                     "KUTIPAN AKTA KELAHIRAN", "Budi Santoso", "28 November 2026",
                     "Ditandatangani secara elektronik oleh Rina Marlina, S.Kom.",
                     "Keaslian dokumen dapat diperiksa dengan memindai kode QR",
                     "UU 11/2008 ITE jo. UU 1/2024; PP 71/2019"):
        assert expected.encode("latin-1") in text, expected
    assert b"/Subtype /Image" in text
    assert f"({url[:80]}".encode() in text  # printed for who cannot scan (wrapped further on)


def test_the_pdf_survives_any_characters(token):
    nasty = "Nguyễn – “Ánh” ‘x’ … é ü ß 😀👍🏽 王 Ελλάδα \u200b\u00ad\x00\x07\t\n\r ﬁ ½ \ud800 (a) \\ )("
    doc = _doc(f"{HOST}/verifikasi/{token}", judul="Surat Izin Praktik – Perawat “Ners”", wilayah=nasty,
               instansi=nasty, penandatangan=nasty, nomor="503/SIP–PERAWAT/2171/2026/000123", tanggal="bukan tanggal",
               rows=[(nasty, nasty), ("Kosong", ""), ("Angka", 12), ("Daftar", ["a", "b"]), ("None", None),
                     ("Panjang", "kata " * 400), ("Tanpaspasi", "x" * 600)])
    pdf = dokumen_pdf.render_pdf(doc, compress=False)
    assert pdf.startswith(b"%PDF") and len(pdf) < 60 * 1024
    text = _pdf_text(pdf)
    assert b"503/SIP-PERAWAT/2171/2026/000123" in text and "Nguyen - \"Ánh\"".encode("latin-1") in text


def test_the_pdf_needs_only_the_essential_keys_of_a_sparse_document():
    pdf = dokumen_pdf.render_pdf({"judul": "Kartu Keluarga", "nomor": "474/KK/2171/2026/000001", "rows": [],
                                  "url_verifikasi": f"{HOST}/verifikasi/x.y"})
    assert pdf.startswith(b"%PDF")


@settings(max_examples=60, deadline=None, database=None)
@given(st.text(max_size=80))
def test_latin1_always_gives_text_the_core_fonts_can_draw(value):
    out = dokumen_pdf.latin1(value)
    out.encode("latin-1")
    assert all(c >= " " and not ("\x7f" <= c < "\xa0") for c in out)


def test_latin1_keeps_indonesian_text_and_maps_typography():
    assert dokumen_pdf.latin1("Jl. Merdeka No. 1, RT 001/RW 002") == "Jl. Merdeka No. 1, RT 001/RW 002"
    assert dokumen_pdf.latin1("a–b—c “d” ‘e’ f…") == "a-b-c \"d\" 'e' f..."
    assert dokumen_pdf.latin1("Café Ñ") == "Café Ñ"
    assert dokumen_pdf.latin1("Łódź Œ 😀") == "?ódz ? ?"
    assert dokumen_pdf.latin1(None) == "" and dokumen_pdf.latin1(12) == "12"
