"""Sealed templates: only the right key and account open them, and tampering is detected."""

from __future__ import annotations

import base64
import os

import numpy as np
import pytest
from faces_support import REPO  # noqa: F401  (puts the repo on sys.path)

from biometrics.templates import SEALED_BYTES, SealError, generate_key, open_sealed, parse_key, seal

KEY = bytes(range(32))
TEMPLATE = np.random.default_rng(7).normal(scale=0.1, size=128).astype(np.float32)


def test_round_trip_returns_the_same_float32_template():
    blob = seal(TEMPLATE, KEY, "akun-001")
    assert len(blob) == SEALED_BYTES
    out = open_sealed(blob, KEY, "akun-001")
    assert out.dtype == np.float32 and out.shape == (128,)
    assert np.array_equal(out, TEMPLATE)


def test_float64_input_is_stored_as_float32():
    out = open_sealed(seal(TEMPLATE.astype(np.float64), KEY, "a"), KEY, "a")
    assert np.array_equal(out, TEMPLATE)


def test_each_seal_uses_a_fresh_nonce():
    a, b = seal(TEMPLATE, KEY, "akun-001"), seal(TEMPLATE, KEY, "akun-001")
    assert a != b and a[1:13] != b[1:13]
    assert TEMPLATE.tobytes() not in a  # the template is not visible in the blob


def test_blob_moved_to_another_account_does_not_open():
    blob = seal(TEMPLATE, KEY, "akun-001")
    with pytest.raises(SealError, match="akun lain"):
        open_sealed(blob, KEY, "akun-002")


@pytest.mark.parametrize("where", ["version", "nonce", "ciphertext", "tag"])
def test_any_flipped_byte_is_detected(where):
    blob = bytearray(seal(TEMPLATE, KEY, "akun-001"))
    index = {"version": 0, "nonce": 5, "ciphertext": 100, "tag": len(blob) - 1}[where]
    blob[index] ^= 0x01
    with pytest.raises(SealError):
        open_sealed(bytes(blob), KEY, "akun-001")


def test_wrong_key_and_truncated_blob_fail():
    blob = seal(TEMPLATE, KEY, "akun-001")
    with pytest.raises(SealError):
        open_sealed(blob, os.urandom(32), "akun-001")
    with pytest.raises(SealError):
        open_sealed(blob[:-1], KEY, "akun-001")


def test_bad_inputs_are_refused_before_encrypting():
    with pytest.raises(ValueError):
        seal(TEMPLATE[:64], KEY, "akun-001")
    with pytest.raises(ValueError):
        seal(TEMPLATE, KEY[:16], "akun-001")
    with pytest.raises(ValueError):
        seal(TEMPLATE, KEY, "")


def test_generated_key_parses_back_to_32_bytes():
    text = generate_key()
    assert len(text) == 43 and "=" not in text
    key = parse_key(text)
    assert len(key) == 32
    assert parse_key(f"  {text}=\n") == key  # padding and whitespace from config files
    assert generate_key() != text


@pytest.mark.parametrize(
    "text",
    ["", "   ", "bukan base64!!", base64.urlsafe_b64encode(os.urandom(16)).decode()],
    ids=["empty", "blank", "garbage", "16-bytes"],
)
def test_bad_key_config_is_explained(text):
    with pytest.raises(ValueError, match="[Kk]unci"):
        parse_key(text)


def test_key_from_config_seals_and_opens():
    key = parse_key(generate_key())
    assert np.array_equal(open_sealed(seal(TEMPLATE, key, "x"), key, "x"), TEMPLATE)
