# syntax=docker/dockerfile:1
# The image of one deployment (fly.toml): Litestream runs the app and replicates its SQLite
# database to S3-compatible storage (litestream.yml); scripts/entrypoint first restores the
# database from that replica when the volume has none. See "Operations" in README.md.

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
FROM python:3.11-slim-bookworm
RUN useradd --system --uid 10001 --user-group --home-dir /app --no-create-home --shell /usr/sbin/nologin mpp
WORKDIR /app
COPY . /app
COPY --from=build /app/.venv /app/.venv
COPY --from=vendor /src/static/vendor /app/static/vendor
RUN python -m compileall -q -x '/\.venv/' /app
# FORWARDED_ALLOW_IPS: uvicorn --proxy-headers trusts X-Forwarded-For only from these peers;
# on Fly every request comes from fly-proxy on a private address, never from 127.0.0.1, so the
# scheme (https) is taken from the proxy. Rate limits do not trust X-Forwarded-For: they read
# Fly-Client-IP, which Fly's proxy sets itself (MPP_CLIENT_IP_HEADER in fly.toml).
ENV PATH="/app/.venv/bin:$PATH" \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    MPP_DB=/data/mpp.db \
    LITESTREAM_CONFIG=/app/litestream.yml \
    FORWARDED_ALLOW_IPS="*" \
    MPP_RUN_AS=mpp
EXPOSE 8080
# The entrypoint starts as root only to hand the volume (/data, mounted root-owned) to `mpp`;
# it then re-runs itself as `mpp` (setpriv), restores the database if missing, and execs CMD.
# Litestream and the app never run as root.
ENTRYPOINT ["/app/scripts/entrypoint"]
CMD ["litestream", "replicate", "-config", "/app/litestream.yml", "-exec", "python -m uvicorn --factory app:create_app --host 0.0.0.0 --port 8080 --proxy-headers"]
