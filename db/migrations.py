"""Numbered schema migrations, applied at start-up, each at most once.

A migration is never edited once it has landed on ``main``: change the schema
by adding the next number. Tables are declared here with their types (never
created implicitly by an insert).
"""

from __future__ import annotations

from sqlite_utils import Database
from sqlite_utils.migrations import Migrations

from db import definisi
from db.connection import write

migrations = Migrations("mpp")


@migrations(name="001_wilayah")
def m001_wilayah(db: Database) -> None:
    db.executescript(
        """
        CREATE TABLE provinsi (
            kode TEXT PRIMARY KEY,              -- '21'
            nama TEXT NOT NULL,
            kelompok_pulau TEXT NOT NULL,       -- Sumatra, Jawa, ... Papua
            zona_waktu TEXT NOT NULL CHECK (zona_waktu IN ('WIB', 'WITA', 'WIT'))
        ) STRICT;
        CREATE TABLE kabkota (
            kode TEXT PRIMARY KEY,              -- '2171' (Kemendagri digits, no dots)
            provinsi_kode TEXT NOT NULL REFERENCES provinsi(kode),
            nama TEXT NOT NULL,                 -- 'Kota Batam'
            jenis TEXT NOT NULL CHECK (jenis IN ('kabupaten', 'kota'))
        ) STRICT;
        CREATE INDEX kabkota_provinsi ON kabkota(provinsi_kode);
        CREATE TABLE kecamatan (
            kode TEXT PRIMARY KEY,              -- '217101'
            kabkota_kode TEXT NOT NULL REFERENCES kabkota(kode),
            nama TEXT NOT NULL
        ) STRICT;
        CREATE INDEX kecamatan_kabkota ON kecamatan(kabkota_kode);
        """
    )


@migrations(name="002_katalog")
def m002_katalog(db: Database) -> None:
    db.executescript(
        """
        CREATE TABLE jenis_instansi (
            kode TEXT PRIMARY KEY,              -- 'disdukcapil'
            nama TEXT NOT NULL,
            singkatan TEXT NOT NULL,
            keterangan TEXT NOT NULL,
            layanan_gerai TEXT NOT NULL DEFAULT '[]'   -- JSON list: counter-only services
        ) STRICT;
        CREATE TABLE layanan (
            id INTEGER PRIMARY KEY,
            slug TEXT NOT NULL UNIQUE,
            nama TEXT NOT NULL,
            singkatan TEXT NOT NULL DEFAULT '',
            kelompok TEXT NOT NULL CHECK (kelompok IN ('adminduk', 'nakes')),
            instansi TEXT NOT NULL REFERENCES jenis_instansi(kode),
            instansi_teknis TEXT NOT NULL DEFAULT '',
            ringkasan TEXT NOT NULL,
            jangka_waktu_hari INTEGER NOT NULL CHECK (jangka_waktu_hari > 0),
            biaya INTEGER NOT NULL CHECK (biaya >= 0),
            biaya_keterangan TEXT NOT NULL,
            produk TEXT NOT NULL,
            terbitkan_dokumen INTEGER NOT NULL,
            persyaratan TEXT NOT NULL,          -- JSON lists below
            prosedur TEXT NOT NULL,
            dasar_hukum TEXT NOT NULL,
            pengaduan TEXT NOT NULL,
            kata_kunci TEXT NOT NULL,
            formulir TEXT NOT NULL
        ) STRICT;
        CREATE VIRTUAL TABLE layanan_fts USING fts5(
            nama, singkatan, ringkasan, kata_kunci, instansi,
            tokenize = 'unicode61 remove_diacritics 2'
        );
        """
    )


@migrations(name="003_mpp")
def m003_mpp(db: Database) -> None:
    db.executescript(
        """
        CREATE TABLE mpp (
            wilayah_kode TEXT PRIMARY KEY REFERENCES kabkota(kode),
            nama TEXT NOT NULL,
            alamat TEXT NOT NULL,
            jam_layanan TEXT NOT NULL,
            peta_url TEXT NOT NULL DEFAULT '',
            digital_aktif INTEGER NOT NULL DEFAULT 0,
            sumber TEXT NOT NULL DEFAULT ''
        ) STRICT;
        CREATE TABLE instansi (
            id INTEGER PRIMARY KEY,
            wilayah_kode TEXT NOT NULL REFERENCES kabkota(kode),
            jenis_kode TEXT NOT NULL REFERENCES jenis_instansi(kode),
            nama TEXT NOT NULL,
            UNIQUE (wilayah_kode, jenis_kode)
        ) STRICT;
        CREATE TABLE gerai (
            id INTEGER PRIMARY KEY,
            wilayah_kode TEXT NOT NULL REFERENCES kabkota(kode),
            instansi_id INTEGER NOT NULL REFERENCES instansi(id),
            nomor TEXT NOT NULL,                -- 'A1'
            nama TEXT NOT NULL,
            UNIQUE (wilayah_kode, nomor)
        ) STRICT;
        CREATE TABLE layanan_wilayah (
            wilayah_kode TEXT NOT NULL REFERENCES kabkota(kode),
            layanan_id INTEGER NOT NULL REFERENCES layanan(id),
            instansi_id INTEGER NOT NULL REFERENCES instansi(id),
            aktif INTEGER NOT NULL DEFAULT 1,
            PRIMARY KEY (wilayah_kode, layanan_id)
        ) STRICT;
        CREATE INDEX layanan_wilayah_layanan ON layanan_wilayah(layanan_id);
        """
    )


@migrations(name="004_akun")
def m004_akun(db: Database) -> None:
    db.executescript(
        """
        CREATE TABLE akun (
            id INTEGER PRIMARY KEY,
            peran TEXT NOT NULL CHECK (peran IN ('warga', 'petugas', 'admin_wilayah', 'kementerian')),
            nik TEXT UNIQUE,                    -- warga: their NIK
            username TEXT UNIQUE,               -- officers and admins
            telepon TEXT UNIQUE,
            nama TEXT NOT NULL,
            kata_sandi TEXT NOT NULL,           -- scrypt hash, see services/passwords.py
            wilayah_kode TEXT REFERENCES kabkota(kode),
            instansi_id INTEGER REFERENCES instansi(id),
            sesi_versi INTEGER NOT NULL DEFAULT 1,  -- bump to log out everywhere
            dibuat TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now')),
            CHECK (nik IS NOT NULL OR username IS NOT NULL)
        ) STRICT;
        CREATE TABLE idempotensi (
            kunci TEXT PRIMARY KEY,             -- sha256 of session secret + form key
            status INTEGER NOT NULL,            -- 0 while the first request runs
            header TEXT NOT NULL DEFAULT '[]',  -- JSON [[name, value], ...]
            isi BLOB NOT NULL DEFAULT x'',
            dibuat TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now'))
        ) STRICT;
        CREATE TABLE batas_laju (
            kunci TEXT NOT NULL,                -- 'masuk:ip:1.2.3.4'
            waktu REAL NOT NULL                 -- unix time of one attempt
        ) STRICT;
        CREATE INDEX batas_laju_kunci ON batas_laju(kunci, waktu);
        """
    )


