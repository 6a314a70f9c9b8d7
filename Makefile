# MPP Digital — `make run` and `make test` do all set-up on a fresh machine.
PYTHON ?= python3
UV_VERSION := 0.13.9
UV := .uv/bin/uv
PY := .venv/bin/python
export MPP_DB ?= data/mpp.db
PORT ?= 8000

.PHONY: setup run test lint bench clean
setup: .venv/.synced static/vendor/htmx.min.js

.uv/bin/uv:
	$(PYTHON) -m venv .uv
	.uv/bin/pip install -q --disable-pip-version-check uv==$(UV_VERSION)

.venv/.synced: pyproject.toml uv.lock .uv/bin/uv
	$(UV) sync --frozen --quiet
	touch $@

static/vendor/htmx.min.js: scripts/fetch-vendor
	scripts/fetch-vendor

run: setup
	PORT=$(PORT) $(PY) -m ops.seed
	@echo "MPP Digital: http://127.0.0.1:$(PORT)"
	PORT=$(PORT) $(PY) app.py

lint: setup
	.venv/bin/ruff check .

test: setup lint
	scripts/ensure-chromium
	scripts/ensure-netns
	scripts/ensure-pdfsig
	scripts/fetch-faces-asian
	$(PY) -m pytest
	$(MAKE) --no-print-directory test-s3

# The suite again with every file on a real S3 server (SeaweedFS, started by tests/s3_support.py) instead of the
# local folder: every test whose app takes its storage from the settings fixture (tests/conftest.py);
# tests/test_penyimpanan.py and tests/test_penyimpanan_mati.py run on both in the first pass already.
.PHONY: test-s3
test-s3: setup
	MPP_TEST_STORAGE=s3 $(PY) -m pytest -q

bench: setup
	$(PY) -m bench

clean:
	rm -rf .venv .uv data static/vendor .cache

# Object storage against the database: rows whose object is missing (exit 1), orphans; kept for /metrics.
# Moving old blobs out of SQLite: $(PY) -m ops.penyimpanan pindahkan (README, Operations).
.PHONY: check-storage
check-storage: setup
	$(PY) -m ops.penyimpanan check

.PHONY: backup restore
# One full Litestream snapshot of $(MPP_DB) into the file replica data/replica/ (MPP_REPLICA_DIR).
backup: setup
	$(PY) scripts/backup

# Restore the file replica into a NEW file, then integrity check + row counts: make restore TO=/tmp/mpp.db
restore: setup
	@test -n "$(TO)" || { echo "usage: make restore TO=path/to/new.db" >&2; exit 2; }
	$(PY) scripts/restore "$(TO)"

# A province in one file (issue 18): builds (once, cached under data/volume/) 10 regions x 50,000 applications over
# two years through the real schema, then prints p50/p95 of each heavy page. SKALA=0.05: a quick run (20x smaller);
# VOLUME_ARGS for the rest (python -m bench.volume --help).
.PHONY: bench-volume
bench-volume: setup
	$(PY) -m bench.volume $(if $(SKALA),--skala $(SKALA)) $(VOLUME_ARGS)

.PHONY: bench-weaknet
bench-weaknet: setup
	scripts/ensure-chromium
	scripts/ensure-netns
	$(PY) -m tests.weaknet

# Lighthouse on 2G (simulated: 800 ms RTT, 280 kbit/s, CPU 4x, 360x640) on the public pages, each as a
# ratio of an empty page's LCP in the same run (goal <= 1.15). LIGHTHOUSE_RUNS=3 for a median of three.
.PHONY: bench-lighthouse
bench-lighthouse: setup
	scripts/ensure-chromium
	scripts/fetch-vendor --lighthouse
	$(PY) -m bench.lighthouse
