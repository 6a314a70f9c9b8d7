"""Queries over accounts (akun), their sessions (sesi) and the attempt log used for rate limits."""

from __future__ import annotations

from sqlite_utils import Database

from db.connection import write

ATTEMPTS_KEPT_S = 2 * 86400  # longer than every limit's window
SESSIONS_PER_ACCOUNT = 30     # beyond this many, the oldest logins of an account end
ENDED_SESSIONS_KEPT_S = 16 * 86400  # an ended or expired row stays a while: "this address logged in before"


def find_by_login(db: Database, login: str) -> dict | None:
    """An account by NIK, phone number or officer username."""
    row = db.execute(
        "SELECT * FROM akun WHERE nik = :l OR telepon = :l OR username = :l LIMIT 1", {"l": login}
    ).fetchone()
    return dict(row) if row else None


def registrations_without_account(db: Database, login: str, limit: int = 3) -> list[dict]:
    """The latest registrations of this NIK or phone number that have no account (yet): waiting for their
    SMS code, for an officer, or refused by one."""
    return [dict(r) for r in db.execute(
        "SELECT id, status, kata_sandi FROM pendaftaran WHERE (nik = :l OR telepon = :l) AND akun_id IS NULL "
        "ORDER BY id DESC LIMIT :n", {"l": login, "n": limit})]


_ACCOUNT = """SELECT a.*, k.nama AS wilayah_nama, i.nama AS instansi_nama, i.jenis_kode AS instansi_jenis
              FROM akun a LEFT JOIN kabkota k ON k.kode = a.wilayah_kode
              LEFT JOIN instansi i ON i.id = a.instansi_id"""


def get(db: Database, akun_id: int) -> dict | None:
    row = db.execute(f"{_ACCOUNT} WHERE a.id = ?", [akun_id]).fetchone()
    return dict(row) if row else None


def bump_session_version(db: Database, akun_id: int, now: float) -> None:
    with write(db):
        db.execute("UPDATE akun SET sesi_versi = sesi_versi + 1 WHERE id = ?", [akun_id])
        db.execute("UPDATE sesi SET berakhir = ? WHERE akun_id = ? AND berakhir IS NULL", [now, akun_id])


# --- Sessions ----------------------------------------------------------------------------------------------------

def create_session(db: Database, sesi_id: str, akun_id: int, klien: str, now: float, expires: float) -> None:
    """A new login; expired rows of everyone and the account's logins beyond the last 30 go."""
    with write(db):
        db.execute("DELETE FROM sesi WHERE kedaluwarsa < ?", [now - ENDED_SESSIONS_KEPT_S])
        db.execute("INSERT INTO sesi (id, akun_id, klien, dibuat, kedaluwarsa) VALUES (?, ?, ?, ?, ?)",
                   [sesi_id, akun_id, klien, now, expires])
        db.execute("""DELETE FROM sesi WHERE akun_id = ? AND id NOT IN (
                          SELECT id FROM sesi WHERE akun_id = ? ORDER BY dibuat DESC LIMIT ?)""",
                   [akun_id, akun_id, SESSIONS_PER_ACCOUNT])


def account_of_session(db: Database, sesi_id: str, now: float) -> dict | None:
    """The account of a live session, with the session's expiry as ``sesi_kedaluwarsa`` (one indexed read)."""
    row = db.execute(
        """SELECT a.*, k.nama AS wilayah_nama, i.nama AS instansi_nama, i.jenis_kode AS instansi_jenis,
                   s.kedaluwarsa AS sesi_kedaluwarsa
            FROM sesi s JOIN akun a ON a.id = s.akun_id LEFT JOIN kabkota k ON k.kode = a.wilayah_kode
            LEFT JOIN instansi i ON i.id = a.instansi_id
            WHERE s.id = ? AND s.berakhir IS NULL AND s.kedaluwarsa > ?""",
        [sesi_id, now],
    ).fetchone()
    return dict(row) if row else None


def extend_session(db: Database, sesi_id: str, expires: float) -> None:
    with write(db):
        db.execute("UPDATE sesi SET kedaluwarsa = ? WHERE id = ? AND berakhir IS NULL", [expires, sesi_id])


def end_session(db: Database, sesi_id: str, now: float) -> None:
    with write(db):
        db.execute("UPDATE sesi SET berakhir = ? WHERE id = ? AND berakhir IS NULL", [now, sesi_id])


def logged_in_from(db: Database, akun_id: int, klien: str, since: float) -> bool:
    """True when the account logged in from this client address since ``since``."""
    return db.execute("SELECT 1 FROM sesi WHERE akun_id = ? AND klien = ? AND dibuat > ? LIMIT 1",
                      [akun_id, klien, since]).fetchone() is not None


# --- Attempts (rate limits) --------------------------------------------------------------------------------------

def count_attempts(db: Database, key: str, since: float) -> int:
    return db.execute("SELECT count(*) FROM batas_laju WHERE kunci = ? AND waktu > ?", [key, since]).fetchone()[0]


def attempts_since(db: Database, key: str, since: float) -> tuple[int, float | None]:
    """How many attempts under ``key`` since ``since``, and the time of the latest."""
    n, latest = db.execute("SELECT count(*), max(waktu) FROM batas_laju WHERE kunci = ? AND waktu > ?",
                           [key, since]).fetchone()
    return n, latest


def nth_latest_attempt(db: Database, key: str, since: float, n: int) -> float | None:
    """The time of the ``n``-th most recent attempt since ``since`` (1 = the latest)."""
    row = db.execute("SELECT waktu FROM batas_laju WHERE kunci = ? AND waktu > ? ORDER BY waktu DESC "
                     "LIMIT 1 OFFSET ?", [key, since, n - 1]).fetchone()
    return row[0] if row else None


def latest_attempts(db: Database, key: str, since: float, n: int) -> list[float]:
    """The times of the ``n`` most recent attempts since ``since``, latest first."""
    return [r[0] for r in db.execute("SELECT waktu FROM batas_laju WHERE kunci = ? AND waktu > ? ORDER BY waktu DESC "
                                     "LIMIT ?", [key, since, n])]


def record_attempt(db: Database, key: str, now: float) -> None:
    """One attempt; attempts older than every window are pruned on the way (indexed by time)."""
    with write(db):
        db.execute("DELETE FROM batas_laju WHERE waktu < ?", [now - ATTEMPTS_KEPT_S])
        db.execute("INSERT INTO batas_laju (kunci, waktu) VALUES (?, ?)", [key, now])


def clear_attempts(db: Database, key: str) -> None:
    with write(db):
        db.execute("DELETE FROM batas_laju WHERE kunci = ?", [key])
