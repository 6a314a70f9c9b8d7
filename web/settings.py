"""Configuration from the environment, read once at start-up.

MPP_DB (default data/mpp.db): SQLite database file
MPP_SECRET_KEY (default generated into data/secret.key): signs session cookies and tokens
MPP_HTTPS (default 0): 1 behind TLS: Secure cookies and HSTS
MPP_DEMO (default 1 (0 with MPP_HTTPS=1)): seed demo regions and accounts (published password) into an empty
    database; demo pages
MPP_DEMO_PRODUCTION (default 0): 1 = MPP_DEMO=1 is really wanted with MPP_HTTPS=1 (a public demo site); else that
    start is refused
MPP_BASE_URL (default http://127.0.0.1:$PORT (required with MPP_HTTPS=1)): canonical address: QR codes, SMS links,
    allowed Host
MPP_ALLOWED_HOSTS (default none): more Host names served, comma-separated (the base URL's host always; loopback
    names without MPP_HTTPS)
MPP_TEMPLATE_KEY (default generated into data/template.key): AES-256-GCM key of face templates (base64url, 32 bytes)
MPP_STEPUP_MINUTES (default 30): a fresh selfie is asked before issuing a document if the last face check is older
MPP_FACE_MATCH_MAX / MPP_FACE_REVIEW_MAX (default see biometrics.matching): face distance bands
MPP_DUKCAPIL_URL / MPP_DUKCAPIL_TOKEN (default (embedded registry)): an HTTP population registry instead of the
    embedded one
MPP_SIGNING_KEY (default generated into data/signing.key): Ed25519 private key (base64url, 32 bytes) that signs
    issued documents
MPP_TTE_DIR (default data/tte (beside the database)): local CA and seal certificate that sign the PDFs (PAdES), made
    at first start
MPP_TTE_URL / MPP_TTE_TOKEN (default (local CA)): the national e-signature service's gateway (BSrE TTE) instead;
    contract in integrations/tte.py
MPP_CLIENT_IP_HEADER (default (socket peer; required with MPP_HTTPS=1)): header carrying the client address set by
    the proxy (Fly: fly-client-ip); the only source of the address for rate limits
MPP_NOW (default (real clock)): pins "now" (ISO with zone) for browser tests and demos on a working day
MPP_SMS_URL / MPP_SMS_TOKEN (default (log only)): an HTTP SMS gateway for the outbox (codes, status updates)
MPP_FACE_WARMUP (default 1): load the face models in the background at start-up (first selfie not slowed)
MPP_FACES_DIR (default ../shared/faces): photos for face tests and enrolment
MPP_FORM_MAX_BYTES (default 65536): largest body of a POST that is not a file upload (multipart: 12 MB)
MPP_BODY_IDLE_SECONDS / MPP_BODY_SECONDS (default 30 / 600): a POST body silent this long / taking longer than this
    in all is cut off (408)
MPP_IDEM_HOURS (default 24): how long the first answer of a submit is kept for a retried submit
MPP_LOG_LEVEL (default info): level of the request log (one JSON line per request on stderr)
MPP_SISDMK_URL / MPP_SISDMK_TOKEN (default (embedded registry)): the health workers' registry (SISDMK/STR) over HTTP
    instead of the embedded one
MPP_METRICS_TOKEN (default none): bearer token that opens /metrics to a scraper (else ministry accounts only)
MPP_LOOP_GUARD (default log): database work on the event loop: `log` it with its stack, `raise` (the tests), `off`
MPP_GET_WRITES (default log): a SQLite write while a GET/HEAD is answered: `log` it with its stack, `raise` (the
    tests), `off`
MPP_LITEFS_DIR (default none): the LiteFS mount (e.g. /litefs); set, a machine whose mount holds `.primary` is a
    replica: it answers every write with `fly-replay` and runs no background job but shipping its spool
MPP_SPOOL_DIR (default spool beside the database; required beside MPP_LITEFS_DIR): the local spool of access-log
    entries made while reading (an officer opening a case), drained into the audit log by the primary
MPP_INTERNAL_TOKEN (default derived from MPP_SECRET_KEY): bearer token of the internal POST by which a replica
    hands its spooled entries to the primary
MPP_PRIMARY_URL (default http://{primary}:$PORT): where a replica reaches the primary's app, `{primary}` being the
    host LiteFS names in `.primary` (Fly: http://{primary}.vm.<app>.internal:8081)
MPP_FILES_DIR (default objek beside the database): the local folder of uploaded documents and sealed PDFs when no
    bucket is set (`make run`; not replicated by Litestream: production sets MPP_S3_BUCKET)
MPP_S3_BUCKET (default none): keep those files in this S3 bucket instead (Tigris on Fly, AWS, any S3 API)
MPP_S3_ENDPOINT / MPP_S3_REGION (default AWS_ENDPOINT_URL_S3 / AWS_REGION, else AWS itself / us-east-1): where the
    bucket is
MPP_S3_ACCESS_KEY_ID / MPP_S3_SECRET_ACCESS_KEY (default AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY, else boto3's own
    chain): the bucket's keys
HOST / PORT (default 127.0.0.1 / 8000): address `python app.py` listens on (PORT also for `make run`)
"""

