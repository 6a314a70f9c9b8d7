"""The application's dependencies, built once from ``Settings`` and shared by routes and jobs alike.

``build(settings)`` chooses every adapter by configuration: the population registry (Dukcapil over
HTTP, or the embedded one), the health workers' registry (SISDMK), the e-signature service (TTE),
the SMS gateway, the object store of uploaded documents and sealed PDFs (a local folder, or S3); it
loads the keys and makes the face engine (its models load once per process).
Routes reach these through ``request.app.state.deps`` (``web.identity.identity_of``, ``web.pelayanan.pelayanan_of``);
the background job gets the very same objects, so it never talks to a registry the routes do not.
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace

from biometrics.engine import FaceEngine
from biometrics.models import get_landmarks_68, get_models
from biometrics.templates import parse_key
from db.connection import Store
from db.spool import Spool
from integrations.dukcapil import EmbeddedDukcapil, HttpDukcapil
from integrations.penyimpanan import ObjectStore, store_for
from integrations.primer import PrimaryLink
from integrations.sisdmk import EmbeddedSisdmk, HttpSisdmk
from integrations.sms import sender_for
from integrations.tte import tte_for
from services.identitas import Identity
from services.permohonan import Pelayanan
from services.ttd import load_signing_key
from web.litefs import Cluster
from web.proses import JobLease, SubmitClaims
from web.settings import Settings


class FaceServices:
    """The face engine and template key of the process; models load once (``warm_up`` in the background)."""

    def __init__(self, settings: Settings):
        self.engine = FaceEngine()
        self.key = parse_key(settings.template_key)
        self.thresholds = settings.face_thresholds
        self.ready = threading.Event()

    def warm_up(self) -> None:
        """Load the models once, off the event loop, so the first selfie is not slowed."""
        def load():
            get_models()
            get_landmarks_68()  # liveness only, but the first selfie should not wait for it
            self.ready.set()
        threading.Thread(target=load, name="face-models", daemon=True).start()


class OwnThreads:
    """A small thread pool of its own, made on first use (and again after ``close``, for an app started twice)."""

    def __init__(self, size: int, name: str):
        self.size, self.name = size, name
        self._pool: ThreadPoolExecutor | None = None
        self._lock = threading.Lock()

    def pool(self) -> ThreadPoolExecutor:
        with self._lock:
            if self._pool is None:
                self._pool = ThreadPoolExecutor(max_workers=self.size, thread_name_prefix=self.name)
            return self._pool

    def close(self) -> None:
        with self._lock:
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=True)


@dataclass(frozen=True)
class Deps:
    settings: Settings
    store: Store
    faces: FaceServices
    identity: Identity       # the identity service (registry, face engine, keys), stateless: one for all
    pelayanan: Pelayanan     # the application service, without a client address (jobs)
    signing_key: object      # Ed25519PrivateKey of the documents' QR signature
    tte: object              # the PDF seal (integrations.tte)
    sender: object           # the SMS gateway (integrations.sms)
    idempotency_threads: OwnThreads  # web/formguard.py's stored answers, apart from the request pool
    spool: Spool             # what reads must record, outside SQLite until the primary takes it (services/jejak.py)
    cluster: Cluster         # LiteFS: is this machine the primary (web/litefs.py)
    primary: PrimaryLink     # a replica's way to the primary's app (the spool hand-over)
    objects: ObjectStore | None = None  # uploaded documents and sealed PDFs (integrations.penyimpanan)
    storage_threads: OwnThreads = field(default_factory=lambda: OwnThreads(1, "penyimpanan"))  # its hourly check
    claims: SubmitClaims | None = None  # submits in flight, across this machine's worker processes (web/proses.py)
    lease: JobLease | None = None       # which worker process runs the background job (web/proses.py)

    def close(self) -> None:
        """At the end of the last lifespan: stop the extra threads, close every thread's connection."""
        self.idempotency_threads.close()
        self.storage_threads.close()  # a storage check still running ends before the connections close
        self.store.close()
        if self.claims is not None:
            self.claims.close()
        if self.lease is not None:
            self.lease.close()

    def pelayanan_for(self, klien: str) -> Pelayanan:
        """The application service for one client address (look-ups of other NIKs are limited per client)."""
        return replace(self.pelayanan, klien=klien)


def build(settings: Settings) -> Deps:
    store = Store(settings.db_path, loop_guard=settings.loop_guard)
    faces = FaceServices(settings)
    db = store.db  # a proxy: every use finds the calling thread's own connection
    registry = (HttpDukcapil(settings.dukcapil_url, settings.dukcapil_token) if settings.dukcapil_url
                else EmbeddedDukcapil(db, faces.key))
    sisdmk = (HttpSisdmk(settings.sisdmk_url, settings.sisdmk_token) if settings.sisdmk_url
              else EmbeddedSisdmk(db))
    signing_key = load_signing_key(settings.signing_key)
    identity = Identity(db=db, registry=registry, engine=faces.engine, key=faces.key,
                        thresholds=faces.thresholds, stepup_minutes=settings.stepup_minutes)
    objects = objects_for(settings)
    pelayanan = Pelayanan(db=db, registry=registry, sisdmk=sisdmk, signing_key=signing_key, objects=objects)
    return Deps(settings=settings, store=store, faces=faces, identity=identity, pelayanan=pelayanan,
                signing_key=signing_key, tte=tte_for(settings.tte_url, settings.tte_token, settings.tte_folder),
                sender=sender_for(settings.sms_url, settings.sms_token),
                idempotency_threads=OwnThreads(2, "idempotensi"), spool=Spool(settings.spool_folder),
                cluster=Cluster(settings.litefs_dir),
                primary=PrimaryLink(settings.primary_url, settings.internal_bearer), objects=objects,
                claims=SubmitClaims(settings.spool_folder), lease=JobLease(settings.db_path))


def objects_for(settings: Settings) -> ObjectStore:
    """The object store of the configuration: S3 (MPP_S3_BUCKET), else the local folder (also for ops/)."""
    return store_for(settings.files_folder, settings.s3_bucket, settings.s3_endpoint, settings.s3_region,
                     settings.s3_access_key_id, settings.s3_secret_access_key)

