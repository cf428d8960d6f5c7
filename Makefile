# Two commands on a fresh machine: `make train` and `make test`.
# Each bootstraps .venv (python3 -m venv + pip install) on first use.

PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
PIP    := $(PY) -m pip
ARGS   ?=

# torch==2.13.0 is pinned: the CPU wheel on this project's machines. A loose
# "torch" resolves to a CUDA build of several GB.
$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet -e '.[dev]'
	touch $@

$(VENV)/.installed-torch: $(VENV)/.installed
	$(PIP) install --quiet -e '.[dev,torch]'
	touch $@

# The report's browser test drives Debian's chromium through Playwright (which
# cannot download its own browser here). Installed with apt-get when missing,
# as root (CI); otherwise a note, and the test skips (it fails on CI instead).
$(VENV)/.installed-browser: $(VENV)/.installed
	@if command -v chromium >/dev/null; then touch $@; \
	elif [ "$$(id -u)" = 0 ]; then \
		apt-get update -o DPkg::Lock::Timeout=600 && \
		DEBIAN_FRONTEND=noninteractive apt-get install -y -o DPkg::Lock::Timeout=600 chromium && \
		touch $@; \
	else echo "note: no chromium; 'sudo apt-get install chromium' for the report's browser test"; fi

# mnist-cnn serve (extras serve + export); its tests add schemathesis, httpx and
# Playwright (the browser comes from .installed-browser above).
$(VENV)/.installed-serve: $(VENV)/.installed
	$(PIP) install --quiet -e '.[dev,serve,export]'
	touch $@

$(VENV)/.installed-test-serve: $(VENV)/.installed-serve
	$(PIP) install --quiet -e '.[dev,test-serve]'
	touch $@

.PHONY: install train test test-all test-fast lint bench clean serve
install: $(VENV)/.installed

train: $(VENV)/.installed
	$(VENV)/bin/mnist-cnn train $(ARGS)

test: $(VENV)/.installed-browser $(VENV)/.installed-test-serve
	$(PY) -m pytest $(ARGS)

# The whole suite plus the Keras torch-backend smoke test, which needs the torch
# extra (`make test` skips it when torch is not installed). CI runs this.
test-all: $(VENV)/.installed-torch $(VENV)/.installed-browser $(VENV)/.installed-test-serve
	$(PY) -m pytest $(ARGS)

# The quick tier (under a minute): everything but the tests marked slow
# (trainings, subprocesses, browsers, large samples). `make test` runs them all.
test-fast: $(VENV)/.installed-test-serve
	$(PY) -m pytest -m "not slow" $(ARGS)

lint: $(VENV)/.installed
	$(VENV)/bin/ruff check src tests benchmarks
	$(VENV)/bin/ruff format --check src tests benchmarks

# Both paths (native, AVX2-capped float32), 2 seeds x 2 epochs each: about 20
# minutes on 2 cores. More: make bench ARGS="--seeds 3 --epochs 3". The serve and
# export extras give the inference table its onnxruntime rows.
bench: $(VENV)/.installed-serve
	$(PY) benchmarks/bench_train.py $(ARGS)

serve: $(VENV)/.installed-serve
	$(VENV)/bin/mnist-cnn serve --host 127.0.0.1 --port 8000 $(ARGS)

clean:
	rm -rf $(VENV) .pytest_cache