from __future__ import annotations

import base64
import hashlib
import os
import secrets
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from biometrics.matching import Thresholds

ROOT = Path(__file__).resolve().parent.parent

# uvicorn's own limits, the same for the image (Dockerfile CMD), `python app.py` and bench/server.py.
# One machine of 512 MB-1 GB with ~280 MB resident at rest: 256 open connections at most (beyond,
# uvicorn answers 503 at once instead of queueing into memory); each costs at most ~16 KB of
# unparsed header (h11) + 64 KB of unread body (uvicorn pauses reading there) + 64 KB spooled by the
# form guard before its temporary file takes over: under 60 MB in all. 200 simulated users (bench)
# fit. Idle keep-alive connections are closed after 5 s (a page's assets follow within that).
SERVER_LIMITS = {"limit_concurrency": 256, "timeout_keep_alive": 5, "h11_max_incomplete_event_size": 16 * 1024}


class ConfigError(ValueError):
    """A configuration the app refuses to start with; the message says what to set."""


@dataclass(frozen=True)
class Settings:
    db_path: str
    secret_key: str
    https: bool = False
    demo: bool = True
    template_key: str = ""
    stepup_minutes: int = 30
    dukcapil_url: str = ""
    dukcapil_token: str = ""
    face_warmup: bool = False
    signing_key: str = ""
    tte_dir: str = ""  # '' = "tte" beside the database
    tte_url: str = ""
    tte_token: str = ""
    background_jobs: bool = False
    client_ip_header: str = ""
    sms_url: str = ""
    sms_token: str = ""
    max_body_bytes: int = 12 * 1024 * 1024
    session_max_age: int = 14 * 24 * 3600
    form_max_bytes: int = 64 * 1024      # urlencoded and any other body that is not multipart
    body_idle_seconds: float = 30.0      # silence allowed between two pieces of a body
    body_seconds: float = 600.0          # a whole body, however it trickles
    idem_hours: int = 24                 # stored first answers of submits (web/formguard.py)
    log_level: str = "info"
    base_url: str = "http://127.0.0.1"  # canonical address: every absolute link (QR, SMS) starts with it
    extra_hosts: tuple[str, ...] = ()   # more Host names served (MPP_ALLOWED_HOSTS)
    sisdmk_url: str = ""
    sisdmk_token: str = ""
    metrics_token: str = ""
    loop_guard: str = "log"             # SQLite on the event loop: "raise" (tests), "log", "off"
    get_writes: str = "log"             # SQLite writes while a GET/HEAD is answered: "raise" (tests), "log", "off"
    litefs_dir: str = ""                # the LiteFS mount: '' = one machine, no replicas (Litestream mode)
    spool_dir: str = ""                 # '' = "spool" beside the database
    internal_token: str = ""            # '' = derived from secret_key (the replicas' spool hand-over)
    primary_url: str = "http://{primary}:8000"  # the primary's app, {primary} from LiteFS's .primary file
    face_thresholds: Thresholds = field(default_factory=Thresholds)
    files_dir: str = ""                 # '' = "objek" beside the database (used when no bucket is set)
    s3_bucket: str = ""                 # set: files in this S3 bucket (integrations/penyimpanan.py)
    s3_endpoint: str = ""
    s3_region: str = ""
    s3_access_key_id: str = ""
    s3_secret_access_key: str = ""

    def url(self, path: str) -> str:
        """The absolute address of ``path`` ("/verifikasi/…") at the canonical base URL, never at the Host asked."""
        return self.base_url.rstrip("/") + "/" + path.lstrip("/")

    @property
    def allowed_hosts(self) -> list[str]:
        """Host names a request may name: the base URL's, the configured extras, and on a development
        machine (no MPP_HTTPS) the loopback names too (``testserver`` is Starlette's test client)."""
        hosts = {urlsplit(self.base_url).hostname or "", *self.extra_hosts}
        if not self.https:
            hosts |= {"127.0.0.1", "localhost", "::1", "testserver"}
        return sorted(h.lower() for h in hosts if h)

    @property
    def spool_folder(self) -> Path:
        """Where access-log entries made while reading wait for the audit log: MPP_SPOOL_DIR, else beside the
        database (on the volume; under LiteFS the mount holds databases only, so MPP_SPOOL_DIR is required)."""
        return Path(self.spool_dir) if self.spool_dir else Path(self.db_path).parent / "spool"

    @property
    def internal_bearer(self) -> str:
        """The token a replica sends with its spooled entries to the primary (every machine of a deployment
        shares MPP_SECRET_KEY, so by default the token is derived from it)."""
        if self.internal_token:
            return self.internal_token
        return hashlib.sha256(b"mpp-internal-spool\0" + self.secret_key.encode()).hexdigest()

    @property
    def files_folder(self) -> Path:
        """Where files live without a bucket: MPP_FILES_DIR, else beside the database."""
        return Path(self.files_dir) if self.files_dir else Path(self.db_path).parent / "objek"

    @property
    def tte_folder(self) -> Path:
        """Where the local CA lives: MPP_TTE_DIR, else beside the database (on the volume in production)."""
        return Path(self.tte_dir) if self.tte_dir else Path(self.db_path).parent / "tte"

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> Settings:
        env = dict(os.environ if env is None else env)
        db_path = env.get("MPP_DB", str(ROOT / "data" / "mpp.db"))
        return cls(
            db_path=db_path,
            secret_key=env.get("MPP_SECRET_KEY") or _local_secret(Path(db_path).parent, "secret.key"),
            template_key=env.get("MPP_TEMPLATE_KEY") or _local_secret(Path(db_path).parent, "template.key", 32),
            stepup_minutes=_number(env, "MPP_STEPUP_MINUTES", int, "30"),
            dukcapil_url=env.get("MPP_DUKCAPIL_URL", ""),
            dukcapil_token=env.get("MPP_DUKCAPIL_TOKEN", ""),
            face_warmup=env.get("MPP_FACE_WARMUP", "1") == "1",
            background_jobs=True,
            client_ip_header=client_ip_header_from(env),
            sms_url=env.get("MPP_SMS_URL", ""),
            sms_token=env.get("MPP_SMS_TOKEN", ""),
            signing_key=env.get("MPP_SIGNING_KEY") or _local_secret(Path(db_path).parent, "signing.key", 32),
            tte_dir=env.get("MPP_TTE_DIR", ""),
            tte_url=env.get("MPP_TTE_URL", ""),
            tte_token=env.get("MPP_TTE_TOKEN", ""),
            https=env.get("MPP_HTTPS", "0") == "1",
            demo=demo_wanted(env),
            form_max_bytes=_number(env, "MPP_FORM_MAX_BYTES", int, "65536"),
            body_idle_seconds=_number(env, "MPP_BODY_IDLE_SECONDS", float, "30"),
            body_seconds=_number(env, "MPP_BODY_SECONDS", float, "600"),
            idem_hours=_number(env, "MPP_IDEM_HOURS", int, "24"),
            log_level=log_level_from(env),
            base_url=base_url_from(env),
            extra_hosts=tuple(h.strip().lower() for h in env.get("MPP_ALLOWED_HOSTS", "").split(",") if h.strip()),
            sisdmk_url=env.get("MPP_SISDMK_URL", ""),
            sisdmk_token=env.get("MPP_SISDMK_TOKEN", ""),
            metrics_token=env.get("MPP_METRICS_TOKEN", ""),
            loop_guard=_choice(env, "MPP_LOOP_GUARD", ("log", "raise", "off")),
            get_writes=_choice(env, "MPP_GET_WRITES", ("log", "raise", "off")),
            litefs_dir=env.get("MPP_LITEFS_DIR", "").strip(),
            spool_dir=spool_dir_from(env),
            internal_token=env.get("MPP_INTERNAL_TOKEN", "").strip(),
            primary_url=env.get("MPP_PRIMARY_URL", "").strip() or f"http://{{primary}}:{env.get('PORT') or '8000'}",
            face_thresholds=Thresholds.from_env(env),
            **storage_from(env),
        )