@migrations(name="005_identitas")
def m005_identitas(db: Database) -> None:
    db.executescript(
        """
        -- The embedded population registry: the default Dukcapil adapter reads it.
        CREATE TABLE penduduk (
            nik TEXT PRIMARY KEY,
            nama TEXT NOT NULL,
            tanggal_lahir TEXT NOT NULL,        -- ISO date
            jenis_kelamin TEXT NOT NULL CHECK (jenis_kelamin IN ('L', 'P')),
            alamat TEXT NOT NULL,
            kecamatan_kode TEXT NOT NULL,
            no_kk TEXT NOT NULL,
            templat_wajah BLOB                  -- sealed reference template, or NULL (no photo)
        ) STRICT;
        -- A registration in progress: becomes an account only after a face match
        -- or an officer's in-person check, so nobody can claim another's NIK.
        CREATE TABLE pendaftaran (
            id INTEGER PRIMARY KEY,
            nik TEXT NOT NULL,
            nama TEXT NOT NULL,
            telepon TEXT NOT NULL,
            kata_sandi TEXT NOT NULL,
            persetujuan_biometrik TEXT NOT NULL,  -- when consent was given (UU 27/2022)
            status TEXT NOT NULL DEFAULT 'menunggu_wajah'
                CHECK (status IN ('menunggu_wajah', 'ditinjau', 'selesai', 'ditolak')),
            akun_id INTEGER REFERENCES akun(id),
            dibuat TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now'))
        ) STRICT;
        CREATE INDEX pendaftaran_nik ON pendaftaran(nik);
        ALTER TABLE akun ADD COLUMN tingkat TEXT NOT NULL DEFAULT 'dasar';
        ALTER TABLE akun ADD COLUMN templat_wajah BLOB;
        ALTER TABLE akun ADD COLUMN wajah_terakhir TEXT;
        ALTER TABLE akun ADD COLUMN persetujuan_biometrik TEXT;
        -- One liveness challenge: random poses, single use, short expiry.
        CREATE TABLE tantangan (
            nonce TEXT PRIMARY KEY,
            subjek TEXT NOT NULL,               -- 'pendaftaran:12' or 'akun:3'
            pose TEXT NOT NULL,                 -- JSON list, e.g. ["kiri","depan","kanan"]
            dibuat REAL NOT NULL,
            dipakai INTEGER NOT NULL DEFAULT 0
        ) STRICT;
        CREATE TABLE verifikasi_wajah (
            id INTEGER PRIMARY KEY,
            subjek TEXT NOT NULL,
            tujuan TEXT NOT NULL CHECK (tujuan IN ('daftar', 'step_up', 'aktivasi')),
            hasil TEXT NOT NULL,                -- match, review, no_match, or a rejection code
            jarak REAL,
            alasan TEXT NOT NULL DEFAULT '',
            waktu TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now'))
        ) STRICT;
        CREATE INDEX verifikasi_wajah_subjek ON verifikasi_wajah(subjek, waktu);
        -- Cases for an officer: review band, duplicate face, no registry photo, no camera.
        CREATE TABLE tinjauan (
            id INTEGER PRIMARY KEY,
            pendaftaran_id INTEGER NOT NULL REFERENCES pendaftaran(id),
            wilayah_kode TEXT NOT NULL REFERENCES kabkota(kode),
            alasan TEXT NOT NULL,
            detail TEXT NOT NULL DEFAULT '',
            status TEXT NOT NULL DEFAULT 'menunggu' CHECK (status IN ('menunggu', 'diaktifkan', 'ditolak')),
            petugas_id INTEGER REFERENCES akun(id),
            diputuskan TEXT,
            dibuat TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now'))
        ) STRICT;
        CREATE INDEX tinjauan_wilayah ON tinjauan(wilayah_kode, status);
        -- Append-only, hash-chained record of officer and admin actions.
        CREATE TABLE audit (
            id INTEGER PRIMARY KEY,
            waktu TEXT NOT NULL,
            akun_id INTEGER,
            aksi TEXT NOT NULL,
            objek TEXT NOT NULL,
            detail TEXT NOT NULL DEFAULT '{}',
            hash_sebelum TEXT NOT NULL,
            hash TEXT NOT NULL
        ) STRICT;
        CREATE TRIGGER audit_tanpa_ubah BEFORE UPDATE ON audit
            BEGIN SELECT RAISE(ABORT, 'audit is append-only'); END;
        CREATE TRIGGER audit_tanpa_hapus BEFORE DELETE ON audit
            BEGIN SELECT RAISE(ABORT, 'audit is append-only'); END;
        """
    )


@migrations(name="006_permohonan")
def m006_permohonan(db: Database) -> None:
    db.executescript(
        """
        -- Officer duties within their agency: verify documents, validate, sign.
        ALTER TABLE akun ADD COLUMN jabatan TEXT NOT NULL DEFAULT '';
        CREATE TABLE permohonan (
            id INTEGER PRIMARY KEY,
            nomor TEXT UNIQUE,                  -- registration number, set on submit
            akun_id INTEGER NOT NULL REFERENCES akun(id),
            layanan_id INTEGER NOT NULL REFERENCES layanan(id),
            wilayah_kode TEXT NOT NULL REFERENCES kabkota(kode),
            instansi_id INTEGER NOT NULL REFERENCES instansi(id),
            status TEXT NOT NULL DEFAULT 'draf' CHECK (status IN
                ('draf', 'diajukan', 'diverifikasi', 'perlu_perbaikan', 'disetujui', 'ditolak', 'selesai')),
            data TEXT NOT NULL DEFAULT '{}',    -- JSON: field name -> answer
            perbaikan TEXT NOT NULL DEFAULT '{}',  -- JSON: {"alasan": ..., "kolom": [...]}
            diajukan TEXT,
            tenggat TEXT,                       -- SLA due date (local date, working days)
            selesai TEXT,
            fiktif_positif INTEGER NOT NULL DEFAULT 0,
            dibuat TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now')),
            diubah TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now'))
        ) STRICT;
        CREATE INDEX permohonan_akun ON permohonan(akun_id, status);
        CREATE INDEX permohonan_instansi ON permohonan(instansi_id, status, diajukan);
        -- one open draft per citizen, service and region
        CREATE UNIQUE INDEX permohonan_satu_draf ON permohonan(akun_id, layanan_id, wilayah_kode)
            WHERE status = 'draf';
        CREATE TABLE berkas (
            id INTEGER PRIMARY KEY,
            permohonan_id INTEGER NOT NULL REFERENCES permohonan(id),
            kolom TEXT NOT NULL,
            nama_file TEXT NOT NULL,
            jenis TEXT NOT NULL,                -- content type after checking
            ukuran INTEGER NOT NULL,
            sha256 TEXT NOT NULL,
            isi BLOB NOT NULL,
            dibuat TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now')),
            UNIQUE (permohonan_id, kolom)
        ) STRICT;
        CREATE TABLE riwayat (
            id INTEGER PRIMARY KEY,
            permohonan_id INTEGER NOT NULL REFERENCES permohonan(id),
            status TEXT NOT NULL,
            catatan TEXT NOT NULL DEFAULT '',
            akun_id INTEGER REFERENCES akun(id),  -- NULL: the system (e.g. fiktif positif)
            waktu TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now'))
        ) STRICT;
        CREATE INDEX riwayat_permohonan ON riwayat(permohonan_id, id);
        CREATE TABLE dokumen (
            id INTEGER PRIMARY KEY,
            permohonan_id INTEGER NOT NULL UNIQUE REFERENCES permohonan(id),
            nomor TEXT NOT NULL UNIQUE,
            isi TEXT NOT NULL,                  -- JSON shown on the document
            token TEXT NOT NULL UNIQUE,         -- signed (Ed25519) payload, carried by the QR code
            penandatangan TEXT NOT NULL,
            diterbitkan TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now'))
        ) STRICT;
        CREATE TABLE libur (
            tanggal TEXT NOT NULL,              -- ISO date
            wilayah_kode TEXT NOT NULL DEFAULT '',  -- '' = national
            nama TEXT NOT NULL,
            PRIMARY KEY (tanggal, wilayah_kode)
        ) STRICT;
        CREATE TABLE notifikasi (
            id INTEGER PRIMARY KEY,
            akun_id INTEGER REFERENCES akun(id),
            kanal TEXT NOT NULL CHECK (kanal IN ('sms', 'email', 'whatsapp')),
            tujuan TEXT NOT NULL,
            isi TEXT NOT NULL,
            status TEXT NOT NULL DEFAULT 'antri' CHECK (status IN ('antri', 'terkirim', 'gagal')),
            percobaan INTEGER NOT NULL DEFAULT 0,
            berikut REAL NOT NULL,              -- unix time of the next attempt
            galat TEXT NOT NULL DEFAULT '',
            dibuat TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now'))
        ) STRICT;
        CREATE INDEX notifikasi_antri ON notifikasi(status, berikut);
        -- Embedded SISDMK (health workforce registry): STR and current practice places.
        CREATE TABLE str_nakes (
            nomor_str TEXT PRIMARY KEY,
            nik TEXT NOT NULL,
            nama TEXT NOT NULL,
            profesi TEXT NOT NULL,              -- service slug family, e.g. 'perawat'
            berlaku_sampai TEXT                 -- NULL: for life (UU 17/2023)
        ) STRICT;
        CREATE TABLE tempat_praktik (
            id INTEGER PRIMARY KEY,
            nomor_str TEXT NOT NULL REFERENCES str_nakes(nomor_str),
            nama_fasyankes TEXT NOT NULL,
            nomor_sip TEXT NOT NULL,
            berlaku_sampai TEXT NOT NULL        -- a SIP lasts 5 years
        ) STRICT;
        """
    )


