"""Fixtures: a freshly migrated and seeded database per test, and a client for it.

The reference data (7,800 regions, the catalogue) is seeded once per test
session into a template file; each test gets its own copy, so tests never share
state and never depend on order.
"""

from __future__ import annotations

import io
import os
import shutil

import pytest
from starlette.testclient import TestClient

from app import create_app
from db.connection import connect
from ops import seed
from tests.s3_support import on_s3, s3_bucket, s3_server  # noqa: F401 - the S3 server's fixtures, for every test
from web.settings import Settings

# Servers the tests start in their own process (browser, weak network, Litestream) inherit this: SQLite
# touched on the event loop is an error there too, not a log line.
os.environ.setdefault("MPP_LOOP_GUARD", "raise")
# And a GET or HEAD that writes to SQLite (LiteFS replicas answer those read-only): an error, not a log line.
os.environ.setdefault("MPP_GET_WRITES", "raise")

TEMPLATE_KEY = "ZmFrZS10ZW1wbGF0ZS1rZXktZm9yLXRlc3RzLW9ubHk"  # 32 bytes, tests only
SIGNING_KEY = "dGVzdC1zaWduaW5nLWtleS0zMi1ieXRlcy1sb25nISE"  # 32 bytes, tests only


def pytest_collection_modifyitems(config, items):
    """With MPP_TEST_STORAGE=s3 (`make test` runs the suite so a second time, `make test-s3`): every test whose app
    takes its storage from the ``settings`` fixture below. The others (their own server processes with their own
    environment, biometrics, the layering check, ...) store no file there, so they would only run twice the same."""
    if os.environ.get("MPP_TEST_STORAGE") != "s3":
        return
    kept = [item for item in items if "settings" in getattr(item, "fixturenames", ())]
    if len(kept) < len(items):
        config.hook.pytest_deselected(items=[item for item in items if item not in kept])
        items[:] = kept


@pytest.fixture(scope="session")
def template_db(tmp_path_factory) -> str:
    path = tmp_path_factory.mktemp("template") / "mpp.db"
    db = connect(path)
    seed.seed(db, demo=True)
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    db.conn.close()
    return str(path)


@pytest.fixture(scope="session")
def template_db_faces(template_db, tmp_path_factory) -> str:
    """The seeded template plus the demo residents' reference faces (needs the shared photos)."""
    from faces_support import FACES_DIR, HAVE_FACES

    if not HAVE_FACES:
        pytest.skip(f"shared face photos not found at {FACES_DIR} (set MPP_FACES_DIR)")
    path = tmp_path_factory.mktemp("template_faces") / "mpp.db"
    shutil.copy(template_db, path)
    db = connect(path)
    assert seed.enrol_faces(db, TEMPLATE_KEY, FACES_DIR, out=io.StringIO()) >= 5
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    db.conn.close()
    return str(path)


@pytest.fixture
def db_path(request, template_db, tmp_path) -> str:
    """A private copy of the template database; tests marked ``faces`` get reference photos enrolled."""
    if request.node.get_closest_marker("faces"):
        template_db = request.getfixturevalue("template_db_faces")
    path = tmp_path / "mpp.db"
    shutil.copy(template_db, path)
    return str(path)


@pytest.fixture
def settings(request, db_path) -> Settings:
    """Uploaded files go to the folder ``objek/`` beside the test's database copy (its own, like the copy), or,
    with MPP_TEST_STORAGE=s3 (make test-s3), to a new bucket of the real S3 server (tests/s3_support.py)."""
    settings = Settings(db_path=db_path, secret_key="test-secret-key-not-for-production", demo=True,
                        template_key=TEMPLATE_KEY, signing_key=SIGNING_KEY, loop_guard="raise",
                        get_writes="raise")
    if os.environ.get("MPP_TEST_STORAGE") == "s3":
        settings = on_s3(settings, request.getfixturevalue("s3_server"))
    return settings


@pytest.fixture
def app(settings):
    return create_app(settings, quiet=True)


@pytest.fixture
def client(app):
    with TestClient(app, base_url="http://127.0.0.1") as c:
        yield c


@pytest.fixture
def db(db_path):
    conn = connect(db_path)
    yield conn
    conn.conn.close()
