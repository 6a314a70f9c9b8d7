"""Queries for registration, face checks, liveness challenges and officer review."""

from __future__ import annotations

import json

from sqlite_utils import Database

from db import permohonan
from db.connection import write


def create_registration(db: Database, nik: str, nama: str, telepon: str, kata_sandi: str, consent_at: str) -> int:
    with write(db):
        return db.execute(
            "INSERT INTO pendaftaran (nik, nama, telepon, kata_sandi, persetujuan_biometrik) VALUES (?, ?, ?, ?, ?)",
            [nik, nama, telepon, kata_sandi, consent_at],
        ).lastrowid


def get_registration(db: Database, pendaftaran_id: int) -> dict | None:
    row = db.execute("SELECT * FROM pendaftaran WHERE id = ?", [pendaftaran_id]).fetchone()
    return dict(row) if row else None


def set_registration_status(db: Database, pendaftaran_id: int, status: str, akun_id: int | None = None) -> None:
    with write(db):
        db.execute("UPDATE pendaftaran SET status = ?, akun_id = coalesce(?, akun_id) WHERE id = ?",
                   [status, akun_id, pendaftaran_id])




def create_citizen(db: Database, reg: dict, tingkat: str, wilayah_kode: str | None, waktu: str,
                   face_checked: bool = True) -> int:
    """A citizen account from a registration (nik, nama, telepon, kata_sandi, persetujuan_biometrik)."""
    with write(db):
        return db.execute(
            """INSERT INTO akun (peran, nik, telepon, nama, kata_sandi, wilayah_kode, tingkat,
                                 persetujuan_biometrik, wajah_terakhir)
               VALUES ('warga', ?, ?, ?, ?, ?, ?, ?, ?)""",
            [reg["nik"], reg["telepon"], reg["nama"], reg["kata_sandi"], wilayah_kode, tingkat,
             reg.get("persetujuan_biometrik"), waktu if face_checked else None],
        ).lastrowid


def set_account_template(db: Database, akun_id: int, sealed: bytes) -> None:
    with write(db):
        db.execute("UPDATE akun SET templat_wajah = ? WHERE id = ?", [sealed, akun_id])


def mark_face_checked(db: Database, akun_id: int, waktu: str) -> None:
    with write(db):
        db.execute("UPDATE akun SET wajah_terakhir = ? WHERE id = ?", [waktu, akun_id])


def enrolled_templates(db: Database):
    """(akun id, nik, sealed template) of every enrolled citizen, streamed."""
    yield from db.execute("SELECT id, nik, templat_wajah FROM akun WHERE templat_wajah IS NOT NULL")


def resident_row(db: Database, nik: str) -> dict | None:
    """The embedded population registry's row of ``nik`` (integrations/dukcapil.py turns it into a Resident)."""
    row = db.execute("SELECT * FROM penduduk WHERE nik = ?", [nik]).fetchone()
    return dict(row) if row else None


def family_rows(db: Database, nik: str) -> list[dict]:
    """The embedded registry's members of the Kartu Keluarga ``nik`` is on (``nik`` too), eldest first."""
    return [dict(r) for r in db.execute(
        """SELECT nik, nama, tanggal_lahir, jenis_kelamin FROM penduduk
           WHERE no_kk = (SELECT no_kk FROM penduduk WHERE nik = ?) ORDER BY tanggal_lahir, nik""", [nik])]


def registry_lacks_photo(db: Database, nik: str) -> bool:
    """True for a resident of the embedded registry who has no reference photo yet."""
    row = db.execute("SELECT templat_wajah IS NULL FROM penduduk WHERE nik = ?", [nik]).fetchone()
    return bool(row and row[0])


def set_registry_template(db: Database, nik: str, sealed: bytes) -> None:
    with write(db):
        db.execute("UPDATE penduduk SET templat_wajah = ? WHERE nik = ?", [sealed, nik])


def use_challenge(db: Database, nonce: str, subjek: str, poses: list[str], issued_at: float, colours: list[str],
                  now: float) -> bool:
    """Take a challenge once (it is made without a row: services/identitas.challenge_for): True the first time,
    False for a second use (a replay). Rows of challenges long expired go on the way."""
    with write(db):
        db.execute("DELETE FROM tantangan WHERE dibuat < ?", [now - 3600])
        return db.execute("INSERT OR IGNORE INTO tantangan (nonce, subjek, pose, dibuat, warna, dipakai) "
                          "VALUES (?, ?, ?, ?, ?, 1)",
                          [nonce, subjek, json.dumps(poses), issued_at, json.dumps(colours)]).rowcount == 1


def last_used_challenge(db: Database, subjek: str) -> str:
    """The nonce of the challenge ``subjek`` used last ('' if none in the last hour): the next one differs."""
    row = db.execute("SELECT nonce FROM tantangan WHERE subjek = ? AND dipakai = 1 ORDER BY rowid DESC LIMIT 1",
                     [subjek]).fetchone()
    return row[0] if row else ""


