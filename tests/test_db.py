"""The database runs as the design says: WAL, busy timeout, foreign keys, immediate writes."""

from __future__ import annotations

import sqlite3
import threading

import pytest

from db.connection import connect, write


def test_pragmas(db):
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert db.execute("PRAGMA synchronous").fetchone()[0] == 1  # NORMAL
    assert db.execute("PRAGMA busy_timeout").fetchone()[0] >= 5000
    assert db.execute("PRAGMA foreign_keys").fetchone()[0] == 1


def test_foreign_keys_are_enforced(db):
    with pytest.raises(sqlite3.IntegrityError), write(db):
        db.execute("INSERT INTO kabkota (kode, provinsi_kode, nama, jenis) VALUES ('9999', '00', 'X', 'kota')")


def test_read_then_write_under_concurrency_loses_nothing(db_path):
    """Eight threads each read a counter and write it back +1, 25 times: no update lost, no SQLITE_BUSY."""
    setup = connect(db_path)
    setup.execute("CREATE TABLE hitung (n INTEGER NOT NULL)")
    setup.execute("INSERT INTO hitung VALUES (0)")
    setup.conn.commit()
    errors = []

    def worker():
        conn = connect(db_path)
        try:
            for _ in range(25):
                with write(conn):
                    n = conn.execute("SELECT n FROM hitung").fetchone()[0]
                    conn.execute("UPDATE hitung SET n = ?", [n + 1])
        except Exception as e:  # pragma: no cover - reported below
            errors.append(e)
        finally:
            conn.conn.close()

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert setup.execute("SELECT n FROM hitung").fetchone()[0] == 200


def test_a_failed_write_leaves_nothing_behind(db):
    before = db.execute("SELECT count(*) FROM akun").fetchone()[0]
    with pytest.raises(sqlite3.IntegrityError), write(db):
        db.execute("INSERT INTO akun (peran, username, nama, kata_sandi) VALUES ('petugas', 'x1', 'X', 'h')")
        db.execute("INSERT INTO akun (peran, username, nama, kata_sandi) VALUES ('petugas', 'x1', 'X', 'h')")
    assert db.execute("SELECT count(*) FROM akun").fetchone()[0] == before
