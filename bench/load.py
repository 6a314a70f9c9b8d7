"""A small bounded HTTP/1.1 keep-alive load client (asyncio, no dependencies).

Bounded in time and in requests, loopback only. Client and server share the
machine's two cores, so absolute figures are low; the ratio to the bare
baseline, measured the same way in the same run, is what to compare.
"""

from __future__ import annotations

import asyncio
import time
from urllib.parse import urlsplit


async def _worker(host: str, port: int, path: str, headers: str, stop: float, latencies: list, errors: list):
    reader, writer = await asyncio.open_connection(host, port)
    request = f"GET {path} HTTP/1.1\r\nHost: {host}\r\n{headers}\r\n".encode()
    try:
        while time.perf_counter() < stop:
            t0 = time.perf_counter()
            writer.write(request)
            await writer.drain()
            status = await reader.readline()
            length = 0
            while (line := await reader.readline()) not in (b"\r\n", b""):
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":")[1])
            await reader.readexactly(length)
            if not status.startswith(b"HTTP/1.1 200"):
                errors.append(status)
            latencies.append(time.perf_counter() - t0)
    finally:
        writer.close()


def measure(url: str, seconds: float = 5.0, connections: int = 8, headers: dict | None = None) -> dict:
    parts = urlsplit(url)
    path = parts.path + (f"?{parts.query}" if parts.query else "")
    extra = "".join(f"{k}: {v}\r\n" for k, v in (headers or {}).items())
    latencies: list[float] = []
    errors: list = []

    async def run():
        stop = time.perf_counter() + seconds
        await asyncio.gather(*[
            _worker(parts.hostname, parts.port, path, extra, stop, latencies, errors) for _ in range(connections)
        ])

    t0 = time.perf_counter()
    asyncio.run(run())
    elapsed = time.perf_counter() - t0
    latencies.sort()
    pick = lambda q: latencies[min(len(latencies) - 1, int(q * len(latencies)))] * 1000 if latencies else 0  # noqa
    return {"rps": len(latencies) / elapsed, "p50_ms": pick(0.5), "p99_ms": pick(0.99), "errors": len(errors)}
