# Two commands on a fresh machine: `make run` and `make test`.
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1

.PHONY: install install-dev browser-deps ocr-deps server-deps run index test test-fast eval bench bench-latency bench-scale bench-scale-1m bench-load clean architecture

$(VENV)/.installed: pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV) || python3 -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip
	# The local CPU build of torch first: an unpinned torch would pull a multi-GB CUDA build.
	$(PIP) install --quiet torch==2.13.0
	$(PIP) install --quiet -e .
	touch $@

install: $(VENV)/.installed

$(VENV)/.installed-dev: $(VENV)/.installed
	$(PIP) install --quiet -e '.[dev]'
	touch $@

install-dev: $(VENV)/.installed-dev

index: install
	$(PY) -m indexer build --if-stale

run: index
	@mkdir -p corpus/inbox  # files dropped here are imported while the service runs (docs/documents.md)
	$(PY) -m service --host 127.0.0.1 --port 8000 --index var/index

# Browser tests: Debian's chromium (Playwright cannot download its own browser here) and axe-core
# from package-lock.json. Without root and without chromium, the browser tests are skipped.
CHROMIUM := /usr/bin/chromium

browser-deps: node_modules/.package-lock.json
	@if [ -x $(CHROMIUM) ]; then :; \
	elif [ "$$(id -u)" = 0 ]; then \
		echo "browser-deps: installing Debian's chromium for the browser tests"; \
		DEBIAN_FRONTEND=noninteractive apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; \
	else echo "browser-deps: $(CHROMIUM) is missing and this is not root; run 'sudo apt-get install chromium'" \
		"(browser tests are skipped until then)"; fi

node_modules/.package-lock.json: package.json package-lock.json
	@if command -v npm >/dev/null 2>&1; then npm ci --no-audit --no-fund --loglevel=error; \
	else echo "browser-deps: npm is missing; install nodejs and npm (the accessibility test is skipped until then)"; fi

# OCR of scanned PDF pages (optional at run time; tested): Debian's tesseract with Danish and English.
ocr-deps:
	@if command -v tesseract >/dev/null 2>&1 && tesseract --list-langs 2>/dev/null | grep -qx dan; then :; \
	elif [ "$$(id -u)" = 0 ]; then \
		echo "ocr-deps: installing Debian's tesseract-ocr and tesseract-ocr-dan for OCR of scanned PDFs"; \
		DEBIAN_FRONTEND=noninteractive apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq tesseract-ocr tesseract-ocr-dan tesseract-ocr-eng; \
	else echo "ocr-deps: tesseract is missing and this is not root; run 'sudo apt-get install tesseract-ocr" \
		"tesseract-ocr-dan' (the OCR tests are skipped until then)"; fi

# The deployment tests: Debian's nginx (two service processes behind it) and PostgreSQL 15 (the
# feedback store), each started by the tests in a temporary folder on 127.0.0.1; never as services.
server-deps:
	@if command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ]; then have_nginx=1; fi; \
	if ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then have_pg=1; fi; \
	if [ -n "$$have_nginx" ] && [ -n "$$have_pg" ]; then :; \
	elif [ "$$(id -u)" = 0 ]; then \
		echo "server-deps: installing Debian's nginx and postgresql for the deployment tests"; \
		DEBIAN_FRONTEND=noninteractive apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nginx postgresql; \
	else echo "server-deps: nginx or postgresql is missing and this is not root; run 'sudo apt-get install nginx" \
		"postgresql' (those tests are skipped until then)"; fi

test: install-dev browser-deps ocr-deps server-deps
	$(PY) -m pytest -q

test-fast: install-dev
	$(PY) -m pytest -q -m "not slow and not browser"

eval: index
	$(PY) -m eval run ../shared/eval/dev-questions.jsonl --retrievers lexical,dense,hybrid

# The external Danish benchmark (about 8 minutes on 2 cores); report in docs/benchmarks/.
bench: install
	$(PY) -m eval run ../shared/eval/external/danish-squad-dev --retrievers lexical,dense,hybrid \
		--out docs/benchmarks/danish-squad-dev --runs-dir var/eval/danish-squad-dev-runs

# Uncached search over HTTP against the encoder alone (target: p50 ≤ 1.3 × the encoder's p50).
bench-latency: index
	$(PY) benchmarks/http_latency.py

# Index size, memory, latency and ANN recall at 20k and 100k passages (about 10 minutes; the first run
# embeds the sentences once, about 15 more). The 1M row: make bench-scale-1m (about 40 minutes, 16+ GB).
bench-scale: install
	$(PY) benchmarks/scale.py --sizes 20000,100000 --out docs/benchmarks/scale --merge

bench-scale-1m: install
	$(PY) benchmarks/scale.py --sizes 1000000 --out docs/benchmarks/scale --merge

# Throughput and p50/p95/p99 against 1–64 concurrent clients, 1 and 2 workers, uncached questions
# (about 2 minutes; targets: 2 workers ≥ 1.6 × 1 worker, p99 ≤ 4 × p50 at 64 clients); docs/benchmarks/load.md.
bench-load: index
	$(PY) benchmarks/load.py --out docs/benchmarks

# The import graph in docs/architecture.md, regenerated from the code; also lists imports that break the layers.
architecture:
	$(PY) tools/import_graph.py --write docs/architecture.md

clean:
	rm -rf var
