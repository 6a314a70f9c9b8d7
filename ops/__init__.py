"""Operations: Litestream replication, backups and restores of the SQLite database (see README, Operations)."""
