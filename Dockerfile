# syntax=docker/dockerfile:1
# The image of one deployment (fly.toml). Two database modes, chosen by the build argument DB_MODE:
#   litestream (default): one machine; Litestream runs the app and replicates its SQLite database to
#     S3-compatible storage (litestream.yml); scripts/entrypoint first restores the database from that
#     replica when the volume has none.
#   litefs: several machines; LiteFS (litefs.yml) mounts the database at /litefs, holds the primary's
#     lease in Consul, replicates to the other machines and runs the app (scripts/litefs-exec).
#     Build with `fly deploy --build-arg DB_MODE=litefs` (or [build.args] in fly.toml).
# See "Operations" and "Multi-VM mode (LiteFS)" in README.md.
ARG DB_MODE=litestream

# 1. Pinned front-end files: htmx from the npm registry, checked against its sha256.
FROM node:22-bookworm-slim AS vendor
WORKDIR /src
COPY scripts/fetch-vendor scripts/fetch-vendor
RUN scripts/fetch-vendor

# 2. The locked Python environment (same `uv sync --frozen` as `make setup`, without dev tools).
FROM python:3.11-slim-bookworm AS build
ENV UV_LINK_MODE=copy UV_COMPILE_BYTECODE=1 UV_PYTHON_DOWNLOADS=never
RUN pip install --no-cache-dir uv==0.13.9
WORKDIR /app
COPY pyproject.toml uv.lock ./
RUN uv sync --frozen --no-dev

# 3. Runtime: code and environment owned by root, read-only to the app user.
FROM python:3.11-slim-bookworm AS runtime
RUN useradd --system --uid 10001 --user-group --home-dir /app --no-create-home --shell /usr/sbin/nologin mpp
WORKDIR /app
COPY . /app
COPY --from=build /app/.venv /app/.venv
COPY --from=vendor /src/static/vendor /app/static/vendor
RUN python -m compileall -q -x '/\.venv/' /app
# No FORWARDED_ALLOW_IPS: X-Forwarded-For is anyone's to write, so uvicorn must never rewrite the
# client address from it. Rate limits read Fly-Client-IP, which Fly's proxy sets itself
# (MPP_CLIENT_IP_HEADER in fly.toml); absolute links come from MPP_BASE_URL, not from the request.
# MALLOC_MMAP_THRESHOLD_: image buffers (>128 KB) are mmap'd and given back to the system when freed,
# instead of staying in each thread's arena (4 documents decoded at once: 454 -> 368 MB peak RSS).
ENV PATH="/app/.venv/bin:$PATH" \
    MALLOC_MMAP_THRESHOLD_=131072 \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    MPP_DB=/data/mpp.db \
    LITESTREAM_CONFIG=/app/litestream.yml \
    MPP_RUN_AS=mpp
EXPOSE 8080

# 4a. DB_MODE=litestream (the default): one machine, Litestream around the app.
FROM runtime AS litestream
# The entrypoint starts as root only to hand the volume (/data, mounted root-owned) to `mpp`;
# it then re-runs itself as `mpp` (setpriv), restores the database if missing, and execs CMD.
# Litestream and the app never run as root.
ENTRYPOINT ["/app/scripts/entrypoint"]
# `python app.py` (app.main) runs uvicorn with web/settings.py SERVER_LIMITS (why these values: there), the same as
# `uvicorn --limit-concurrency 256 --timeout-keep-alive 5 --h11-max-incomplete-event-size 16384 --no-proxy-headers`:
# at most 256 open connections (then 503 at once, not a queue growing in memory), idle keep-alive closed after 5 s,
# at most 16 KB of unparsed request head per connection; never proxy headers (uvicorn's default would rewrite the
# client address from X-Forwarded-For, see MPP_CLIENT_IP_HEADER). WEB_CONCURRENCY (fly.toml): one worker process per
# core, with TCP_NODELAY on every connection (web/proses.py; uvicorn's own --workers misses it: +44 ms a request).
ENV HOST=0.0.0.0 PORT=8080
CMD ["litestream", "replicate", "-config", "/app/litestream.yml", "-exec", "python app.py"]

# 4b. DB_MODE=litefs: LiteFS (official image, as LiteFS's docs install it) mounts /litefs over FUSE and
# runs as root, as its docs recommend; scripts/litefs-exec starts the app as `mpp` on port 8081 behind
# LiteFS's proxy on 8080 (litefs.yml). `user_allow_other`: the app user may use the root-owned mount.
FROM runtime AS litefs
RUN apt-get update -y && apt-get install -y --no-install-recommends ca-certificates fuse3 sqlite3 \
    && rm -rf /var/lib/apt/lists/* && echo user_allow_other >> /etc/fuse.conf
COPY --from=flyio/litefs:0.5 /usr/local/bin/litefs /usr/local/bin/litefs
ENV MPP_DB=/litefs/mpp.db \
    MPP_LITEFS_DIR=/litefs \
    MPP_SPOOL_DIR=/data/spool \
    MPP_TTE_DIR=/data/tte \
    MPP_FILES_DIR=/data/objek \
    PORT=8081
ENTRYPOINT ["litefs", "mount", "-config", "/app/litefs.yml"]
CMD []

# The image built: the stage DB_MODE names.
FROM ${DB_MODE}