@migrations(name="007_antrean_pengaduan_skm")
def m007_antrean_pengaduan_skm(db: Database) -> None:
    db.executescript(
        """
        -- Counter hours and per-slot quotas; online and walk-in quotas are kept apart.
        ALTER TABLE gerai ADD COLUMN jam_buka TEXT NOT NULL DEFAULT '08:00';
        ALTER TABLE gerai ADD COLUMN jam_tutup TEXT NOT NULL DEFAULT '15:00';
        ALTER TABLE gerai ADD COLUMN menit_per_slot INTEGER NOT NULL DEFAULT 30;
        ALTER TABLE gerai ADD COLUMN kuota_daring INTEGER NOT NULL DEFAULT 4;   -- per slot, booked online
        ALTER TABLE gerai ADD COLUMN kuota_langsung INTEGER NOT NULL DEFAULT 4; -- per slot, walk-in at the hall
        CREATE TABLE tiket (
            id INTEGER PRIMARY KEY,
            wilayah_kode TEXT NOT NULL REFERENCES kabkota(kode),
            gerai_id INTEGER NOT NULL REFERENCES gerai(id),
            layanan_id INTEGER REFERENCES layanan(id),
            tanggal TEXT NOT NULL,              -- local date of the visit
            jam TEXT NOT NULL,                  -- slot start, local time 'HH:MM'
            jenis TEXT NOT NULL CHECK (jenis IN ('daring', 'langsung')),
            nomor INTEGER NOT NULL,             -- sequence per counter and day
            kode TEXT NOT NULL,                 -- shown and called: '03-017'
            akun_id INTEGER REFERENCES akun(id),
            status TEXT NOT NULL DEFAULT 'menunggu'
                CHECK (status IN ('menunggu', 'dipanggil', 'dilayani', 'tidak_hadir', 'batal')),
            loket TEXT NOT NULL DEFAULT '',     -- the counter that called it (after a transfer, the new one)
            dipanggil TEXT,
            selesai TEXT,
            dibuat TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now')),
            UNIQUE (gerai_id, tanggal, nomor)
        ) STRICT;
        CREATE INDEX tiket_slot ON tiket(gerai_id, tanggal, jam, jenis, status);
        CREATE INDEX tiket_akun ON tiket(akun_id);
        CREATE TABLE pengaduan (
            id INTEGER PRIMARY KEY,
            nomor TEXT NOT NULL UNIQUE,
            kode_lacak TEXT NOT NULL,           -- secret for tracking without an account
            wilayah_kode TEXT NOT NULL REFERENCES kabkota(kode),
            instansi_id INTEGER REFERENCES instansi(id),
            layanan_id INTEGER REFERENCES layanan(id),
            permohonan_id INTEGER REFERENCES permohonan(id),
            akun_id INTEGER REFERENCES akun(id),  -- NULL: anonymous
            kontak TEXT NOT NULL DEFAULT '',
            isi TEXT NOT NULL,
            status TEXT NOT NULL DEFAULT 'diterima' CHECK (status IN
                ('diterima', 'diteruskan', 'ditindaklanjuti', 'selesai', 'ditutup_otomatis')),
            batas_teruskan TEXT NOT NULL,       -- 3 working days after filing
            batas_tindak TEXT,                  -- 5 working days after forwarding
            batas_tutup TEXT,                   -- 10 working days after the answer
            jawaban TEXT NOT NULL DEFAULT '',
            dibuat TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now'))
        ) STRICT;
        CREATE INDEX pengaduan_wilayah ON pengaduan(wilayah_kode, status);
        -- SKM (PermenPANRB 14/2017): nine elements on a 1-4 scale, one survey per transaction.
        CREATE TABLE skm (
            id INTEGER PRIMARY KEY,
            transaksi TEXT NOT NULL UNIQUE,     -- 'permohonan:12' or 'tiket:55'
            wilayah_kode TEXT NOT NULL REFERENCES kabkota(kode),
            instansi_id INTEGER REFERENCES instansi(id),
            layanan_id INTEGER REFERENCES layanan(id),
            u1 INTEGER NOT NULL CHECK (u1 BETWEEN 1 AND 4), u2 INTEGER NOT NULL CHECK (u2 BETWEEN 1 AND 4),
            u3 INTEGER NOT NULL CHECK (u3 BETWEEN 1 AND 4), u4 INTEGER NOT NULL CHECK (u4 BETWEEN 1 AND 4),
            u5 INTEGER NOT NULL CHECK (u5 BETWEEN 1 AND 4), u6 INTEGER NOT NULL CHECK (u6 BETWEEN 1 AND 4),
            u7 INTEGER NOT NULL CHECK (u7 BETWEEN 1 AND 4), u8 INTEGER NOT NULL CHECK (u8 BETWEEN 1 AND 4),
            u9 INTEGER NOT NULL CHECK (u9 BETWEEN 1 AND 4),
            dibuat TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now'))
        ) STRICT;
        CREATE INDEX skm_wilayah ON skm(wilayah_kode, instansi_id, layanan_id);
        """
    )


