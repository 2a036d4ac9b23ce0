# The two commands a new user runs: `make demo` and `make test`.
VENV ?= .venv
AIRFLOW_VENV ?= .venv-airflow
LENSKIT_VENV ?= .venv-lenskit
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
RECSYS := $(VENV)/bin/recsys
DATASET ?= ml-latest-small
PORT ?= 8501
export HF_HUB_OFFLINE ?= 1

.PHONY: install airflow-venv peers demo test test-slow lint bench clean-venv

$(VENV)/.installed: requirements.txt requirements-dev.txt pyproject.toml
	test -x $(PY) || python3 -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip
	$(PIP) install --quiet -r requirements-dev.txt  # includes the project itself (-e .)
	touch $@

install: $(VENV)/.installed ## create .venv and install everything pinned

# Airflow in its own venv: in the app's venv it would downgrade fastapi and take over logging.
$(AIRFLOW_VENV)/.installed: pipelines/requirements-airflow.txt
	test -x $(AIRFLOW_VENV)/bin/python || python3 -m venv $(AIRFLOW_VENV)
	$(AIRFLOW_VENV)/bin/pip install --quiet --upgrade pip
	$(AIRFLOW_VENV)/bin/pip install --quiet -r pipelines/requirements-airflow.txt
	touch $@

airflow-venv: $(AIRFLOW_VENV)/.installed ## create .venv-airflow (the DAG tests use it)

# The peer toolkits of the benchmark lab: cornac in .venv (the `peers` extra), LensKit in its own
# venv (it pins pandas 2; its adapters run it out of process).
$(VENV)/.peers-installed: $(VENV)/.installed requirements-peers.txt
	$(PIP) install --quiet -r requirements-peers.txt
	touch $@

$(LENSKIT_VENV)/.installed: requirements-peers-lenskit.txt
	test -x $(LENSKIT_VENV)/bin/python || python3 -m venv $(LENSKIT_VENV)
	$(LENSKIT_VENV)/bin/pip install --quiet --upgrade pip
	$(LENSKIT_VENV)/bin/pip install --quiet -r requirements-peers-lenskit.txt
	touch $@

peers: $(VENV)/.peers-installed $(LENSKIT_VENV)/.installed ## install the peer toolkits (cornac, LensKit)

demo: install ## fetch ml-latest-small, train the default models, start the app on :8501
	$(RECSYS) data fetch $(DATASET)
	$(RECSYS) data validate $(DATASET)
	$(RECSYS) train $(DATASET)
	$(VENV)/bin/streamlit run app/main.py --server.address 127.0.0.1 --server.port $(PORT) --server.headless true

test: install airflow-venv ## run the whole default test suite
	$(PY) -m pytest

test-slow: install airflow-venv peers ## the slow-marked tests (simulations, services, peers); none selected is not a failure
	$(PY) -m pytest -m slow || test $$? -eq 5

lint: install
	$(VENV)/bin/ruff check recsys app benchmarks pipelines tests ops

bench: install ## ingest benchmark on a synthetic ml-20m-shaped dataset
	$(PY) benchmarks/ingest_benchmark.py
