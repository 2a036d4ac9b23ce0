# The two commands a new user runs: `make demo` and `make test`.
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
RECSYS := $(VENV)/bin/recsys
DATASET ?= ml-latest-small
PORT ?= 8501
export HF_HUB_OFFLINE ?= 1

.PHONY: install demo test test-slow lint bench clean-venv

$(VENV)/.installed: requirements.txt requirements-dev.txt pyproject.toml
	test -x $(PY) || python3 -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip
	$(PIP) install --quiet -r requirements-dev.txt
	$(PIP) install --quiet --no-deps -e .
	touch $@

install: $(VENV)/.installed ## create .venv and install everything pinned

demo: install ## fetch ml-latest-small, train the default models, start the app on :8501
	$(RECSYS) data fetch $(DATASET)
	$(RECSYS) data validate $(DATASET)
	$(RECSYS) train $(DATASET)
	$(VENV)/bin/streamlit run app/main.py --server.address 127.0.0.1 --server.port $(PORT) --server.headless true

test: install ## run the whole default test suite
	$(PY) -m pytest

test-slow: install ## the slow-marked tests (simulations, services); none selected is not a failure
	$(PY) -m pytest -m slow || test $$? -eq 5

lint: install
	$(VENV)/bin/ruff check recsys app benchmarks pipelines tests ops

bench: install ## ingest benchmark on a synthetic ml-20m-shaped dataset
	$(PY) benchmarks/ingest_benchmark.py