@migrations(name="008_pemantauan")
def m008_pemantauan(db: Database) -> None:
    db.executescript(
        """
        -- National MPP rollout per kab/kota (the ministry's list; demo data until a real list is imported).
        CREATE TABLE mpp_nasional (
            wilayah_kode TEXT PRIMARY KEY REFERENCES kabkota(kode),
            status TEXT NOT NULL CHECK (status IN ('berdiri', 'target', 'belum')),
            tanggal_berdiri TEXT,               -- ISO date, status 'berdiri'
            target_tahun INTEGER,               -- status 'target'
            sumber TEXT NOT NULL DEFAULT '',
            CHECK (status != 'berdiri' OR tanggal_berdiri IS NOT NULL),
            CHECK (status != 'target' OR target_tahun IS NOT NULL)
        ) STRICT;
        CREATE INDEX mpp_nasional_status ON mpp_nasional(status);
        -- Every load of that list: the demo seed (demo = 1) or an import by the ministry.
        CREATE TABLE mpp_nasional_impor (
            id INTEGER PRIMARY KEY,
            waktu TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now')),
            akun_id INTEGER REFERENCES akun(id),
            nama_file TEXT NOT NULL,
            jumlah_baris INTEGER NOT NULL,
            demo INTEGER NOT NULL DEFAULT 0
        ) STRICT;
        -- MPP Digital criteria attested by the region admin (the others are derived from use).
        CREATE TABLE kriteria_atestasi (
            wilayah_kode TEXT NOT NULL REFERENCES kabkota(kode),
            kriteria TEXT NOT NULL,
            terpenuhi INTEGER NOT NULL CHECK (terpenuhi IN (0, 1)),
            akun_id INTEGER REFERENCES akun(id),
            waktu TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now')),
            PRIMARY KEY (wilayah_kode, kriteria)
        ) STRICT;
        -- Local additions to a catalogue service: extra requirements, and a fee where the law allows.
        ALTER TABLE layanan_wilayah ADD COLUMN persyaratan_tambahan TEXT NOT NULL DEFAULT '[]';
        -- biaya NULL: catalogue fee
        ALTER TABLE layanan_wilayah ADD COLUMN biaya INTEGER CHECK (biaya IS NULL OR biaya >= 0);
        ALTER TABLE layanan_wilayah ADD COLUMN biaya_keterangan TEXT NOT NULL DEFAULT '';
        """
    )


@migrations(name="009_idempotensi_sesi")
def m009_idempotensi_sesi(db: Database) -> None:
    db.executescript(
        """
        -- The session as the first response left it, when that response changed it (a login,
        -- a flash message): a replayed answer must carry the same cookie. NULL: unchanged.
        ALTER TABLE idempotensi ADD COLUMN sesi TEXT;
        CREATE INDEX idempotensi_dibuat ON idempotensi(dibuat);
        """
    )


@migrations(name="010_jaminan_identitas")
def m010_jaminan_identitas(db: Database) -> None:
    db.executescript(
        """
        -- Assurance levels (tingkat): terdaftar (registry data + phone proven by SMS code)
        -- < terverifikasi_wajah (selfie with liveness) < terverifikasi_petugas (KTP-el at the counter).
        -- Each level reached is one row here: how, when, with what evidence, by whom.
        CREATE TABLE jaminan (
            id INTEGER PRIMARY KEY,
            akun_id INTEGER NOT NULL REFERENCES akun(id),
            tingkat TEXT NOT NULL,
            kanal TEXT NOT NULL,                -- 'sms', 'selfie', 'gerai', 'klaim_gerai'
            jarak REAL,                         -- face distance, when a face was compared
            liveness TEXT NOT NULL DEFAULT '',  -- JSON of the liveness checks, or ''
            petugas_id INTEGER REFERENCES akun(id),
            keterangan TEXT NOT NULL DEFAULT '',
            waktu TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now'))
        ) STRICT;
        CREATE INDEX jaminan_akun ON jaminan(akun_id, id);
        -- One-time SMS codes: only a keyed hash is kept; single use, short expiry.
        CREATE TABLE kode_otp (
            id INTEGER PRIMARY KEY,
            tujuan TEXT NOT NULL,               -- 'daftar:12', 'telepon:5', 'klaim:2171...'
            telepon TEXT NOT NULL,
            kode_hash TEXT NOT NULL,
            dibuat REAL NOT NULL,
            kedaluwarsa REAL NOT NULL,
            dipakai INTEGER NOT NULL DEFAULT 0
        ) STRICT;
        CREATE INDEX kode_otp_tujuan ON kode_otp(tujuan, dipakai);
        -- 'aktif', 'ditangguhkan' ("bukan saya": held until the counter checks), 'dibekukan' (reclaimed)
        ALTER TABLE akun ADD COLUMN status TEXT NOT NULL DEFAULT 'aktif';
        ALTER TABLE akun ADD COLUMN nik_asal TEXT;  -- a frozen account's NIK (its nik is released)
        ALTER TABLE pendaftaran ADD COLUMN telepon_terbukti TEXT;
        ALTER TABLE tinjauan ADD COLUMN akun_id INTEGER REFERENCES akun(id);
        -- Phone numbers the registry knows for a resident (JSON list): new accounts are announced there.
        ALTER TABLE penduduk ADD COLUMN kontak TEXT NOT NULL DEFAULT '[]';
        -- Levels a service needs to submit and before its document is issued (catalogue data).
        ALTER TABLE layanan ADD COLUMN tingkat_ajukan TEXT NOT NULL DEFAULT 'terverifikasi_wajah';
        ALTER TABLE layanan ADD COLUMN tingkat_terbit TEXT NOT NULL DEFAULT 'terverifikasi_wajah';
        -- An application held while the identity behind it is checked (reclaim, "bukan saya").
        ALTER TABLE permohonan ADD COLUMN ditahan TEXT NOT NULL DEFAULT '';
        -- Revocation of an issued document.
        ALTER TABLE dokumen ADD COLUMN dicabut TEXT;
        ALTER TABLE dokumen ADD COLUMN alasan_cabut TEXT NOT NULL DEFAULT '';
        ALTER TABLE dokumen ADD COLUMN dicabut_oleh INTEGER REFERENCES akun(id);
        -- Screen colour shown while each challenge frame is taken (JSON list of hex colours).
        ALTER TABLE tantangan ADD COLUMN warna TEXT NOT NULL DEFAULT '[]';
        -- Accounts made before levels were recorded: their level, as it was.
        INSERT INTO jaminan (akun_id, tingkat, kanal, keterangan, waktu)
            SELECT id, tingkat, 'sebelum_riwayat', 'tercatat sebelum riwayat jaminan', dibuat
            FROM akun WHERE peran = 'warga';
        """
    )


