"""Applications filed at the counter for a citizen who is present (table ``bantuan_loket``), and the stand-in
applicant record (a row of ``akun`` with status 'tanpa_akun') of a citizen who has no account."""

from __future__ import annotations

from sqlite_utils import Database

from db.connection import write

STAND_IN = "tanpa_akun"  # akun.status of a stand-in: no login, no session, no phone, nik NULL, nik_asal = the NIK


def stand_in_of(db: Database, nik: str) -> int | None:
    row = db.execute("SELECT id FROM akun WHERE nik_asal = ? AND status = ?", [nik, STAND_IN]).fetchone()
    return row[0] if row else None


def create_stand_in(db: Database, nik: str, nama: str, wilayah_kode: str, username: str, dibuat: str) -> int:
    """The stand-in of an applicant without an account: it owns their applications until they claim them.
    Its password is no scrypt hash (nobody logs in with it) and it holds no NIK (registration stays free).
    It starts at the lowest level ('dasar'): ``verify_stand_in`` raises it when an application is submitted."""
    with write(db):
        return db.execute(
            "INSERT INTO akun (peran, username, nama, kata_sandi, wilayah_kode, tingkat, status, nik_asal, dibuat) "
            "VALUES ('warga', ?, ?, '!', ?, 'dasar', ?, ?, ?)",
            [username, nama, wilayah_kode, STAND_IN, nik, dibuat]).lastrowid


def verify_stand_in(db: Database, akun_id: int) -> bool:
    """Raise a stand-in to 'terverifikasi_petugas' (KTP-el checked at the counter); True when this raised it (the
    caller records the assurance), False when it is no stand-in or was raised before."""
    with write(db):
        return db.execute(
            "UPDATE akun SET tingkat = 'terverifikasi_petugas' WHERE id = ? AND status = ? "
            "AND tingkat != 'terverifikasi_petugas'", [akun_id, STAND_IN]).rowcount == 1


def open_record(db: Database, permohonan_id: int, nik: str, petugas_id: int, ktp_diperiksa: str) -> None:
    """The counter record of a draft (the officer and KTP-el check of this visit, when the draft already had one)."""
    with write(db):
        db.execute(
            """INSERT INTO bantuan_loket (permohonan_id, nik, petugas_id, ktp_diperiksa, dibuat) VALUES (?, ?, ?, ?, ?)
               ON CONFLICT (permohonan_id) DO UPDATE SET petugas_id = excluded.petugas_id,
                 ktp_diperiksa = excluded.ktp_diperiksa""",
            [permohonan_id, nik, petugas_id, ktp_diperiksa, ktp_diperiksa])


def record_of(db: Database, permohonan_id: int) -> dict | None:
    row = db.execute(
        """SELECT b.*, a.nama AS petugas_nama FROM bantuan_loket b LEFT JOIN akun a ON a.id = b.petugas_id
           WHERE b.permohonan_id = ?""", [permohonan_id]).fetchone()
    return dict(row) if row else None


def record_by_number(db: Database, nomor: str) -> dict | None:
    row = db.execute(
        """SELECT b.*, p.akun_id, a.status AS pemilik_status FROM bantuan_loket b
           JOIN permohonan p ON p.id = b.permohonan_id JOIN akun a ON a.id = p.akun_id WHERE p.nomor = ?""",
        [nomor]).fetchone()
    return dict(row) if row else None


def mark_submitted(db: Database, permohonan_id: int, petugas_id: int, diajukan: str,
                   kode_hash: str | None = None) -> None:
    """Who submitted it and when; a new code's hash only on the first submit (a resubmit keeps the receipt's)."""
    with write(db):
        db.execute("UPDATE bantuan_loket SET petugas_id = ?, diajukan = ?, kode_hash = coalesce(?, kode_hash) "
                   "WHERE permohonan_id = ?", [petugas_id, diajukan, kode_hash, permohonan_id])


def set_code(db: Database, permohonan_id: int, kode_hash: str) -> None:
    with write(db):
        db.execute("UPDATE bantuan_loket SET kode_hash = ? WHERE permohonan_id = ?", [kode_hash, permohonan_id])


def owner_of(db: Database, permohonan_id: int) -> dict | None:
    """The account that owns the application now (a stand-in or a citizen's own), read under the caller's lock."""
    row = db.execute("SELECT a.id, a.status FROM permohonan p JOIN akun a ON a.id = p.akun_id WHERE p.id = ?",
                     [permohonan_id]).fetchone()
    return dict(row) if row else None


def move_to(db: Database, permohonan_id: int, akun_id: int) -> None:
    """The application now belongs to ``akun_id`` (a submitted one: the one-draft index does not apply)."""
    with write(db):
        db.execute("UPDATE permohonan SET akun_id = ? WHERE id = ? AND status != 'draf'", [akun_id, permohonan_id])


def mark_claimed(db: Database, permohonan_id: int, akun_id: int, diklaim: str) -> None:
    with write(db):
        db.execute("UPDATE bantuan_loket SET diklaim = ?, diklaim_oleh = ? WHERE permohonan_id = ?",
                   [diklaim, akun_id, permohonan_id])


def filed_by(db: Database, petugas_id: int, since: str, limit: int = 100) -> list[dict]:
    """The applications this officer started or filed at the counter since ``since`` (UTC stamp), newest first."""
    return [dict(r) for r in db.execute(
        """SELECT p.id, p.nomor, p.status, p.tenggat, p.wilayah_kode, b.nik, b.dibuat, b.diajukan, b.diklaim,
                  l.nama AS layanan_nama, a.nama AS pemohon_nama, a.status AS pemilik_status
           FROM bantuan_loket b JOIN permohonan p ON p.id = b.permohonan_id JOIN layanan l ON l.id = p.layanan_id
           JOIN akun a ON a.id = p.akun_id
           WHERE b.petugas_id = ? AND coalesce(b.diajukan, b.dibuat) >= ?
           ORDER BY coalesce(b.diajukan, b.dibuat) DESC, p.id DESC LIMIT ?""",
        [petugas_id, since, limit])]


def services_of(db: Database, instansi_id: int, wilayah_kode: str) -> list[dict]:
    """The services this agency offers in its region now (enabled, not retired), by name."""
    return [dict(r) for r in db.execute(
        """SELECT l.id, l.slug, l.nama FROM layanan_wilayah lw JOIN layanan l ON l.id = lw.layanan_id
           WHERE lw.instansi_id = ? AND lw.wilayah_kode = ? AND lw.aktif = 1 AND l.pensiun IS NULL
           ORDER BY l.nama""", [instansi_id, wilayah_kode])]