def record_face_check(db: Database, subjek: str, tujuan: str, hasil: str, jarak: float | None, alasan: str) -> None:
    with write(db):
        db.execute("INSERT INTO verifikasi_wajah (subjek, tujuan, hasil, jarak, alasan) VALUES (?, ?, ?, ?, ?)",
                   [subjek, tujuan, hasil, jarak, alasan])


def open_review(db: Database, pendaftaran_id: int, wilayah_kode: str, alasan: str, detail: str,
                akun_id: int | None = None) -> int:
    """One waiting review per registration; with ``akun_id`` it is about an existing account's face."""
    with write(db):
        existing = db.execute("SELECT id FROM tinjauan WHERE pendaftaran_id = ? AND status = 'menunggu'",
                              [pendaftaran_id]).fetchone()
        if existing:
            db.execute("UPDATE tinjauan SET alasan = ?, detail = ? WHERE id = ?", [alasan, detail, existing[0]])
            return existing[0]
        if akun_id is None:
            db.execute("UPDATE pendaftaran SET status = 'ditinjau' WHERE id = ?", [pendaftaran_id])
        return db.execute(
            "INSERT INTO tinjauan (pendaftaran_id, wilayah_kode, alasan, detail, akun_id) VALUES (?, ?, ?, ?, ?)",
            [pendaftaran_id, wilayah_kode, alasan, detail, akun_id],
        ).lastrowid


_REVIEW_COLUMNS = "t.*, p.nik, p.nama, coalesce(a.telepon, p.telepon) AS telepon, a.tingkat"


def reviews_for_region(db: Database, wilayah_kode: str, status: str = "menunggu") -> list[dict]:
    return [dict(r) for r in db.execute(
        f"""SELECT {_REVIEW_COLUMNS} FROM tinjauan t JOIN pendaftaran p ON p.id = t.pendaftaran_id
           LEFT JOIN akun a ON a.id = t.akun_id
           WHERE t.wilayah_kode = ? AND t.status = ? ORDER BY t.dibuat, t.id""",
        [wilayah_kode, status],
    ).fetchall()]


def get_review(db: Database, tinjauan_id: int, wilayah_kode: str) -> dict | None:
    row = db.execute(
        f"""SELECT {_REVIEW_COLUMNS} FROM tinjauan t JOIN pendaftaran p ON p.id = t.pendaftaran_id
           LEFT JOIN akun a ON a.id = t.akun_id
           WHERE t.id = ? AND t.wilayah_kode = ?""",
        [tinjauan_id, wilayah_kode],
    ).fetchone()
    return dict(row) if row else None


def close_review(db: Database, tinjauan_id: int, status: str, petugas_id: int, waktu: str) -> None:
    with write(db):
        db.execute(
            "UPDATE tinjauan SET status = ?, petugas_id = ?, diputuskan = ? WHERE id = ?",
            [status, petugas_id, waktu, tinjauan_id],
        )


def last_face_check(db: Database, subjek: str) -> dict | None:
    row = db.execute("SELECT hasil, jarak, alasan, waktu, tujuan FROM verifikasi_wajah WHERE subjek = ? "
                     "ORDER BY id DESC LIMIT 1", [subjek]).fetchone()
    return dict(row) if row else None




def registration_of_account(db: Database, akun_id: int) -> dict | None:
    row = db.execute("SELECT * FROM pendaftaran WHERE akun_id = ? ORDER BY id DESC LIMIT 1", [akun_id]).fetchone()
    return dict(row) if row else None


def open_review_of_account(db: Database, akun_id: int) -> dict | None:
    row = db.execute("SELECT * FROM tinjauan WHERE akun_id = ? AND status = 'menunggu' ORDER BY id DESC LIMIT 1",
                     [akun_id]).fetchone()
    return dict(row) if row else None


def close_reviews_of_account(db: Database, akun_id: int, status: str, petugas_id: int, waktu: str) -> None:
    with write(db):
        db.execute(
            "UPDATE tinjauan SET status = ?, petugas_id = ?, diputuskan = ? WHERE akun_id = ? AND status = 'menunggu'",
            [status, petugas_id, waktu, akun_id],
        )


def mark_phone_proven(db: Database, pendaftaran_id: int, waktu: str) -> None:
    with write(db):
        db.execute("UPDATE pendaftaran SET telepon_terbukti = ? WHERE id = ?", [waktu, pendaftaran_id])


def account_with_phone(db: Database, telepon: str) -> dict | None:
    """The account that proved this number (a number counts as taken only once proven)."""
    row = db.execute("SELECT id, nik, status FROM akun WHERE telepon = ?", [telepon]).fetchone()
    return dict(row) if row else None


def account_by_nik(db: Database, nik: str) -> dict | None:
    row = db.execute("SELECT * FROM akun WHERE nik = ? AND peran = 'warga'", [nik]).fetchone()
    return dict(row) if row else None


def set_level(db: Database, akun_id: int, tingkat: str) -> None:
    with write(db):
        db.execute("UPDATE akun SET tingkat = ? WHERE id = ?", [tingkat, akun_id])