@migrations(name="011_dokumen_isi_terikat")
def m011_dokumen_isi_terikat(db: Database) -> None:
    db.executescript(
        """
        -- Last day a document is valid (ISO date, the issuing region's calendar); NULL: no end.
        ALTER TABLE dokumen ADD COLUMN berlaku_sampai TEXT;
        -- Revocation: alasan_cabut holds the reason category, catatan_cabut the officer's words.
        ALTER TABLE dokumen ADD COLUMN catatan_cabut TEXT NOT NULL DEFAULT '';
        -- The PAdES-signed PDF, made once on first download and served as is from then on.
        CREATE TABLE dokumen_pdf (
            dokumen_id INTEGER PRIMARY KEY REFERENCES dokumen(id),
            isi BLOB NOT NULL,
            dibuat TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now'))
        ) STRICT;
        """
    )


@migrations(name="012_aturan_dalam_transaksi")
def m012_aturan_dalam_transaksi(db: Database) -> None:
    # Statements one by one (not executescript, which would commit the migration's transaction first).
    # One active queue ticket per citizen, counter and day, said by the schema as well as checked under
    # the write lock; walk-in tickets have no account and are not concerned. Duplicates the old check
    # (outside the transaction) let through are cancelled first, keeping the one already called, else
    # the first taken.
    db.execute(
        """UPDATE tiket SET status = 'batal'
           WHERE akun_id IS NOT NULL AND status IN ('menunggu', 'dipanggil')
             AND id != (SELECT t.id FROM tiket t WHERE t.akun_id = tiket.akun_id AND t.gerai_id = tiket.gerai_id
                          AND t.tanggal = tiket.tanggal AND t.status IN ('menunggu', 'dipanggil')
                        ORDER BY t.status = 'dipanggil' DESC, t.id LIMIT 1)""")
    db.execute("""CREATE UNIQUE INDEX tiket_satu_aktif ON tiket(akun_id, gerai_id, tanggal)
                  WHERE akun_id IS NOT NULL AND status IN ('menunggu', 'dipanggil')""")
    # Practice places are counted per STR at every step that can issue a SIP: applications and
    # documents are found by the STR number the form holds.
    db.execute("CREATE INDEX permohonan_nomor_str ON permohonan(json_extract(data, '$.nomor_str'))")


@migrations(name="013_sesi_dan_batas")
def m013_sesi_dan_batas(db: Database) -> None:
    db.executescript(
        """
        -- One row per login: the cookie carries a random id, this table its sha256. "Keluar" ends the
        -- row, so a copied cookie dies with it; AuthMiddleware reads it (one primary-key look-up).
        CREATE TABLE sesi (
            id TEXT PRIMARY KEY,                -- sha256 hex of the id in the signed cookie
            akun_id INTEGER NOT NULL REFERENCES akun(id),
            klien TEXT NOT NULL DEFAULT '',     -- client address at login (a known address skips the slow-down)
            dibuat REAL NOT NULL,               -- unix time
            kedaluwarsa REAL NOT NULL,          -- unix time; pushed on at most once a day while in use
            berakhir REAL                       -- unix time of "Keluar"; NULL while the session lives
        ) STRICT;
        CREATE INDEX sesi_akun ON sesi(akun_id, klien, dibuat);
        CREATE INDEX sesi_kedaluwarsa ON sesi(kedaluwarsa);
        -- Old attempts are pruned by time.
        CREATE INDEX batas_laju_waktu ON batas_laju(waktu);
        """
    )


@migrations(name="014_idempotensi_ringkas")
def m014_idempotensi_ringkas(db: Database) -> None:
    # Stored first answers of submits become a small cache: only finished answers worth replaying
    # (the claim of a running submit is held in memory, so a refused POST writes no placeholder), the
    # body zlib-compressed, the key the 32 bytes of its sha256, kept hours not days. The old rows (raw
    # bodies, placeholders) are a retry cache of the last days and are dropped, not converted.
    db.execute("DROP TABLE idempotensi")
    db.execute(
        """CREATE TABLE idempotensi (
            kunci BLOB PRIMARY KEY,             -- sha256 of session token, form key, path, form content
            status INTEGER NOT NULL CHECK (status BETWEEN 200 AND 499),
            header TEXT NOT NULL,               -- JSON [[name, value], ...]
            isi BLOB NOT NULL,                  -- the body, zlib-compressed
            sesi TEXT,                          -- JSON session the answer left, when it changed it
            dibuat TEXT NOT NULL                -- ISO UTC (services.kalender clock)
        ) STRICT""")
    db.execute("CREATE INDEX idempotensi_dibuat ON idempotensi(dibuat)")


@migrations(name="015_permohonan_untuk")
def m015_permohonan_untuk(db: Database) -> None:
    # A parent applies for a child (or another member of the same Kartu Keluarga): the application
    # names whom it is for, as the registry had them when it was started (NULL = the applicant).
    # One open draft per citizen, service, region *and person it is for*.
    db.executescript(
        """
        ALTER TABLE permohonan ADD COLUMN untuk_nik TEXT;
        ALTER TABLE permohonan ADD COLUMN untuk_nama TEXT;
        DROP INDEX permohonan_satu_draf;
        CREATE UNIQUE INDEX permohonan_satu_draf ON permohonan(akun_id, layanan_id, wilayah_kode,
                                                               coalesce(untuk_nik, '')) WHERE status = 'draf';
        """
    )


