"""Configuration from the environment, read once at start-up.

| variable | default | meaning |
|---|---|---|
| MPP_DB | data/mpp.db | SQLite database file |
| MPP_SECRET_KEY | generated into data/secret.key | signs session cookies and tokens |
| MPP_HTTPS | 0 | 1 behind TLS: Secure cookies and HSTS |
| MPP_DEMO | 1 | seed demo regions and accounts into an empty database |
| MPP_TEMPLATE_KEY | generated into data/template.key | AES-256-GCM key of face templates (base64url, 32 bytes) |
| MPP_STEPUP_MINUTES | 30 | a fresh selfie is asked before issuing a document if the last face check is older |
| MPP_FACE_MATCH_MAX / MPP_FACE_REVIEW_MAX | see biometrics.matching | face distance bands |
| MPP_DUKCAPIL_URL / MPP_DUKCAPIL_TOKEN | (embedded registry) | an HTTP population registry instead of the embedded one |
| MPP_SIGNING_KEY | generated into data/signing.key | Ed25519 private key (base64url, 32 bytes) that signs issued documents |
| MPP_TTE_DIR | data/tte (beside the database) | local CA and seal certificate that sign the PDFs (PAdES), made at first start |
| MPP_TTE_URL / MPP_TTE_TOKEN | (local CA) | the national e-signature service's gateway (BSrE TTE) instead; contract in integrations/tte.py |
| MPP_CLIENT_IP_HEADER | (socket peer) | header carrying the client address set by the proxy (Fly: fly-client-ip) |
| MPP_NOW | (real clock) | pins "now" (ISO with zone) for browser tests and demos on a working day |
| MPP_SMS_URL / MPP_SMS_TOKEN | (log only) | an HTTP SMS gateway for the outbox (codes, status updates) |
| MPP_FACE_WARMUP | 1 | load the face models in the background at start-up (first selfie not slowed) |
| MPP_FACES_DIR | ../shared/faces | photos for face tests and enrolment |
| PORT | 8000 | port of `make run` |
"""

from __future__ import annotations

import base64
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


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

    @property
    def tte_folder(self) -> Path:
        """Where the local CA lives: MPP_TTE_DIR, else beside the database (on the volume in production)."""
        return Path(self.tte_dir) if self.tte_dir else Path(self.db_path).parent / "tte"

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> "Settings":
        env = dict(os.environ if env is None else env)
        db_path = env.get("MPP_DB", str(ROOT / "data" / "mpp.db"))
        return cls(
            db_path=db_path,
            secret_key=env.get("MPP_SECRET_KEY") or _local_secret(Path(db_path).parent, "secret.key"),
            template_key=env.get("MPP_TEMPLATE_KEY") or _local_secret(Path(db_path).parent, "template.key", 32),
            stepup_minutes=int(env.get("MPP_STEPUP_MINUTES", "30")),
            dukcapil_url=env.get("MPP_DUKCAPIL_URL", ""),
            dukcapil_token=env.get("MPP_DUKCAPIL_TOKEN", ""),
            face_warmup=env.get("MPP_FACE_WARMUP", "1") == "1",
            background_jobs=True,
            client_ip_header=env.get("MPP_CLIENT_IP_HEADER", "").lower(),
            sms_url=env.get("MPP_SMS_URL", ""),
            sms_token=env.get("MPP_SMS_TOKEN", ""),
            signing_key=env.get("MPP_SIGNING_KEY") or _local_secret(Path(db_path).parent, "signing.key", 32),
            tte_dir=env.get("MPP_TTE_DIR", ""),
            tte_url=env.get("MPP_TTE_URL", ""),
            tte_token=env.get("MPP_TTE_TOKEN", ""),
            https=env.get("MPP_HTTPS", "0") == "1",
            demo=env.get("MPP_DEMO", "1") == "1",
        )


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