def spool_dir_from(env: dict[str, str]) -> str:
    """MPP_SPOOL_DIR; required with MPP_LITEFS_DIR (the FUSE mount takes SQLite databases only, and the spool
    must survive a restart: a folder on the machine's volume)."""
    spool = env.get("MPP_SPOOL_DIR", "").strip()
    if env.get("MPP_LITEFS_DIR", "").strip() and not spool:
        raise ConfigError("MPP_SPOOL_DIR wajib diisi bila MPP_LITEFS_DIR diisi: folder di volume mesin (mis. "
                          "/data/spool), bukan di dalam mount LiteFS, tempat catatan akses menunggu masuk ke log "
                          "audit.")
    return spool


def storage_from(env: dict[str, str]) -> dict[str, str]:
    """Where uploaded documents and sealed PDFs are kept: MPP_S3_BUCKET switches from the local folder to S3; the
    endpoint, region and keys fall back to the standard AWS_* variables (Fly's Tigris sets those)."""
    out = {"files_dir": env.get("MPP_FILES_DIR", "").strip(), "s3_bucket": env.get("MPP_S3_BUCKET", "").strip()}
    if not out["s3_bucket"]:
        return out
    endpoint = (env.get("MPP_S3_ENDPOINT") or env.get("AWS_ENDPOINT_URL_S3") or "").strip()
    if endpoint:
        parts = urlsplit(endpoint)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ConfigError(f"MPP_S3_ENDPOINT “{endpoint}” bukan alamat yang sah; tulis lengkap, mis. "
                              "https://fly.storage.tigris.dev.")
    key_id = (env.get("MPP_S3_ACCESS_KEY_ID") or env.get("AWS_ACCESS_KEY_ID") or "").strip()
    secret = (env.get("MPP_S3_SECRET_ACCESS_KEY") or env.get("AWS_SECRET_ACCESS_KEY") or "").strip()
    if bool(key_id) != bool(secret):
        raise ConfigError("MPP_S3_ACCESS_KEY_ID dan MPP_S3_SECRET_ACCESS_KEY harus diisi berdua (atau keduanya "
                          "kosong untuk kredensial bawaan mesin).")
    out.update(s3_endpoint=endpoint, s3_region=(env.get("MPP_S3_REGION") or env.get("AWS_REGION") or "").strip(),
               s3_access_key_id=key_id, s3_secret_access_key=secret)
    return out