@migrations(name="016_layanan_sebagai_data")
def m016_layanan_sebagai_data(db: Database) -> None:
    # Services as data. The ``layanan`` row is the service as citizens see it *now* (its published version,
    # what every catalogue query reads); ``layanan_versi`` keeps every published version, unchangeable, so an
    # application stays on the version it was filled in; ``layanan_rancangan`` is a region admin's working
    # copy of a region's own service (a new one, or the next version of a published one).
    #
    # kelompok gains 'daerah' (a region's own service). Widening a CHECK changes no stored row: the table's
    # text in sqlite_schema is edited in place, the way SQLite's ALTER TABLE documentation describes for
    # constraint changes that every existing row already satisfies, and the schema version is bumped so that
    # every open connection reads it again.
    version = db.execute("PRAGMA schema_version").fetchone()[0]
    db.execute("PRAGMA writable_schema = ON")
    db.execute("""UPDATE sqlite_schema SET sql = replace(sql, "CHECK (kelompok IN ('adminduk', 'nakes'))",
                                                          "CHECK (kelompok IN ('adminduk', 'nakes', 'daerah'))")
                  WHERE type = 'table' AND name = 'layanan'""")
    db.execute(f"PRAGMA schema_version = {int(version) + 1}")
    db.execute("PRAGMA writable_schema = OFF")
    db.executescript(
        """
        ALTER TABLE layanan ADD COLUMN wilayah_pemilik TEXT REFERENCES kabkota(kode);  -- NULL: national template
        ALTER TABLE layanan ADD COLUMN versi INTEGER NOT NULL DEFAULT 1;     -- the published version shown
        -- the officer duties that process it, in order (verifikator -> [validator] -> penandatangan)
        ALTER TABLE layanan ADD COLUMN alur TEXT NOT NULL DEFAULT '["verifikator", "validator", "penandatangan"]';
        ALTER TABLE layanan ADD COLUMN dokumen_judul TEXT NOT NULL DEFAULT '';  -- '': from produk
        ALTER TABLE layanan ADD COLUMN dokumen_kolom TEXT NOT NULL DEFAULT '[]';  -- answers stated; []: all
        ALTER TABLE layanan ADD COLUMN pensiun TEXT;                         -- UTC stamp when retired
        CREATE TABLE layanan_versi (
            id INTEGER PRIMARY KEY,
            layanan_id INTEGER NOT NULL REFERENCES layanan(id),
            versi INTEGER NOT NULL CHECK (versi > 0),
            definisi TEXT NOT NULL,             -- JSON: the service as published (services/definisi.py)
            terbit TEXT NOT NULL,               -- UTC stamp
            akun_id INTEGER REFERENCES akun(id),  -- who published it; NULL: the national catalogue files
            UNIQUE (layanan_id, versi)
        ) STRICT;
        CREATE TRIGGER layanan_versi_tetap BEFORE UPDATE ON layanan_versi
            BEGIN SELECT RAISE(ABORT, 'a published version is never changed'); END;
        CREATE TRIGGER layanan_versi_tetap_ada BEFORE DELETE ON layanan_versi
            BEGIN SELECT RAISE(ABORT, 'a published version is never deleted'); END;
        CREATE TABLE layanan_rancangan (
            id INTEGER PRIMARY KEY,
            wilayah_kode TEXT NOT NULL REFERENCES kabkota(kode),
            instansi_id INTEGER NOT NULL REFERENCES instansi(id),
            layanan_id INTEGER UNIQUE REFERENCES layanan(id),  -- set at its first publication
            definisi TEXT NOT NULL,             -- JSON, same shape as layanan_versi.definisi
            dibuat TEXT NOT NULL,
            diubah TEXT NOT NULL,
            akun_id INTEGER REFERENCES akun(id)
        ) STRICT;
        CREATE INDEX layanan_rancangan_wilayah ON layanan_rancangan(wilayah_kode);
        -- the version an application was started on (NULL: before versions, i.e. version 1)
        ALTER TABLE permohonan ADD COLUMN layanan_versi INTEGER;
        """
    )


@migrations(name="017_bantuan_loket")
def m017_bantuan_loket(db: Database) -> None:
    # Applications an officer files at the counter for a citizen who is present (issue 17). Statements one by one.
    db.execute(
        """CREATE TABLE bantuan_loket (
            permohonan_id INTEGER PRIMARY KEY REFERENCES permohonan(id),
            nik TEXT NOT NULL,                  -- the applicant's NIK: in the registry, on the KTP-el shown
            petugas_id INTEGER NOT NULL REFERENCES akun(id),  -- who filed it (who started it, until submitted)
            ktp_diperiksa TEXT NOT NULL,        -- UTC stamp: the officer checked the KTP-el of the person present
            kode_hash TEXT,                     -- keyed hash of the tracking code on the receipt; NULL: a draft
            dibuat TEXT NOT NULL,
            diajukan TEXT,                      -- UTC stamp of the (last) submit at the counter
            diklaim TEXT,                       -- UTC stamp when the citizen took it into their own account
            diklaim_oleh INTEGER REFERENCES akun(id)
        ) STRICT""")
    db.execute("CREATE INDEX bantuan_loket_petugas ON bantuan_loket(petugas_id, dibuat)")
    # An applicant without an account is a stand-in row of akun, one per NIK: status 'tanpa_akun', nik NULL (the
    # NIK stays free for the citizen's own registration), nik_asal = the NIK, no phone, no usable password.
    db.execute("CREATE UNIQUE INDEX akun_tanpa_akun ON akun(nik_asal) WHERE status = 'tanpa_akun'")


@migrations(name="018_penduduk_tempat_lahir")
def m018_penduduk_tempat_lahir(db: Database) -> None:
    # The embedded registry holds the birthplace too (the Kartu Keluarga prints it): forms fill it, as they fill
    # name and birth date, from the registry ("dari data Dukcapil"). '' = not recorded: the citizen types it.
    db.execute("ALTER TABLE penduduk ADD COLUMN tempat_lahir TEXT NOT NULL DEFAULT ''")


@migrations(name="019_perwalian")
def m019_perwalian(db: Database) -> None:
    # A guardianship an identity-desk officer verified at the counter (papers and the guardian's KTP-el seen):
    # the guardian may apply for the ward as a parent does for a child on their Kartu Keluarga.
    db.executescript(
        """
        CREATE TABLE perwalian (
            id INTEGER PRIMARY KEY,
            wali_akun_id INTEGER NOT NULL REFERENCES akun(id),
            nik TEXT NOT NULL,                  -- the ward, as the registry knows them
            nama TEXT NOT NULL,
            dasar TEXT NOT NULL,                -- the papers: kind, number and date
            petugas_id INTEGER NOT NULL REFERENCES akun(id),
            wilayah_kode TEXT NOT NULL REFERENCES kabkota(kode),
            dibuat TEXT NOT NULL,
            dicabut TEXT                        -- UTC stamp when ended
        ) STRICT;
        CREATE UNIQUE INDEX perwalian_aktif ON perwalian(wali_akun_id, nik) WHERE dicabut IS NULL;
        CREATE INDEX perwalian_wilayah ON perwalian(wilayah_kode, id);
        -- why the applicant may act for ``untuk_nik``: the Kartu Keluarga (NULL), or the guardianship recorded
        ALTER TABLE permohonan ADD COLUMN untuk_perwalian INTEGER REFERENCES perwalian(id);
        """
    )


@migrations(name="020_versi_awal")
def m020_versi_awal(db: Database) -> None:
    # Services already in the database when versions came (016) keep what they were as their version 1, taken
    # before the catalogue files are loaded again: applications started before then stay on it, and a file that
    # changed since becomes version 2. (A new database has no service yet: the first load makes version 1.)
    if "'daerah'" not in db.execute("SELECT sql FROM sqlite_schema WHERE name = 'layanan'").fetchone()[0]:
        raise RuntimeError("016_layanan_sebagai_data did not widen layanan.kelompok: the table's text differs")
    for row in db.execute("SELECT * FROM layanan WHERE id NOT IN (SELECT layanan_id FROM layanan_versi)").fetchall():
        db.execute("INSERT INTO layanan_versi (layanan_id, versi, definisi, terbit, akun_id) "
                   "VALUES (?, 1, ?, strftime('%Y-%m-%dT%H:%M:%SZ', 'now'), NULL)",
                   [row["id"], definisi.canonical(definisi.of_row(row))])
        db.execute("UPDATE layanan SET versi = 1 WHERE id = ?", [row["id"]])


