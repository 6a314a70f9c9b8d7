"""`make bench-weaknet`: the four journeys across EDGE, 2G and Slow 3G links, with JS and without.

Prints ``name=value unit`` lines only, e.g. ``weaknet_2g_journey3_bytes_up=121279 bytes``
(with JavaScript) and ``weaknet_2g_nojs_journey3_bytes_up=...`` (JavaScript disabled).
Journey 1: cold first visit to ``/`` and to ``/layanan`` (each in an empty browser);
2: register with a selfie (needs the shared face photos; left out without them);
3: log in, apply for an akta kelahiran with one scan, reach the receipt;
4: later on the same phone, open the application's status.

``WEAKNET_PROFILES=2g`` limits the profiles; ``WEAKNET_NOJS=0`` leaves out the runs without JS;
``--cleanup`` only removes the namespaces of runs that were killed (each run does this first).
Needs root (network namespaces, TUN, tc) and Debian's chromium.
"""

from __future__ import annotations

import io
import os
import shutil
import sys
import tempfile
from pathlib import Path

from tests.weaknet import journeys as J
from tests.weaknet.link import PROFILES, Link, our_namespaces, remove_leftovers, unavailable

# importing journeys put tests/ on sys.path: browser_support, faces_support, posed are top-level there


def out(name: str, value, unit: str) -> None:
    print(f"{name}={value:.4g} {unit}" if isinstance(value, float) else f"{name}={value} {unit}", flush=True)


def report(prefix: str, m: J.Measured) -> None:
    out(f"{prefix}_bytes_down", m.bytes_down, "bytes")
    out(f"{prefix}_bytes_up", m.bytes_up, "bytes")
    out(f"{prefix}_requests", m.requests, "requests")
    out(f"{prefix}_wall_ms", round(m.wall_ms), "ms")
    out(f"{prefix}_wire_bytes_down", m.wire_down, "bytes")
    out(f"{prefix}_wire_bytes_up", m.wire_up, "bytes")
    units = {"_ms": "ms", "_bytes": "bytes", "_requests": "requests"}
    for key, value in m.extra.items():
        unit = next((u for suffix, u in units.items() if key.endswith(suffix)), None)
        if unit and isinstance(value, int | float) and not isinstance(value, bool):
            out(f"{prefix}_{key}", round(value), unit)


def template(tmp: Path) -> tuple[Path, bool]:
    """A seeded database, with the demo residents' reference faces when the photos are here."""
    from faces_support import FACES_DIR, HAVE_FACES

    from db.connection import connect
    from ops import seed
    from tests.conftest import TEMPLATE_KEY

    path = tmp / "template.db"
    db = connect(path)
    seed.seed(db, demo=True)
    faces = HAVE_FACES and seed.enrol_faces(db, TEMPLATE_KEY, FACES_DIR, out=io.StringIO()) >= 1
    db.execute("UPDATE akun SET wajah_terakhir = strftime('%Y-%m-%dT%H:%M:%SZ', 'now') WHERE nik = ?", [J.BUDI])
    db.conn.commit()
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    db.conn.close()
    return path, faces


def run_profile(p, name: str, tmp: Path, db_template: Path, faces: bool, variants: list[bool]) -> None:
    from browser_support import CHROMIUM

    from tests.conftest import SIGNING_KEY, TEMPLATE_KEY

    profile = PROFILES[name]
    out(f"weaknet_{name}_down", profile.down_kbit, "kbit/s")
    out(f"weaknet_{name}_up", profile.up_kbit, "kbit/s")
    out(f"weaknet_{name}_rtt", profile.rtt_ms, "ms")
    scan = J.document_scan(tmp / "surat-lahir.jpg")
    env = {"MPP_SECRET_KEY": "weaknet-bench-key", "MPP_TEMPLATE_KEY": TEMPLATE_KEY, "MPP_SIGNING_KEY": SIGNING_KEY,
           "MPP_DEMO": "1", "MPP_FACE_WARMUP": "1" if faces else "0"}
    ready = "/healthz?siap=wajah" if faces else "/healthz"
    with Link(profile) as link:
        phone = J.Phone(p, link, CHROMIUM)
        try:
            for javascript in variants:
                prefix = f"weaknet_{name}_" + ("" if javascript else "nojs_")
                db_path = tmp / f"{name}-{'js' if javascript else 'nojs'}.db"
                shutil.copy(db_template, db_path)
                with link.server(str(db_path), env, ready=ready) as base:
                    report(prefix + "journey1", J.first_visit(phone, base, javascript))
                    if faces:
                        work = Path(tempfile.mkdtemp(dir=tmp))
                        report(prefix + "journey2", J.register_with_selfie(phone, base, javascript, work))
                    applied, status, _ = J.apply(phone, base, scan, javascript, then_status=True)
                    report(prefix + "journey3", applied)
                    report(prefix + "journey4", status)
        finally:
            phone.close()


def main(argv: list[str]) -> int:
    if argv[:1] == ["--cleanup"]:  # what a run killed with SIGKILL left (the next run does this too)
        for name in remove_leftovers():
            print(f"# weaknet: removed {name}", flush=True)
        return 0
    reason = unavailable()
    if reason:
        print(f"# weaknet: skipped: {reason}", flush=True)
        return 0
    from browser_support import CHROMIUM

    if CHROMIUM is None:
        print("# weaknet: skipped: Debian chromium not installed (scripts/ensure-chromium)", flush=True)
        return 0
    from playwright.sync_api import sync_playwright

    names = [n.strip() for n in os.environ.get("WEAKNET_PROFILES", "edge,2g,slow3g").split(",") if n.strip()]
    variants = [True] + ([False] if os.environ.get("WEAKNET_NOJS", "1") != "0" else [])
    with tempfile.TemporaryDirectory(prefix="weaknet-bench-") as tmp_name:
        tmp = Path(tmp_name)
        db_template, faces = template(tmp)
        if not faces:
            print("# weaknet: journey 2 left out: shared face photos not found (MPP_FACES_DIR)", flush=True)
        with sync_playwright() as p:
            for name in names:
                run_profile(p, name, tmp, db_template, faces, variants)
    left = our_namespaces()
    mine = [ns for ns in left if ns.startswith(f"mppwn{os.getpid()}x")]
    if mine:
        print(f"# weaknet: namespaces left behind: {mine}", flush=True)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