def set_phone(db: Database, akun_id: int, telepon: str) -> None:
    with write(db):
        db.execute("UPDATE akun SET telepon = ? WHERE id = ?", [telepon, akun_id])


def record_assurance(db: Database, akun_id: int, tingkat: str, kanal: str, *, jarak: float | None = None,
                     liveness: str = "", petugas_id: int | None = None, keterangan: str = "") -> None:
    with write(db):
        db.execute(
            """INSERT INTO jaminan (akun_id, tingkat, kanal, jarak, liveness, petugas_id, keterangan)
               VALUES (?, ?, ?, ?, ?, ?, ?)""",
            [akun_id, tingkat, kanal, jarak, liveness, petugas_id, keterangan],
        )


def assurance_history(db: Database, akun_id: int) -> list[dict]:
    return [dict(r) for r in db.execute(
        """SELECT j.*, p.nama AS petugas_nama FROM jaminan j LEFT JOIN akun p ON p.id = j.petugas_id
           WHERE j.akun_id = ? ORDER BY j.id""", [akun_id])]


def set_account_status(db: Database, akun_id: int, status: str) -> None:
    """Change an account's status and end its sessions on every device."""
    with write(db):
        db.execute("UPDATE akun SET status = ?, sesi_versi = sesi_versi + 1 WHERE id = ?", [status, akun_id])


def release_frozen_account(db: Database, akun_id: int) -> None:
    """A reclaimed account gives back its NIK and phone number and can no longer log in."""
    with write(db):
        db.execute(
            """UPDATE akun SET status = 'dibekukan', nik_asal = nik, nik = NULL, telepon = NULL,
                      username = 'dibekukan-' || id, kata_sandi = '!', templat_wajah = NULL,
                      sesi_versi = sesi_versi + 1
               WHERE id = ?""",
            [akun_id],
        )


def hold_applications(db: Database, akun_id: int, reason: str) -> int:
    """Hold every application of the account that is not finished; the count held."""
    with write(db):
        return db.execute(
            """UPDATE permohonan SET ditahan = ? WHERE akun_id = ? AND ditahan IN ('', 'tatap_muka')
               AND status NOT IN ('selesai', 'ditolak')""",
            [reason, akun_id],
        ).rowcount


def release_applications(db: Database, akun_id: int) -> None:
    with write(db):
        db.execute("UPDATE permohonan SET ditahan = '' WHERE akun_id = ?", [akun_id])


def release_counter_checks(db: Database, akun_id: int) -> int:
    """The identity behind these applications is now proven (in person or by selfie): they may be issued."""
    with write(db):
        return db.execute("UPDATE permohonan SET ditahan = '' WHERE akun_id = ? AND ditahan = 'tatap_muka'",
                          [akun_id]).rowcount


def revoke_documents_of(db: Database, akun_id: int, reason: str, petugas_id: int | None, waktu: str) -> list[str]:
    """Revoke every valid document issued to the account; their numbers."""
    with write(db):
        rows = db.execute(
            """SELECT d.id, d.nomor FROM dokumen d JOIN permohonan p ON p.id = d.permohonan_id
               WHERE p.akun_id = ? AND d.dicabut IS NULL""", [akun_id]).fetchall()
        return [r["nomor"] for r in rows
                if permohonan.revoke_document(db, r["id"], reason, "", petugas_id, dicabut=waktu)]


def store_code(db: Database, tujuan: str, telepon: str, kode_hash: str, now: float, ttl: float) -> None:
    with write(db):
        db.execute("DELETE FROM kode_otp WHERE kedaluwarsa < ?", [now - 86400])
        db.execute("INSERT INTO kode_otp (tujuan, telepon, kode_hash, dibuat, kedaluwarsa) VALUES (?, ?, ?, ?, ?)",
                   [tujuan, telepon, kode_hash, now, now + ttl])


def live_codes(db: Database, tujuan: str, now: float) -> list[dict]:
    return [dict(r) for r in db.execute(
        "SELECT * FROM kode_otp WHERE tujuan = ? AND dipakai = 0 AND kedaluwarsa >= ? ORDER BY id DESC",
        [tujuan, now])]


def latest_code(db: Database, tujuan: str) -> dict | None:
    row = db.execute("SELECT * FROM kode_otp WHERE tujuan = ? ORDER BY id DESC LIMIT 1", [tujuan]).fetchone()
    return dict(row) if row else None


def use_code(db: Database, kode_id: int) -> bool:
    """Mark a code used; False when it was used already (a replay or a race)."""
    with write(db):
        return db.execute("UPDATE kode_otp SET dipakai = 1 WHERE id = ? AND dipakai = 0", [kode_id]).rowcount == 1


def void_codes(db: Database, tujuan: str) -> None:
    with write(db):
        db.execute("UPDATE kode_otp SET dipakai = 1 WHERE tujuan = ? AND dipakai = 0", [tujuan])


def get_account(db: Database, akun_id: int) -> dict | None:
    row = db.execute("SELECT * FROM akun WHERE id = ?", [akun_id]).fetchone()
    return dict(row) if row else None