@migrations(name="021_daerah_yang_sudah_jalan")
def m021_daerah_yang_sudah_jalan(db: Database) -> None:
    # Citizens see a region only once it is live (mpp.digital_aktif = 1, db/penyiapan.LIVE), set when its manager
    # opens it. Regions already in use before onboarding came (an enabled service, an application or a ticket)
    # had their profile saved from the console with the default 0: they stay live. A region the ministry
    # onboarded (audited 'siapkan_daerah') waits for its manager. Nothing else is created or changed.
    db.execute(
        """UPDATE mpp SET digital_aktif = 1
           WHERE digital_aktif = 0
             AND (EXISTS (SELECT 1 FROM layanan_wilayah lw WHERE lw.wilayah_kode = mpp.wilayah_kode AND lw.aktif = 1)
                  OR EXISTS (SELECT 1 FROM permohonan p WHERE p.wilayah_kode = mpp.wilayah_kode)
                  OR EXISTS (SELECT 1 FROM tiket t WHERE t.wilayah_kode = mpp.wilayah_kode))
             AND 'mpp:' || wilayah_kode NOT IN (SELECT objek FROM audit WHERE aksi = 'siapkan_daerah')""")


@migrations(name="022_berkas_di_penyimpanan")
def m022_berkas_di_penyimpanan(db: Database) -> None:
    # Files out of SQLite: an uploaded document's or a sealed PDF's bytes live in object storage
    # (integrations/penyimpanan.py) under ``kunci``; the row keeps key, size, type and SHA-256, and ``isi``
    # stays, empty (x''), since SQLite cannot drop a NOT NULL column without copying the table. kunci NULL: the
    # bytes are still in ``isi`` (rows from before), served from there until `python -m ops.penyimpanan
    # pindahkan` moves them.
    for statement in (
        "ALTER TABLE berkas ADD COLUMN kunci TEXT",
        "CREATE UNIQUE INDEX berkas_kunci ON berkas(kunci) WHERE kunci IS NOT NULL",
        "CREATE INDEX berkas_di_sqlite ON berkas(id) WHERE kunci IS NULL",
        "ALTER TABLE dokumen_pdf ADD COLUMN kunci TEXT",
        "ALTER TABLE dokumen_pdf ADD COLUMN ukuran INTEGER",      # NULL only while the bytes are in isi
        "ALTER TABLE dokumen_pdf ADD COLUMN sha256 TEXT",
        "CREATE UNIQUE INDEX dokumen_pdf_kunci ON dokumen_pdf(kunci) WHERE kunci IS NOT NULL",
        "CREATE INDEX dokumen_pdf_di_sqlite ON dokumen_pdf(dokumen_id) WHERE kunci IS NULL",
        # The last comparison of storage with the rows (services/penyimpanan.reconcile): by `make check-storage`
        # or hourly by the background job, which claims it by setting ``mulai`` first. Read by /metrics.
        """CREATE TABLE penyimpanan_cek (
            id INTEGER PRIMARY KEY CHECK (id = 1),
            mulai REAL NOT NULL,                -- epoch seconds (real clock) the last check started
            selesai TEXT,                       -- UTC stamp it ended; NULL: running, or it failed (see galat)
            objek INTEGER NOT NULL DEFAULT 0,   -- objects listed
            hilang INTEGER NOT NULL DEFAULT 0,  -- rows whose object is missing or of another size
            contoh TEXT NOT NULL DEFAULT '[]',  -- JSON: the first of those keys
            yatim INTEGER NOT NULL DEFAULT 0,   -- objects older than the grace period that no row names
            dihapus INTEGER NOT NULL DEFAULT 0, -- of those, removed
            galat TEXT NOT NULL DEFAULT ''
        ) STRICT""",
        "INSERT INTO penyimpanan_cek (id, mulai) VALUES (1, 0)",
    ):
        db.execute(statement)


@migrations(name="023_jejak_diterima")
def m023_jejak_diterima(db: Database) -> None:
    # Entries a read-only request recorded in the local spool (db/spool.py: an officer opening a case, a wrong
    # tracking code), by id, once the primary has written them into the audit log or the attempt log: a batch
    # taken in twice (a crash before its file was removed, a replica's hand-over retried) is applied once. Rows
    # older than a month are pruned as batches arrive (a batch is retried within minutes, not weeks).
    db.execute("""CREATE TABLE jejak_diterima (
        id TEXT PRIMARY KEY,                -- the entry's own random id
        diterima REAL NOT NULL              -- epoch seconds (real clock) it was taken in
    ) STRICT""")
    db.execute("CREATE INDEX jejak_diterima_waktu ON jejak_diterima(diterima)")


@migrations(name="024_volume")
def m024_volume(db: Database) -> None:
    # A province in one file (issue 18): the indexes the heavy pages' query plans ask for, and the aggregates the
    # ministry's pages read, kept current by triggers (so every writer, a migration or a test's INSERT included,
    # keeps them right). Statements one by one (executescript would commit the migration's transaction first).
    for statement in _VOLUME_INDEXES + _VOLUME_TABLES + _VOLUME_TRIGGERS + _VOLUME_BACKFILL:
        db.execute(statement)


_VOLUME_INDEXES = (
    # an object's audit trail (the case page, the citizen's "who opened it"): no scan of the whole log
    "CREATE INDEX audit_objek ON audit(objek)",
    # the hall screen (today's tickets of a region) and "does this region use the queue"
    "CREATE INDEX tiket_wilayah_tanggal ON tiket(wilayah_kode, tanggal)",
    # "does this region process applications" (criteria)
    "CREATE INDEX permohonan_wilayah_diajukan ON permohonan(wilayah_kode, diajukan)",
    # the officer's inbox, oldest first, with what its filters read: pages without sorting, keyset or OFFSET
    """CREATE INDEX permohonan_kotak_masuk ON permohonan(instansi_id, diajukan, id, status, tenggat, layanan_id)
       WHERE status != 'draf'""",
    # a region's open cases past their due date, most overdue first (the region manager's dashboard)
    """CREATE INDEX permohonan_terbuka_wilayah ON permohonan(wilayah_kode, tenggat)
       WHERE status IN ('diajukan', 'diverifikasi', 'perlu_perbaikan', 'disetujui')""",
    # fiktif positif: the undecided applications past their due date, not every application every round
    """CREATE INDEX permohonan_lewat_tenggat ON permohonan(tenggat, layanan_id)
       WHERE status IN ('diajukan', 'diverifikasi', 'disetujui') AND ditahan = ''""",
    # medians in order, per region: time to finish an application, time a called ticket waited after its slot
    # (the slot read as UTC: the region's zone shifts all of its tickets alike, so the order is the same)
    """CREATE INDEX permohonan_lama_selesai ON permohonan(wilayah_kode, julianday(selesai) - julianday(diajukan))
       WHERE status = 'selesai' AND diajukan IS NOT NULL AND selesai IS NOT NULL""",
    """CREATE INDEX tiket_lama_tunggu ON tiket(wilayah_kode, julianday(dipanggil) - julianday(tanggal || 'T' || jam))
       WHERE dipanggil IS NOT NULL""",
)