def listen_address(env: dict[str, str] | None = None) -> tuple[str, int]:
    """Where ``python app.py`` listens: HOST (127.0.0.1) and PORT (8000); the server's, not the app's."""
    env = dict(os.environ if env is None else env)
    return env.get("HOST", "127.0.0.1"), _number(env, "PORT", int, "8000")


def workers_from(env: dict[str, str] | None = None) -> int:
    """How many worker processes serve (uvicorn's own WEB_CONCURRENCY, 1 by default): one per core on a VM of
    several. They share the database, the submits in flight and one background job (web/proses.py)."""
    env = dict(os.environ if env is None else env)
    workers = _number(env, "WEB_CONCURRENCY", int, "1")
    if workers > 64:
        raise ConfigError(f"WEB_CONCURRENCY “{workers}” terlalu banyak; tulis satu per inti CPU, misalnya 2 atau 4.")
    return workers


def _choice(env: dict[str, str], name: str, allowed: tuple[str, ...]) -> str:
    raw = env.get(name, "").strip() or allowed[0]
    if raw not in allowed:
        raise ConfigError(f"{name}={raw!r} tidak dikenal; pilih salah satu: {', '.join(allowed)}.")
    return raw


def base_url_from(env: dict[str, str]) -> str:
    """MPP_BASE_URL checked: ``scheme://host[:port]`` without a path; required in production (MPP_HTTPS=1),
    else ``http://127.0.0.1:<PORT>`` as ``make run`` serves it."""
    https = env.get("MPP_HTTPS", "0") == "1"
    raw = env.get("MPP_BASE_URL", "").strip()
    if not raw:
        if https:
            raise ConfigError("MPP_BASE_URL wajib diisi bila MPP_HTTPS=1: alamat resmi situs, mis. "
                              "https://mpp.contoh.go.id. Kode QR dokumen dan tautan di SMS dibuat dari alamat "
                              "ini, tidak pernah dari header Host permintaan.")
        return f"http://127.0.0.1:{env.get('PORT') or '8000'}"
    parts = urlsplit(raw)
    try:
        _ = parts.port
    except ValueError:
        parts = urlsplit("")
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.username or parts.password:
        raise ConfigError(f"MPP_BASE_URL “{raw}” bukan alamat situs yang sah; tulis lengkap, mis. "
                          "https://mpp.contoh.go.id.")
    if parts.path not in ("", "/") or parts.query or parts.fragment:
        raise ConfigError(f"MPP_BASE_URL “{raw}” harus alamat situs tanpa path, mis. https://mpp.contoh.go.id.")
    if https and parts.scheme != "https":
        raise ConfigError("MPP_BASE_URL harus diawali https:// bila MPP_HTTPS=1.")
    return f"{parts.scheme}://{parts.netloc.lower()}"


