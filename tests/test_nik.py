"""NIK checks a citizen meets while typing and on submit, each with its own message."""

from __future__ import annotations

import datetime as dt

import pytest

from services import nik


def test_a_real_nik_with_matching_birth_date_and_sex_passes(db):
    r = nik.check(db, "2171 0315 0890 0001", dt.date(1990, 8, 15), "L")
    assert r.valid and r.kecamatan_kode == "217103" and r.perempuan is False


def test_women_have_40_added_to_the_day(db):
    assert nik.check(db, "2171064712880001", dt.date(1988, 12, 7), "P").valid
    r = nik.check(db, "2171064712880001", dt.date(1988, 12, 7), "L")
    assert not r.valid and "Jenis kelamin" in r.errors[0]


@pytest.mark.parametrize("raw, fragment", [
    ("", "Isi NIK"),
    ("217103150890001", "16 angka"),
    ("21710315089000012", "16 angka"),
    ("2171031508900OO1", "16 angka"),
    ("9999031508900001", "kode kecamatan"),
    ("2171033208900001", "tanggal lahir yang sah"),   # day 32
    ("2171031513900001", "tanggal lahir yang sah"),   # month 13
    ("2171037208900001", "tanggal lahir yang sah"),   # day 72 - 40 = 32
    ("2171031508900000", "0000"),
])
def test_each_failure_has_its_own_message(db, raw, fragment):
    r = nik.check(db, raw)
    assert not r.valid
    assert any(fragment in e for e in r.errors), r.errors


def test_birth_date_must_match_the_one_given(db):
    r = nik.check(db, "2171031508900001", dt.date(1990, 8, 16), "L")
    assert any("tidak sama" in e for e in r.errors)


def test_29_february_of_2000_is_a_date(db):
    assert nik.check(db, "2171032902000001").valid


def test_codes_from_before_the_2022_papua_split_are_accepted(db):
    # Kabupaten Merauke was 91.01 (Papua) before 2022 and is 93.01 (Papua Selatan) now
    assert db.execute("SELECT 1 FROM kecamatan WHERE kode = '930101'").fetchone()
    old = nik.check(db, "9101010101800001")
    assert old.valid and old.kecamatan_kode == "930101"
    assert nik.check(db, "9301010101800001").valid
    # a code that never existed in Papua is still refused
    assert not nik.check(db, "9199010101800001").valid