_VOLUME_TABLES = (
    # applications per region and status (drafts included; pages leave them out)
    """CREATE TABLE kinerja_status (
        wilayah_kode TEXT NOT NULL,
        status TEXT NOT NULL,
        jumlah INTEGER NOT NULL,
        PRIMARY KEY (wilayah_kode, status)
    ) STRICT, WITHOUT ROWID""",
    # finished applications per region: how many (diajukan and selesai known), how many with a due date, and how
    # many of those finished on or before it by the region's own calendar day
    """CREATE TABLE kinerja_selesai (
        wilayah_kode TEXT PRIMARY KEY,
        selesai INTEGER NOT NULL,
        berbatas INTEGER NOT NULL,
        tepat INTEGER NOT NULL
    ) STRICT, WITHOUT ROWID""",
    # called queue tickets per region
    """CREATE TABLE kinerja_antrean (
        wilayah_kode TEXT PRIMARY KEY,
        dipanggil INTEGER NOT NULL
    ) STRICT, WITHOUT ROWID""",
    # SKM answers per region and agency (0: none named): respondents and the sum of each element
    """CREATE TABLE skm_ringkasan (
        wilayah_kode TEXT NOT NULL,
        instansi_id INTEGER NOT NULL,
        responden INTEGER NOT NULL,
        u1 INTEGER NOT NULL, u2 INTEGER NOT NULL, u3 INTEGER NOT NULL, u4 INTEGER NOT NULL, u5 INTEGER NOT NULL,
        u6 INTEGER NOT NULL, u7 INTEGER NOT NULL, u8 INTEGER NOT NULL, u9 INTEGER NOT NULL,
        PRIMARY KEY (wilayah_kode, instansi_id)
    ) STRICT, WITHOUT ROWID""",
)


def _finished(row: str, sign: str) -> str:
    """Add (``+``) or take away (``-``) one application ``row`` (NEW or OLD) from ``kinerja_selesai``."""
    late = f"""CASE WHEN coalesce({row}.tenggat, '') = '' THEN 0 ELSE coalesce(date({row}.selesai,
                   (SELECT CASE p.zona_waktu WHEN 'WITA' THEN '+8 hours' WHEN 'WIT' THEN '+9 hours' ELSE '+7 hours' END
                    FROM kabkota k JOIN provinsi p ON p.kode = k.provinsi_kode WHERE k.kode = {row}.wilayah_kode))
                   <= {row}.tenggat, 0) END"""
    return f"""INSERT INTO kinerja_selesai (wilayah_kode, selesai, berbatas, tepat)
               SELECT {row}.wilayah_kode, {sign}1, {sign}(coalesce({row}.tenggat, '') != ''), {sign}({late})
               WHERE {row}.status = 'selesai' AND {row}.diajukan IS NOT NULL AND {row}.selesai IS NOT NULL
               ON CONFLICT (wilayah_kode) DO UPDATE SET selesai = selesai + excluded.selesai,
                   berbatas = berbatas + excluded.berbatas, tepat = tepat + excluded.tepat;"""


def _status(row: str, sign: str) -> str:
    return f"""INSERT INTO kinerja_status (wilayah_kode, status, jumlah)
               VALUES ({row}.wilayah_kode, {row}.status, {sign}1)
               ON CONFLICT (wilayah_kode, status) DO UPDATE SET jumlah = jumlah + excluded.jumlah;"""


def _called(row: str, sign: str) -> str:
    return f"""INSERT INTO kinerja_antrean (wilayah_kode, dipanggil) SELECT {row}.wilayah_kode, {sign}1
               WHERE {row}.dipanggil IS NOT NULL
               ON CONFLICT (wilayah_kode) DO UPDATE SET dipanggil = dipanggil + excluded.dipanggil;"""


_U = [f"u{i}" for i in range(1, 10)]


def _survey(row: str, sign: str) -> str:
    return f"""INSERT INTO skm_ringkasan (wilayah_kode, instansi_id, responden, {', '.join(_U)})
               VALUES ({row}.wilayah_kode, coalesce({row}.instansi_id, 0), {sign}1,
                       {', '.join(f'{sign}{row}.{u}' for u in _U)})
               ON CONFLICT (wilayah_kode, instansi_id) DO UPDATE SET responden = responden + excluded.responden,
                   {', '.join(f'{u} = {u} + excluded.{u}' for u in _U)};"""


_VOLUME_TRIGGERS = (
    f"CREATE TRIGGER kinerja_permohonan_baru AFTER INSERT ON permohonan BEGIN {_status('NEW', '')} "
    f"{_finished('NEW', '')} END",
    f"CREATE TRIGGER kinerja_permohonan_hapus AFTER DELETE ON permohonan BEGIN {_status('OLD', '-')} "
    f"{_finished('OLD', '-')} END",
    f"""CREATE TRIGGER kinerja_permohonan_ubah AFTER UPDATE OF status, wilayah_kode, diajukan, selesai, tenggat
        ON permohonan BEGIN {_status('OLD', '-')} {_finished('OLD', '-')} {_status('NEW', '')} {_finished('NEW', '')}
        END""",
    f"CREATE TRIGGER kinerja_tiket_baru AFTER INSERT ON tiket BEGIN {_called('NEW', '')} END",
    f"CREATE TRIGGER kinerja_tiket_hapus AFTER DELETE ON tiket BEGIN {_called('OLD', '-')} END",
    f"""CREATE TRIGGER kinerja_tiket_ubah AFTER UPDATE OF dipanggil, wilayah_kode ON tiket
        BEGIN {_called('OLD', '-')} {_called('NEW', '')} END""",
    f"CREATE TRIGGER skm_ringkasan_baru AFTER INSERT ON skm BEGIN {_survey('NEW', '')} END",
    f"CREATE TRIGGER skm_ringkasan_hapus AFTER DELETE ON skm BEGIN {_survey('OLD', '-')} END",
    f"CREATE TRIGGER skm_ringkasan_ubah AFTER UPDATE ON skm BEGIN {_survey('OLD', '-')} {_survey('NEW', '')} END",
)

_VOLUME_BACKFILL = (
    "INSERT INTO kinerja_status SELECT wilayah_kode, status, count(*) FROM permohonan GROUP BY wilayah_kode, status",
    """INSERT INTO kinerja_selesai
        SELECT p.wilayah_kode, count(*), sum(coalesce(p.tenggat, '') != ''),
               sum(CASE WHEN coalesce(p.tenggat, '') = '' THEN 0 ELSE coalesce(date(p.selesai,
                   CASE pr.zona_waktu WHEN 'WITA' THEN '+8 hours' WHEN 'WIT' THEN '+9 hours' ELSE '+7 hours' END)
                   <= p.tenggat, 0) END)
        FROM permohonan p JOIN kabkota k ON k.kode = p.wilayah_kode JOIN provinsi pr ON pr.kode = k.provinsi_kode
        WHERE p.status = 'selesai' AND p.diajukan IS NOT NULL AND p.selesai IS NOT NULL GROUP BY p.wilayah_kode""",
    "INSERT INTO kinerja_antrean SELECT wilayah_kode, count(*) FROM tiket WHERE dipanggil IS NOT NULL "
    "GROUP BY wilayah_kode",
    f"""INSERT INTO skm_ringkasan SELECT wilayah_kode, coalesce(instansi_id, 0), count(*),
        {', '.join(f'sum({u})' for u in _U)} FROM skm GROUP BY wilayah_kode, coalesce(instansi_id, 0)""",
)


def migrate(db: Database) -> list[str]:
    """Apply pending migrations under one ``BEGIN IMMEDIATE``; return their names."""
    with write(db):
        pending = [m.name for m in migrations.pending(db)]
        migrations.apply(db)
    return pending