def demo_wanted(env: dict[str, str]) -> bool:
    """Demo mode (MPP_DEMO): on by default on a development machine, off by default in production
    (MPP_HTTPS=1), where asking for it also needs MPP_DEMO_PRODUCTION=1: demo mode seeds accounts whose
    password is published in the README and shows SMS codes on the page."""
    asked = env.get("MPP_DEMO", "").strip()
    if env.get("MPP_HTTPS", "0") != "1":
        return (asked or "1") == "1"
    if asked != "1":
        return False
    if env.get("MPP_DEMO_PRODUCTION", "0") == "1":
        return True
    raise ConfigError("MPP_DEMO=1 bersama MPP_HTTPS=1 akan membuat akun demo dengan kata sandi yang diumumkan "
                      "di README dan menampilkan kode SMS di halaman. Untuk produksi, hapus MPP_DEMO (atau "
                      "setel MPP_DEMO=0); untuk situs demo publik yang memang disengaja, setel juga "
                      "MPP_DEMO_PRODUCTION=1.")


def _number(env: dict[str, str], name: str, kind: type, default: str) -> int | float:
    """A positive number from the environment; anything else stops the start with what to write."""
    raw = env.get(name, default).strip()
    try:
        value = kind(raw)
    except ValueError:
        value = 0
    if not value > 0:
        raise ConfigError(f"{name} “{raw}” bukan angka positif yang sah; tulis misalnya {name}={default}.")
    return value


def log_level_from(env: dict[str, str]) -> str:
    level = env.get("MPP_LOG_LEVEL", "info").strip().lower()
    if level not in ("debug", "info", "warning", "error"):
        raise ConfigError(f"MPP_LOG_LEVEL “{level}” tidak dikenal; pilih debug, info, warning atau error.")
    return level


def _local_secret(folder: Path, name: str, nbytes: int = 32) -> str:
    """A per-machine key for development, kept beside the database (never committed).

    32 random bytes as URL-safe base64: usable both as a signing secret and as
    the AES-256 key of face templates.
    """
    path = folder / name
    if not path.exists():
        folder.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(base64.urlsafe_b64encode(secrets.token_bytes(nbytes)).decode().rstrip("="))
    return path.read_text().strip()


def client_ip_header_from(env: dict[str, str]) -> str:
    """MPP_CLIENT_IP_HEADER, lower-cased; required in production (MPP_HTTPS=1). Behind a proxy the socket
    peer is the proxy, so without this header every rate limit would count all citizens as one address;
    and ``X-Forwarded-For`` is never read in its place, since any client can write it."""
    header = env.get("MPP_CLIENT_IP_HEADER", "").strip().lower()
    if header and not all(c.isascii() and (c.isalnum() or c == "-") for c in header):
        raise ConfigError(f"MPP_CLIENT_IP_HEADER “{header}” bukan nama header yang sah, mis. fly-client-ip.")
    if not header and env.get("MPP_HTTPS", "0") == "1":
        raise ConfigError("MPP_CLIENT_IP_HEADER wajib diisi bila MPP_HTTPS=1: nama header yang diisi proxy dengan "
                          "alamat klien (Fly.io: fly-client-ip). Tanpa itu, batas percobaan masuk dan pendaftaran "
                          "tidak dapat membedakan klien; X-Forwarded-For tidak dipercaya karena siapa pun dapat "
                          "mengisinya.")
    return header
